"""Sea junctions of car-ferry links that are quay calls: joined to the road, one wait aboard."""

import numpy as np
import pytest

from smaby_geo.network import FerryModel, read_kartverket
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile
from smaby_geo.routing import one_to_all

from .conftest import lines

WAIT_S = PRIOR_HEADWAY_MIN / 2 * 60  # half of the prior's headway


def _island(numbers=(60.0, 60.0), offset_m=80.0, **ferry):
    """Mainland road A (0,0)-(1000,0); a ferry north from (1000,0) to a sea junction J at
    (1000,5000) and on to road C at (0..2000, 10000); island road B starts ``offset_m`` east
    of J and runs east (a negative offset: B starts west of J and runs through it without a
    vertex there). The ferry's two links carry road numbers ``numbers``."""
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 5000)],
            [(1000, 5000), (1000, 10000)],
            [(0, 10000), (1000, 10000)],
            [(1000, 10000), (2000, 10000)],
            [(1000 + offset_m, 5000), (3000, 5000)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "bilferje"] + ["enkelBilveg"] * 3,
        vegkategori=["F"] * 6,
        vegnummer=[60.0, numbers[0], numbers[1], 60.0, 60.0, 60.0],
    )
    return read_kartverket(g, profile=prior_profile().with_ferry(**ferry), builtup=None)


def _node(net, x, y):
    return int(np.argmin(np.hypot(net.node_x - x, net.node_y - y)))


@pytest.mark.parametrize("numbers", [(60.0, 60.0), (60.0, 61.0)])
def test_sea_junction_by_an_island_road_is_a_quay_call(numbers):
    net = _island(numbers)
    fc = net.report["ferry_connectors"]
    assert fc["sea_junctions"] == 1 and fc["calls_joined"] == 1
    call = fc["calls"][0]
    assert (call["x"], call["y"]) == (1000.0, 5000.0)
    assert call["connector_m"] == pytest.approx(80.0)
    assert "1 joined as quay calls" in net.describe()
    d = one_to_all(net, _node(net, 0, 0))
    v = 65 / 3.6  # the prior's F speed, m/s
    # boarding on the mainland, leaving at the call, the connector, the island road
    to_b = 1000 / v + WAIT_S + 5000 / (22 / 3.6) + 80 / (40 / 3.6) + 1920 / v
    assert d[_node(net, 3000, 5000)] == pytest.approx(to_b)
    # staying aboard past the call: one wait, even where the road number changes there
    to_c = 1000 / v + WAIT_S + 10000 / (22 / 3.6) + 1000 / v
    assert d[_node(net, 0, 10000)] == pytest.approx(to_c)
    # boarding at the call waits once
    back = one_to_all(net, _node(net, 3000, 5000))
    assert back[_node(net, 0, 0)] == pytest.approx(to_b)


def test_without_calls_the_island_is_cut_off_and_the_crossing_unchanged():
    on, off = _island(), _island(max_call_m=None)
    assert off.report["ferry_connectors"]["calls_joined"] == 0
    d_on = one_to_all(on, _node(on, 0, 0))
    d_off = one_to_all(off, _node(off, 0, 0))
    assert np.isinf(d_off[_node(off, 3000, 5000)])
    assert np.isfinite(d_on[_node(on, 3000, 5000)])
    assert d_on[_node(on, 0, 10000)] == pytest.approx(d_off[_node(off, 0, 10000)])


@pytest.mark.parametrize("limit", [50.0, 0.0])
def test_junction_beyond_the_call_limit_is_not_joined(limit):
    net = _island(max_call_m=limit)
    assert net.report["ferry_connectors"]["calls_joined"] == 0
    assert np.isinf(one_to_all(net, _node(net, 0, 0))[_node(net, 3000, 5000)])


def test_junction_drawn_on_a_road_is_joined_at_limit_zero():
    net = _island(offset_m=-100.0, max_call_m=0.0)
    fc = net.report["ferry_connectors"]
    assert fc["calls_joined"] == 1 and fc["calls"][0]["connector_m"] == 0.0
    assert fc["roads_split"] == 1  # road B is split under the junction
    assert np.isfinite(one_to_all(net, _node(net, 0, 0))[_node(net, 3000, 5000)])


def test_fork_off_a_quay_is_not_a_call():
    # the ferry forks at J (1000,5000) to a landing Q (1500,5000) that ends 60 m short of the
    # island road: the road is nearer Q than J, so Q is joined (a ferry end) and J stays a
    # fork at sea
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 5000)],
            [(1000, 5000), (1000, 10000)],
            [(1000, 5000), (1500, 5000)],
            [(0, 10000), (1000, 10000)],
            [(1560, 5000), (3000, 5000)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "bilferje", "bilferje", "enkelBilveg", "enkelBilveg"],
        vegkategori=["F"] * 6,
        vegnummer=[60.0] * 6,
    )
    net = read_kartverket(g, profile=prior_profile(), builtup=None)
    fc = net.report["ferry_connectors"]
    assert fc["sea_junctions"] == 1 and fc["calls_joined"] == 0
    assert fc["joined"] == 1
    con = net.links[net.links["connector"]]
    assert len(con) == 1 and con["length_m"].iloc[0] == pytest.approx(60.0)


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan"), "500"])
def test_bad_call_limit_is_refused(bad):
    with pytest.raises(ValueError, match=r"FerryModel\.max_call_m must be a finite number"):
        FerryModel(max_call_m=bad)


def test_connector_limit_caps_the_call_limit():
    net = _island(max_connector_m=50.0)  # max_call_m stays at its default of 1,000 m
    fc = net.report["ferry_connectors"]
    assert fc["max_call_m"] == 50.0 and fc["calls_joined"] == 0
    assert _island(max_connector_m=90.0).report["ferry_connectors"]["calls_joined"] == 1


def test_n1000_quays_drawn_as_sea_junctions_reach_the_main_network(n1000):
    # Hansnes (Karlsøy, 264 m from Fv7914), a quay on Stord (34 m from E39) and one in
    # Askvoll (32 m from Fv5660) are junctions of two car-ferry routes with no
    # road; their islands (1,124, 109 and 467 people) were cut off before
    fc = n1000.report["ferry_connectors"]
    calls = {(round(c["x"]), round(c["y"])): c for c in fc["calls"]}
    assert calls[(676830, 7768823)]["connector_m"] == pytest.approx(264, abs=1)
    assert calls[(-29362, 6676774)]["road_number"] == "E39"
    assert calls[(-32680, 6842550)]["road_number"] == "Fv5660"
    main = n1000.components()["component"].iloc[0]
    # a road end on each island behind them (Karlsøy, Stord, Askvoll)
    for x, y in [(689565.0, 7788456.0), (-27017.0, 6670214.0), (-39197.0, 6844374.0)]:
        assert n1000.node_component[_node(n1000, x, y)] == main


# --- calls on a ferry line: a cut-off road's end beside the line's interior (Mausund) ---


def _line_island(offset_m=80.0, line_end_y=10000.0, second_ferry=False, **ferry):
    """Mainland road A (0,0)-(2000,0); one ferry link from (1000,0) straight north to road C
    at (0..2000, ``line_end_y``), with no node on the way; island road B from
    (1000 + ``offset_m``, 5000) east to (3000,5000), touching no ferry. ``second_ferry``: a
    ferry from (2000,0) ends 60 m south of B's east end (the ferry-end rule joins it)."""
    y = line_end_y
    geoms = [
        [(0, 0), (1000, 0)],
        [(1000, 0), (2000, 0)],
        [(1000, 0), (1000, y)],
        [(0, y), (1000, y)],
        [(1000, y), (2000, y)],
        [(1000 + offset_m, 5000), (3000, 5000)],
    ]
    kinds = ["enkelBilveg", "enkelBilveg", "bilferje"] + ["enkelBilveg"] * 3
    if second_ferry:
        geoms.append([(2000, 0), (3000, 4940)])
        kinds.append("bilferje")
    g = lines(geoms, typeVeg=kinds, vegkategori=["F"] * len(geoms), vegnummer=[60.0] * len(geoms))
    return read_kartverket(g, profile=prior_profile().with_ferry(**ferry), builtup=None)


def test_a_cut_off_road_beside_a_ferry_line_is_a_call_on_it():
    net = _line_island()
    fc = net.report["ferry_connectors"]
    assert [(c["x"], c["y"], c["road_end_m"]) for c in fc["line_calls"]] == [(1000.0, 5000.0, 80.0)]
    assert fc["calls_joined"] == 0  # no sea junction: the call is on the line
    assert [c["connector_m"] for c in fc["calls"]] == [pytest.approx(80.0)]
    assert "call on ferry link" in net.describe()
    v = 65 / 3.6  # the prior's F speed, m/s
    d = one_to_all(net, _node(net, 0, 0))
    to_b = 1000 / v + WAIT_S + 5000 / (22 / 3.6) + 80 / (40 / 3.6) + 1920 / v
    assert d[_node(net, 3000, 5000)] == pytest.approx(to_b)
    # the crossing past the call: split in two, one wait, the same minutes as without it
    off = _line_island(max_call_m=None)
    assert off.report["ferry_connectors"]["line_calls"] == []
    d_off = one_to_all(off, _node(off, 0, 0))
    assert np.isinf(d_off[_node(off, 3000, 5000)])
    assert d[_node(net, 0, 10000)] == pytest.approx(
        1000 / v + WAIT_S + 10000 / (22 / 3.6) + 1000 / v
    )
    assert d[_node(net, 0, 10000)] == pytest.approx(d_off[_node(off, 0, 10000)])
    # boarding at the call waits once
    assert one_to_all(net, _node(net, 3000, 5000))[_node(net, 0, 0)] == pytest.approx(to_b)


def test_a_line_call_needs_the_road_within_the_call_limit():
    net = _line_island(max_call_m=50.0)
    assert net.report["ferry_connectors"]["line_calls"] == []
    assert np.isinf(one_to_all(net, _node(net, 0, 0))[_node(net, 3000, 5000)])


def test_a_road_a_ferry_already_reaches_gets_no_call_on_a_passing_line():
    net = _line_island(second_ferry=True)
    fc = net.report["ferry_connectors"]
    assert fc["line_calls"] == [] and fc["joined"] == 1  # the second ferry's end
    # the island is reached by the second ferry, not by a call on the first
    assert np.isfinite(one_to_all(net, _node(net, 0, 0))[_node(net, 1080, 5000)])
    assert (
        not net.links["connector"]
        .to_numpy()[
            (net.links["u"] == _node(net, 1080, 5000)) | (net.links["v"] == _node(net, 1080, 5000))
        ]
        .any()
    )


def test_no_line_call_where_the_line_ends_as_near():
    # the line ends on road C at (1000,5000), 80 m from island road B's end: that node is
    # as near as any point of the line, so no line is split (the gap is between two roads)
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 5000)],
            [(0, 5000), (1000, 5000)],
            [(1080, 5000), (3000, 5000)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg", "enkelBilveg"],
        vegkategori=["F"] * 4,
        vegnummer=[60.0, 60.0, 60.0, 61.0],
    )
    net = read_kartverket(g, profile=prior_profile(), builtup=None)
    assert net.report["ferry_connectors"]["line_calls"] == []
    assert not net.links["connector"].any()


def test_a_line_further_on_still_joins_the_road_past_the_line_end():
    # the same island road, but the line runs on past it to (1000,10000): a node of the
    # line (its end at 5 km) is far, so the line is split 80 m from B's end
    fc = _line_island(line_end_y=5500.0).report["ferry_connectors"]
    assert [(c["x"], c["y"]) for c in fc["line_calls"]] == [(1000.0, 5000.0)]


def test_the_line_call_joins_the_cut_off_road_not_the_nearest_road():
    # a main-network road D passes 50 m west of the line where island road B ends 80 m
    # east of it: the call joins B (the road that needs it), not D
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 10000)],
            [(0, 10000), (1000, 10000)],
            [(0, 0), (950, 4000)],
            [(950, 4000), (950, 6000)],
            [(1080, 5000), (3000, 5000)],
        ],
        typeVeg=["enkelBilveg", "bilferje"] + ["enkelBilveg"] * 4,
        vegkategori=["F"] * 6,
        vegnummer=[60.0] * 6,
    )
    net = read_kartverket(g, profile=prior_profile(), builtup=None)
    fc = net.report["ferry_connectors"]
    assert [c["road_end_m"] for c in fc["line_calls"]] == [80.0]
    con = net.links[net.links["connector"]]
    assert con["length_m"].tolist() == [pytest.approx(80.0)]
    assert np.isfinite(one_to_all(net, _node(net, 0, 0))[_node(net, 3000, 5000)])


def test_an_island_end_the_line_cannot_take_leaves_its_other_end_to_try():
    # island road B from (1080,5000) to (2000,5000); its east end lies 60 m from the end
    # node of a second line (a terminal on road E), nearer than its west end lies to the
    # first line: refused there (the node is as near), the west end, 80 m from the first
    # line's interior, is still joined
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 10000)],
            [(0, 10000), (1000, 10000)],
            [(1080, 5000), (2000, 5000)],
            [(2000, 0), (2000, 4940)],
            [(2000, 4940), (2500, 4940)],
            [(1000, 0), (2000, 0)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg", "enkelBilveg", "bilferje"]
        + ["enkelBilveg"] * 2,
        vegkategori=["F"] * 7,
        vegnummer=[60.0, 60.0, 60.0, 61.0, 62.0, 63.0, 60.0],
    )
    net = read_kartverket(g, profile=prior_profile(), builtup=None)
    fc = net.report["ferry_connectors"]
    assert [(c["x"], c["y"], c["road_end_m"]) for c in fc["line_calls"]] == [(1000.0, 5000.0, 80.0)]
    assert np.isfinite(one_to_all(net, _node(net, 0, 0))[_node(net, 2000, 5000)])


def test_two_islands_at_one_point_of_a_line_each_get_their_connector():
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 10000)],
            [(0, 10000), (1000, 10000)],
            [(1080, 5000), (3000, 5000)],
            [(-2000, 5000), (900, 5000)],
        ],
        typeVeg=["enkelBilveg", "bilferje"] + ["enkelBilveg"] * 3,
        vegkategori=["F"] * 5,
        vegnummer=[60.0] * 5,
    )
    net = read_kartverket(g, profile=prior_profile(), builtup=None)
    fc = net.report["ferry_connectors"]
    assert sorted(c["road_end_m"] for c in fc["line_calls"]) == [80.0, 100.0]
    assert len({c["node"] for c in fc["line_calls"]}) == 1  # one node on the line
    d = one_to_all(net, _node(net, 0, 0))
    assert np.isfinite(d[_node(net, 3000, 5000)]) and np.isfinite(d[_node(net, -2000, 5000)])


def test_a_split_ferry_keeps_the_headway_given_for_it_both_ways():
    off = _line_island(max_call_m=None)
    fid = off.links.loc[off.links["ferry"].to_numpy(bool), "link_id"].iloc[0]
    on, off = (
        _line_island(headways_min={fid: 120.0}),
        _line_island(max_call_m=None, headways_min={fid: 120.0}),
    )
    assert len(on.report["ferry_connectors"]["line_calls"]) == 1  # the line split in two
    for a, b in [((0, 0), (0, 10000)), ((0, 10000), (0, 0))]:
        t_on = one_to_all(on, _node(on, *a))[_node(on, *b)]
        t_off = one_to_all(off, _node(off, *a))[_node(off, *b)]
        assert t_on == pytest.approx(t_off)
    plain = _line_island(max_call_m=None)
    t_plain = one_to_all(plain, _node(plain, 0, 10000))[_node(plain, 0, 0)]
    assert t_off == pytest.approx(t_plain + (60 - PRIOR_HEADWAY_MIN / 2) * 60)


def test_a_split_ferry_shares_its_own_crossing_time_by_length():
    """A ferry's crossing time from the data (``duration_s``: OSM, NVDB) is shared by the
    pieces, not given whole to each."""
    import pandas as pd
    import shapely

    from smaby_geo.network.ferry import connect_ferry_ends

    xy = np.array(
        [[0, 0], [1000, 0], [1000, 10000], [0, 10000], [1080, 5000], [3000, 5000], [2000, 0]],
        dtype=float,
    )
    uv = [(0, 1), (1, 2), (3, 2), (4, 5), (1, 6)]
    links = pd.DataFrame(
        {
            "link_id": range(5),
            "u": [a for a, _ in uv],
            "v": [b for _, b in uv],
            "ferry": [False, True, False, False, False],
            "length_m": [1000.0, 10000.0, 1000.0, 1920.0, 1000.0],
            "road_number": ["Fv60"] * 5,
            "category": ["F"] * 5,
            "duration_s": [np.nan, 3000.0, np.nan, np.nan, np.nan],
        }
    )
    geom = np.array([shapely.LineString(xy[[a, b]]) for a, b in uv], dtype=object)
    out, _, _, rep = connect_ferry_ends(links, geom, xy, FerryModel())
    assert [c["road_end_m"] for c in rep["line_calls"]] == [80.0]
    ferry = out[out["ferry"].to_numpy(bool)]
    assert ferry["duration_s"].tolist() == [pytest.approx(1500.0), pytest.approx(1500.0)]
    assert ferry["length_m"].sum() == pytest.approx(10000.0)


def test_n1000_mausund_is_reached_by_a_call_on_the_fv6470_line(n1000):
    # Mausund (Frøya, 229 people in the 250 m grid): its road ends 279 m from the interior of
    # the Fv6470 ferry line, and no ferry link touches it
    fc = n1000.report["ferry_connectors"]
    assert [(c["road_end_m"], round(c["y"])) for c in fc["line_calls"]] == [(279.0, 7097848)]
    main = n1000.components()["component"].iloc[0]
    assert n1000.node_component[_node(n1000, 188800.77, 7097570.76)] == main
