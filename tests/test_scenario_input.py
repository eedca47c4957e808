"""Hostile and careless scenario files: each one refused with one line naming the file, the
line and the fix (CLI exit code 2), never a silent wrong result or a deleted user file."""

import json
import math

import numpy as np
import pytest

from smaby_geo.analysis.scenarios import ScenarioFileError, check_opened_sites, read_scenario
from smaby_geo.network.edits import FERRY_NEAR_MAX_M
from smaby_geo.network.scenario import (
    CloseFacility,
    FerryHeadway,
    NewLink,
    OpenFacility,
    ReplaceFerry,
    Scenario,
    apply_scenario,
    apply_service_edits,
)

TYNSET_HOSPITAL = "Sykehuset Innlandet, Tynset"
FERRY = 14257  # E39 Halhjem-Sandvikvåg (scenarios/e39_hordfast.yaml)


def _file(tmp_path, *edit_lines, name="x", fname="s.yaml"):
    p = tmp_path / fname
    p.write_text(f"name: {name}\nedits:\n" + "".join(f"  - {e}\n" for e in edit_lines))
    return p


def _cli(capsys, *argv):
    from smaby_geo.cli import main

    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# --- 1. a scenario's name never deletes a user's file or folder in --out ---------------------


def test_a_scenario_named_like_a_users_folder_or_file_is_refused_and_a_rerun_replaces_its_own(
    tmp_path, capsys
):
    out = tmp_path / "x"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "todo.txt").write_text("precious")
    (out / "mydata").write_text("precious")
    close = f'close_facility: {{name: "{TYNSET_HOSPITAL}"}}'
    args = ("--region", "Tynset", "--no-regions", "--no-map", "--out", out)
    for name in ("notes", "mydata"):
        f = _file(tmp_path, close, name=name, fname=f"{name}.yaml")
        rc, _, err = _cli(capsys, "scenario", f, *args)
        assert rc == 2, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert str(out / name) in err and "choose another --out" in err
    assert (out / "notes" / "todo.txt").read_text() == "precious"
    assert (out / "mydata").read_text() == "precious"
    # a scenario's own previous set is replaced whole by a rerun
    f = _file(tmp_path, close, name="fine", fname="fine.yaml")
    rc, stdout, err = _cli(capsys, "scenario", f, *args)
    assert rc == 0, err
    first = json.loads((out / "fine" / "run.json").read_text())
    (out / "fine" / "stale.txt").write_text("from an older run")
    rc, stdout, err = _cli(capsys, "scenario", f, *args)
    assert rc == 0, err
    second = json.loads((out / "fine" / "run.json").read_text())
    assert second["run_id"] != first["run_id"]
    assert not (out / "fine" / "stale.txt").exists()
    # 3. the service edit is recorded in the console, run.json and the report
    want = {"edit": "close_facility", "name": TYNSET_HOSPITAL}
    assert second["edits"]["edits"] == [want]
    assert "'edit': 'close_facility'" in stdout and TYNSET_HOSPITAL in stdout
    report = (out / "fine" / "report.html").read_text()
    assert "close_facility" in report and TYNSET_HOSPITAL in report


def test_check_scenario_folder_accepts_absent_empty_and_own_folders(tmp_path):
    from smaby_geo._errors import OutputFolderError
    from smaby_geo.scenario_job import check_scenario_folder

    check_scenario_folder(tmp_path / "absent", "absent")
    (tmp_path / "empty").mkdir()
    check_scenario_folder(tmp_path / "empty", "empty")
    own = tmp_path / "own"
    own.mkdir()
    (own / "run.json").write_text(
        json.dumps({"tool": "smaby_geo 1.0", "scenario": "own", "files": {"a.csv": "0"}})
    )
    check_scenario_folder(own, "own")
    # a run.json that is not ours (another tool's, or a list) does not make a folder ours
    (own / "run.json").write_text(json.dumps({"tool": "other", "scenario": "own", "files": {}}))
    with pytest.raises(OutputFolderError, match="not a scenario run's outputs"):
        check_scenario_folder(own, "own")


# --- 2. near: a distance limit and no lon/lat --------------------------------------------------


@pytest.mark.parametrize("edit", ["replace_ferry", "ferry_headway"])
def test_near_given_in_lon_lat_is_refused_with_file_and_line(tmp_path, edit):
    f = _file(tmp_path, f"{edit}: {{near: [10.78, 62.27], headway_min: 30}}")
    if edit == "replace_ferry":
        f = _file(tmp_path, f"{edit}: {{near: [10.78, 62.27]}}")
    with pytest.raises(ScenarioFileError) as err:
        read_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}, line 3") and "looks like longitude/latitude" in msg
    assert "EPSG:25833" in msg


def test_near_far_from_every_ferry_is_refused_with_file_and_line(n1000, tmp_path):
    f = _file(tmp_path, "ferry_headway: {near: [280000, 6911000], headway_min: 30}")
    sc = read_scenario(f)
    with pytest.raises(ValueError, match="from the nearest ferry link") as err:
        apply_scenario(n1000, sc)
    msg = str(err.value)
    assert msg.startswith(f"{f}, line 3: ferry_headway: near")
    assert "134.2 km from the nearest ferry link" in msg and f"max {FERRY_NEAR_MAX_M:,.0f} m" in msg
    # the limit is per edit: raising max_snap_m picks that nearest crossing
    f2 = _file(
        tmp_path,
        "ferry_headway: {near: [280000, 6911000], headway_min: 30, max_snap_m: 200000}",
        fname="far_ok.yaml",
    )
    assert apply_scenario(n1000, read_scenario(f2)).report["scenario"]["edits"][0]["links"]
    # a point on the crossing still picks it (the limit is not too tight)
    lk = n1000.links
    mid = lk.loc[lk["link_id"] == FERRY].geometry.iloc[0].interpolate(0.5, normalized=True)
    ed = apply_scenario(n1000, Scenario("n", [ReplaceFerry(near=(mid.x, mid.y + 500))]))
    assert FERRY in ed.report["scenario"]["edits"][0]["links"]
    with pytest.raises(ValueError, match=r"replace_ferry: near .* km from the nearest ferry"):
        apply_scenario(n1000, Scenario("n", [ReplaceFerry(near=(mid.x, mid.y + 5000))]))


# --- 3. open_facility at sea, abroad or in lon/lat; service edits recorded -------------------


def test_open_facility_in_lon_lat_is_refused(tmp_path):
    for edit in (
        "open_facility: {name: N, service_type: hospital, x: 10.5, y: 62.2}",
        "open_facility: {name: N, service_type: hospital, at: [10.5, 62.2]}",
    ):
        with pytest.raises(ScenarioFileError, match=r"line 3 .*looks like longitude/latitude"):
            read_scenario(_file(tmp_path, edit))


@pytest.mark.parametrize("at", [(-50000, 6900000), (700000, 6900000)])  # at sea; in Sweden
def test_open_facility_no_road_reaches_is_refused_with_file_and_line(n1000, tmp_path, at):
    f = _file(
        tmp_path,
        f'close_facility: {{name: "{TYNSET_HOSPITAL}"}}',
        f"open_facility: {{name: New, service_type: hospital, at: [{at[0]}, {at[1]}]}}",
    )
    sc = read_scenario(f)
    with pytest.raises(ValueError, match="from any road") as err:
        check_opened_sites(n1000, sc)
    msg = str(err.value)
    assert msg.startswith(f"{f}, line 4: open_facility: site 'New'")
    assert "more than 5,000 m from any road" in msg
    # a site beside a road passes
    check_opened_sites(n1000, Scenario("ok", [OpenFacility("N", "hospital", 289000, 6907000)]))


def test_service_edits_are_recorded_in_the_scenario_network_report(n1000):
    sc = Scenario(
        "s",
        [
            CloseFacility(name=TYNSET_HOSPITAL),
            FerryHeadway(link_id=FERRY, headway_min=20),
            OpenFacility("New", "hospital", 289000.0, 6907000.0),
        ],
    )
    edits = apply_scenario(n1000, sc).report["scenario"]["edits"]
    assert [e["edit"] for e in edits] == ["ferry_headway", "close_facility", "open_facility"]
    assert edits[1] == {"edit": "close_facility", "name": TYNSET_HOSPITAL}
    assert edits[2] == {
        "edit": "open_facility",
        "name": "New",
        "service_type": "hospital",
        "x": 289000.0,
        "y": 6907000.0,
    }


# --- 4. repeated keys ---------------------------------------------------------------------------


def test_a_repeated_key_in_an_edit_is_refused_with_its_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nedits:\n  - upgrade:\n      road: Rv3\n      speed_kmh: 90\n"
                 "      speed_kmh: 50\n")  # fmt: skip
    with pytest.raises(ScenarioFileError) as err:
        read_scenario(f)
    assert str(err.value) == (
        f"{f}, line 6: key 'speed_kmh' is given twice (first on line 5); keep one"
    )


def test_a_repeated_top_level_key_is_refused_with_its_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nedits:\n  - upgrade: {road: Rv3, speed_kmh: 90}\n"
                 "edits:\n  - upgrade: {road: Rv3, speed_kmh: 50}\n")  # fmt: skip
    with pytest.raises(ScenarioFileError, match=r"line 4: key 'edits' is given twice"):
        read_scenario(f)


# --- 5. one name, one site ------------------------------------------------------------------


def test_two_sites_opened_under_one_name_are_refused(tmp_path):
    f = _file(
        tmp_path,
        "open_facility: {name: A, service_type: hospital, at: Tynset}",
        "open_facility: {name: A, service_type: hospital, at: Tynset}",
    )
    with pytest.raises(ScenarioFileError, match=r"line 4 .*'A' is already opened on line 3"):
        read_scenario(f)


def test_opening_a_site_under_an_existing_name_is_refused_moving_one_is_not(tmp_path):
    from smaby_geo.places.services import load_services

    sv = load_services(["hospital"])
    f = _file(
        tmp_path,
        f'open_facility: {{name: "{TYNSET_HOSPITAL}", service_type: hospital, at: Tynset}}',
    )
    with pytest.raises(ValueError, match="already in the service layer") as err:
        apply_service_edits(sv, read_scenario(f))
    assert str(err.value).startswith(f"{f}, line 3: open_facility: a site named")
    # closing it first and opening one under its name moves it: one site of that name
    moved = apply_service_edits(
        sv,
        Scenario(
            "m",
            [
                CloseFacility(name=TYNSET_HOSPITAL),
                OpenFacility(TYNSET_HOSPITAL, "hospital", 289000.0, 6907000.0),
            ],
        ),
    )
    assert (moved["name"] == TYNSET_HOSPITAL).sum() == 1
    assert len(moved) == len(sv)


# --- 6. semantic errors carry file and line; kinds; .inf; 1e9 --------------------------------


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ("upgrade: {road: Rv99999, speed_kmh: 90}", "upgrade: no links carry road number"),
        ("close_link: {link_ids: [999999999]}", "close_link: unknown link ids [999999999]"),
        ("new_link: {start: [-50000, 6900000], end: Tynset}", "new_link: start"),
    ],
)
def test_errors_of_applying_an_edit_name_the_file_and_line(n1000, tmp_path, edit, says):
    f = _file(tmp_path, "upgrade: {road: E6, speed_kmh: 90}", edit)
    with pytest.raises(ValueError, match="line 4") as err:
        apply_scenario(n1000, read_scenario(f))
    assert str(err.value).startswith(f"{f}, line 4: {says}")


def test_closing_an_unknown_facility_names_the_file_and_line(tmp_path):
    from smaby_geo.places.services import load_services

    f = _file(tmp_path, 'close_facility: {name: "Nowhere"}')
    with pytest.raises(ValueError, match="Nowhere") as err:
        apply_service_edits(load_services(["hospital"]), read_scenario(f))
    assert str(err.value).startswith(f"{f}, line 3: close_facility: no site with name 'Nowhere'")


@pytest.mark.parametrize(
    "edit",
    [
        "replace_ferry: {link_id: 14257, kind: teleporter}",
        "new_link: {start: Tynset, end: [290000, 6900000], kind: ferry}",
    ],
)
def test_a_kind_outside_the_documented_list_is_refused(tmp_path, edit):
    with pytest.raises(ScenarioFileError, match=r"line 3 .*kind must be one of \['bridge'"):
        read_scenario(_file(tmp_path, edit))
    with pytest.raises(ValueError, match="kind must be one of"):
        NewLink(start=(1, 2), end=(3, 4), kind="ferry")


def test_headway_inf_closes_a_ferry_as_the_hint_says(n1000, tmp_path):
    sc = read_scenario(_file(tmp_path, "ferry_headway: {link_id: 14257, headway_min: .inf}"))
    assert sc.edits[0].headway_min == math.inf
    ed = apply_scenario(n1000, sc)
    row = ed.links["link_id"] == FERRY
    assert np.isinf(ed.links.loc[row, "seconds_fw"].to_numpy(float)).all()
    with pytest.raises(ScenarioFileError, match="speed_kmh must be a finite number, got inf"):
        read_scenario(_file(tmp_path, "upgrade: {road: Rv3, speed_kmh: .inf}"))


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path):
    sc = read_scenario(
        _file(tmp_path, "upgrade: {road: Rv3, factor: 1e0}", "close_link: {link_ids: [14001]}")
    )
    assert sc.edits[0].factor == 1.0
    with pytest.raises(ScenarioFileError, match="speed_kmh must be at most 110, got 1e\\+09"):
        read_scenario(_file(tmp_path, "upgrade: {road: Rv3, speed_kmh: 1e9}"))
    with pytest.raises(ScenarioFileError, match="factor must be > 0, got -1e-09"):
        read_scenario(_file(tmp_path, "upgrade: {road: Rv3, factor: -1e-9}"))
    # the number rule is for numbers: a name or description that looks like one stays as
    # written (`name: 1e3` had become the scenario "1000.0", written to a folder 1000_0)
    f = tmp_path / "numeric_name.yaml"
    f.write_text("name: 1e3\ndescription: 2e1\nedits:\n  - close_link: {link_ids: [14001]}\n")
    sc = read_scenario(f)
    assert (sc.name, sc.description) == ("1e3", "2e1")


# --- 7. sweep --within ------------------------------------------------------------------------


@pytest.mark.parametrize("within", ["nan", "-5", "inf", "0"])
def test_sweep_within_must_be_a_finite_positive_number(tmp_path, capsys, within):
    f = _file(tmp_path, "upgrade: {road: Rv3, speed_kmh: 90}")
    rc, _, err = _cli(capsys, "sweep", f, "--region", "Tynset", f"--within={within}")
    assert rc == 2
    assert err.strip().splitlines() == [
        f"smaby-geo: error: --within {float(within):g}: --within must be a finite number of "
        "minutes > 0, e.g. --within 60"
    ]


def test_the_documented_example_scenario_applies(n1000, tmp_path):
    """The format's example (docs/methods/scenarios.md) stays within the limits it states."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs/methods/scenarios.md").read_text()
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "example.yaml"
    f.write_text(block)
    sc = read_scenario(f)
    ed = apply_scenario(n1000, sc)
    kinds = [e["edit"] for e in ed.report["scenario"]["edits"]]
    assert kinds.count("ferry_headway") == 1 and "open_facility" in kinds
    check_opened_sites(ed, sc)


def test_sweep_reports_a_site_no_road_reaches_as_the_scenarios_error(tmp_path):
    from smaby_geo.pipeline import run_travel_times
    from smaby_geo.sweep import evaluate_scenario

    res = run_travel_times(
        region="Tynset", grid="1km", service_types=("hospital",), engine="dijkstra"
    )
    f = _file(
        tmp_path,
        f'close_facility: {{name: "{TYNSET_HOSPITAL}"}}',
        "open_facility: {name: New, service_type: hospital, at: [-50000, 6900000]}",
    )
    row = evaluate_scenario(
        res.network, res.cells, res.services, read_scenario(f), service="hospital",
        within_min=60.0,
    )  # fmt: skip
    assert row["error"].startswith(f"{f}, line 4: open_facility: site 'New'")


def test_texts_in_edits_stay_as_written(tmp_path):
    """A facility ``name: 1e3`` is the site "1e3" (the 1e9 number rule had made it 1000.0, so
    ``close_facility`` found no site and ``open_facility`` named its site "1000.0"); a
    ``service_id: 0301`` is "0301", not YAML 1.1's octal 193."""
    sc = read_scenario(
        _file(
            tmp_path,
            "close_facility: {name: 1e3}",
            "close_facility: {service_id: 0301}",
            "open_facility: {name: 2e1, service_type: hospital, at: [262000, 6650000]}",
            "open_facility: {name: 1000, service_type: hospital, at: [262000, 6650000]}",
            "upgrade: {road: Rv3, speed_kmh: 1e2}",
        )
    )
    closed, by_id, opened, opened_int, upgrade = sc.edits
    assert (closed.name, by_id.service_id) == ("1e3", "0301")
    assert (opened.name, opened_int.name) == ("2e1", "1000")
    assert upgrade.speed_kmh == 100.0  # numbers are still numbers
    # quoted texts were always texts
    sc = read_scenario(_file(tmp_path, 'close_facility: {name: "1e3"}'))
    assert sc.edits[0].name == "1e3"
