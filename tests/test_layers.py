"""The package's layering and file sizes, read from the source with the ``ast`` module.

Data flow one way: datasets -> network -> routing -> places -> analysis -> outputs ->
pipeline/cli. A module may import its own layer and lower ones, never a higher one; imports
inside functions count as much as those at the top of a file. A file over ``MAX_LINES`` lines
must say why in its module docstring ("Longer than 500 lines because ...").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "smaby_geo"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
MAX_LINES = 500
REASON = "longer than 500 lines because"

# Lower number = lower layer. Keys are the first part of the module path below the package.
LAYERS = {
    "_errors": 0,  # error classes every layer may raise (issue 14)
    "datasets": 0,
    "_version": 0,
    "_compat": 0,  # deprecation helpers (renamed keywords, dict-style results), issue 13
    "fetch": 0,
    "convert": 0,
    "ssb_grid": 0,  # the SSB population grid files (read by network and places)
    "derived_cache": 0,  # derived data kept in the data home by fingerprint (issue 16n)
    "network": 1,
    "routing": 2,
    "places": 3,
    "analysis": 4,
    "outputs": 5,
    "pipeline": 6,
    "towns_pipeline": 6,
    "indicators_pipeline": 6,  # the indicators job, out of towns_pipeline (hostile-3)
    "scenario_job": 6,  # the scenario job, out of pipeline (issue 13)
    "console": 6,  # what the jobs print (issue 13)
    "job_setup": 6,  # options, data, output folder, stages, engine of every job (issue 13)
    "sweep": 6,
    "explorer": 6,
    "cli": 6,
    "cli_options": 6,  # options checked before any work (hostile probe)
}
TOP = 7  # the package itself (``smaby_geo/__init__.py``): the flat API over every layer

# Known violations, each with its reason; (importer module, imported module). The lead empties
# this list as the modules are mended. Nothing else may be added without a reason.
ALLOWED_IMPORTS: dict[tuple[str, str], str] = {}

# Files over MAX_LINES whose docstring does not (yet) give the reason, with the reason here.
ALLOWED_LONG: dict[str, str] = {
    "smaby_geo/routing/_kernels.py": (
        "one numba kernel family per module: cache=True misses edits to kernels called from "
        "another module (PITFALLS); the docstring line is to be added by its owner"
    ),
    "smaby_geo/outputs/maps.py": "outputs/report.py and the grid move shorten it (issue 13)",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """Layer of a ``smaby_geo`` module name; None for modules outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return TOP
    if parts[1] not in LAYERS:
        raise AssertionError(
            f"{module}: no layer for {parts[1]!r}; add it to LAYERS in tests/test_layers.py"
        )
    return LAYERS[parts[1]]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every ``smaby_geo`` module imported anywhere in ``path`` (functions included), with its line.

    ``from smaby_geo.x import y`` yields ``smaby_geo.x``; relative imports are resolved.
    """
    module = _module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == PACKAGE:  # ``from smaby_geo import network``: the subpackage;
                # any other name (``__version__``) comes from the package itself
                found += [
                    (f"{PACKAGE}.{a.name}" if a.name in LAYERS else PACKAGE, node.lineno)
                    for a in node.names
                ]
            else:
                found.append((target, node.lineno))
    return [(m, line) for m, line in found if m.split(".")[0] == PACKAGE]


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def layer_violations(paths: list[Path] | None = None) -> list[str]:
    """Lines 'file:line: a (layer) imports b (layer)' for every upward import."""
    out = []
    for path in paths or _sources():
        importer = _module_name(path)
        own = layer_of(importer)
        for target, line in imports_of(path):
            theirs = layer_of(target)
            if theirs is not None and own is not None and theirs > own:
                key = (importer, target)
                if key in ALLOWED_IMPORTS:
                    continue
                out.append(
                    f"{path.relative_to(ROOT.parent)}:{line}: {importer} (layer {own}) "
                    f"imports {target} (layer {theirs})"
                )
    return out


def long_files(paths: list[Path] | None = None) -> list[str]:
    """Files over MAX_LINES lines whose module docstring gives no reason."""
    out = []
    for path in paths or _sources():
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        rel = path.relative_to(ROOT.parent).as_posix()
        if n <= MAX_LINES or rel in ALLOWED_LONG:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if REASON not in " ".join(doc.lower().split()):
            out.append(f"{rel}: {n} lines and no 'Longer than {MAX_LINES} lines because ...'")
    return out


def test_no_module_imports_a_higher_layer():
    bad = layer_violations()
    assert not bad, "imports against the flow of data:\n" + "\n".join(bad)


def test_no_file_is_long_without_a_reason():
    bad = long_files()
    assert not bad, "\n".join(bad)


def test_allow_lists_name_real_files_and_imports():
    """A stale allow-list entry hides nothing and must go."""
    for rel in ALLOWED_LONG:
        assert (ROOT.parent / rel).exists(), f"ALLOWED_LONG names a missing file {rel}"
    for importer, target in ALLOWED_IMPORTS:
        path = ROOT.parent / (importer.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT.parent / importer.replace(".", "/") / "__init__.py"
        assert target in {m for m, _ in imports_of(path)}, (importer, target)


# --- the checks themselves fail on a bad package ----------------------------------------------


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / PACKAGE
    for sub in ("network", "routing", "places", "analysis", "outputs"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text('"""x."""\n')
    (pkg / "__init__.py").write_text('"""x."""\nfrom smaby_geo.outputs import maps\n')
    monkeypatch.setitem(globals(), "ROOT", pkg)
    return pkg


def test_an_upward_import_inside_a_function_is_caught(fake_package):
    (fake_package / "routing" / "api.py").write_text(
        '"""x."""\n\n\ndef f():\n    from smaby_geo.analysis.catchments import catchments\n'
    )
    (fake_package / "places" / "ok.py").write_text(
        '"""x."""\nfrom smaby_geo.routing import api\nfrom smaby_geo import datasets\n'
    )
    (fake_package / "network" / "rel.py").write_text('"""x."""\nfrom ..places import ok\n')
    bad = layer_violations()
    assert len(bad) == 2, bad
    assert "smaby_geo/routing/api.py:5" in bad[1 if "rel.py" in bad[0] else 0]
    assert any("network/rel.py:2" in b and "smaby_geo.places" in b for b in bad)


def test_a_long_file_needs_a_reason(fake_package):
    body = "x = 1\n" * (MAX_LINES + 1)
    (fake_package / "places" / "long.py").write_text('"""A module."""\n' + body)
    (fake_package / "places" / "reasoned.py").write_text(
        '"""A module.\n\nLonger than 500 lines because it must be.\n"""\n' + body
    )
    assert long_files() == [
        f"smaby_geo/places/long.py: {MAX_LINES + 2} lines and no 'Longer than {MAX_LINES} "
        "lines because ...'"
    ]
