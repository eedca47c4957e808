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


def test_services_layer_counts_and_note():
    s = load_services()
    assert s.attrs["counts"] == {"hospital": 21, "court": 64, "police": 150, "study_centre": 43}
    assert "incomplete" in s.attrs["note"] and "not official" in s.attrs["note"]
    assert s["service_id"].is_unique
    assert set(s["service_type"]) == {"hospital", "court", "police", "study_centre"}
    more = load_services(["hospital"], include_unverified_hospitals=True)
    assert more.attrs["counts"]["hospital"] == 56


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
