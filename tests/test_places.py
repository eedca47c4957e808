import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from smaby_geo.places import read_place_names
from smaby_geo.places.population import (
    as_origins,
    decode_ssb_cell_ids,
    read_kommuner,
    read_population_grid,
)
from smaby_geo.places.services import (
    _SHIPPED,
    INCOMPLETE_NOTE,
    count_sites_used,
    load_services,
    read_services,
    services_from_osm,
)
from smaby_geo.places.settlements import build_settlements

GRID_TOTAL = 5_146_614


@pytest.fixture(scope="module")
def kommuner():
    return read_kommuner()


@pytest.fixture(scope="module")
def grid250(kommuner):
    return read_population_grid("250m", kommuner=kommuner)


def test_ssb_cell_id_decoding():
    x, y = decode_ssb_cell_ids(pd.Series(["19250006618000", "22625006652250"]))
    assert x.tolist() == [-75000, 262500] and y.tolist() == [6618000, 6652250]
    with pytest.raises(ValueError, match="14 digits"):
        decode_ssb_cell_ids(pd.Series(["123"]))


def test_grid_250m_population_and_kommuner(grid250):
    assert len(grid250) == 220_171
    assert grid250["population"].sum() == GRID_TOTAL
    assert grid250["kommunenummer"].notna().all()
    assert grid250["kommunenummer"].nunique() == 357
    # Oslo holds about a seventh of the 2015 population
    oslo = grid250.loc[grid250["kommunenummer"] == "0301", "population"].sum()
    assert 600_000 < oslo < 700_000
    # centres sit in the middle of 250 m cells
    assert np.allclose((grid250.geometry.x - 125) % 250, 0)


def test_grid_1km_same_total(kommuner):
    g = read_population_grid("1km", kommuner=kommuner)
    assert g["population"].sum() == GRID_TOTAL and len(g) == 55_213


def test_settlements_conserve_population(grid250):
    s = build_settlements(grid250, place_names=read_place_names())
    assert s["population"].sum() == GRID_TOTAL
    assert s["cells"].sum() == len(grid250)
    big = s.sort_values("population").iloc[-1]
    assert big["place_name"] == "Oslo" and big["size_class"] == "town"
    assert set(s["size_class"]) == {"rural", "small_town", "town"}


def test_settlements_touching_cells_8_neighbour():
    cells = gpd.GeoDataFrame(
        {
            "x_sw": [0, 250, 500, 2000],
            "y_sw": [0, 250, 0, 0],
            "cell_size_m": 250,
            "population": [5, 10, 20, 7],
        },
        geometry=[Point(125, 125), Point(375, 375), Point(625, 125), Point(2125, 125)],
        crs="EPSG:25833",
    )
    s = build_settlements(cells, small_town_min=30, town_min=100)
    assert sorted(s["population"]) == [7, 35]
    assert sorted(s["size_class"]) == ["rural", "small_town"]


def _rows(name: str) -> pd.DataFrame:
    from smaby_geo.datasets import locate_dataset

    return pd.read_csv(locate_dataset(name, download=False), dtype=str)


def test_services_layer_counts_and_note():
    s = load_services()
    rows = {t: _rows(n) for t, n in _SHIPPED.items()}
    # the shipped tables have no repeated rows: every row is one site
    assert s.attrs["counts"] == {t: len(r) for t, r in rows.items()}
    assert s.attrs["duplicates"] == []
    note = s.attrs["note"]
    assert "not official registers" in note
    # the note states the counts the data have
    assert f"hospitals: {len(rows['hospital'])} with a cited akuttmottak" in note
    assert f"courts: {len(rows['court'])} tingrett venues, all of them" in note
    assert f"police: {len(rows['police'])} service locations against the 221-225" in note
    n_regional = int((rows["study_centre"]["service_type"] == "study_centre").sum())
    n_campus = len(rows["study_centre"]) - n_regional
    assert (
        f"study centres: {len(rows['study_centre'])}: {n_campus} higher-education campus towns "
        f"and {n_regional} regional study centres"
    ) in note
    n_unverified = len(_rows("hospital_candidates"))
    assert f"{n_unverified} more sites whose acute function is NOT verified left out" in note
    assert "69" not in note and "69" not in INCOMPLETE_NOTE
    assert s["service_id"].is_unique
    assert set(s["service_type"]) == {"hospital", "court", "police", "study_centre"}
    more = load_services(["hospital"], include_unverified_hospitals=True)
    assert more.attrs["counts"]["hospital"] == len(rows["hospital"]) + n_unverified
    assert "(included)" in more.attrs["note"] and "police" not in more.attrs["note"]


def test_duplicate_service_rows_are_reported_not_double_counted(tmp_path):
    src = _rows("courts")
    doubled = pd.concat([src, src.iloc[[0, 5]]], ignore_index=True)
    f = tmp_path / "courts.csv"
    doubled.to_csv(f, index=False)
    with pytest.warns(UserWarning, match="2 duplicate service rows"):
        s = load_services(["court"], paths={"courts": f})
    assert s.attrs["counts"]["court"] == len(src)
    names = src["name"].iloc[[0, 5]]
    assert s.attrs["duplicates"] == [f"court: {n}" for n in names]
    assert s["name"].is_unique
    assert "courts: from a user file" in s.attrs["note"]


def test_sites_far_from_the_network_are_not_counted_as_used():
    from smaby_geo.analysis.traveltimes import travel_times
    from smaby_geo.network import read_kartverket

    from .conftest import lines

    road = lines(
        [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]],
        typeVeg=["enkelBilveg"] * 2,
        vegkategori=["K", "K"],
        vegnummer=[None, None],
    )
    net = read_kartverket(road)
    sv = read_services(
        gpd.GeoDataFrame(
            {"name": ["near", "far", "also near"], "service_type": ["police", "police", "court"]},
            geometry=[Point(1900, 10), Point(1000, 50_000), Point(100, 0)],
            crs="EPSG:25833",
        )
    )
    cells = gpd.GeoDataFrame({"population": [10]}, geometry=[Point(500, 100)], crs="EPSG:25833")
    with pytest.warns(UserWarning, match="left out"):
        t = travel_times(net, cells, sv, types=["police", "court"])
    far_id = sv.loc[sv["name"] == "far", "service_id"].item()
    assert t.attrs["services_left_out"] == [far_id]
    assert sv.attrs["counts"]["police"] == 2
    assert count_sites_used(sv, t.attrs["services_left_out"]) == {"police": 1, "court": 1}


def test_services_unknown_type():
    with pytest.raises(ValueError, match="unknown service types"):
        load_services(["hospital", "bakery"])
    g = gpd.GeoDataFrame(
        {"service_type": ["police", "bakery"], "name": ["a", "b"]},
        geometry=[Point(0, 0), Point(1, 1)],
        crs="EPSG:25833",
    )
    with pytest.raises(ValueError, match="bakery"):
        read_services(g)


def test_user_services_reprojected():
    g = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(10.75, 59.91)], crs="EPSG:4326")
    s = read_services(g, service_type="police")
    assert s.crs == "EPSG:25833" and 250_000 < s.geometry.x.iloc[0] < 270_000


def test_services_from_osm_features_and_file():
    feats = gpd.GeoDataFrame(
        {
            "amenity": ["hospital", "hospital", "police", "college", "cafe"],
            "emergency": ["yes", None, None, None, None],
            "name": list("abcde"),
        },
        geometry=[
            Point(10.7, 59.9),
            box(10.8, 59.9, 10.81, 59.91),
            Point(10.75, 59.91),
            Point(10.76, 59.92),
            Point(10.77, 59.93),
        ],
        crs="EPSG:4326",
    )
    s = services_from_osm(feats)
    assert s["service_type"].tolist() == ["hospital", "police", "study_centre"]
    assert s.attrs["attribution"] == "© OpenStreetMap contributors"
    from smaby_geo.datasets import locate_dataset

    h = services_from_osm(locate_dataset("osm_helsinki"))
    assert h.attrs["counts"]["study_centre"] >= 1


def test_origins_need_population():
    g = gpd.GeoDataFrame({"people": [1]}, geometry=[Point(0, 0)], crs="EPSG:25833")
    with pytest.raises(ValueError, match="no population column 'population'"):
        as_origins(g)
    assert as_origins(g, "people")["population"].tolist() == [1]
    g["people"] = [-1]
    with pytest.raises(ValueError, match="negative"):
        as_origins(g, "people")
