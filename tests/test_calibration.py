"""Calibration of the profile against kommune-to-centre car times (hand-made data)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from smaby_geo.analysis.calibration import (
    CalibrationSet,
    Parameter,
    error_summary,
    fit_profile,
    prior_values,
    read_calibration_table,
    set_parameters,
)
from smaby_geo.network import CarProfile, read_kartverket

from .conftest import lines

KNOWN = ["0001", "0002", "0003", "0004"]


def _table(**over):
    d = {
        "from_kommunenummer": ["0002", "0003", "0004"],
        "from_kommunenavn": ["B", "C", "D"],
        "centre_kommunenummer": ["0001", "0001;0002", "0001"],
        "car_minutes_toi": ["10.5", "20", "30"],
    }
    d.update(over)
    return pd.DataFrame(d)


def test_table_is_read_with_two_centres():
    rows, left = read_calibration_table(_table(), KNOWN)
    assert rows["centres"].tolist() == [["0001"], ["0001", "0002"], ["0001"]]
    assert rows["car_minutes_toi"].tolist() == [10.5, 20.0, 30.0]
    assert left.empty


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "nan", "inf", "99999", "1440.5"])
def test_non_positive_or_missing_minutes_are_an_error(bad):
    with pytest.raises(ValueError, match="car_minutes_toi must be a number of minutes > 0"):
        read_calibration_table(_table(car_minutes_toi=["10", bad, "30"]), KNOWN)


def test_a_kommune_timed_to_itself_is_an_error():
    with pytest.raises(ValueError, match=r"timed to itself.*0003"):
        read_calibration_table(_table(centre_kommunenummer=["0001", "0001;0003", "0001"]), KNOWN)


def test_unknown_kommune_numbers_are_an_error():
    with pytest.raises(ValueError, match=r"unknown.*9999"):
        read_calibration_table(_table(centre_kommunenummer=["0001", "9999", "0001"]), KNOWN)
    with pytest.raises(ValueError, match="4-digit"):
        read_calibration_table(_table(from_kommunenummer=["0002", "x1", "0004"]), KNOWN)


def test_missing_column_and_missing_file_are_errors(tmp_path):
    with pytest.raises(ValueError, match="missing column"):
        read_calibration_table(_table().drop(columns="car_minutes_toi"), KNOWN)
    with pytest.raises(ValueError, match="does not exist"):
        read_calibration_table(tmp_path / "nope.csv", KNOWN)


def test_rows_without_a_centre_are_returned_not_dropped_silently():
    rows, left = read_calibration_table(_table(centre_kommunenummer=["0001", "", "0001"]), KNOWN)
    assert len(rows) == 2 and left["from_kommunenummer"].tolist() == ["0003"]
    assert left["reason"].iloc[0] == "no centre kommune in the table"


def test_renumbered_rindal_is_read_as_its_2024_number():
    t = _table(from_kommunenummer=["1567", "0003", "0004"])
    rows, _ = read_calibration_table(t, [*KNOWN, "5061"])
    assert rows["from_kommunenummer"].iloc[0] == "5061"


def test_urban_speed_is_capped_at_the_rural_speed():
    p = set_parameters(CarProfile(), {"urban_speeds_kmh:F": 80.0, "category_speeds_kmh:F": 60.0})
    assert p.urban_speeds_kmh["F"] == 60.0 and p.category_speeds_kmh["F"] == 60.0


def test_fit_recovers_the_speed_that_made_the_reference_times():
    # a straight F road 0..60 km with kommune centres at 0, 20, 40, 60 km
    g = lines(
        [[(0, 0), (20000, 0)], [(20000, 0), (40000, 0)], [(40000, 0), (60000, 0)]],
        typeVeg=["enkelBilveg"] * 3,
        vegkategori=["F"] * 3,
        vegnummer=[1.0] * 3,
    )
    true = CarProfile(category_speeds_kmh={"E": 80, "R": 75, "F": 62.0, "K": 50, "P": 40})
    centres = gpd.GeoDataFrame(
        geometry=[Point(0, 0), Point(20000, 0), Point(40000, 0), Point(60000, 0)],
        index=pd.Index(KNOWN, name="kommunenummer"),
        crs="EPSG:25833",
    )
    t = _table(car_minutes_toi=["1", "1", "1"])
    rows, _ = read_calibration_table(t, KNOWN)
    truth_net = read_kartverket(g, profile=true)
    cal = CalibrationSet(truth_net, rows, centres)
    rows["car_minutes_toi"] = cal.model_minutes(truth_net)
    start = CarProfile()  # F 73.1 km/h (the fitted default)
    net = read_kartverket(g, profile=start)
    cal = CalibrationSet(net, rows, centres)
    before = error_summary(cal.model_minutes(net), cal.reference)
    assert before["median_abs_pct"] > 3
    fitted, values = fit_profile(
        net, cal, profile=start, parameters=[Parameter("category_speeds_kmh:F", 30, 90)]
    )
    assert values["category_speeds_kmh:F"] == pytest.approx(62.0, abs=0.5)
    assert fitted.category_speeds_kmh["F"] == pytest.approx(62.0, abs=0.5)
    # the nearer of two centres: 0003 -> {0001, 0002} is the 20 km to 0002
    assert cal.reference[1] == pytest.approx(20 / 62.0 * 60, rel=1e-6)
    assert np.isfinite(cal.reference).all()


def _line_setup():
    g = lines(
        [[(0, 0), (30000, 0)], [(30000, 0), (60000, 0)]],
        typeVeg=["enkelBilveg"] * 2,
        vegkategori=["F"] * 2,
        vegnummer=[1.0] * 2,
    )
    net = read_kartverket(g, builtup=None, profile=CarProfile())
    # kommune 0002 lives at 20 km (1 person) and 40 km (3 people) along the road, and one
    # person on an island 50 km off it; its centre kommune 0001 has its centre at 30 km
    cells = gpd.GeoDataFrame(
        {"kommunenummer": ["0002", "0002", "0002", "0001"], "population": [1, 3, 1, 10]},
        geometry=[Point(20000, 0), Point(40000, 0), Point(30000, 50000), Point(30000, 0)],
        crs="EPSG:25833",
    )
    centres = gpd.GeoDataFrame(
        geometry=[Point(30000, 0), Point(35000, 0)],
        index=pd.Index(["0001", "0002"], name="kommunenummer"),
        crs="EPSG:25833",
    )
    t = pd.DataFrame(
        {"from_kommunenummer": ["0002"], "centre_kommunenummer": ["0001"], "car_minutes_toi": [9]}
    )
    rows, _ = read_calibration_table(t, centres.index)
    return net, rows, centres, cells


def test_origin_cells_time_is_the_population_weighted_mean_over_cells():
    net, rows, centres, cells = _line_setup()
    f_min_per_km = 60 / net.profile.category_speeds_kmh["F"]
    centre = CalibrationSet(net, rows, centres).model_minutes(net)
    # from the centre point (35 km) to 30 km: 5 km
    assert centre[0] == pytest.approx(5 * f_min_per_km, rel=1e-9)
    cal = CalibrationSet(net, rows, centres, origin="cells", cells=cells)
    got = cal.model_minutes(net)
    # (1 x 10 km + 3 x 10 km) / 4 people: 10 km, twice the centre's 5 km
    assert got[0] == pytest.approx(10 * f_min_per_km, rel=1e-9)
    assert cal.unreached_population.tolist() == [1.0]  # the island, reported, not averaged


def test_origin_cells_needs_cells_and_a_known_mode():
    net, rows, centres, cells = _line_setup()
    with pytest.raises(ValueError, match="needs cells"):
        CalibrationSet(net, rows, centres, origin="cells")
    with pytest.raises(ValueError, match="origin 'zones'"):
        CalibrationSet(net, rows, centres, origin="zones", cells=cells)
    no_origin = cells[cells.kommunenummer != "0002"]
    with pytest.raises(ValueError, match="no populated cells in kommuner"):
        CalibrationSet(net, rows, centres, origin="cells", cells=no_origin)


def _f_road_fit_setup():
    """A straight F road; the reference times were made at F = 62 km/h."""
    g = lines(
        [[(0, 0), (20000, 0)], [(20000, 0), (40000, 0)], [(40000, 0), (60000, 0)]],
        typeVeg=["enkelBilveg"] * 3,
        vegkategori=["F"] * 3,
        vegnummer=[1.0] * 3,
    )
    centres = gpd.GeoDataFrame(
        geometry=[Point(0, 0), Point(20000, 0), Point(40000, 0), Point(60000, 0)],
        index=pd.Index(KNOWN, name="kommunenummer"),
        crs="EPSG:25833",
    )
    rows, _ = read_calibration_table(_table(car_minutes_toi=["1", "1", "1"]), KNOWN)
    rows["car_minutes_toi"] = [20 / 62 * 60, 20 / 62 * 60, 60 / 62 * 60]  # km at 62 km/h
    net = read_kartverket(g, profile=CarProfile())
    return net, CalibrationSet(net, rows, centres)


F_ONLY = [Parameter("category_speeds_kmh:F", 30, 90)]


@pytest.mark.parametrize("lam", [0.0, 20.0, 1e6])
def test_shrinkage_pulls_the_fit_toward_the_prior_as_computed(lam):
    from scipy.optimize import brentq

    net, cal = _f_road_fit_setup()
    # loss log(v / 62) + lam ((v - 65) / 60)^2 for 62 <= v <= 65 (prior F 65, range 30-90):
    # its minimum solves 1/v + 2 lam (v - 65) / 60^2 = 0; lam = 0 gives the data's 62
    stationary = lambda v: 1 / v + 2 * lam * (v - 65) / 3600  # noqa: E731
    expected = 62.0 if lam == 0 else brentq(stationary, 62.0, 65.0)
    assert lam != 20.0 or 63.0 < expected < 64.0  # the case in between is really in between
    fitted, values = fit_profile(net, cal, parameters=F_ONLY, shrinkage=lam)
    assert values["category_speeds_kmh:F"] == pytest.approx(expected, abs=0.3)
    assert fitted.category_speeds_kmh["F"] == pytest.approx(expected, abs=0.3)


def test_shrinkage_toward_a_given_prior():
    net, cal = _f_road_fit_setup()
    prior = set_parameters(CarProfile(), {"category_speeds_kmh:F": 50.0})
    _, values = fit_profile(net, cal, parameters=F_ONLY, shrinkage=1e6, prior=prior)
    assert values["category_speeds_kmh:F"] == pytest.approx(50.0, abs=0.3)


def test_prior_values_of_a_factor_and_of_a_term_that_is_off():
    from smaby_geo.network.profile import (
        PRIOR_HEADWAY_MIN,
        PRIOR_URBAN_SPEEDS_KMH,
        prior_profile,
    )

    params = [
        Parameter("category_speeds_kmh:K", 30, 60),
        Parameter("urban_speeds_kmh:*", 0.5, 1.17),
        Parameter("ferry.default_headway_min", 20, 120),
        Parameter("curvature_scale_deg_per_km", 50, 929),
        Parameter("roadside_density_scale_residents_per_km", 10, 1000),
    ]
    start = CarProfile()  # the fitted urban speeds: the prior factor is prior / fitted
    got = prior_values(start, params)
    u = start.urban_speeds_kmh
    ratio = float(np.median([PRIOR_URBAN_SPEEDS_KMH[k] / u[k] for k in u]))  # median of 5
    assert got[0] == 50.0 and got[2] == PRIOR_HEADWAY_MIN == 30.0  # half: the observed wait
    assert got[1] == pytest.approx(ratio, rel=1e-3) and got[1] < 1
    assert np.isnan(got[3]) and np.isnan(got[4])  # terms off in the prior: not penalised
    assert prior_values(prior_profile(), params)[1] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "much"])
def test_bad_shrinkage_is_a_clear_error(bad):
    from smaby_geo.analysis.calibration import cross_validate

    net, cal = _f_road_fit_setup()
    with pytest.raises(ValueError, match=r"shrinkage \(lambda\) must be a finite number >= 0"):
        fit_profile(net, cal, parameters=F_ONLY, shrinkage=bad)
    with pytest.raises(ValueError, match="shrinkage"):
        cross_validate(net, cal, profile=CarProfile(), parameters=F_ONLY, shrinkage=bad)


def test_a_table_with_nothing_to_fit_on_is_an_error():
    header_only = _table().iloc[0:0]
    with pytest.raises(ValueError, match="no rows"):
        read_calibration_table(header_only, KNOWN)
    with pytest.raises(ValueError, match="no row names a centre kommune"):
        read_calibration_table(_table(centre_kommunenummer=["", "", ""]), KNOWN)


def test_a_table_given_as_read_by_pandas_keeps_its_blanks_as_blanks():
    t = _table(centre_kommunenummer=["0001", np.nan, "0001"], car_minutes_toi=[10.5, 20, 30])
    rows, left = read_calibration_table(t, KNOWN)
    assert rows["from_kommunenummer"].tolist() == ["0002", "0004"]
    assert left["from_kommunenummer"].tolist() == ["0003"]


@pytest.mark.parametrize(
    ("train", "match"),
    [([], "no calibration rows"), ([-1], "outside 0..2"), ([3], "outside 0..2"),
     ([0.5], "integers")],
)
def test_bad_training_rows_are_an_error(train, match):
    net, cal = _f_road_fit_setup()
    with pytest.raises(ValueError, match=match):
        fit_profile(net, cal, parameters=F_ONLY, train=train)
    with pytest.raises(ValueError, match="max_evaluations"):
        fit_profile(net, cal, parameters=F_ONLY, max_evaluations=0)


def test_calibration_rows_are_checked_when_made_by_hand():
    net, cal = _f_road_fit_setup()
    centres = gpd.GeoDataFrame(
        geometry=[Point(0, 0)], index=pd.Index(["0001"], name="kommunenummer"), crs="EPSG:25833"
    )
    with pytest.raises(ValueError, match=r"no centre for kommune\(s\) \['0002'"):
        CalibrationSet(net, cal.rows, centres)
    with pytest.raises(ValueError, match="lack"):
        CalibrationSet(net, cal.rows.drop(columns="centres"), centres)
    with pytest.raises(ValueError, match="finite minutes > 0"):
        CalibrationSet(net, cal.rows.assign(car_minutes_toi=-3.0), centres)


def test_a_search_point_that_rounds_just_below_a_bound_is_held_at_the_bound(monkeypatch):
    """Powell's bounded line search can hand the objective a point a rounding error below 0.

    For the curvature scale (bounds 50-929) that made 49.99999999999995 and the profile refused
    it as implausible, which stopped ``calibrate_speeds.py --centre-rule densest_km --origin
    centre``; the fit must keep every value inside its bounds.
    """
    import types

    import scipy.optimize

    net, cal = _f_road_fit_setup()
    seen = []

    def search(fun, x0, **_):
        u = np.array([-5.6e-17])  # a search point a rounding error outside [0, 1]
        seen.append(fun(u))
        return types.SimpleNamespace(x=u)

    monkeypatch.setattr(scipy.optimize, "minimize", search)
    scale = [Parameter("curvature_scale_deg_per_km", 50.0, 929.0)]
    fitted, values = fit_profile(net, cal, parameters=scale)
    assert np.isfinite(seen).all() and len(seen) == 1
    assert values["curvature_scale_deg_per_km"] == 50.0
    assert fitted.curvature_scale_deg_per_km == 50.0
