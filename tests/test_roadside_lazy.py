"""The roadside densities are measured only when a profile's roadside term needs them."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smaby_geo import datasets
from smaby_geo.network import CarProfile, read_kartverket
from smaby_geo.network import roadside as rs
from smaby_geo.network.linktimes import compute_link_times

from .conftest import lines
from .test_roadside import Y0, _grid, _profile

COL = "roadside_residents_per_km"  # rs.ROADSIDE_COLUMN
OFF = _profile(None)  # a profile with the roadside term off


@pytest.fixture
def grid(tmp_path, monkeypatch):
    """The registry's ``popgrid_250m`` replaced by a small grid; ``grid.asked`` counts look-ups.

    400 people beside road 1 (y = Y0), 90 beside road 2 (y = Y0 + 5 km), nobody near road 3
    (y = Y0 + 20 km), 300 beside the ferry only. ``grid.path = None`` makes it missing.
    """
    cells = [(1000, Y0, 400), (500, Y0 + 5000, 90), (1750, Y0 - 1000, 300)]
    path = _grid(tmp_path / "grid.csv", cells)
    real = datasets.locate_dataset

    class Grid:
        asked = 0

    Grid.path = path

    def locate(name, *args, **kwargs):
        if name != "popgrid_250m":
            return real(name, *args, **kwargs)
        Grid.asked += 1
        if Grid.path is None:
            raise datasets.DatasetNotFoundError("popgrid_250m: not found (test)")
        return Path(Grid.path)

    monkeypatch.setattr(datasets, "locate_dataset", locate)
    return Grid


def _roads():
    """Three 2 km F roads and a 3 km car ferry from the end of road 1."""
    ys = [Y0, Y0 + 5000, Y0 + 20_000]
    return lines(
        [[(0, y), (2000, y)] for y in ys] + [[(2000, Y0), (2000, Y0 - 3000)]],
        typeVeg=["enkelBilveg"] * 3 + ["bilferje"],
        vegkategori=["F"] * 4,
        vegnummer=[1.0, 2.0, 3.0, 4.0],
    )


def _forbid_measuring(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("the roadside densities were measured")

    for name in ("_density", "_grid_tree", "read_grid_cells", "roadside_for_links"):
        monkeypatch.setattr(rs, name, boom)


def test_the_default_profile_has_the_term_off_and_the_roadside_fit_measures(grid, monkeypatch):
    # off by default since the term failed its adoption rule (benchmarks/results/roadside.md):
    # a default read neither looks up the grid nor measures
    assert CarProfile().roadside_density_scale_residents_per_km is None
    default = read_kartverket(_roads(), builtup=None)
    assert grid.asked == 0 and default.links[COL].isna().all()
    assert "roadside settlement" not in default.describe()
    # the fit made with the term on (ROADSIDE_FIT) measures at the read and slows road 1
    from smaby_geo.analysis.calibration import set_parameters
    from smaby_geo.network.profile import ROADSIDE_FIT, prior_profile

    net = read_kartverket(
        _roads(), builtup=None, profile=set_parameters(prior_profile(), dict(ROADSIDE_FIT))
    )
    assert grid.asked == 1
    rho = net.links[COL].to_numpy()
    assert rho[0] > rho[1] > 0 and rho[2] == 0.0  # 400 and 90 residents beside roads 1 and 2
    assert net.links["seconds_fw"].iloc[0] > net.links["seconds_fw"].iloc[2]  # slowed
    assert "roadside settlement: residents within 250 m of each link from popgrid_250m" in (
        net.describe()
    )


def test_a_term_off_read_does_not_measure_or_read_the_densities(grid, monkeypatch):
    _forbid_measuring(monkeypatch)
    net = read_kartverket(_roads(), builtup=None, profile=OFF)
    assert grid.asked == 0  # the grid was not even looked up (nor its cached densities read)
    assert net.links[COL].isna().all()
    assert "deferred" in net.report["roadside"]
    assert "roadside settlement" not in net.describe()
    # and re-timing with another profile whose term is off measures nothing either
    off = net.with_profile(_profile(None))
    assert grid.asked == 0 and off.links[COL].isna().all()


def test_switching_the_term_on_later_gives_the_eager_densities_and_times(grid, monkeypatch):
    on = _profile(100.0)
    eager = read_kartverket(_roads(), builtup=None, profile=on)  # measured at the read
    lazy = read_kartverket(_roads(), builtup=None, profile=OFF)
    assert grid.asked == 1 and lazy.links[COL].isna().all()
    later = lazy.with_profile(on)
    rho = later.links[COL].to_numpy()
    assert np.array_equal(rho, eager.links[COL].to_numpy())
    # the figures themselves: 400 and 90 residents over the band of a 2 km road; nobody
    # lives near road 3; the ferry, beside 300 people, has no roadside
    band_km = (2000 + np.pi * rs.ROADSIDE_DISTANCE_M / 2) / 1000
    assert list(later.links["road_number"].iloc[:4]) == ["Fv1", "Fv2", "Fv3", "Fv4"]
    assert rho[:4] == pytest.approx([400 / band_km, 90 / band_km, 0.0, 0.0])
    assert rho[2] == 0.0 and rho[3] == 0.0
    for c in ("seconds_fw", "seconds_bw", "speed_kmh"):
        assert np.array_equal(later.links[c].to_numpy(), eager.links[c].to_numpy(), True), c
    assert np.array_equal(later.weights, eager.weights)
    assert later.links["seconds_fw"].iloc[0] > later.links["seconds_fw"].iloc[2]  # slowed
    # the network switched from is left as it was (compute_link_times returns a copy), and a
    # second switch reads the densities from the data home's cache instead of measuring them
    assert lazy.links[COL].isna().all()
    monkeypatch.setattr(rs, "_density", lambda *a, **k: pytest.fail("measured again"))
    again = lazy.with_profile(on)
    assert np.array_equal(again.weights, eager.weights)


def test_switching_on_reads_the_densities_the_eager_read_cached(grid, monkeypatch):
    read_kartverket(_roads(), builtup=None, profile=_profile(100.0))  # fills the cache
    lazy = read_kartverket(_roads(), builtup=None, profile=OFF)
    monkeypatch.setattr(rs, "_density", lambda *a, **k: pytest.fail("computed again"))
    assert lazy.with_profile(_profile(100.0)).links[COL].max() > 0


def test_a_table_without_densities_or_geometry_is_an_error_naming_the_fix(grid):
    net = read_kartverket(_roads(), builtup=None, profile=OFF)
    links = pd.DataFrame(net.links.drop(columns="geometry"))
    with pytest.raises(ValueError, match=r"roadside_residents_per_km.*measure_roadside_densities"):
        compute_link_times(links, _profile(100.0))
    without = links.drop(columns=COL)
    with pytest.raises(ValueError, match="neither it nor the link geometry"):
        compute_link_times(without, _profile(100.0))
    # the term off needs no densities
    assert np.isfinite(compute_link_times(without, _profile(None))["seconds_fw"]).all()


def test_a_table_with_geometry_but_no_column_is_measured(grid):
    net = read_kartverket(_roads(), builtup=None, profile=_profile(100.0))
    links = net.links.drop(columns=COL)
    got = compute_link_times(links, _profile(100.0))
    assert np.array_equal(got[COL].to_numpy(), net.links[COL].to_numpy())
    assert np.array_equal(got["seconds_fw"].to_numpy(), net.links["seconds_fw"].to_numpy())


def test_the_term_on_without_the_grid_is_an_error_naming_the_fix(grid):
    grid.path = None
    net = read_kartverket(_roads(), builtup=None, profile=OFF)  # off: the grid is not needed
    fixes = (
        r"popgrid_250m dataset was not found \(not on this machine\)\. To fix: run "
        r"`smaby-geo data fetch popgrid_250m`.*population=<an SSB 250 m grid CSV>.*"
        r"CarProfile\(roadside_density_scale_residents_per_km=None\)"
    )
    with pytest.raises(datasets.DatasetNotFoundError, match=fixes):
        net.with_profile(_profile(100.0))
    assert net.links[COL].isna().all()  # nothing half-filled, no zeros
    with pytest.raises(datasets.DatasetNotFoundError, match=fixes):
        read_kartverket(_roads(), builtup=None, profile=_profile(100.0))

    # the fetch's own cause is kept in the line
    def failed_fetch(name, *args, **kwargs):
        exc = datasets.DatasetNotFoundError(f"{name}: not found")
        exc.reason = "fetch failed: Connection refused"
        raise exc

    datasets.locate_dataset = failed_fetch  # the fixture's monkeypatch restores it
    with pytest.raises(datasets.DatasetNotFoundError, match="Connection refused"):
        read_kartverket(_roads(), builtup=None, profile=_profile(100.0))


def test_a_fit_of_the_roadside_scale_measures_the_densities_once(grid, monkeypatch):
    """Every evaluation of the fit re-times the network; the densities are measured once."""
    import geopandas as gpd
    from shapely.geometry import Point

    from smaby_geo.analysis.calibration import (
        CalibrationSet,
        Parameter,
        fit_profile,
        read_calibration_table,
    )
    from smaby_geo.network import linktimes

    net = read_kartverket(_roads(), profile=_profile(None))  # term off: nothing measured
    table = pd.DataFrame(
        {
            "from_kommunenummer": ["0002"],
            "from_kommunenavn": ["B"],
            "centre_kommunenummer": ["0001"],
            "car_minutes_toi": ["2.5"],
        }
    )
    rows, _ = read_calibration_table(table, ["0001", "0002"])
    centres = gpd.GeoDataFrame(
        geometry=[Point(0, Y0), Point(2000, Y0)],
        index=pd.Index(["0001", "0002"], name="kommunenummer"),
        crs="EPSG:25833",
    )
    cal = CalibrationSet(net, rows, centres)
    measured = []
    real = linktimes.measure_roadside_densities

    def counting(*args, **kwargs):
        measured.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(linktimes, "measure_roadside_densities", counting)
    scale = [Parameter("roadside_density_scale_residents_per_km", 10.0, 1000.0)]
    _, values = fit_profile(net, cal, parameters=scale, max_evaluations=20)
    assert 10.0 <= values["roadside_density_scale_residents_per_km"] <= 1000.0
    assert len(measured) == 1


def test_a_default_read_without_the_builtup_layer_is_an_error_naming_the_fixes(grid, monkeypatch):
    real = datasets.locate_dataset

    def locate(name, *args, **kwargs):
        if name == "builtup_areas":
            raise datasets.DatasetNotFoundError("dataset 'builtup_areas' not found (test).")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(datasets, "locate_dataset", locate)
    with pytest.raises(datasets.DatasetNotFoundError, match=r"builtup_areas.*builtup=None"):
        read_kartverket(_roads(), profile=OFF)
    net = read_kartverket(_roads(), builtup=None, profile=OFF)  # meant: rural speeds only
    assert net.report["urban"] == {"off": "builtup=None"}


def test_switching_the_term_on_later_reports_the_grid_and_credits_ssb(grid):
    off = read_kartverket(_roads(), builtup=None, profile=OFF)
    assert "SSB" not in off.attribution and "roadside settlement" not in off.describe()
    on = off.with_profile(_profile(100.0))
    assert on.report["roadside"]["source"].startswith("popgrid_250m")
    assert "roadside settlement: residents within 250 m" in on.describe()
    assert on.attribution == "© Kartverket | Kilde: SSB"
    eager = read_kartverket(_roads(), builtup=None, profile=_profile(100.0))
    assert eager.attribution == on.attribution and eager.report["roadside"] == on.report["roadside"]
