import warnings
from pathlib import Path

import numpy as np
import pytest

from smaby_geo.analysis.scenarios import ScenarioFileError, compare, read_scenario
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.network.scenario import (
    CloseFacility,
    FerryHeadway,
    NewLink,
    ReplaceFerry,
    Scenario,
    Upgrade,
    apply_scenario,
    apply_service_edits,
    parse_road_number,
)
from smaby_geo.pipeline import select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import load_services

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def grid1km():
    return read_population_grid("1km")


def _tt(net, cells, svc, types):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return travel_times(net, cells, svc, service_types=types)


def test_road_numbers():
    assert parse_road_number("rv 3") == "Rv3"
    assert parse_road_number("E 39") == "E39"
    assert parse_road_number("fv. 30") == "Fv30"
    with pytest.raises(ValueError, match="not understood"):
        parse_road_number("motorway 1")


def test_replacing_a_ferry_never_makes_any_time_longer(n1000, grid1km):
    sc = read_scenario(SCEN / "e39_hordfast.yaml")
    scen = apply_scenario(n1000, sc)
    edited = scen.report["scenario"]["edits"][0]["links"]
    assert sorted(edited) == [14246, 14254, 14257]  # the whole crossing
    assert n1000.links.set_index("link_id").loc[14257, "ferry"]  # base untouched
    svc = load_services()
    types = ["hospital", "court", "police", "study_centre"]
    r = compare(n1000, scen, grid1km, svc, service_types=types, regions=False)
    for t in types:
        d = r.cells[f"{t}_delta"].to_numpy()
        assert (d <= 1e-9).all()
    # people on the Bjørnafjord side whose nearest hospital is across it gain; with the 49
    # verified hospitals (Stord, Haukeland, Voss ...) that is hundreds, not tens of thousands
    d = r.cells["hospital_delta"].to_numpy()
    faster = int(grid1km["population"].to_numpy()[d < -1e-9].sum())
    assert r.summary.set_index("service_type").loc["hospital", "population_faster"] == faster
    assert faster > 0


def test_closing_a_facility_never_makes_any_time_shorter(n1000, grid1km):
    svc = load_services(["hospital"])
    sc = read_scenario(SCEN / "close_tynset_hospital.yaml")
    sv1 = apply_service_edits(svc, sc)
    assert len(sv1) == len(svc) - 1
    r = compare(
        n1000,
        apply_scenario(n1000, sc),
        grid1km,
        svc,
        sv1,
        service_types=["hospital"],
        regions=False,
    )
    d = r.cells["hospital_delta"].to_numpy()
    assert (d >= -1e-9).all() and (d > 0).any()
    assert r.catchments["population_changed"].iloc[0] > 0


def test_upgrade_only_changes_origins_whose_paths_use_it(n1000):
    kom = read_kommuner()
    sel = select_region(kom, "Innlandet")
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    svc = load_services(["hospital"])
    sc = Scenario("rv3", [Upgrade(road="Rv3", speed_kmh=90)])
    scen = apply_scenario(n1000, sc)
    up = set(scen.report["scenario"]["edits"][0]["links"])
    t0, t1 = _tt(n1000, cells, svc, ["hospital"]), _tt(scen, cells, svc, ["hospital"])
    d = t1["hospital_minutes"].to_numpy() - t0["hospital_minutes"].to_numpy()
    changed = np.flatnonzero(np.abs(d) > 1e-9)
    assert len(changed) > 100 and (d[changed] < 0).all()
    from smaby_geo.analysis.trips import trip

    site_xy = svc.set_index("service_id").geometry
    rng = np.random.default_rng(0)
    for i in rng.choice(changed, 25, replace=False):
        p = site_xy[t1["hospital_site"].iloc[i]]
        o = cells.geometry.iloc[i]
        # the trip's links include the links the two ends are snapped to
        r = trip(scen, (o.x, o.y), (p.x, p.y))
        assert r.minutes == pytest.approx(t1["hospital_minutes"].iloc[i])
        assert up & set(r.link_ids), "a faster origin must use an upgraded link"
    # and origins whose new fastest path avoids every upgraded link keep their exact times
    # (chosen by their route, not by their change: upgrades only shorten links, so such a
    # path costs the same in the base and no base path can beat it)
    m0, m1 = t0["hospital_minutes"].to_numpy(), t1["hospital_minutes"].to_numpy()
    assert np.array_equal(np.isfinite(m0), np.isfinite(m1))  # an upgrade joins nothing new
    kept = 0
    for i in rng.choice(np.flatnonzero(np.isfinite(m1)), 40, replace=False):
        p = site_xy[t1["hospital_site"].iloc[i]]
        o = cells.geometry.iloc[i]
        if not up & set(trip(scen, (o.x, o.y), (p.x, p.y)).link_ids):
            kept += 1
            assert m1[i] == pytest.approx(m0[i], rel=0, abs=1e-9), (i, m0[i], m1[i])
    assert kept >= 10, "the sample must hold origins that do not use the upgraded road"


def test_new_link_and_headway(n1000):
    # a tunnel between Tynset and Alvdal place points and a faster E39 ferry
    sc = Scenario(
        "t",
        [
            NewLink(start=(280276, 6908756), end=(286337, 6884186), speed_kmh=90, max_snap_m=5000),
            FerryHeadway(link_id=14257, headway_min=20),
        ],
    )
    scen = apply_scenario(n1000, sc)
    assert scen.n_edges == n1000.n_edges + 2
    lk = scen.links.set_index("link_id")
    base = n1000.links.set_index("link_id")
    for lid in (14246, 14257, 14254):  # the crossing gets the new wait once
        assert lk.loc[lid, "seconds_fw"] <= base.loc[lid, "seconds_fw"]
    diff = (
        base.loc[[14246, 14257, 14254], ["seconds_fw", "seconds_bw"]].sum()
        - lk.loc[[14246, 14257, 14254], ["seconds_fw", "seconds_bw"]].sum()
    )
    old_wait_min = n1000.profile.ferry.default_headway_min / 2  # half the default headway
    assert np.allclose(diff.to_numpy(), (old_wait_min - 10) * 60)


def test_bad_edits(n1000):
    with pytest.raises(ValueError, match=r"closest: \['Rv3"):
        apply_scenario(n1000, Scenario("x", [Upgrade(road="Rv333", speed_kmh=90)]))
    with pytest.raises(ValueError, match="from the network"):
        apply_scenario(
            n1000, Scenario("x", [NewLink(start=(500000, 6000000), end=(280276, 6908756))])
        )
    with pytest.raises(ValueError, match="not a ferry link"):
        apply_scenario(n1000, Scenario("x", [ReplaceFerry(link_id=1)]))
    svc = load_services(["hospital"])
    with pytest.raises(ValueError, match="close matches"):
        apply_service_edits(svc, Scenario("x", [CloseFacility(name="Tynset sjukehus")]))


def test_yaml_unknown_key_names_key_and_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "name: x\nedits:\n  - upgrade: {road: Rv3, speed_kmh: 90}\n"
        "  - replace_ferry:\n      link_id: 14257\n      sped_kmh: 80\n"
    )
    with pytest.raises(ScenarioFileError, match=r"line 6: unknown key 'sped_kmh'"):
        read_scenario(f)
    f.write_text("name: x\nedit:\n  - upgrade: {road: Rv3}\n")
    with pytest.raises(ScenarioFileError, match=r"line 2: unknown key 'edit'"):
        read_scenario(f)
    f.write_text("name: x\nedits:\n  - widen: {road: Rv3}\n")
    with pytest.raises(ScenarioFileError, match="unknown edit type 'widen'"):
        read_scenario(f)


def test_shipped_scenarios_read():
    for f in sorted(SCEN.glob("*.yaml")):
        sc = read_scenario(f)
        assert sc.edits and sc.description


def test_scenario_cli(tmp_path, capsys):
    from smaby_geo.cli import main

    rc = main(
        [
            "scenario",
            str(SCEN / "e39_hordfast.yaml"),
            "--region",
            "Vestland",
            "--grid",
            "1km",
            "--services",
            "hospital,court",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    out = tmp_path / "e39_hordfast"
    assert (out / "report.html").exists() and (out / "map_delta_hospital.html").exists()
    assert "Kilde: SSB" in (out / "report.html").read_text()
    assert "rule-of-half" in capsys.readouterr().out


def test_a_type_only_the_scenario_has_is_compared_not_left_out(n1000, grid1km):
    """Base services without any study centre; the scenario opens one. With no
    service_types given, the comparison covers study centres too (base minutes inf)."""
    import pandas as pd

    cells = grid1km[grid1km["kommunenummer"] == "3427"]  # Tynset
    svc = load_services(["hospital"])
    site = load_services(["study_centre"]).iloc[[0]]
    sv1 = pd.concat([svc, site], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = compare(n1000, n1000, cells, svc, sv1, regions=False)
    assert "study_centre_delta" in r.cells
    assert np.isinf(r.cells["study_centre_minutes_base"]).all()
    assert np.isfinite(r.cells["study_centre_minutes_scenario"]).all()
    # the hospital, unchanged on both sides, is compared too
    assert (r.cells["hospital_delta"] == 0).all()
