"""A road that ends on another link (or just short of its own road) is joined there."""

import numpy as np
import pytest
import shapely

from smaby_geo.network import read_kartverket
from smaby_geo.network.noding import RULE_SAME_ROAD, RULE_VERTEX, join_dead_ends
from smaby_geo.network.profile import prior_profile
from smaby_geo.routing import one_to_all

from .conftest import lines

F_MPS = 65 / 3.6  # the prior's rural F speed, m/s


def _read(g, **kw):
    return read_kartverket(g, profile=prior_profile(), builtup=None, **kw)


def _node(net, x, y):
    i = int(np.argmin(np.hypot(net.node_x - x, net.node_y - y)))
    assert np.hypot(net.node_x[i] - x, net.node_y[i] - y) < 1e-6, (x, y)
    return i


def _tee(numbers=(60.0, 61.0), end_y=0.0, **kw):
    """Road 1 runs (0,0)-(1000,0)-(2000,0) with a vertex at (1000,0); road 2 comes from
    (1000,1000) south and ends at (1000, end_y): on road 1's vertex when end_y is 0."""
    g = lines(
        [[(0, 0), (1000, 0), (2000, 0)], [(1000, 1000), (1000, end_y)]],
        typeVeg=["enkelBilveg", "enkelBilveg"],
        vegkategori=["F", "F"],
        vegnummer=list(numbers),
    )
    return _read(g, **kw)


def test_road_ending_on_a_vertex_of_another_link_is_joined_and_routed_through():
    net = _tee()
    rep = net.report["dead_ends_joined"]
    assert rep["joined"] == 1 and rep["links_split"] == 1
    assert rep["joins"][0]["rule"] == RULE_VERTEX and rep["joins"][0]["gap_m"] == 0.0
    # road 1 is split at the junction into two 1000 m pieces that remember their link
    lk = net.links
    pieces = lk[lk["split_from"].notna()]
    assert sorted(pieces["length_m"].round(6)) == [1000.0, 1000.0]
    assert set(pieces["split_from"]) == {0} and len(set(lk["link_id"])) == len(lk)
    north, west, east = _node(net, 1000, 1000), _node(net, 0, 0), _node(net, 2000, 0)
    d = one_to_all(net, north)
    assert d[west] == pytest.approx(2000 / F_MPS) and d[east] == pytest.approx(2000 / F_MPS)
    # as the lines were: road 2 is a dead end that reaches nothing
    raw = _tee(join_dead_ends_m=None)
    assert "dead_ends_joined" not in raw.report
    d = one_to_all(raw, _node(raw, 1000, 1000))
    assert np.isinf(d[_node(raw, 0, 0)]) and np.isinf(d[_node(raw, 2000, 0)])


def test_crossing_without_a_shared_end_stays_apart():
    # a bridge: road 2 crosses road 1 at its vertex (1000, 0) but neither ends there
    g = lines(
        [[(0, 0), (1000, 0), (2000, 0)], [(1000, 1000), (1000, 0), (1000, -1000)]],
        typeVeg=["enkelBilveg", "enkelBilveg"],
        vegkategori=["F", "F"],
        vegnummer=[60.0, 61.0],
    )
    net = _read(g)
    assert net.report["dead_ends_joined"]["joined"] == 0
    assert np.isinf(one_to_all(net, _node(net, 1000, 1000))[_node(net, 0, 0)])


@pytest.mark.parametrize(
    ("numbers", "gap_m", "joined"),
    [
        ((60.0, 60.0), 30.0, True),  # one numbered road, 30 m gap: joined
        ((60.0, 61.0), 30.0, False),  # two roads 30 m apart: left apart
        ((60.0, 60.0), 80.0, False),  # its own road, but beyond 50 m
        ((60.0, 60.0), 0.3, True),  # within the endpoint tolerance
        ((60.0, 61.0), 0.3, True),  # any road within the tolerance: the data's junction
    ],
)
def test_gap_rules(numbers, gap_m, joined):
    net = _tee(numbers, end_y=gap_m)
    rep = net.report["dead_ends_joined"]
    assert rep["joined"] == int(joined)
    north, west = _node(net, 1000, 1000), _node(net, 0, 0)
    d = one_to_all(net, north)[west]
    if joined:
        # road 2 (1000 m less the gap), then a connector across the gap (none within the
        # endpoint tolerance, where the two ends are one node), then 1000 m of road 1
        across = gap_m if gap_m > 0.5 else 0.0
        assert d == pytest.approx((1000 - gap_m + across + 1000) / F_MPS)
        lk = net.links
        assert len(lk) == 3 + (across > 0)  # road 1 in two pieces, road 2, its connector
        if across:  # the connector carries road 2's number and remembers its link
            con = lk[lk["length_m"].round(6) == gap_m]
            assert list(con["split_from"]) == [1] and list(con["road_number"]) == ["Fv60"]
        rule = RULE_VERTEX if gap_m <= 0.5 else RULE_SAME_ROAD
        assert rep["joins"][0]["rule"] == rule and rep["joins"][0]["gap_m"] == gap_m
        assert "dead ends joined 1" in net.describe()
    else:
        assert np.isinf(d)


def test_two_dead_ends_on_one_link_and_on_its_end():
    # roads 2 and 3 end on road 1's interior vertices; road 4 ends 20 m short of road 1's
    # east end, on road 1's number
    g = lines(
        [
            [(0, 0), (500, 0), (1500, 0), (2000, 0)],
            [(500, 800), (500, 0)],
            [(1500, -700), (1500, 0)],
            [(2000, 900), (2000, 20)],
        ],
        typeVeg=["enkelBilveg"] * 4,
        vegkategori=["F"] * 4,
        vegnummer=[60.0, 61.0, 62.0, 60.0],
    )
    net = _read(g)
    rep = net.report["dead_ends_joined"]
    assert rep["joined"] == 3 and rep["links_split"] == 1
    lengths = sorted(net.links["length_m"].round(6))
    assert lengths == [20.0, 500.0, 500.0, 700.0, 800.0, 880.0, 1000.0]
    d = one_to_all(net, _node(net, 500, 800))
    assert d[_node(net, 1500, -700)] == pytest.approx((800 + 1000 + 700) / F_MPS)
    assert d[_node(net, 2000, 900)] == pytest.approx((800 + 1500 + 900) / F_MPS)


def test_ferry_links_are_neither_joined_nor_split():
    g = lines(
        [[(0, 0), (1000, 0), (2000, 0)], [(1000, 3000), (1000, 0)]],
        typeVeg=["enkelBilveg", "bilferje"],
        vegkategori=["F", "F"],
        vegnummer=[60.0, 60.0],
    )
    src, out, con, rep = join_dead_ends(
        g.geometry.to_numpy(), np.array(["Fv60", "Fv60"], dtype=object), np.array([False, True])
    )
    assert rep["joined"] == 0 and list(src) == [0, 1] and not con.any()
    assert all(shapely.equals(a, b) for a, b in zip(out, g.geometry, strict=True))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_gap_is_refused(bad):
    with pytest.raises(ValueError, match="join_dead_ends_m must be a finite number"):
        _tee(join_dead_ends_m=bad)
    with pytest.raises(ValueError, match="same_road_gap_m must be a finite number"):
        join_dead_ends(np.array([]), np.array([]), np.array([], bool), same_road_gap_m=bad)


def test_n1000_utsira_and_gulen_reach_the_main_network(n1000):
    # Utsira's road stops 1.5 m short of the rest of Fv4854; a road in Gulen ends on a
    # vertex of Fv5586: both were cut off from the main network before
    rep = n1000.report["dead_ends_joined"]
    by_road = {(j["road"], j["onto_road"]): j for j in rep["joins"]}
    assert by_road[("Fv4854", "Fv4854")]["gap_m"] == pytest.approx(1.5, abs=0.05)
    assert by_road[(None, "Fv5586")]["rule"] == RULE_VERTEX
    main = n1000.components()["component"].iloc[0]
    for x, y in [(-74239.0, 6617085.0), (-8668.0, 6806727.0)]:
        i = int(np.argmin(np.hypot(n1000.node_x - x, n1000.node_y - y)))
        assert n1000.node_component[i] == main
