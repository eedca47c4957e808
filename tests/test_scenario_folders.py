"""Each scenario writes its own folder: names that differ never share or replace one."""

from __future__ import annotations

import json

import pytest

from smaby_geo._errors import OutputFolderError
from smaby_geo.job_setup import _slug
from smaby_geo.scenario_job import check_scenario_folder

TYNSET_HOSPITAL = "Sykehuset Innlandet, Tynset"


def _previous_set(folder, scenario: str) -> None:
    """A scenario run's manifest, as ``scenario_job`` writes it."""
    folder.mkdir(parents=True)
    meta = {"tool": "smaby_geo 0", "scenario": scenario, "files": {"summary.csv": "0" * 64}}
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "summary.csv").write_text("previous")


def test_names_in_other_scripts_get_their_own_folder_not_region():
    """Every non-Latin name once wrote to ``region``, each replacing the last."""
    names = ["Гора", "Берег", "Ελλάδα", "東京"]
    slugs = [_slug(n) for n in names]
    assert slugs == ["гора", "берег", "ελλαδα", "東京"]
    assert _slug("Kárášjohka") == "karasjohka"  # accents dropped, not a "_" each
    # unchanged for the names the outputs already carry
    assert _slug("Tynset") == "tynset" and _slug("Sør-Trøndelag") == "sor_trondelag"
    assert _slug("Ærøy Å") == "aeroy_a" and _slug("!!!") == "region"


@pytest.mark.parametrize("letter", ["x", "Г", "東"])
def test_a_long_name_gives_a_folder_name_that_can_be_made(tmp_path, letter):
    """A 300-character name ran the whole job, then failed with "File name too long"."""
    s = _slug(letter * 300)
    assert 0 < len(s) <= 60 and len(s.encode()) <= 120
    (tmp_path / ".o.smaby-staging-12345-abcdef12" / s).mkdir(parents=True)  # no OSError
    assert _slug("a b" * 100).endswith(("a", "b"))  # never ends on the separator


def test_a_folder_of_another_scenario_with_the_same_slug_is_refused(tmp_path):
    """"Hordfast bridge" and "hordfast-bridge" both wrote to ``hordfast_bridge``."""
    assert _slug("Hordfast bridge") == _slug("hordfast-bridge")
    folder = tmp_path / "out" / _slug("Hordfast bridge")
    _previous_set(folder, "Hordfast bridge")
    check_scenario_folder(folder, "Hordfast bridge")  # its own rerun: fine
    with pytest.raises(OutputFolderError) as err:
        check_scenario_folder(folder, "hordfast-bridge")
    msg = str(err.value)
    assert "'Hordfast bridge'" in msg and "'hordfast-bridge'" in msg and "--out" in msg
    assert "\n" not in msg
    assert (folder / "summary.csv").read_text() == "previous"


def test_the_cli_refuses_the_other_scenario_before_computing(tmp_path, capsys):
    from smaby_geo.cli import main

    out = tmp_path / "out"
    _previous_set(out / "hordfast_bridge", "Hordfast bridge")
    f = tmp_path / "s.yaml"
    f.write_text(
        f'name: hordfast-bridge\nedits:\n  - close_facility: {{name: "{TYNSET_HOSPITAL}"}}\n'
    )
    rc = main(["scenario", str(f), "--region", "Tynset", "--no-regions", "--no-map",
               "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and "'Hordfast bridge'" in err[0] and "'hordfast-bridge'" in err[0]
    assert (out / "hordfast_bridge" / "summary.csv").read_text() == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["hordfast_bridge"]
