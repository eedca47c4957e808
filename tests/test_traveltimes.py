import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from smaby_geo.analysis.traveltimes import (
    od_matrix,
    summarise,
    travel_times,
    weighted_quantile,
)
from smaby_geo.network import CarProfile, clip_network, read_kartverket
from smaby_geo.pipeline import run_travel_times, select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import load_services, read_services
from smaby_geo.places.snapping import AccessModel

from .conftest import lines

GRID_TOTAL = 5_146_614


@pytest.fixture(scope="module")
def national(n1000):
    return run_travel_times(n1000)


def test_population_is_conserved_nationally(national):
    t = national["cells"]
    assert t["population"].sum() == GRID_TOTAL
    for s in ["hospital", "court", "police", "study_centre"]:
        m = t[f"{s}_minutes"]
        reach = t.loc[np.isfinite(m), "population"].sum()
        unreach = t.loc[~np.isfinite(m), "population"].sum()
        assert reach + unreach == GRID_TOTAL
        summ = national["summary"]
        ss = summ[summ["service_type"] == s]
        assert ss["population"].sum() == GRID_TOTAL
        assert ss["unreachable_population"].sum() == unreach
    # cells farther than 5 km from any road are unreachable, never attached
    assert not np.isfinite(t.loc[~t["road_connected"], "hospital_minutes"]).any()


def test_cells_on_a_component_without_ferry_are_unreachable(n1000, national):
    t = national["cells"]
    comps = n1000.components()
    isolated = comps[(comps["ferry_edges"] == 0) & (comps["nodes"] < 50)]["component"]
    node, _ = n1000.nearest_nodes(t.geometry.x.to_numpy(), t.geometry.y.to_numpy())
    on_island = np.isin(n1000.node_component[node], isolated.to_numpy()) & t["road_connected"]
    assert on_island.sum() > 0
    assert not np.isfinite(t.loc[on_island.to_numpy(), "hospital_minutes"]).any()


def _toy():
    """Mainland road with a hospital; island A joined by a car ferry; island B with none."""
    g = lines(
        [
            [(0, 0), (10000, 0)],
            [(10000, 0), (10000, 11000)],
            [(10000, 11000), (12000, 11000)],
            [(30000, 0), (32000, 0)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg", "enkelBilveg"],
        vegkategori=["R", "F", "F", "K"],
        vegnummer=[3.0, 1.0, 2.0, None],
    )
    return read_kartverket(g, profile=CarProfile())


def test_island_with_ferry_uses_it_with_wait_and_island_without_is_unreachable():
    net = _toy()
    svc = read_services(
        gpd.GeoDataFrame({"name": ["H"]}, geometry=[Point(0, 0)], crs="EPSG:25833"),
        service_type="hospital",
    )
    origins = gpd.GeoDataFrame(
        {"population": [10, 20, 30]},
        geometry=[Point(12000, 11000), Point(32000, 0), Point(200, 0)],
        index=["ferry island", "no ferry", "mainland"],
        crs="EPSG:25833",
    )
    with pytest.warns(UserWarning, match="no sites"):
        t = travel_times(net, origins, svc)
    road = 10000 / (75 / 3.6) + 2000 / (65 / 3.6)
    ferry = 11000 / (22 / 3.6) + 30 * 60  # crossing + half of 60 min headway
    assert t.loc["ferry island", "hospital_minutes"] == pytest.approx((road + ferry) / 60)
    assert np.isinf(t.loc["no ferry", "hospital_minutes"])
    # snapped to the hospital's node: only the access leg, 200 m x 1.3 at 30 km/h
    assert t.loc["mainland", "hospital_minutes"] == pytest.approx(200 * 1.3 / (30 / 3.6) / 60)
    assert t["court_minutes"].isna().all()  # empty type: NaN column, warned


def test_clipped_region_equals_networkx_brute_force(n1000):
    kom = read_kommuner()
    sel = select_region(kom, "Tynset")
    net = clip_network(n1000, sel.geometry.union_all().buffer(60_000))
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    svc = load_services(["police", "hospital"])
    svc = svc[svc.intersects(sel.geometry.union_all().buffer(60_000))]
    access = AccessModel()
    t = travel_times(
        net, cells, svc, types=["police", "hospital"], access=access, service_access=access
    )
    G = nx.DiGraph()
    for a, b, w in zip(net.edge_source, net.indices, net.weights, strict=False):
        G.add_edge(int(a), int(b), weight=float(w))
    R = G.reverse()
    for stype in ["police", "hospital"]:
        s = svc[svc["service_type"] == stype]
        sn, sd = net.nearest_nodes(s.geometry.x, s.geometry.y)
        R2 = R.copy()
        for node, dist in zip(sn, sd, strict=False):
            if dist <= access.max_snap_m:
                R2.add_edge("super", int(node), weight=dist * 1.3 / (30 / 3.6))
        d = nx.single_source_dijkstra_path_length(R2, "super", weight="weight")
        on, od = net.nearest_nodes(cells.geometry.x, cells.geometry.y)
        want = np.array(
            [
                (d.get(int(n), np.inf) + x * 1.3 / (30 / 3.6)) / 60 if x <= 5000 else np.inf
                for n, x in zip(on, od, strict=False)
            ]
        )
        got = t[f"{stype}_minutes"].to_numpy()
        assert np.array_equal(np.isfinite(got), np.isfinite(want))
        ok = np.isfinite(got)
        assert np.allclose(got[ok], want[ok], atol=1e-6)


def test_k_nearest_columns(n2000):
    cells = gpd.GeoDataFrame(
        {"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833"
    )
    t = travel_times(n2000, cells, load_services(["police"]), types=["police"], k=3)
    m = t[["police_minutes", "police_minutes_2", "police_minutes_3"]].to_numpy()[0]
    assert np.all(np.diff(m) >= 0) and np.all(np.isfinite(m))
    assert (
        len({t["police_site"].iloc[0], t["police_site_2"].iloc[0], t["police_site_3"].iloc[0]}) == 3
    )


def test_crs_mismatch_is_reprojected(n2000):
    pt = gpd.GeoDataFrame({"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833")
    svc = load_services(["police"])
    a = travel_times(n2000, pt, svc, types=["police"])
    with pytest.warns(UserWarning, match="reprojecting"):
        b = travel_times(n2000, pt.to_crs("EPSG:4326"), svc, types=["police"])
    assert a["police_minutes"].iloc[0] == pytest.approx(b["police_minutes"].iloc[0], abs=1e-6)


def test_unknown_service_type_in_layer(n2000):
    svc = load_services(["police"])
    svc.loc[0, "service_type"] = "bakery"
    pt = gpd.GeoDataFrame({"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833")
    with pytest.raises(ValueError, match="unknown service types"):
        travel_times(n2000, pt, svc)


def test_origins_without_population(n2000):
    pt = gpd.GeoDataFrame({"pop": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833")
    with pytest.raises(ValueError, match="population column"):
        travel_times(n2000, pt, load_services(["police"]))


def test_od_matrix_keeps_caller_ids_and_matches_travel_times(n2000):
    svc = load_services(["hospital"]).set_index("service_id")
    pts = gpd.GeoDataFrame(
        {"population": [1, 2]},
        index=["oslo", "hamar"],
        geometry=[Point(262000, 6650000), Point(283660, 6748028)],
        crs="EPSG:25833",
    )
    m = od_matrix(n2000, pts, svc)
    assert list(m.index) == ["oslo", "hamar"] and list(m.columns) == list(svc.index)
    t = travel_times(n2000, pts, load_services(["hospital"]), types=["hospital"])
    from smaby_geo.analysis.traveltimes import SERVICE_ACCESS

    # every entry is leg + network time + leg, rebuilt from one-to-all searches (another kernel)
    from smaby_geo.places.snapping import AccessModel, snap_points
    from smaby_geo.routing import one_to_all

    so = snap_points(n2000, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), AccessModel())
    sd = snap_points(n2000, svc.geometry.x.to_numpy(), svc.geometry.y.to_numpy(), AccessModel())
    for i in range(len(pts)):
        d = one_to_all(n2000, int(so.node[i]), method="dijkstra")[np.maximum(sd.node, 0)]
        ok = so.connected[i] & sd.connected
        want = np.where(ok, so.leg_seconds[i] + d + sd.leg_seconds, np.inf)
        assert np.allclose(m.iloc[i].to_numpy(), want / 60.0, rtol=1e-12, atol=1e-9)
    assert np.isfinite(m.to_numpy()).sum() >= 2 * 15  # most hospitals reachable from both
    # with the same snapping for both ends, the row minimum is the nearest hospital
    m3 = od_matrix(n2000, pts, svc, access=SERVICE_ACCESS)
    t3 = travel_times(
        n2000, pts, load_services(["hospital"]), types=["hospital"], access=SERVICE_ACCESS
    )
    assert np.allclose(m3.min(axis=1).to_numpy(), t3["hospital_minutes"].to_numpy())
    assert np.isfinite(t["hospital_minutes"]).all()  # notna() would pass on inf


def test_weighted_quantile_by_hand():
    assert weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1, 1, 2]), 0.5) == 20.0
    assert weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1, 1, 2]), 0.9) == 30.0
    assert weighted_quantile(np.array([10.0, 20.0]), np.array([3, 1]), 0.5) == 10.0
    assert np.isnan(weighted_quantile(np.array([1.0]), np.array([0]), 0.5))


def test_summarise_by_hand():
    t = pd.DataFrame(
        {
            "kommunenummer": ["a", "a", "a", "b"],
            "population": [10, 30, 60, 5],
            "hospital_minutes": [20.0, 50.0, np.inf, 95.0],
        }
    )
    t.attrs["service_types"] = ["hospital"]
    s = summarise(t, thresholds=(30, 60)).set_index("kommunenummer")
    assert s.loc["a", "population"] == 100 and s.loc["a", "unreachable_population"] == 60
    assert s.loc["a", "median_minutes"] == 50.0
    assert s.loc["a", "share_within_30"] == pytest.approx(0.1)
    assert s.loc["a", "share_within_60"] == pytest.approx(0.4)
    assert s.loc["b", "share_within_60"] == 0.0
    with pytest.raises(ValueError, match="sorted"):
        summarise(t, thresholds=(60, 30))


def test_unknown_region_lists_close_matches():
    with pytest.raises(ValueError, match="Innlandet"):
        select_region(read_kommuner(), "Innlandett")


def test_region_by_number_and_name():
    kom = read_kommuner()
    assert len(select_region(kom, "34")) == len(select_region(kom, "innlandet")) > 40
    assert select_region(kom, "3421")["kommunenavn"].iloc[0] == "Trysil"
