"""``same_boat_routes``: road numbers a user knows to be one boat wait once (issue #12 item 2).

N1000/NVDB/OSM carry no route ids, so each road number is its own ferry route by default; a
planner who knows the timetable groups numbers that are one boat calling at several quays.
"""

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from smaby_geo.network import read_kartverket, read_nvdb, read_osm
from smaby_geo.network.ferry import (
    check_same_boat_routes,
    expand_ferry_routes,
    ferry_routes,
    transfer_links,
)
from smaby_geo.network.profile import prior_profile
from smaby_geo.network.readers import load_network
from smaby_geo.routing import one_to_all
from smaby_geo.routing.api import prepare

from .conftest import lines
from .test_ferry_routes import _node, _oracle, _rich

CROSS = 22 / 3.6  # the prior's crossing speed, m/s
ROAD = 65 / 3.6  # N1000 F road at the prior's speed, m/s
WAIT = prior_profile().ferry.default_headway_min / 2 * 60  # seconds
GROUP = [("Fv57", "Fv606")]

# One boat A (0,0) - B (0,5000) - C (0,10000), drawn as Fv57 A-B and Fv606 B-C; each quay
# has a 1 km road (A south, B east, C north).
ABC = [
    [(0, 0), (0, 5000)],
    [(0, 5000), (0, 10000)],
    [(0, 0), (0, -1000)],
    [(0, 5000), (1000, 5000)],
    [(0, 10000), (0, 11000)],
]
ABC_KINDS = ["ferry", "ferry", "road", "road", "road"]
ABC_NUMBERS = [57, 606, 57, 57, 606]


def _abc_layer():
    return lines(
        ABC,
        typeVeg=["bilferje" if k == "ferry" else "enkelBilveg" for k in ABC_KINDS],
        vegkategori=["F"] * len(ABC),
        vegnummer=[float(n) for n in ABC_NUMBERS],
    )


def _abc(same_boat_routes=None, headways=None):
    profile = prior_profile().with_ferry(headways_min=headways or {})
    return read_kartverket(
        _abc_layer(), profile=profile, builtup=None, same_boat_routes=same_boat_routes
    )


def _a_to_c(net):
    ra, rc = _node(net, 0, -1000), _node(net, 0, 11000)
    return one_to_all(net, ra)[rc], one_to_all(net, rc)[ra]


def test_one_boat_under_two_numbers_waits_once_with_the_group_and_twice_without():
    fw, bw = _a_to_c(_abc())
    two_waits = 2000 / ROAD + 2 * WAIT + 10000 / CROSS
    assert fw == pytest.approx(two_waits) and bw == pytest.approx(two_waits)
    fw, bw = _a_to_c(_abc(GROUP))
    one_wait = 2000 / ROAD + WAIT + 10000 / CROSS
    assert fw == pytest.approx(one_wait) and bw == pytest.approx(one_wait)


def test_boarding_or_leaving_at_the_middle_quay_still_waits_once():
    net = _abc(GROUP)
    ra, rb, rc = (_node(net, x, y) for x, y in [(0, -1000), (1000, 5000), (0, 11000)])
    leg = 5000 / CROSS
    assert one_to_all(net, ra)[rb] == pytest.approx(2000 / ROAD + WAIT + leg)
    assert one_to_all(net, rb)[rc] == pytest.approx(2000 / ROAD + WAIT + leg)
    assert one_to_all(net, rb)[ra] == pytest.approx(2000 / ROAD + WAIT + leg)


def test_the_group_is_one_route_and_a_call_at_the_middle_quay():
    net = _abc(GROUP)
    lk = net.links
    ferry = lk["ferry"].to_numpy(bool) & ~transfer_links(lk)
    assert set(lk.loc[ferry, "ferry_route"]) == {"Fv57+Fv606"}
    fr = net.report["ferry_routes"]
    assert fr["same_boat_routes"] == [["Fv57", "Fv606"]]
    assert [c["routes"] for c in fr["calls"]] == [{"Fv57+Fv606": 2}]
    assert "same boat: Fv57+Fv606" in net.source
    assert "same boat (given by the user, one route and one wait each): Fv57 + Fv606" in (
        net.describe()
    )
    # the road numbers of the data are kept
    assert set(lk.loc[ferry, "road_number"]) == {"Fv57", "Fv606"}


def test_without_groups_the_build_is_exactly_todays():
    a = _abc()
    b = _abc([])
    for net in (a, b):
        assert "same boat" not in net.source and "same boat" not in net.describe()
        assert "same_boat_routes" not in net.report["ferry_routes"]
    pd.testing.assert_frame_equal(
        a.links.drop(columns="geometry"), b.links.drop(columns="geometry")
    )
    np.testing.assert_array_equal(a.weights, b.weights)


def test_distinct_headways_agree_with_the_state_graph_oracle():
    # Fv57 waits 20 min, Fv606 5 min: the oracle charges the group's smallest wait at the
    # middle quay, the wait of the link boarded at an end quay
    for groups in (None, GROUP):
        net = _abc(groups, headways={0: 40.0, 1: 10.0})
        want, road = _oracle(net)
        for s in np.flatnonzero(road):
            got = one_to_all(net, int(s))
            np.testing.assert_allclose(got[road], want[s, road], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize(
    "groups",
    [
        [("Fv60", "Fv61")],  # the X crossing: one boat, free to go on either way
        [("Fv39", "Fv549")],  # the fork: the feeder is the main line's boat
        [("Fv17", "Fv13", "Fv14"), ("Fv60", "Fv61")],
    ],
)
def test_grouped_routes_agree_with_the_state_graph_oracle(groups):
    net = _rich(groups)
    names = {"+".join(g) for g in groups}
    assert names <= set(net.links["ferry_route"].dropna())
    want, road = _oracle(net)
    for s in np.flatnonzero(road):
        got = one_to_all(net, int(s))
        np.testing.assert_allclose(got[road], want[s, road], rtol=1e-9, atol=1e-6)


def test_grouping_the_x_crossing_makes_the_change_free():
    plain, grouped = _rich(), _rich([("Fv60", "Fv61")])
    rf, re_ = _node(plain, 31000, 0), _node(plain, 30000, 10000)  # TF (route 61) to TE (60)
    leg = np.hypot(5000, 5000) / CROSS
    assert one_to_all(plain, rf)[re_] == pytest.approx(1000 / ROAD + 25 * 60 + leg + 15 * 60 + leg)
    rf, re_ = _node(grouped, 31000, 0), _node(grouped, 30000, 10000)
    assert one_to_all(grouped, rf)[re_] == pytest.approx(1000 / ROAD + 25 * 60 + 2 * leg)


def test_helgeland_groups_agree_with_the_state_graph_oracle():
    # real N1000 links: Dønna (Fv809/Fv7300 fork) and Herøy (Fv7270/Fv828) grouped
    import pyogrio

    from smaby_geo.datasets import locate_dataset

    layer = pyogrio.read_dataframe(
        locate_dataset("n1000_roads"), bbox=(360000, 7280000, 440000, 7420000), fid_as_index=True
    )
    groups = [("Fv809", "Fv7300"), ("Fv7270", "Fv828")]
    plain = read_kartverket(layer, builtup=None)
    net = read_kartverket(layer, builtup=None, same_boat_routes=groups)
    fr0, fr = plain.report["ferry_routes"], net.report["ferry_routes"]
    # the grouped forks need no copies or shared tracks any more
    assert len(fr["shared"]) < len(fr0["shared"]) and fr["copies"] < fr0["copies"]
    assert not any(s["route"] in ("Fv7300", "Fv7270", "Fv828") for s in fr["shared"])
    road = np.zeros(net.n_nodes, bool)
    road[net.edge_source[~net.links["ferry"].to_numpy(bool)[net.edge_link]]] = True
    sources = np.random.default_rng(12).choice(np.flatnonzero(road), size=30, replace=False)
    want, road = _oracle(net, sources)
    for s in sources:
        got = one_to_all(net, int(s))
        np.testing.assert_allclose(got[road], want[s, road], rtol=1e-9, atol=1e-6)


# --- every reader ---------------------------------------------------------------------------


def _nvdb_layer():
    import geopandas as gpd

    minutes = [5000 / CROSS / 60, 5000 / CROSS / 60, 1.0, 1.0, 1.0]
    return gpd.GeoDataFrame(
        {
            "FromNodeID": ["A", "B", "A", "B", "C"],
            "ToNodeID": ["B", "C", "RA", "RB", "RC"],
            "ONEWAY": ["B"] * 5,
            "FT_MINUTES": minutes,
            "TF_MINUTES": minutes,
            "VEGTYPE": ["F"] * 5,
            "VEGNUMMER": [float(n) for n in ABC_NUMBERS],
            "ferje": [k == "ferry" for k in ABC_KINDS],
        },
        geometry=[LineString(c) for c in ABC],
        crs="EPSG:25833",
    )


def _osm_file(tmp_path):
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:25833", "EPSG:4326", always_xy=True)
    pts = {1: (0, 0), 2: (0, 5000), 3: (0, 10000), 4: (0, -1000), 5: (1000, 5000), 6: (0, 11000)}
    nodes = "\n".join(
        f' <node id="{i}" lat="{tr.transform(300000 + x, 6800000 + y)[1]:.7f}" '
        f'lon="{tr.transform(300000 + x, 6800000 + y)[0]:.7f}"/>'
        for i, (x, y) in pts.items()
    )
    ferry = (
        '<tag k="route" v="ferry"/><tag k="motor_vehicle" v="yes"/>'
        '<tag k="duration" v="00:15"/>'
    )
    road = '<tag k="highway" v="primary"/>'
    xml = f"""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
{nodes}
 <way id="10"><nd ref="1"/><nd ref="2"/>{ferry}<tag k="ref" v="Fv57"/></way>
 <way id="11"><nd ref="2"/><nd ref="3"/>{ferry}<tag k="ref" v="Fv606"/></way>
 <way id="12"><nd ref="1"/><nd ref="4"/>{road}</way>
 <way id="13"><nd ref="2"/><nd ref="5"/>{road}</way>
 <way id="14"><nd ref="3"/><nd ref="6"/>{road}</way>
</osm>"""
    f = tmp_path / "abc.osm"
    f.write_text(xml)
    return f


@pytest.mark.parametrize("reader", ["n1000", "nvdb", "osm"])
def test_every_reader_passes_the_groups_on(reader, tmp_path):
    profile = prior_profile()

    def read(groups):
        if reader == "n1000":
            return read_kartverket(
                _abc_layer(), profile=profile, builtup=None, same_boat_routes=groups
            )
        if reader == "nvdb":
            return read_nvdb(
                _nvdb_layer(), ferry_column="ferje", profile=profile, same_boat_routes=groups
            )
        return read_osm(_osm_file(tmp_path), profile=profile, same_boat_routes=groups)

    def a_to_c(net):
        d = np.hypot(net.node_x - net.node_x.min(), net.node_y - net.node_y.min())
        ra, rc = int(np.argmin(d)), int(np.argmax(d))  # the road ends south of A, north of C
        return one_to_all(net, ra)[rc]

    plain, grouped = read(None), read(GROUP)
    assert a_to_c(plain) - a_to_c(grouped) == pytest.approx(WAIT)
    assert "same boat: Fv57+Fv606" in grouped.source


def test_load_network_passes_the_groups_on_and_checks_them_before_reading(tmp_path):
    with pytest.raises(ValueError, match="same_boat_routes group 1 is 'Fv57,Fv606'"):
        load_network("n1000", tmp_path / "missing.gpkg", same_boat_routes=["Fv57,Fv606"])
    with pytest.raises(ValueError, match="same_boat_routes"):
        load_network("nvdb", tmp_path / "missing.gpkg", same_boat_routes=[("Fv57", 606)])
    with pytest.raises(ValueError, match="same_boat_routes"):
        load_network("osm", tmp_path / "missing.osm", same_boat_routes="Fv57")
    net = load_network("osm", _osm_file(tmp_path), profile=prior_profile(), same_boat_routes=GROUP)
    assert net.report["ferry_routes"]["same_boat_routes"] == [["Fv57", "Fv606"]]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ("Fv57,Fv606", r"same_boat_routes='Fv57,Fv606' must be a list of groups"),
        (["Fv57", "Fv606"], r"group 1 is 'Fv57', not a list of road numbers"),
        ([("Fv57", 606)], r"group 1 \('Fv57', 606\) holds 606, not a road number"),
        ([("Fv57", None)], r"holds None, not a road number"),
        ([("Fv57",)], r"names fewer than two road numbers"),
        ([("Fv57", "Fv57")], r"names fewer than two road numbers"),
        ([("Fv57", "Fv606"), ("Fv606", "Fv1")], r"'Fv606' is in group 1 and group 2; .*merge"),
        (57, r"must be a list of groups"),
    ],
)
def test_malformed_groups_are_one_clear_error(groups, match):
    with pytest.raises(ValueError, match=match):
        check_same_boat_routes(groups)
    with pytest.raises(ValueError, match=match):
        _abc(groups)


def test_an_unknown_road_number_names_it_and_the_nearest_ferry_numbers():
    with pytest.raises(ValueError, match=r"no car-ferry link .* road number 'Fv6060' .*Fv606"):
        _abc([("Fv57", "Fv6060")])
    # a road number of a road link, not a ferry link, is unknown as a boat too
    road_only = lines(
        ABC,
        typeVeg=["bilferje" if k == "ferry" else "enkelBilveg" for k in ABC_KINDS],
        vegkategori=["F"] * len(ABC),
        vegnummer=[57.0, 606.0, 7.0, 7.0, 7.0],
    )
    with pytest.raises(ValueError, match=r"road number 'Fv7'"):
        read_kartverket(road_only, builtup=None, same_boat_routes=[("Fv57", "Fv7")])


def test_a_network_without_ferries_refuses_groups():
    g = lines([[(0, 0), (1000, 0)]], typeVeg=["enkelBilveg"], vegkategori=["F"], vegnummer=[57.0])
    with pytest.raises(ValueError, match=r"no car-ferry link .* 'Fv57' \(0 numbered ferry"):
        read_kartverket(g, builtup=None, same_boat_routes=GROUP)


def test_rv_and_fv_of_one_number_in_two_groups_is_an_error():
    # Rv80 at sea and Fv80 into a quay are one route (Rv/Fv80): a group naming either takes both
    links = pd.DataFrame(
        {
            "u": [0, 1, 2, 3, 0],
            "v": [1, 2, 3, 4, 5],
            "ferry": [True, True, True, True, False],
            "road_number": ["Fv80", "Rv80", "Fv17", "Fv18", "Fv1"],
        }
    )
    assert ferry_routes(links).tolist() == ["Rv/Fv80", "Rv/Fv80", "Fv17", "Fv18", None]
    assert ferry_routes(links, [("Rv80", "Fv17")]).tolist() == [
        "Rv80+Fv17",
        "Rv80+Fv17",
        "Rv80+Fv17",
        "Fv18",
        None,
    ]
    with pytest.raises(ValueError, match=r"'Fv80' and 'Rv80' are one route \(Rv/Fv80.*merge"):
        ferry_routes(links, [("Rv80", "Fv17"), ("Fv80", "Fv18")])


# --- the prepared-network cache -------------------------------------------------------------


def test_the_prepared_network_cache_key_differs_with_the_groups(tmp_path):
    from smaby_geo.routing.api import routing_engine

    plain, grouped = _abc(), _abc(GROUP)
    prepare(plain, cache_dir=tmp_path)
    prepare(grouped, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.glob("ch_*.npz"))
    assert len(files) == 2  # one prepared network each: the grouped one never reuses the other
    assert routing_engine(grouped)["fingerprint"] != routing_engine(plain)["fingerprint"]
    # and each answers with its own waits
    assert _a_to_c(grouped)[0] == pytest.approx(2000 / ROAD + WAIT + 10000 / CROSS)
    assert _a_to_c(plain)[0] == pytest.approx(2000 / ROAD + 2 * WAIT + 10000 / CROSS)
    # a second network built with the groups finds the grouped one's file
    again = _abc(GROUP)
    prepare(again, cache_dir=tmp_path)
    assert routing_engine(again)["fingerprint"] == routing_engine(grouped)["fingerprint"]


def test_expand_ferry_routes_takes_the_groups_directly():
    net = _abc()  # already expanded; expand the data's links again
    from smaby_geo.network.ferry import added_by_routes

    lk = net.links[~added_by_routes(net.links)].drop(
        columns=["ferry_route", "ferry_transfer", "ferry_shared_with", "ferry_headway_of"]
    )
    geoms = lk.geometry.to_numpy()
    xy = np.column_stack([net.node_x, net.node_y])
    _, _, _, rep0 = expand_ferry_routes(pd.DataFrame(lk), geoms, xy)
    _, _, _, rep = expand_ferry_routes(pd.DataFrame(lk), geoms, xy, GROUP)
    assert rep0["copies"] == 0 and rep["copies"] == 1  # the call at B exists only as one boat
