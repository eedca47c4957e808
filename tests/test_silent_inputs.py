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
