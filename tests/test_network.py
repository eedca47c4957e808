import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from smaby_geo.datasets import locate_dataset
from smaby_geo.network import (
    FerryModel,
    network_from_lines,
    network_from_osmnx,
    read_kartverket,
    read_nvdb,
    read_osm,
)
from smaby_geo.network.ferry import added_by_routes
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile
from smaby_geo.routing import one_to_all

from .conftest import lines

# --- real files -----------------------------------------------------------------------------


def test_n1000_national_summary(n1000):
    s = n1000.summary()
    # 240 car-ferry links in the data; the call on the Fv6470 line (Mausund) splits one
    assert len(s["ferry_connectors"]["line_calls"]) == 1
    assert s["ferry_links"] == 241
    assert s["excluded_links"]["typeVeg=sti"] == 924
    assert s["excluded_links"]["typeVeg=passasjerferje"] == 25
    # all 13,215 enkelBilveg + 240 ferries minus 13 planned links are read; road links split
    # by a ferry connector keep their original id in split_from
    lk = n1000.links
    road = lk[~lk["connector"] & ~added_by_routes(lk)]  # not ferry route transfers/copies
    original = road["split_from"].where(road["split_from"].notna(), road["link_id"])
    assert original.nunique() == 13215 + 240 - 13
    fc = s["ferry_connectors"]
    assert lk["connector"].sum() == fc["joined"] + fc["calls_joined"] + len(fc["line_calls"])
    assert fc["joined"] > 100 and fc["calls_joined"] > 10
    assert fc["joined"] + len(fc["unjoined"]) == fc["ferry_ends"]
    assert fc["calls_joined"] < fc["sea_junctions"]  # forks and bends at sea stay
    assert 60_000 < s["km_total"] < 70_000
    assert set(s["km_by_category"]) == {"E", "R", "F", "K", "P"}
    assert s["largest_component_share"] > 0.95
    assert n1000.indptr.dtype == np.int64 and n1000.indices.dtype == np.int32
    assert n1000.weights.dtype == np.float64
    assert np.all(np.isfinite(n1000.weights)) and np.all(n1000.weights >= 0)


def test_n1000_edges_trace_back_to_links(n1000):
    e = n1000.edges
    assert len(e) == n1000.n_edges
    ferry = e[e["ferry"] & ~added_by_routes(n1000.links)[n1000.edge_link]]
    assert ferry["link_id"].nunique() == 241  # 240 in the data, one split by a line call
    rv3 = e[e["road_number"] == "Rv3"]
    assert len(rv3) > 20 and set(rv3["category"]) == {"R"}
    # N1000 has no one-way data: every link is usable both ways (minus removed parallels)
    assert n1000.n_edges > 1.9 * len(n1000.links)


def test_n1000_road_speeds_follow_profile(n1000):
    lk = n1000.links
    road = lk[lk["time_basis"].eq("category")]
    speed = road["length_m"] / road["seconds_fw"] * 3.6
    rural = road["urban_fraction"].eq(0)
    urban = road["urban_fraction"].eq(1)
    assert rural.sum() > 10000 and urban.sum() > 300
    p = n1000.profile
    cat, urb = p.category_speeds_kmh, p.urban_speeds_kmh
    mw, umw = p.motorway_speeds_kmh, p.urban_motorway_speeds_kmh
    assert cat["E"] != urb["E"] and cat["F"] != urb["F"]  # the two parts can be told apart
    # the rural part is slowed by the curvature term (1 + turning / scale); the roadside term
    # is off by default, and the default read does not measure its densities
    assert p.roadside_density_scale_residents_per_km is None
    assert road["roadside_residents_per_km"].isna().all()
    slow = 1 + road["curvature_deg_per_km"] / p.curvature_scale_deg_per_km
    e = road["category"].eq("E") & road["motorway"].isna()
    assert np.allclose(speed[e & rural], cat["E"] / slow[e & rural])
    assert np.allclose(speed[e & urban], urb["E"])
    mwr = road["motorway"].eq("motorveg") & rural
    assert np.allclose(speed[mwr], mw["motorveg"] / slow[mwr])
    assert np.allclose(speed[road["motorway"].eq("motorveg") & urban], umw["motorveg"])
    fr = road["category"].eq("F") & rural
    assert np.allclose(speed[fr], cat["F"] / slow[fr])
    # a link partly inside: rural part at the F speed, urban part at the urban F speed
    f = road[road["category"].eq("F") & road["urban_fraction"].between(0.2, 0.8)]
    frac, length = f["urban_fraction"], f["length_m"]
    fslow = slow[f.index]
    expect = length * (1 - frac) * fslow / (cat["F"] / 3.6) + length * frac / (urb["F"] / 3.6)
    assert len(f) > 50 and np.allclose(f["seconds_fw"], expect)
    # connectors run at the connector speed
    con = lk[lk["connector"] & (lk["length_m"] > 0)]
    assert np.allclose(con["length_m"] / con["seconds_fw"] * 3.6, 40.0)


def test_n2000_reads_with_ferries(n2000):
    s = n2000.summary()
    assert s["ferry_links"] == 145
    lk = n2000.links
    road = lk[~lk["connector"] & ~added_by_routes(lk)]
    assert road["split_from"].where(road["split_from"].notna(), road["link_id"]).nunique() == 2585


def test_crossing_lines_without_shared_vertex_are_not_joined():
    # an overpass: two lines cross in the middle but share no vertex
    g = lines([[(0, 0), (1000, 0)], [(500, -500), (500, 500)]], speed=[60.0, 60.0])
    net = network_from_lines(g, speed_column="speed")
    assert net.n_nodes == 4
    d = one_to_all(net, 0)
    assert np.isinf(d).sum() == 2


def test_endpoint_tolerance_joins_nearby_ends():
    g = lines([[(0, 0), (1000, 0)], [(1000.3, 0.1), (2000, 0)]], speed=[36.0, 36.0])
    assert network_from_lines(g, speed_column="speed", tolerance_m=0.5).n_nodes == 3
    assert network_from_lines(g, speed_column="speed", tolerance_m=0.0).n_nodes == 4


def test_nvdb_sample_directions_and_times():
    net = read_nvdb()
    lk = net.links
    raw = gpd.read_file(locate_dataset("nvdb_oslo_sample"))
    assert len(lk) == len(raw) == 1000
    ft = raw["ONEWAY"].eq("FT").to_numpy()
    assert np.all(np.isinf(lk["seconds_bw"].to_numpy()[ft]))
    assert np.allclose(lk["seconds_fw"].to_numpy()[ft], raw["FT_MINUTES"].to_numpy()[ft] * 60)
    tf = raw["ONEWAY"].eq("TF").to_numpy()
    assert np.all(np.isinf(lk["seconds_fw"].to_numpy()[tf]))
    # FromNodeID/ToNodeID preserved
    assert (lk["from_node_id"].to_numpy() == raw["FromNodeID"].astype(str).to_numpy()).all()
    assert net.n_nodes == len(set(raw["FromNodeID"]) | set(raw["ToNodeID"]))


def test_nvdb_bad_oneway_is_named():
    raw = gpd.read_file(locate_dataset("nvdb_oslo_sample")).head(5)
    raw.loc[raw.index[0], "ONEWAY"] = "X"
    with pytest.raises(ValueError, match="ONEWAY must be one of"):
        read_nvdb(raw)


@pytest.mark.parametrize("name", ["osm_test", "osm_helsinki"])
def test_osm_pbf_reader(name):
    net = read_osm(locate_dataset(name))
    s = net.summary()
    assert s["nodes"] > 300 and s["edges"] > 600
    assert "© OpenStreetMap contributors" in net.attribution
    lk = net.links
    assert (
        lk["category"]
        .isin(
            [
                "motorway",
                "motorway_link",
                "primary",
                "primary_link",
                "secondary",
                "secondary_link",
                "tertiary",
                "tertiary_link",
                "residential",
                "unclassified",
                "service",
                "living_street",
                "trunk",
                "trunk_link",
                "road",
            ]
        )
        .all()
    )
    assert (lk["length_m"] > 0).all()
    # one-way streets exist in both extracts and are closed backwards
    assert np.isinf(lk["seconds_bw"]).any()


def test_osm_xml_reader_keeps_car_ferry(tmp_path):
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="60.000" lon="10.000"/>
 <node id="2" lat="60.010" lon="10.000"/>
 <node id="3" lat="60.020" lon="10.000"/>
 <node id="4" lat="60.030" lon="10.000"/>
 <way id="10"><nd ref="1"/><nd ref="2"/>
  <tag k="highway" v="primary"/><tag k="maxspeed" v="80"/></way>
 <way id="11"><nd ref="2"/><nd ref="3"/>
  <tag k="route" v="ferry"/><tag k="motor_vehicle" v="yes"/><tag k="duration" v="00:20"/></way>
 <way id="12"><nd ref="3"/><nd ref="4"/>
  <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
 <way id="13"><nd ref="1"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>"""
    f = tmp_path / "t.osm"
    f.write_text(xml)
    net = read_osm(f, profile=prior_profile().with_ferry(default_headway_min=30))
    lk = net.links.set_index("osm_way")
    assert set(lk.index) == {10, 11, 12}
    assert lk.loc[11, "ferry"]
    assert lk.loc[11, "seconds_fw"] == pytest.approx(20 * 60 + 15 * 60)
    assert lk.loc[10, "seconds_fw"] == pytest.approx(lk.loc[10, "length_m"] / (64 / 3.6))
    assert np.isinf(lk.loc[12, "seconds_bw"])


def _osmnx_graph():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i, lat in enumerate([60.0, 60.01, 60.02]):
        G.add_node(i, x=10.0, y=lat)
    G.add_edge(0, 1, length=1113.0, highway="secondary", oneway=False)
    G.add_edge(1, 0, length=1113.0, highway="secondary", oneway=False)
    G.add_edge(1, 2, length=1113.0, route="ferry", duration="10", oneway=False)
    G.add_edge(2, 1, length=1113.0, route="ferry", duration="10", oneway=False)
    return G


def test_osmnx_graph_with_ferry():
    net = network_from_osmnx(_osmnx_graph(), profile=prior_profile().with_ferry(wait_mode="none"))
    d = one_to_all(net, 0)
    assert d[2] == pytest.approx(1113.0 / (55 / 3.6) + 600.0)
    assert net.links["ferry"].sum() == 2


def test_generic_lines_time_column_and_oneway():
    g = lines([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], t=[1.0, 2.0], ow=[False, True])
    net = network_from_lines(g, time_column="t", time_unit="min", oneway_column="ow")
    d = one_to_all(net, 0)
    assert d.max() == pytest.approx(180.0)
    back = one_to_all(net, 0, direction="to")
    assert np.isinf(back).sum() == 1


# --- ferry model ----------------------------------------------------------------------------


def _ferry_net(**ferry):
    g = lines([[(0, 0), (0, 11000)]], typeVeg=["bilferje"], vegkategori=["F"], vegnummer=[1.0])
    return read_kartverket(g, profile=prior_profile().with_ferry(**ferry))


def test_ferry_half_headway_default():
    # 11 km at 22 km/h = 30 min crossing, plus half of the prior's 30 min headway
    assert _ferry_net().weights[0] == pytest.approx(30 * 60 + 15 * 60)
    assert PRIOR_HEADWAY_MIN == 30.0


def test_ferry_half_headway_capped_and_override():
    net = _ferry_net(headways_min={0: 300.0})
    assert net.weights[0] == pytest.approx(30 * 60 + 120 * 60)


def test_ferry_effective_speed_and_none():
    assert _ferry_net(wait_mode="effective_speed").weights[0] == pytest.approx(11000 / (12.3 / 3.6))
    assert _ferry_net(wait_mode="none").weights[0] == pytest.approx(30 * 60)


def test_ferry_without_departures_is_impassable():
    net = _ferry_net(headways_min={0: float("inf")})
    assert net.n_edges == 0


def test_ferry_model_rejects_bad_mode():
    with pytest.raises(ValueError, match="wait_mode"):
        FerryModel(wait_mode="sometimes")


# --- duplicates, components, bad input ------------------------------------------------------


def test_duplicate_parallel_links_keep_fastest():
    g = lines([[(0, 0), (1000, 0)], [(0, 0), (500, 100), (1000, 0)]], speed=[36.0, 100.0])
    net = network_from_lines(g, speed_column="speed")
    assert net.n_edges == 2
    assert net.report["duplicate_edges_removed"] == 2
    assert net.weights[0] == pytest.approx(np.hypot(500, 100) * 2 / (100 / 3.6))


def test_components_reported_and_largest_kept():
    g = lines(
        [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(9000, 0), (9500, 0)]],
        speed=[50.0, 50.0, 50.0],
    )
    net = network_from_lines(g, speed_column="speed")
    comps = net.components()
    assert list(comps["nodes"]) == [3, 2]
    big = network_from_lines(g, speed_column="speed", keep="largest")
    assert big.n_nodes == 3
    assert big.report["dropped_to_largest"] == {"components": 1, "nodes": 2, "links": 1}


def test_no_crs_is_named():
    g = lines([[(0, 0), (1, 1)]], crs=None, speed=[50.0])
    with pytest.raises(ValueError, match="has no CRS"):
        network_from_lines(g, speed_column="speed")


def test_geographic_crs_is_reprojected():
    g = lines([[(10.0, 60.0), (10.0, 60.01)]], crs="EPSG:4326", speed=[36.0])
    with pytest.warns(UserWarning, match="reprojecting"):
        net = network_from_lines(g, speed_column="speed")
    assert net.links["length_m"].iloc[0] == pytest.approx(1113, rel=0.01)


def test_non_line_geometries_are_counted():
    g = gpd.GeoDataFrame(
        {"speed": [1.0, 2.0, 3.0]},
        geometry=[LineString([(0, 0), (1, 1)]), Point(0, 0), Point(1, 1)],
        crs="EPSG:25833",
    )
    with pytest.raises(ValueError, match=r"\{'Point': 2\}"):
        network_from_lines(g, speed_column="speed")


def test_empty_layer():
    g = gpd.GeoDataFrame({"speed": []}, geometry=[], crs="EPSG:25833")
    with pytest.raises(ValueError, match="is empty"):
        network_from_lines(g, speed_column="speed")


@pytest.mark.parametrize("bad", [np.nan, -5.0, 0.0])
def test_bad_speeds_are_named(bad):
    g = lines([[(0, 0), (1, 1)], [(1, 1), (2, 2)]], speed=[50.0, bad])
    g.index = pd.Index(["a", "b"])
    with pytest.raises(ValueError, match=r"\['b'\]"):
        network_from_lines(g, speed_column="speed")


def test_negative_time_is_named():
    g = lines([[(0, 0), (1, 1)]], t=[-1.0])
    with pytest.raises(ValueError, match="negative"):
        network_from_lines(g, time_column="t")


def test_kartverket_layer_without_drivable_links():
    g = lines([[(0, 0), (1, 1)]], typeVeg=["sti"], vegkategori=[None])
    with pytest.raises(ValueError, match="no drivable links"):
        read_kartverket(g, profile=prior_profile())


def test_ferry_split_into_segments_charges_one_wait():
    # road - ferry - ferry - ferry - road: one crossing drawn as three links (as N1000 does)
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 5500)],
            [(1000, 5500), (1000, 11000)],
            [(1000, 11000), (1000, 22000)],
            [(1000, 22000), (2000, 22000)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "bilferje", "bilferje", "enkelBilveg"],
        vegkategori=["E", "E", "E", "E", "E"],
        vegnummer=[39.0] * 5,
    )
    net = read_kartverket(g, profile=prior_profile())
    d = one_to_all(net, 0)
    crossing = 22000 / (22 / 3.6)
    road = 2000 / (80 / 3.6)
    assert d.max() == pytest.approx(road + crossing + PRIOR_HEADWAY_MIN / 2 * 60)
    back = one_to_all(net, int(np.argmax(d)))
    assert back.max() == pytest.approx(road + crossing + PRIOR_HEADWAY_MIN / 2 * 60)


def test_n1000_e39_halhjem_sandvikvag_chain_has_one_wait(n1000):
    lk = n1000.links.set_index("link_id").loc[[14246, 14257, 14254]]
    crossing = lk["length_m"].sum() / (22 / 3.6)
    # along the chain in either direction the waits add up to one half-headway
    total_fw = lk["seconds_fw"].sum()
    total_bw = lk["seconds_bw"].sum()
    wait = n1000.profile.ferry.default_headway_min * 30  # half the headway, in seconds
    assert {round(total_fw - crossing), round(total_bw - crossing)} == {round(wait)}


def test_ferry_wait_only_when_boarding_at_a_terminal(n1000):
    # link 13197 runs from a sea node (8807, three ferry links meet) to a road terminal
    lk = n1000.links.set_index("link_id").loc[13197]
    crossing = lk["length_m"] / (22 / 3.6)
    ends = {lk["u"]: lk["seconds_bw"], lk["v"]: lk["seconds_fw"]}  # time arriving at node
    lu, lv = n1000.links["u"].to_numpy(), n1000.links["v"].to_numpy()
    road = ~n1000.links["ferry"].to_numpy()
    touches_road = {x: bool((road & ((lu == x) | (lv == x))).any()) for x in ends}
    for node, seconds_into in ends.items():
        other_is_terminal = touches_road[next(x for x in ends if x != node)]
        wait = n1000.profile.ferry.default_headway_min * 30
        assert seconds_into == pytest.approx(crossing + (wait if other_is_terminal else 0))
