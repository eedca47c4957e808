"""Turn-aware ferry waits: changing route waits again, staying aboard does not (issue #12)."""

import networkx as nx
import numpy as np
import pytest

from smaby_geo.analysis.trips import explain_trip, trip
from smaby_geo.network import read_kartverket
from smaby_geo.network.ferry import ferry_routes, transfer_links
from smaby_geo.network.profile import prior_profile
from smaby_geo.routing import one_to_all

from .conftest import lines

CROSS = 22 / 3.6  # the prior's crossing speed, m/s
ROAD = 65 / 3.6  # N1000 F road at the prior's speed, m/s


def _net(coords, kinds, numbers, headways=None, same_boat_routes=None):
    g = lines(
        coords,
        typeVeg=["bilferje" if k == "ferry" else "enkelBilveg" for k in kinds],
        vegkategori=["F"] * len(coords),
        vegnummer=[float(n) for n in numbers],
    )
    profile = prior_profile().with_ferry(headways_min=headways or {})
    return read_kartverket(g, profile=profile, builtup=None, same_boat_routes=same_boat_routes)


def _node(net, x, y):
    d = np.hypot(net.node_x - x, net.node_y - y)
    i = int(np.argmin(d))
    assert d[i] < 1e-6
    return i


def _fork(headways=None):
    """Route 39: TA (0,0) - sea node S (0,5000) - TB (0,10000). Route 549 joins it at S
    from TC (4000,1000), merging towards TB (a 45 degree turn; towards TA 135 degrees).
    Each terminal has a 1 km road."""
    coords = [
        [(0, 0), (0, 5000)],  # 0: route 39, TA-S
        [(0, 5000), (0, 10000)],  # 1: route 39, S-TB
        [(4000, 1000), (0, 5000)],  # 2: route 549, TC-S
        [(0, 0), (0, -1000)],  # 3: road at TA
        [(0, 10000), (0, 11000)],  # 4: road at TB
        [(4000, 1000), (5000, 1000)],  # 5: road at TC
    ]
    kinds = ["ferry"] * 3 + ["road"] * 3
    return _net(coords, kinds, [39, 39, 549, 39, 39, 549], headways)


# waits (half the headway): route 39 20 min, route 549 10 min
FORK_HEADWAYS = {0: 40.0, 1: 40.0, 2: 20.0}
W39, W549 = 20 * 60.0, 10 * 60.0
TC_S = np.hypot(4000, 4000)


def test_switching_route_at_sea_charges_the_next_routes_wait():
    net = _fork(FORK_HEADWAYS)
    rc = _node(net, 5000, 1000)  # road end beyond TC
    ra = _node(net, 0, -1000)  # road end beyond TA
    d = one_to_all(net, rc)
    # 549 from TC to S, then the route 39 boat to TA: both waits
    expect = 2000 / ROAD + W549 + TC_S / CROSS + W39 + 5000 / CROSS
    assert d[ra] == pytest.approx(expect)
    # and back the other way
    assert one_to_all(net, ra)[rc] == pytest.approx(expect)


def test_a_route_merging_at_sea_shares_the_track_to_its_terminal_without_a_wait():
    net = _fork(FORK_HEADWAYS)
    rc, rb = _node(net, 5000, 1000), _node(net, 0, 11000)
    expect = 2000 / ROAD + W549 + TC_S / CROSS + 5000 / CROSS
    assert one_to_all(net, rc)[rb] == pytest.approx(expect)
    assert one_to_all(net, rb)[rc] == pytest.approx(expect)
    shared = net.report["ferry_routes"]["shared"]
    assert [(s["route"], s["link_id"], s["turn_deg"]) for s in shared] == [
        ("Fv549", 1, pytest.approx(45.0))
    ]


def test_staying_on_one_route_through_a_sea_fork_waits_once():
    net = _fork(FORK_HEADWAYS)
    ra, rb = _node(net, 0, -1000), _node(net, 0, 11000)
    expect = 2000 / ROAD + W39 + 10000 / CROSS
    assert one_to_all(net, ra)[rb] == pytest.approx(expect)


def _call():
    """Route 17 calls at quay Q (0,5000) between T1 (0,0) and T2 (0,10000); Q, T1 and T2
    each have a 1 km road."""
    coords = [
        [(0, 0), (0, 5000)],
        [(0, 5000), (0, 10000)],
        [(0, 0), (0, -1000)],
        [(0, 5000), (1000, 5000)],
        [(0, 10000), (0, 11000)],
    ]
    return _net(coords, ["ferry", "ferry", "road", "road", "road"], [17] * 5)


def test_staying_aboard_at_an_intermediate_quay_adds_no_wait():
    net = _call()
    wait = prior_profile().ferry.default_headway_min / 2 * 60
    r1, rq, r2 = _node(net, 0, -1000), _node(net, 1000, 5000), _node(net, 0, 11000)
    d = one_to_all(net, r1)
    assert d[r2] == pytest.approx(2000 / ROAD + wait + 10000 / CROSS)
    # a car leaving at the quay waits once (on boarding) and drives off
    assert d[rq] == pytest.approx(2000 / ROAD + wait + 5000 / CROSS)
    # a car boarding at the quay waits
    assert one_to_all(net, rq)[r2] == pytest.approx(2000 / ROAD + wait + 5000 / CROSS)
    assert net.report["ferry_routes"]["calls"][0]["routes"] == {"Fv17": 2}


def test_copies_are_never_snap_targets():
    net = _call()
    copies = net.links["v"].to_numpy()[transfer_links(net.links)]
    assert len(copies) == 1
    quay = _node(net, 0, 5000)  # the original, found among all nodes
    assert copies[0] != quay and net.node_x[copies[0]] == 0 and net.node_y[copies[0]] == 5000
    nd, _ = net.nearest_nodes([0.0, 1.0], [5000.0, 5001.0])
    assert (nd == quay).all()
    assert "ferry routes: 0 sea forks, 1 intermediate calls, 0 shared tracks; 1 route" in (
        net.describe()
    )
    assert net.summary()["links"] == len(net.links) - 1  # the transfer is not a link of the data


def test_a_scenario_new_link_keeps_the_route_copies_out_of_snapping():
    """apply_scenario adds rows with pd.concat, which made the transfer flag an object column
    (nearest_nodes raised IndexError on it)."""
    from smaby_geo.network.edits import NewLink, apply_scenario
    from smaby_geo.network.scenario import Scenario

    net = _call()
    edited = apply_scenario(net, Scenario("road", [NewLink(start=(0, -1000), end=(1000, 5000))]))
    quay = _node(edited, 0, 5000)
    nd, _ = edited.nearest_nodes([0.0], [5001.0])
    assert nd[0] == quay
    assert "ferry routes" in edited.describe()


def test_unnumbered_links_form_one_route_per_chain():
    net = _net(
        [[(0, 0), (0, 5000)], [(0, 5000), (0, 9000)], [(0, 0), (-1000, 0)]],
        ["ferry", "ferry", "road"],
        [np.nan, np.nan, 5],
    )
    r = ferry_routes(net.links)
    ferry = net.links["ferry"].to_numpy(bool) & ~transfer_links(net.links)
    assert len(set(r[ferry])) == 1 and str(r[ferry][0]).startswith("unnumbered-")


# --- exactness against a networkx oracle on the state graph -------------------------------


def _oracle(net, sources=None):
    """All distances from every original node, on a graph of (node, aboard route) states.

    Built from the expanded link table with the copies folded back onto their nodes: a state
    (x, None) is on land at x, (x, r) aboard route r at x. Ferry links of route r join
    (x, r) and (y, r) at their crossing time; at a node touching a road, boarding r costs r's
    wait (the smallest of its links there) and leaving is free; at a sea node where three or
    more ferry links meet, changing to route q costs q's wait; where two meet, a car goes on
    free (one boat's track), also where such a bend was joined to a road as a quay call.
    """
    lk = net.links
    tr = transfer_links(lk)
    orig = np.arange(net.n_nodes)
    for x, c in lk.loc[tr, ["u", "v"]].to_numpy():
        orig[c] = x
    ferry = lk["ferry"].to_numpy(bool) & ~tr
    u, v = orig[lk["u"].to_numpy()], orig[lk["v"].to_numpy()]
    route = lk["ferry_route"].to_numpy(object)
    road = np.zeros(net.n_nodes, bool)
    road[u[~lk["ferry"].to_numpy(bool)]] = True
    road[v[~lk["ferry"].to_numpy(bool)]] = True
    g = nx.DiGraph()

    def add(a, b, w):
        if np.isfinite(w) and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
            g.add_edge(a, b, weight=float(w))

    wait: dict = {}
    deg = np.bincount(np.concatenate([u[ferry], v[ferry]]), minlength=net.n_nodes)
    for i in range(len(lk)):
        if tr[i]:
            continue
        if ferry[i]:
            r, c = route[i], float(lk["crossing_s"].iloc[i])
            add((u[i], r), (v[i], r), c)
            add((v[i], r), (u[i], r), c)
            for x in (u[i], v[i]):
                wait[(x, r)] = min(wait.get((x, r), np.inf), float(lk["wait_s"].iloc[i]))
        else:
            add((u[i], None), (v[i], None), float(lk["seconds_fw"].iloc[i]))
            add((v[i], None), (u[i], None), float(lk["seconds_bw"].iloc[i]))
    # sea bends that connect_ferry_ends joined to a road as quay calls stay one boat's track
    bends = {
        c["node"]
        for c in net.report.get("ferry_connectors", {}).get("calls", [])
        if deg[c["node"]] == 2
    }
    for (x, r), w in wait.items():
        if road[x]:
            add((x, None), (x, r), w)
            add((x, r), (x, None), 0.0)
            if x in bends:
                for (y, q), _ in wait.items():
                    if y == x and q != r:
                        add((x, r), (x, q), 0.0)
        else:
            for (y, q), wq in wait.items():
                if y == x and q != r:
                    add((x, r), (x, q), 0.0 if deg[x] <= 2 else wq)
    out = np.full((net.n_nodes, net.n_nodes), np.inf)
    for s in np.flatnonzero(road) if sources is None else sources:
        dist = nx.single_source_dijkstra_path_length(g, (s, None))
        for (x, r), t in dist.items():
            if r is None:
                out[s, x] = min(out[s, x], t)
    return out, road


def _rich(same_boat_routes=None):
    """A fork with a feeder, an X crossing of two routes at sea, a call at a quay, a bend
    where the road number changes, and a road number shared by two separate crossings
    (``same_boat_routes``: road numbers to group as one boat, default none)."""
    coords = [
        [(0, 0), (0, 5000)],  # 0: 39 TA-S
        [(0, 5000), (0, 10000)],  # 1: 39 S-TB
        [(4000, 1000), (0, 5000)],  # 2: 549 TC-S
        [(20000, 0), (25000, 5000)],  # 3: 60 - X
        [(25000, 5000), (30000, 10000)],  # 4: 60 X - TE
        [(30000, 0), (25000, 5000)],  # 5: 61 TF - X
        [(25000, 5000), (20000, 10000)],  # 6: 61 X - TG
        [(40000, 0), (40000, 5000)],  # 7: 17 T1 - Q
        [(40000, 5000), (40000, 10000)],  # 8: 17 Q - T2
        [(50000, 0), (50000, 4000)],  # 9: 13 - bend
        [(50000, 4000), (51000, 8000)],  # 10: 14 bend - TH
        # roads
        [(0, 0), (0, -1000)],
        [(0, 10000), (20000, 0)],  # TB - TD
        [(4000, 1000), (5000, 1000)],
        [(30000, 10000), (40000, 0)],  # TE - T1
        [(30000, 0), (31000, 0)],
        [(20000, 10000), (19000, 10000)],
        [(40000, 5000), (41000, 5000)],
        [(40000, 10000), (50000, 0)],  # T2 - bend start
        [(51000, 8000), (52000, 8000)],
    ]
    kinds = ["ferry"] * 11 + ["road"] * 9
    numbers = [39, 39, 549, 60, 60, 61, 61, 17, 17, 13, 14] + [1] * 9
    heads = {0: 40.0, 1: 40.0, 2: 20.0, 3: 30.0, 4: 30.0, 5: 50.0, 6: 50.0, 9: 10.0, 10: 60.0}
    return _net(coords, kinds, numbers, heads, same_boat_routes)


@pytest.mark.parametrize("build", [_fork, _call, _rich])
def test_turn_aware_times_equal_the_state_graph_oracle(build):
    net = build()
    assert transfer_links(net.links).any()
    want, road = _oracle(net)
    for s in np.flatnonzero(road):
        got = one_to_all(net, int(s))
        np.testing.assert_allclose(got[road], want[s, road], rtol=1e-9, atol=1e-6)


def test_rich_network_switches_at_the_x_crossing():
    net = _rich()
    rf, rg = _node(net, 31000, 0), _node(net, 19000, 10000)  # 61 end to end: one wait
    re_ = _node(net, 30000, 10000)  # TE, on route 60
    d = one_to_all(net, rf)
    leg = np.hypot(5000, 5000) / CROSS
    assert d[rg] == pytest.approx(1000 / ROAD + 25 * 60 + 2 * leg + 1000 / ROAD)
    # TF to TE: route 61 to X, then route 60 (wait 15 min), unless the road is faster
    via_x = 1000 / ROAD + 25 * 60 + leg + 15 * 60 + leg
    assert d[re_] == pytest.approx(via_x)


def test_vage_to_leirvik_boards_at_quays_drawn_as_sea_junctions(n1000):
    # N1000 draws the Fv549 crossing between Tysnes and Stord between
    # two sea junctions, 246 m from Fv549 and 34 m from E39; joined as quay calls
    # (connect_ferry_ends) they are the way from Våge to Leirvik, with one wait. Without them
    # a car went by boat from Våge and changed at sea to the E39 ferry (two waits).
    wait = n1000.profile.ferry.default_headway_min / 2
    legs = explain_trip(n1000, "Våge", "Leirvik")
    ferry = legs[legs["leg"] == "car ferry"].reset_index(drop=True)
    assert ferry["road_number"].tolist() == ["Fv549"]
    assert ferry["km"].iloc[0] == pytest.approx(2.3, abs=0.05)
    assert ferry["wait_minutes"].iloc[0] == pytest.approx(wait)
    assert legs["minutes"].sum() == pytest.approx(
        trip(n1000, "Våge", "Leirvik").minutes, rel=1e-9
    )
    assert trip(n1000, "Våge", "Leirvik").ferry_links == len(ferry)


def test_helgeland_coast_equals_the_state_graph_oracle():
    # real N1000 links of the Helgeland coast: sea forks with shared tracks (Fv17/Fv839,
    # Fv809/Fv7300, Fv7270/Fv828 ...) and calls at quays (Vega, Rødøy, Lurøy)
    import pyogrio

    from smaby_geo.datasets import locate_dataset

    layer = pyogrio.read_dataframe(
        locate_dataset("n1000_roads"), bbox=(360000, 7280000, 440000, 7420000), fid_as_index=True
    )
    net = read_kartverket(layer, builtup=None)
    fr = net.report["ferry_routes"]
    # (five sea forks and shared tracks before quay calls were joined: the Fv7270/Fv828 fork
    # 303 m from Fv7276 is now a call)
    assert len(fr["sea_forks"]) >= 4 and len(fr["calls"]) >= 5 and len(fr["shared"]) >= 4
    assert net.report["ferry_connectors"]["calls_joined"] >= 3
    road = np.zeros(net.n_nodes, bool)
    road[net.edge_source[~net.links["ferry"].to_numpy(bool)[net.edge_link]]] = True
    sources = np.random.default_rng(12).choice(np.flatnonzero(road), size=40, replace=False)
    want, road = _oracle(net, sources)
    for s in sources:
        got = one_to_all(net, int(s))
        np.testing.assert_allclose(got[road], want[s, road], rtol=1e-9, atol=1e-6)
