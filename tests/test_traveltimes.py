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
from smaby_geo.network import clip_network, read_kartverket
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile
from smaby_geo.pipeline import run_travel_times, select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import load_services, read_services

from .conftest import lines

GRID_TOTAL = 5_146_614


@pytest.fixture(scope="module")
def national(n1000):
    return run_travel_times(n1000)


def test_population_is_conserved_nationally(national):
    t = national.cells
    assert t["population"].sum() == GRID_TOTAL
    for s in ["hospital", "court", "police", "study_centre"]:
        m = t[f"{s}_minutes"]
        reach = t.loc[np.isfinite(m), "population"].sum()
        unreach = t.loc[~np.isfinite(m), "population"].sum()
        assert reach + unreach == GRID_TOTAL
        summ = national.summary
        ss = summ[summ["service_type"] == s]
        assert ss["population"].sum() == GRID_TOTAL
        assert ss["unreachable_population"].sum() == unreach
    # cells farther than 5 km from any road are unreachable, never attached
    assert not np.isfinite(t.loc[~t["road_connected"], "hospital_minutes"]).any()


def test_cells_off_the_main_network_are_unreachable_with_a_reason(n1000, national):
    from smaby_geo.analysis.traveltimes import unreachable_summary

    t = national.cells
    off = (t["unreachable_reason"] != "").to_numpy()
    assert off.sum() > 0
    # no hospital on any cut-off part: every such cell is unreachable, and only those are
    assert not np.isfinite(t.loc[off, "hospital_minutes"]).any()
    assert np.isfinite(t.loc[~off, "hospital_minutes"]).all()
    acc = unreachable_summary(t)
    assert acc["unreachable_people"]["hospital"] == t.loc[off, "population"].sum()
    # every unreachable person has a reason; the fragments add up to the same people
    assert sum(acc["unreachable_by_reason"]["hospital"].values()) == (
        acc["unreachable_people"]["hospital"]
    )
    assert sum(f["people"] for f in acc["fragments"]) == acc["off_main_network_people"]
    assert all(f["reason"] for f in acc["fragments"])
    # the targets: at most 10,000 people cut off, median snap distance under 300 m
    assert acc["off_main_network_people"] <= 10_000
    assert acc["median_snap_m"] < 300


def test_island_without_car_ferry_is_unreachable_with_its_reason(n1000):
    from smaby_geo.places.snapping import REASON_ISLAND, read_land

    # an island west of Florø (Kinn): its roads are in N1000, no car ferry or bridge is. (The
    # point used here before lies on Mausund, off Frøya, which the Fv6470 car ferry that
    # N1000 draws 279 m off its road's end now reaches: tests/test_ferry_calls.py.)
    pts = gpd.GeoDataFrame(
        {"population": [14, 5]},
        geometry=[Point(-40875, 6867875), Point(262000, 6650000)],
        index=["Kinn", "Oslo"],
        crs="EPSG:25833",
    )
    svc = load_services(["hospital"])
    t = travel_times(n1000, pts, svc, service_types=["hospital"], land=read_land())
    assert np.isinf(t.loc["Kinn", "hospital_minutes"])
    assert t.loc["Kinn", "unreachable_reason"] == REASON_ISLAND
    assert t.loc["Kinn", "road_connected"] and t.loc["Kinn", "snap_m"] < 500
    assert np.isfinite(t.loc["Oslo", "hospital_minutes"])
    assert t.loc["Oslo", "unreachable_reason"] == ""


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
    return read_kartverket(g, profile=prior_profile())  # the hand arithmetic below


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
        t = travel_times(
            net, origins, svc, service_types=["hospital", "court", "police", "study_centre"]
        )
    road = 10000 / (75 / 3.6) + 2000 / (65 / 3.6)
    ferry = 11000 / (22 / 3.6) + PRIOR_HEADWAY_MIN / 2 * 60  # crossing + half the headway
    assert t.loc["ferry island", "hospital_minutes"] == pytest.approx((road + ferry) / 60)
    assert np.isinf(t.loc["no ferry", "hospital_minutes"])
    # on the hospital's own link: 200 m along the R road, no access legs (both on the road)
    assert t.loc["mainland", "hospital_minutes"] == pytest.approx(200 / (75 / 3.6) / 60)
    # empty type: everyone unreachable (inf, never NaN), warned
    assert np.isinf(t["court_minutes"]).all() and t["court_site"].isna().all()
    assert t.attrs["service_types_without_sites"] == ["court", "police", "study_centre"]


def test_clipped_region_equals_networkx_brute_force(n1000):
    """Link snapping + multi-source search against networkx with explicit virtual nodes.

    Every point becomes a node joined to its link's two ends by the partial link times (one
    way as the link), plus the access leg; the snap position is checked with shapely.
    """
    import shapely

    from smaby_geo.places.snapping import link_geometries, snap_points

    kom = read_kommuner()
    sel = select_region(kom, "Tynset")
    net = clip_network(n1000, sel.geometry.union_all().buffer(60_000))
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    svc = load_services(["police", "hospital"])
    svc = svc[svc.intersects(sel.geometry.union_all().buffer(60_000))]
    t = travel_times(net, cells, svc, service_types=["police", "hospital"])
    so = snap_points(net, cells.geometry.x, cells.geometry.y)
    # the snap point is the nearest point of any snap-target link (shapely, brute force)
    geoms = link_geometries(net)
    for i in range(0, len(cells), 97):
        p = shapely.Point(cells.geometry.x.iloc[i], cells.geometry.y.iloc[i])
        d = shapely.distance(geoms[~net.links["ferry"].to_numpy(bool)], p)
        assert so.distance_m[i] == pytest.approx(d.min(), abs=1e-6)
    G = nx.DiGraph()
    for a, b, w in zip(net.edge_source, net.indices, net.weights, strict=False):
        G.add_edge(int(a), int(b), weight=float(w))
    lk = net.links
    leg = 1.3 / (30 / 3.6)

    def attach(H, name, s, i, outwards):
        li = s.link[i]
        u, v = int(lk["u"].iloc[li]), int(lk["v"].iloc[li])
        fw, bw = lk["seconds_fw"].iloc[li], lk["seconds_bw"].iloc[li]
        f, a = s.frac[i], s.distance_m[i] * leg
        if outwards:  # point -> u against the link, point -> v along it
            H.add_edge(name, u, weight=a + bw * f)
            H.add_edge(name, v, weight=a + fw * (1 - f))
        else:
            H.add_edge(u, name, weight=fw * f + a)
            H.add_edge(v, name, weight=bw * (1 - f) + a)

    for stype in ["police", "hospital"]:
        s = svc[svc["service_type"] == stype]
        ss = snap_points(net, s.geometry.x, s.geometry.y)
        H = G.copy()
        for j in range(len(s)):
            attach(H, ("s", j), ss, j, outwards=False)
            H.add_edge(("s", j), "sink", weight=0.0)
        want = []
        for i in range(len(cells)):
            attach(H, ("o", i), so, i, outwards=True)
            # a site on the same link: directly along it
            for j in np.flatnonzero(ss.link == so.link[i]):
                li = so.link[i]
                df = ss.frac[j] - so.frac[i]
                fw, bw = lk["seconds_fw"].iloc[li], lk["seconds_bw"].iloc[li]
                w = fw * df if df > 0 else -df * bw
                w += (so.distance_m[i] + ss.distance_m[j]) * leg
                H.add_edge(("o", i), ("s", j), weight=w)
            try:
                want.append(nx.dijkstra_path_length(H, ("o", i), "sink") / 60)
            except nx.NetworkXNoPath:
                want.append(np.inf)
            H.remove_node(("o", i))
        want = np.array(want)
        got = t[f"{stype}_minutes"].to_numpy()
        assert np.array_equal(np.isfinite(got), np.isfinite(want))
        ok = np.isfinite(got)
        assert np.allclose(got[ok], want[ok], atol=1e-6)


def test_k_nearest_columns(n2000):
    cells = gpd.GeoDataFrame(
        {"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833"
    )
    t = travel_times(n2000, cells, load_services(["police"]), service_types=["police"], k=3)
    m = t[["police_minutes", "police_minutes_2", "police_minutes_3"]].to_numpy()[0]
    assert np.all(np.diff(m) >= 0) and np.all(np.isfinite(m))
    assert (
        len({t["police_site"].iloc[0], t["police_site_2"].iloc[0], t["police_site_3"].iloc[0]}) == 3
    )


def test_crs_mismatch_is_reprojected(n2000):
    pt = gpd.GeoDataFrame({"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833")
    svc = load_services(["police"])
    a = travel_times(n2000, pt, svc, service_types=["police"])
    with pytest.warns(UserWarning, match="reprojecting"):
        b = travel_times(n2000, pt.to_crs("EPSG:4326"), svc, service_types=["police"])
    assert a["police_minutes"].iloc[0] == pytest.approx(b["police_minutes"].iloc[0], abs=1e-6)


def test_unknown_service_type_in_layer(n2000):
    svc = load_services(["police"])
    svc.loc[0, "service_type"] = "bakery"
    pt = gpd.GeoDataFrame({"population": [5]}, geometry=[Point(262000, 6650000)], crs="EPSG:25833")
    with pytest.raises(ValueError, match="unknown service types"):
        travel_times(n2000, pt, svc)


def test_a_full_service_layer_with_one_type_asked_reports_that_type_alone(n2000):
    """The README's ``sg.compare(..., services, service_types=["hospital"])`` passes every
    site; the other types' sites are not used (they were refused as unknown types)."""
    pts = gpd.GeoDataFrame(
        {"population": [5, 7]},
        geometry=[Point(262000, 6650000), Point(100000, 6800000)],
        crs="EPSG:25833",
    )
    every = load_services()
    assert set(every["service_type"]) > {"hospital"}
    a = travel_times(n2000, pts, every, service_types=["hospital"])
    b = travel_times(n2000, pts, load_services(["hospital"]), service_types=["hospital"])
    assert not any(c.startswith(("police_", "court_", "study_centre_")) for c in a.columns)
    assert np.isfinite(a["hospital_minutes"]).all()
    np.testing.assert_array_equal(a["hospital_minutes"], b["hospital_minutes"])
    np.testing.assert_array_equal(a["hospital_site"], b["hospital_site"])
    with pytest.raises(ValueError, match=r"service_types has unknown service types \['hospitl'\]"):
        travel_times(n2000, pts, every, service_types=["hospitl"])


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
    t = travel_times(n2000, pts, load_services(["hospital"]), service_types=["hospital"])
    # one access model for both: without extra arguments the row minimum is the nearest site
    assert np.allclose(m.min(axis=1).to_numpy(), t["hospital_minutes"].to_numpy())
    assert np.isfinite(t["hospital_minutes"]).all()


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
    s = summarise(t, thresholds_min=(30, 60)).set_index("kommunenummer")
    assert s.loc["a", "population"] == 100 and s.loc["a", "unreachable_population"] == 60
    assert s.loc["a", "median_minutes"] == 50.0
    assert s.loc["a", "share_within_30"] == pytest.approx(0.1)
    assert s.loc["a", "share_within_60"] == pytest.approx(0.4)
    assert s.loc["b", "share_within_60"] == 0.0
    with pytest.raises(ValueError, match="sorted"):
        summarise(t, thresholds_min=(60, 30))


def test_unknown_region_lists_close_matches():
    with pytest.raises(ValueError, match="Innlandet"):
        select_region(read_kommuner(), "Innlandett")


def test_region_by_number_and_name():
    kom = read_kommuner()
    assert len(select_region(kom, "34")) == len(select_region(kom, "innlandet")) > 40
    assert select_region(kom, "3421")["kommunenavn"].iloc[0] == "Trysil"
