"""Inputs that once gave a silent wrong result: each now errors or is reported correctly."""

import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from smaby_geo.analysis.traveltimes import summarise, travel_times
from smaby_geo.places.services import read_services

from .test_traveltimes import _toy


def _origins():
    return gpd.GeoDataFrame(
        {"population": [10, 30], "kommunenummer": ["0001", "0002"]},
        geometry=[Point(12000, 11000), Point(200, 0)],
        crs="EPSG:25833",
    )


def _hospital():
    return read_services(
        gpd.GeoDataFrame({"name": ["H"]}, geometry=[Point(0, 0)], crs="EPSG:25833"),
        service_type="hospital",
    )


def test_travel_times_default_reports_only_the_types_that_were_loaded():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no sites connected" warning for unloaded types
        t = travel_times(_toy(), _origins(), _hospital())
    assert t.attrs["service_types"] == ["hospital"]
    assert t.attrs["service_types_without_sites"] == []
    assert not any(c.startswith(("court", "police", "study_centre")) for c in t.columns)
    s = summarise(t, by="kommunenummer")
    assert sorted(s["service_type"].unique()) == ["hospital"]
    assert len(s) == 2 and s["unreachable_population"].sum() == 0


def test_travel_times_a_type_asked_for_but_not_loaded_says_so():
    with pytest.warns(UserWarning, match="court.*none of this type: not loaded"):
        t = travel_times(_toy(), _origins(), _hospital(), service_types=["hospital", "court"])
    assert np.isinf(t["court_minutes"]).all()
    assert t.attrs["service_types_without_sites"] == ["court"]


def test_travel_times_with_no_services_and_no_types_is_an_error():
    empty = _hospital().iloc[:0]
    with pytest.raises(ValueError, match="pass service_types="):
        travel_times(_toy(), _origins(), empty)


# ---------------------------------------------------------------- partial speed tables


@pytest.mark.parametrize("name", ["category_speeds_kmh", "urban_speeds_kmh"])
def test_a_partial_speed_table_is_an_error_naming_the_missing_classes(name):
    from smaby_geo.network.profile import CarProfile

    e_kmh = 85.0 if name == "category_speeds_kmh" else 60.0  # urban stays under rural
    with pytest.raises(ValueError, match=r"lacks the road classes \['R', 'F', 'K', 'P'\]"):
        CarProfile(**{name: {"E": e_kmh}})
    # the fix the message gives works and keeps the other classes
    full = {**getattr(CarProfile(), name), "E": e_kmh}
    p = CarProfile(**{name: full})
    assert getattr(p, name)["R"] == getattr(CarProfile(), name)["R"]


# ---------------------------------------------------------------- ferry headways, connectors


def test_ferry_headway_keys_that_match_no_link_are_an_error_or_a_warning():
    from smaby_geo.network.profile import prior_profile

    net, p = _toy(), prior_profile()
    fid = int(net.links.loc[net.links["ferry"], "link_id"].iloc[0])
    base = net.links.loc[net.links["link_id"] == fid, "seconds_fw"].iloc[0]
    slow = net.with_profile(p.with_ferry(headways_min={fid: 120.0}))
    # the integer key applies: half of 120 minutes instead of half of 30
    got = slow.links.loc[slow.links["link_id"] == fid, "seconds_fw"].iloc[0]
    assert got - base == pytest.approx((120 - 30) / 2 * 60)
    # a string key (as JSON gives) is an error naming the integer form
    with pytest.raises(ValueError, match=rf"not integers: \['{fid}'\].*'{fid}' -> {fid}"):
        net.with_profile(p.with_ferry(headways_min={str(fid): 120.0}))
    # an integer id of no ferry link here warns, naming it (a larger network's table is legal)
    with pytest.warns(UserWarning, match=r"match no car-ferry link.*\[99999\]"):
        net.with_profile(p.with_ferry(headways_min={99999: 5.0}))


@pytest.mark.parametrize("snap", [1e9, 4000.5])
def test_connector_node_snap_may_not_exceed_the_longest_connector(snap):
    from smaby_geo.network.profile import FerryModel

    with pytest.raises(ValueError, match=r"connector_node_snap_m.*exceeds max_connector_m"):
        FerryModel(connector_node_snap_m=snap)
    assert FerryModel(connector_node_snap_m=4000.0).connector_node_snap_m == 4000.0


# ---------------------------------------------------------------- roadside grid far from roads


@pytest.mark.parametrize("case", ["shifted", "header_only", "all_zero"])
def test_a_population_grid_with_nobody_near_any_link_is_an_error_naming_it(tmp_path, case):
    from smaby_geo.network import read_kartverket

    from .test_roadside import Y0, _cell_id, _grid, _roads

    cells = {
        "shifted": [(1000, Y0 + 500_000, 400)],  # 500 km north of the road
        "header_only": [],
        "all_zero": [(1000, Y0, 0)],
    }[case]
    grid = _grid(tmp_path / f"{case}.csv", cells)
    why = "puts none of its 400 residents within 250 m" if case == "shifted" else "has no residents"
    with pytest.raises(ValueError, match=rf"population grid .*{case}\.csv {why}"):
        read_kartverket(_roads([Y0]), builtup=None, population=grid)
    # a grid with someone beside the road still reads
    ok = _grid(tmp_path / "ok.csv", [(1000, Y0, 400)])
    net = read_kartverket(_roads([Y0]), builtup=None, population=ok)
    assert (net.links["roadside_residents_per_km"] > 0).all()
    assert _cell_id(1000, Y0)  # the helper names the cell the road passes


# ---------------------------------------------------------------- flat API


def test_apply_service_edits_is_in_the_flat_api():
    import smaby_geo
    from smaby_geo.network.edits import apply_service_edits

    assert "apply_service_edits" in smaby_geo.__all__
    assert smaby_geo.apply_service_edits is apply_service_edits


# ---------------------------------------------------------------- --services


def test_services_given_twice_count_once_and_an_empty_list_is_one_line(capsys):
    from smaby_geo.cli import main
    from smaby_geo.job_setup import parse_services

    assert parse_services("hospital,court,hospital, court") == ("hospital", "court")
    for text in (",", " , ", ""):
        with pytest.raises(ValueError, match=r"names no service type; give one or more of"):
            parse_services(text)
    rc = main(["run", "--region", "Tynset", "--grid", "1km", "--services", ","])
    err = capsys.readouterr().err
    assert rc == 2 and "names no service type" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("source", ["nvdb", "osm"])
def test_kartverket_only_inputs_are_refused_for_nvdb_and_osm(source, tmp_path):
    """builtup= and population= time N1000/N2000 links; given for NVDB or OSM they were
    accepted and silently ignored."""
    from smaby_geo import load_network

    with pytest.raises(ValueError, match=r"population= apply to the Kartverket sources"):
        load_network(source, tmp_path / "x.gpkg", population=tmp_path / "grid.csv")
    with pytest.raises(ValueError, match=r"builtup= and population= apply"):
        load_network(source, tmp_path / "x.gpkg", builtup=None, population=None)
