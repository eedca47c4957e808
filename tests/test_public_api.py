"""The flat public API: every name listed resolves, is documented, and nothing loads eagerly."""

import subprocess
import sys

import smaby_geo


def test_every_public_name_resolves_to_a_documented_object():
    missing_doc = []
    for name in smaby_geo.__all__:
        obj = getattr(smaby_geo, name)  # AttributeError when a module renamed it
        if callable(obj) and not (obj.__doc__ or "").strip():
            missing_doc.append(name)
    assert not missing_doc, f"public names without a docstring: {missing_doc}"


def test_all_lists_the_lazy_names_and_subpackages_once():
    assert sorted(smaby_geo.__all__) == sorted(set(smaby_geo.__all__))
    assert set(smaby_geo.__all__) == {
        *smaby_geo._EXPORTS,
        *smaby_geo._SUBPACKAGES,
        "__version__",
    }
    assert set(dir(smaby_geo)) >= set(smaby_geo.__all__)


def test_the_flat_names_are_the_subpackage_objects():
    from smaby_geo.analysis import regions
    from smaby_geo.analysis.traveltimes import travel_times

    assert smaby_geo.travel_times is travel_times
    assert smaby_geo.delineate_regions is regions.delineate_regions
    # old import paths of moved code still work and name the same objects
    assert regions.gravity_flows is smaby_geo.gravity_flows
    assert regions.delineate_lma is smaby_geo.delineate_lma
    from smaby_geo.analysis.catchments import cell_squares

    assert cell_squares is smaby_geo.cell_squares


def test_import_is_lazy_and_help_lists_the_api():
    code = (
        "import sys, pydoc, smaby_geo\n"
        "assert 'geopandas' not in sys.modules, 'import smaby_geo loaded geopandas'\n"
        "text = pydoc.render_doc(smaby_geo, renderer=pydoc.plaintext)\n"
        "for name in ('travel_times', 'od_matrix', 'catchments', 'delineate_regions',\n"
        "             'apply_scenario', 'map_minutes', 'read_population_grid', 'compare'):\n"
        "    assert '\\n    ' + name + '(' in text, name  # listed under FUNCTIONS\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'travel_time'"):
        smaby_geo.travel_time  # noqa: B018


def test_every_public_function_has_full_type_hints():
    """Issue 13: every parameter and the return of each flat-API function is annotated."""
    import inspect

    missing = []
    for name in smaby_geo.__all__:
        obj = getattr(smaby_geo, name)
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        bare = [
            p
            for p, v in sig.parameters.items()
            if v.annotation is inspect.Parameter.empty
            and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)
        ]
        if bare or sig.return_annotation is inspect.Signature.empty:
            missing.append((name, bare))
    assert missing == []
