"""The curvature term of the car profile: twisty links are slower than straight ones."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from smaby_geo.analysis.calibration import (
    CalibrationSet,
    Parameter,
    default_parameters,
    fit_profile,
    read_calibration_table,
    trip_minutes,
)
from smaby_geo.network import CarProfile, read_kartverket
from smaby_geo.network.linktimes import curvature_deg_per_km
from smaby_geo.network.profile import prior_profile

from .conftest import lines

F_KMH = 65.0  # the prior F speed


def test_curvature_of_hand_made_lines():
    geoms = np.array(
        [
            LineString([(0, 0), (1000, 0)]),  # straight
            LineString([(0, 0), (500, 0), (500, 500)]),  # one right angle in 1 km
            LineString([(0, 0), (500, 0), (500, 500), (1000, 500), (1000, 1000)]),  # 3 x 90
            LineString([(0, 0), (0, 0), (500, 0), (500, 0), (500, 500)]),  # repeated points
            LineString([(0, 0), (1000, 0), (0, 0)]),  # a U-turn: 180 degrees in 2 km
        ],
        dtype=object,
    )
    got = curvature_deg_per_km(geoms)
    assert got == pytest.approx([0.0, 90.0, 270 / 2.0, 90.0, 90.0])
    assert len(curvature_deg_per_km(np.array([], dtype=object))) == 0


def _net(scale):
    # link 0: 2 km straight; link 1: 2 km with one right angle (45 degrees/km); both F
    g = lines(
        [[(0, 0), (2000, 0)], [(2000, 0), (3000, 0), (3000, 1000)]],
        typeVeg=["enkelBilveg", "enkelBilveg"],
        vegkategori=["F", "F"],
        vegnummer=[1.0, 1.0],
    )
    prof = CarProfile(
        category_speeds_kmh=dict(prior_profile().category_speeds_kmh),
        curvature_scale_deg_per_km=scale,
    )
    return read_kartverket(g, builtup=None, profile=prof)


def test_curvy_link_time_computed_by_hand():
    net = _net(90.0)
    lk = net.links
    assert lk["curvature_deg_per_km"].to_numpy() == pytest.approx([0.0, 45.0])
    straight = 2000 / (F_KMH / 3.6)
    assert lk["seconds_fw"].iloc[0] == pytest.approx(straight)
    # 45 degrees/km at a scale of 90: time x (1 + 45 / 90) = x 1.5
    assert lk["seconds_fw"].iloc[1] == pytest.approx(straight * 1.5)
    assert lk["speed_kmh"].iloc[1] == pytest.approx(F_KMH / 1.5)


def test_switching_the_term_off_makes_curvy_and_straight_links_equal():
    off = _net(None).links
    on = _net(90.0).links
    assert off["seconds_fw"].iloc[1] == pytest.approx(off["seconds_fw"].iloc[0])
    assert on["seconds_fw"].iloc[1] > off["seconds_fw"].iloc[1] * 1.4


def test_retiming_applies_the_term_and_urban_part_is_not_curved():
    net = _net(None)
    on = net.with_profile(CarProfile(
        category_speeds_kmh=dict(prior_profile().category_speeds_kmh),
        curvature_scale_deg_per_km=60.0,
    ))
    straight = 2000 / (F_KMH / 3.6)
    assert on.links["seconds_fw"].iloc[1] == pytest.approx(straight * 1.75)
    # half of the curvy link inside a town: only the rural half is slowed
    town = gpd.GeoDataFrame(geometry=[shapely.box(2900, -100, 3100, 1100)], crs="EPSG:25833")
    g = lines(
        [[(2000, 0), (3000, 0), (3000, 1000)]],
        typeVeg=["enkelBilveg"],
        vegkategori=["F"],
        vegnummer=[1.0],
    )
    prof = CarProfile(
        category_speeds_kmh=dict(prior_profile().category_speeds_kmh),
        urban_speeds_kmh=dict(prior_profile().urban_speeds_kmh),
        curvature_scale_deg_per_km=60.0,
    )
    lk = read_kartverket(g, builtup=town, profile=prof).links
    frac = lk["urban_fraction"].iloc[0]
    assert frac == pytest.approx(1000 / 2000, abs=0.06)
    want = 2000 * ((1 - frac) * 1.75 / (F_KMH / 3.6) + frac / (45.0 / 3.6))
    assert lk["seconds_fw"].iloc[0] == pytest.approx(want)


@pytest.mark.parametrize("bad", [0.0, -10.0, np.nan, np.inf, "90", 1e-3, 49.9])
def test_bad_curvature_scale_is_an_error_naming_it(bad):
    # below the plausibility floor (50 degrees/km) is an error too: 1e-3 was once accepted
    with pytest.raises(ValueError, match="curvature_scale_deg_per_km"):
        CarProfile(curvature_scale_deg_per_km=bad)


def test_curvature_scale_floor_is_accepted():
    assert CarProfile(curvature_scale_deg_per_km=50.0).curvature_scale_deg_per_km == 50.0


def test_fit_recovers_the_curvature_scale_and_keeps_the_class_order():
    # a straight F road and a twisty F road out of kommune 0001; speeds fixed, scale fitted
    g = lines(
        [
            [(0, 0), (20000, 0)],
            [(0, 0), (0, 2000), (1000, 2000), (1000, 4000), (0, 4000), (0, 6000), (1000, 6000),
             (1000, 8000), (0, 8000), (0, 10000)],
        ],
        typeVeg=["enkelBilveg"] * 2,
        vegkategori=["F"] * 2,
        vegnummer=[1.0] * 2,
    )
    centres = gpd.GeoDataFrame(
        geometry=[Point(0, 0), Point(20000, 0), Point(0, 10000)],
        index=pd.Index(["0001", "0002", "0003"], name="kommunenummer"),
        crs="EPSG:25833",
    )
    t = pd.DataFrame({
        "from_kommunenummer": ["0002", "0003"],
        "centre_kommunenummer": ["0001", "0001"],
        "car_minutes_toi": ["1", "1"],
    })
    rows, _ = read_calibration_table(t, centres.index)
    speeds = dict(prior_profile().category_speeds_kmh)
    truth = read_kartverket(
        g, builtup=None,
        profile=CarProfile(category_speeds_kmh=speeds, curvature_scale_deg_per_km=300.0),
    )
    rows["car_minutes_toi"] = CalibrationSet(truth, rows, centres).model_minutes(truth)
    start = CarProfile(category_speeds_kmh=speeds, curvature_scale_deg_per_km=None)  # term off
    net = read_kartverket(g, builtup=None, profile=start)
    cal = CalibrationSet(net, rows, centres)
    assert cal.model_minutes(net)[1] < cal.reference[1] * 0.9  # the twisty trip is too fast
    _, values = fit_profile(
        net, cal, profile=start,
        parameters=[Parameter("curvature_scale_deg_per_km", 50.0, 929.0)],
    )
    assert values["curvature_scale_deg_per_km"] == pytest.approx(300.0, rel=0.02)
    # an order constraint binds: F alone fits the 65 km/h that made the times, but with
    # F <= E and E (no E road here) at most 50, F stays at 50
    exact = CarProfile(category_speeds_kmh=speeds, curvature_scale_deg_per_km=300.0)
    e_f = [Parameter("category_speeds_kmh:E", 30, 50), Parameter("category_speeds_kmh:F", 30, 90)]
    free = fit_profile(net, cal, profile=exact, parameters=e_f[1:])[1]
    assert free["category_speeds_kmh:F"] == pytest.approx(F_KMH, abs=0.5)
    order = (("category_speeds_kmh:E", "category_speeds_kmh:F"),)
    _, v = fit_profile(net, cal, profile=exact, parameters=e_f, order=order)
    assert v["category_speeds_kmh:F"] <= v["category_speeds_kmh:E"] <= 50
    assert v["category_speeds_kmh:F"] > 45


def test_plausible_parameters_and_terminal_time():
    p = {q.path: q for q in default_parameters(prior_profile(), plausible=True, curvature=True,
                                               terminal=True)}
    assert p["category_speeds_kmh:K"].upper == 60.0
    assert (p["curvature_scale_deg_per_km"].lower, p["curvature_scale_deg_per_km"].upper) == (
        50.0, 929.0)
    assert trip_minutes(np.array([10.0, 20.0]), {"trip.terminal_min": 1.5}) == pytest.approx(
        [13.0, 23.0])


def test_curvature_term_changes_the_routing_index_fingerprint(tmp_path):
    from smaby_geo.routing.api import prepare

    off, on = _net(None), _net(90.0)
    a = prepare(off, cache_dir=tmp_path)
    b = prepare(on, cache_dir=tmp_path)
    assert a.fingerprint != b.fingerprint  # a cached index of the old times is never reused
    assert len(list(tmp_path.glob("ch_*.npz"))) == 2


def test_the_parts_of_a_multiline_turn_on_their_own():
    from shapely.geometry import MultiLineString

    bend = [(0, 0), (500, 0), (500, 500)]  # 90 degrees over 1 km
    parallel = MultiLineString([[(0, 0), (500, 0)], [(600, 300), (1100, 300)]])
    one_bend = MultiLineString([bend, [(2000, 0), (3000, 0)]])  # 90 degrees over 2 km
    got = curvature_deg_per_km(np.array([parallel, one_bend, None], dtype=object))
    np.testing.assert_allclose(got, [0.0, 45.0, 0.0])
    assert curvature_deg_per_km(LineString(bend)).tolist() == [90.0]  # one line, not an array
