"""The roadside settlement term: residents near each link, and the slowing it gives."""

import numpy as np
import pytest
from shapely.geometry import LineString

from smaby_geo.analysis.calibration import default_parameters, set_parameters
from smaby_geo.network import CarProfile, read_kartverket
from smaby_geo.network import roadside as rs
from smaby_geo.network.profile import ROADSIDE_SETTLED_SPEED_RATIO, prior_profile
from smaby_geo.ssb_grid import SSB_ID_X_OFFSET

from .conftest import lines

F_KMH = 65.0  # the prior F speed
Y0 = 6_600_000  # a grid row (south edge of the cells, EPSG:25833 metres)
BAND = np.pi * rs.ROADSIDE_DISTANCE_M / 2  # the band's extra length at the two ends, m


def _cell_id(x_sw: int, y_sw: int) -> str:
    return f"{x_sw + SSB_ID_X_OFFSET:07d}{y_sw:07d}"


def _grid(path, cells):
    """Write an SSB-style 250 m grid CSV of (x_sw, y_sw, residents)."""
    rows = ["ru250m;pop_tot"] + [f"{_cell_id(x, y)};{p}" for x, y, p in cells]
    path.write_text("\n".join(rows) + "\n")
    return path


def _roads(ys):
    """Straight 2 km F roads from x = 0 to 2000 at the heights ``ys``."""
    return lines(
        [[(0, y), (2000, y)] for y in ys],
        typeVeg=["enkelBilveg"] * len(ys),
        vegkategori=["F"] * len(ys),
        vegnummer=[float(i + 1) for i in range(len(ys))],
    )


def _profile(rho0):
    return CarProfile(
        category_speeds_kmh=dict(prior_profile().category_speeds_kmh),
        curvature_scale_deg_per_km=None,
        roadside_density_scale_residents_per_km=rho0,
    )


@pytest.fixture
def village(tmp_path):
    # 400 people in the cell beside road 0 (its centre 125 m from the line), nobody near
    # road 1, which runs 20 km further north; one empty cell beside road 1 (pop 0 is kept)
    return _grid(tmp_path / "grid.csv", [(1000, Y0, 400), (1000, Y0 + 20_000, 0)])


def test_link_beside_a_populated_cell_is_denser_than_an_empty_one(village):
    g = _roads([Y0, Y0 + 20_000])
    net = read_kartverket(g, builtup=None, population=village, profile=_profile(None))
    rho = net.links.sort_values("road_number")["roadside_residents_per_km"].to_numpy()
    # 400 residents over the band length (2 km + pi * 250 m / 2) in km
    assert rho[0] == pytest.approx(400 / ((2000 + BAND) / 1000))
    assert rho[1] == 0.0
    assert net.report["roadside"]["distance_m"] == rs.ROADSIDE_DISTANCE_M


def test_cells_count_only_within_the_distance():
    geom = np.array([LineString([(0, 0), (1000, 0)])], dtype=object)
    x = np.array([500.0, 500.0, 1200.0, 1300.0])
    y = np.array([240.0, -260.0, 0.0, 0.0])  # in, out, in (200 m past the end), out
    got = rs.roadside_residents_per_km(geom, x, y, np.array([10.0, 1000.0, 5.0, 1000.0]))
    assert got[0] == pytest.approx(15.0 / ((1000 + BAND) / 1000))


def test_no_resident_is_lost_from_the_grid_or_the_band(tmp_path):
    # 30 cells along a 7.5 km road (one of them empty), each 125 m from the line
    cells = [(i * 250, Y0, (i * 37) % 101) for i in range(30)]
    path = _grid(tmp_path / "grid.csv", cells)
    x, y, pop = rs.read_grid_cells(path)
    assert len(pop) == 30 and pop.sum() == sum(c[2] for c in cells)
    assert (x, y) == (pytest.approx([c[0] + 125 for c in cells]), pytest.approx([Y0 + 125] * 30))
    geom = np.array([LineString([(0, Y0), (7500, Y0)])], dtype=object)
    got = rs.roadside_residents_per_km(geom, x, y, pop)
    assert got[0] * (7500 + BAND) / 1000 == pytest.approx(pop.sum())
    # the reader's path (grid file -> cached densities) keeps every resident too, even the
    # cells of 1-5 people
    road = lines([[(0, Y0), (7500, Y0)]], typeVeg=["enkelBilveg"], vegkategori=["F"])
    net = read_kartverket(road, builtup=None, population=path)
    rho = net.links["roadside_residents_per_km"].iloc[0]
    assert rho * (7500 + BAND) / 1000 == pytest.approx(sum(c[2] for c in cells))
    assert min(c[2] for c in cells if c[2] > 0) <= 5


def test_the_term_slows_the_rural_part_by_the_settled_share(village):
    g = _roads([Y0, Y0 + 20_000])
    rho0 = 100.0
    net = read_kartverket(g, builtup=None, population=village, profile=_profile(rho0))
    lk = net.links.sort_values("road_number")
    rho = lk["roadside_residents_per_km"].to_numpy()[0]
    settled = rho / (rho + rho0)
    factor = 1 + settled * (1 / ROADSIDE_SETTLED_SPEED_RATIO - 1)
    straight = 2000 / (F_KMH / 3.6)
    assert lk["seconds_fw"].iloc[0] == pytest.approx(straight * factor)
    assert factor > 1.2  # 182 residents/km against a scale of 100: 0.65 settled
    assert lk["seconds_fw"].iloc[1] == pytest.approx(straight)  # empty road: open speed
    # off (None): the settled road is as fast as the empty one
    off = net.with_profile(_profile(None)).links.sort_values("road_number")
    assert off["seconds_fw"].iloc[0] == pytest.approx(straight)


def test_time_factor_form_and_bounds():
    p = _profile(200.0)
    f = p.roadside_time_factor(np.array([0.0, 200.0, 1e9, np.nan, -5.0]))
    top = 1 / ROADSIDE_SETTLED_SPEED_RATIO
    assert f == pytest.approx([1.0, 1 + 0.5 * (top - 1), top, 1.0, 1.0])
    assert np.all(_profile(None).roadside_time_factor(np.array([0.0, 500.0])) == 1.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf, "100", True])
def test_bad_roadside_scale_is_an_error_naming_it(bad):
    with pytest.raises(ValueError, match="roadside_density_scale_residents_per_km"):
        _profile(bad)


def test_bad_grid_inputs_are_errors_naming_them(tmp_path, village):
    g = _roads([Y0])
    with pytest.raises(ValueError, match=r"nogrid\.csv does not exist"):
        read_kartverket(g, builtup=None, population=tmp_path / "nogrid.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"ru250m;pop_tot\n{_cell_id(0, Y0)};-3\n")
    with pytest.raises(ValueError, match=r"bad\.csv: pop_tot"):
        read_kartverket(g, builtup=None, population=bad)
    with pytest.raises(ValueError, match="population must be"):
        read_kartverket(g, builtup=None, population=3)


def test_densities_are_read_from_the_cache_the_second_time(village, monkeypatch):
    g = _roads([Y0, Y0 + 20_000])
    first = read_kartverket(g, builtup=None, population=village).links

    def boom(*a, **k):
        raise AssertionError("computed again")

    monkeypatch.setattr(rs, "_density", boom)
    again = read_kartverket(g, builtup=None, population=village).links
    assert again["roadside_residents_per_km"].to_numpy() == pytest.approx(
        first["roadside_residents_per_km"].to_numpy()
    )
    assert again["roadside_residents_per_km"].max() > 0


def test_fit_parameter_sets_the_profile_field():
    params = default_parameters(prior_profile(), curvature=True, roadside=True)
    p = next(p for p in params if p.path == "roadside_density_scale_residents_per_km")
    assert (p.lower, p.upper) == (10.0, 1000.0)
    prof = set_parameters(prior_profile(), {p.path: 250.0})
    assert prof.roadside_density_scale_residents_per_km == 250.0
    assert "roadside_density_scale_residents_per_km" not in [
        q.path for q in default_parameters(prior_profile(), curvature=True)
    ]


def test_settled_speed_ratio_sets_the_cap_and_is_validated():
    p = CarProfile(roadside_density_scale_residents_per_km=100.0, roadside_settled_speed_ratio=0.5)
    assert p.roadside_time_factor(np.array([100.0, 1e12])) == pytest.approx([1.5, 2.0])
    for bad in (0.0, 1.2, np.nan, "0.5"):
        with pytest.raises(ValueError, match="roadside_settled_speed_ratio"):
            CarProfile(roadside_settled_speed_ratio=bad)
    params = default_parameters(prior_profile(), roadside=True, roadside_ratio=True)
    assert params[-1].path == "roadside_settled_speed_ratio"
    prof = set_parameters(prior_profile(), {params[-1].path: 0.7})
    assert prof.roadside_settled_speed_ratio == 0.7


def test_term_on_without_densities_says_so():
    with pytest.warns(UserWarning, match="roadside term has no densities"):
        net = read_kartverket(_roads([Y0]), builtup=None, population=None, profile=_profile(50.0))
    assert net.links["roadside_residents_per_km"].max() == 0.0
