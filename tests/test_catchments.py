import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import Point

from smaby_geo.analysis.catchments import (
    catchments,
    coverage_curve,
    facility_times,
    minutes_from_facility,
    minutes_from_point,
    population_within,
)
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.outputs.rasters import isochrones, minutes_raster, write_geotiff
from smaby_geo.pipeline import select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import SERVICE_TYPES, load_services


@pytest.fixture(scope="module")
def national_1km(n1000):
    cells = read_population_grid("1km")
    svc = load_services()
    with pytest.warns(UserWarning, match="services lie more than"):
        t = travel_times(n1000, cells, svc)
    return t, svc


def test_every_cell_in_exactly_one_catchment(national_1km):
    t, svc = national_1km
    for s in SERVICE_TYPES:
        c = catchments(t, s, svc)
        reach = np.isfinite(t[f"{s}_minutes"])
        assert c["population"].sum() == t.loc[reach, "population"].sum()
        assert c["population"].sum() + c.attrs["unreachable_population"] == t["population"].sum()
        assert c["cells"].sum() == reach.sum()
        # polygons are disjoint unions of 1 km squares
        assert c.geometry.area.sum() == pytest.approx(reach.sum() * 1e6, rel=1e-9)
        assert c.geometry.dropna().is_valid.all()


def test_catchment_of_a_site_holds_its_nearest_cells(national_1km):
    t, svc = national_1km
    c = catchments(t, "hospital", svc).set_index("service_id")
    tynset = svc[svc["name"].str.contains("Tynset")]["service_id"].iloc[0]
    cells = t[t["hospital_site"] == tynset]
    assert c.loc[tynset, "population"] == cells["population"].sum()
    assert c.loc[tynset, "max_minutes"] == pytest.approx(cells["hospital_minutes"].max())


def test_population_within_and_coverage(n1000):
    kom = read_kommuner()
    sel = select_region(kom, "Innlandet")
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    svc = load_services(["hospital"])
    m = facility_times(n1000, cells, svc, "hospital")
    assert m.shape == (len(cells), len(svc))  # one column per hospital site
    pw = population_within(m, cells["population"], (30, 60, 90))
    assert (np.diff(pw.to_numpy(), axis=1) >= 0).all()  # cumulative
    t = travel_times(n1000, cells, svc, service_types=["hospital"])
    assert np.allclose(m.min(axis=1).to_numpy(), t["hospital_minutes"].to_numpy())
    cov = coverage_curve(t, "hospital", minutes=[0, 30, 60, 1e9])
    assert cov["share"].is_monotonic_increasing
    reach = t.loc[np.isfinite(t["hospital_minutes"]), "population"].sum()
    assert cov["share"].iloc[-1] == pytest.approx(reach / t["population"].sum())
    with pytest.raises(ValueError, match="sorted"):
        population_within(m, cells["population"], (60, 30))
    with pytest.raises(ValueError, match="sorted"):
        population_within(m, cells["population"], (-5, 30))


def test_raster_aligned_to_ssb_grid_and_isochrones(national_1km, tmp_path):
    t, _ = national_1km
    r = minutes_raster(t, "hospital_minutes")
    assert r.resolution_m == 1000
    assert r.transform.c % 1000 == 0 and r.transform.f % 1000 == 0
    assert r.valid.sum() == np.isfinite(t["hospital_minutes"]).sum()
    path = write_geotiff(r, tmp_path / "h.tif", tags={"attribution": "© Kartverket"})
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 25833 and src.nodata == -1
        assert src.tags()["attribution"] == "© Kartverket"
    iso = isochrones(r, (30, 60, 90))
    assert iso["area_km2"].is_monotonic_increasing
    # isochrones are made of populated reachable 1 km cells: area matches the cell counts
    within60 = (np.isfinite(t["hospital_minutes"]) & (t["hospital_minutes"] <= 60)).sum()
    assert iso.loc[iso["minutes"] == 60, "area_km2"].iloc[0] == pytest.approx(within60)


def test_raster_resolution_must_divide_grid(national_1km):
    t, _ = national_1km
    with pytest.raises(ValueError, match="multiple"):
        minutes_raster(t, "hospital_minutes", resolution_m=1500)
    with pytest.raises(ValueError, match="multiple"):
        minutes_raster(t, "hospital_minutes", resolution_m=250)
    r4 = minutes_raster(t, "hospital_minutes", resolution_m=4000)
    assert r4.resolution_m == 4000 and r4.valid.any()


def test_isochrone_from_a_facility_respects_fjords(n1000):
    """Cells across a fjord without a ferry or bridge are far in time even when close."""
    kom = read_kommuner()
    cells = read_population_grid("1km", kommuner=kom)
    svc = load_services(["hospital"])
    sid = svc[svc["name"].str.contains("Bodø")]["service_id"].iloc[0]
    p = svc.set_index("service_id").geometry[sid]
    cells = cells[cells.distance(p) < 150_000]
    m = minutes_from_facility(n1000, cells, svc, sid).to_numpy()
    # the 60-minute isochrone around the hospital, built from the network times
    table = cells.assign(bodo_minutes=m)
    iso = isochrones(minutes_raster(table, "bodo_minutes"), (60,)).geometry.iloc[0]
    inside = iso.contains(cells.geometry).to_numpy()  # cell centres
    near = (cells.distance(p) < 30_000).to_numpy()
    # cells within 30 km in a straight line but over an hour away (across the fjord) lie
    # outside it, and the near cells within the hour inside: no straight-line buffer
    across = near & np.isfinite(m) & (m > 60.5)
    assert across.sum() >= 3
    assert not inside[across].any()
    assert inside[near & (m < 59.5)].all()
    assert not inside[~np.isfinite(m)].any()
    with pytest.raises(KeyError, match="close matches"):
        minutes_from_facility(n1000, cells, svc, "hospital-999")


def test_minutes_from_point_equals_facility(n1000):
    """One-to-all from a site equals the multi-source nearest-facility search to that site."""
    cells = gpd.GeoDataFrame(
        {"population": [1, 2, 3]},
        geometry=[Point(283660, 6748028), Point(257303, 6784358), Point(314933, 6753524)],
        crs="EPSG:25833",
    )
    svc = load_services(["hospital"])
    site = svc.iloc[[int(svc.distance(Point(262069, 6745610)).argmin())]]
    # the reference: travel_times with this site as the only hospital (another kernel)
    ref = travel_times(n1000, cells, site, service_types=["hospital"])
    ref = ref["hospital_minutes"].to_numpy()
    assert np.isfinite(ref).all() and (ref > 5).all()
    pt = site.geometry.iloc[0]
    a = minutes_from_point(n1000, cells, pt, direction="to").to_numpy()
    b = minutes_from_point(n1000, cells, (pt.x, pt.y), direction="to").to_numpy()
    c = minutes_from_facility(n1000, cells, svc, site["service_id"].iloc[0], direction="to")
    for got in (a, b, c.to_numpy()):
        assert np.allclose(got, ref, rtol=0, atol=1e-9)
