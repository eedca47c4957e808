"""Exactness of every routing query against networkx and scipy on random graphs."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from smaby_geo import routing
from smaby_geo.routing import as_csr

TOL = 1e-6


@st.composite
def graphs(draw, max_nodes=25):
    """CSR graphs with zero weights, self-loops, parallel edges and disconnected parts."""
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, 4 * n))
    src = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(0, 100, allow_nan=False)), min_size=m, max_size=m
        )
    )
    src, dst, w = np.array(src, int), np.array(dst, int), np.array(w, float)
    order = np.argsort(src, kind="stable")
    src, dst, w = src[order], dst[order], w[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return as_csr(indptr, dst, w), (src, dst, w)


def to_nx(n, edges):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, w in zip(*edges, strict=False):
        if a == b:
            continue
        if not G.has_edge(a, b) or G[a][b]["weight"] > w:
            G.add_edge(a, b, weight=w)
    return G


def nx_dist(G, s, n, cutoff=None):
    d = nx.single_source_dijkstra_path_length(G, s, cutoff=cutoff, weight="weight")
    out = np.full(n, np.inf)
    for k, v in d.items():
        out[k] = v
    return out


def scipy_matrix(g, edges):
    """scipy reference: keep the minimum of parallel edges, offset zeros (PITFALLS)."""
    n = g.n_nodes
    best = {}
    for a, b, w in zip(*edges, strict=False):
        if a != b:
            best[(a, b)] = min(best.get((a, b), np.inf), w)
    if not best:
        return csr_matrix((n, n))
    (ab, w) = zip(*best.items(), strict=False)
    a, b = zip(*ab, strict=False)
    w = np.maximum(np.array(w), 1e-300)
    return csr_matrix((w, (a, b)), shape=(n, n))


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    fin = np.isfinite(a)
    return np.array_equal(fin, np.isfinite(b)) and np.all(np.abs(a[fin] - b[fin]) <= TOL)


@settings(max_examples=150, deadline=None)
@given(graphs(), st.data())
def test_one_to_all_equals_networkx_and_scipy(gr, data):
    g, edges = gr
    s = data.draw(st.integers(0, g.n_nodes - 1))
    d = routing.one_to_all(g, s)
    assert same(d, nx_dist(to_nx(g.n_nodes, edges), s, g.n_nodes))
    assert same(d, dijkstra(scipy_matrix(g, edges), indices=s))


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data(), st.floats(0, 150))
def test_cutoff_is_inclusive(gr, data, cutoff):
    g, _ = gr
    s = data.draw(st.integers(0, g.n_nodes - 1))
    full = routing.one_to_all(g, s)
    d = routing.one_to_all(g, s, cutoff_s=cutoff)
    assert same(d, np.where(full <= cutoff, full, np.inf))


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data())
def test_predecessors_rebuild_shortest_paths(gr, data):
    g, _ = gr
    s = data.draw(st.integers(0, g.n_nodes - 1))
    d, pred = routing.one_to_all(g, s, predecessors=True)
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    for v in np.flatnonzero(np.isfinite(d)):
        total, x, steps = 0.0, v, 0
        while pred[x] >= 0:
            total += g.weights[pred[x]]
            x = src[pred[x]]
            steps += 1
            assert steps <= g.n_nodes
        assert x == s and abs(total - d[v]) <= TOL


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data())
def test_nearest_facility_with_offsets_equals_brute_force(gr, data):
    g, edges = gr
    n = g.n_nodes
    fac = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
    off = np.array(data.draw(st.lists(st.floats(0, 50), min_size=len(fac), max_size=len(fac))))
    d, lab = routing.nearest_facility(g, fac, offsets=off)
    R = to_nx(n, edges).reverse()
    brute = np.array([off[i] + nx_dist(R, f, n) for i, f in enumerate(fac)])  # (F, n)
    assert same(d, brute.min(axis=0))
    ok = lab >= 0
    assert np.all(np.abs(brute[lab[ok], np.flatnonzero(ok)] - d[ok]) <= TOL)
    # "from" direction: forward searches from the facilities
    df, _ = routing.nearest_facility(g, fac, offsets=off, direction="from")
    G = to_nx(n, edges)
    assert same(df, np.array([off[i] + nx_dist(G, f, n) for i, f in enumerate(fac)]).min(0))


@settings(max_examples=80, deadline=None)
@given(graphs(), st.data(), st.integers(2, 5))
def test_k_nearest_equals_brute_force(gr, data, k):
    g, edges = gr
    n = g.n_nodes
    fac = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=7)))
    kd, kl = routing.nearest_facility(g, fac, k=k)
    R = to_nx(n, edges).reverse()
    brute = np.sort(np.array([nx_dist(R, f, n) for f in fac]), axis=0)  # (F, n)
    want = np.full((n, k), np.inf)
    take = min(k, len(fac))
    want[:, :take] = brute[:take].T
    assert same(kd, want)
    for v in range(n):
        labs = kl[v][kl[v] >= 0]
        assert len(set(labs.tolist())) == len(labs)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.data(), st.one_of(st.none(), st.floats(0, 200)))
def test_od_matrix_equals_brute_force_both_sides(gr, data, cutoff):
    g, edges = gr
    n = g.n_nodes
    S = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    T = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    so = np.array(data.draw(st.lists(st.floats(0, 20), min_size=len(S), max_size=len(S))))
    to = np.array(data.draw(st.lists(st.floats(0, 20), min_size=len(T), max_size=len(T))))
    m = routing.od_matrix_nodes(g, S, T, source_offsets=so, target_offsets=to, cutoff_s=cutoff)
    G = to_nx(n, edges)
    full = np.array([nx_dist(G, s, n) for s in S])[:, T] + so[:, None] + to[None, :]
    if cutoff is not None:
        full[full > cutoff] = np.inf
    assert same(m, full)


@settings(max_examples=60, deadline=None)
@given(graphs(), st.data())
def test_many_to_all_equals_scipy(gr, data):
    g, edges = gr
    S = np.array(data.draw(st.lists(st.integers(0, g.n_nodes - 1), min_size=1, max_size=4)))
    assert same(routing.many_to_all(g, S), dijkstra(scipy_matrix(g, edges), indices=S))
    assert same(
        routing.many_to_all(g, S, direction="to"),
        dijkstra(scipy_matrix(g, edges).T.tocsr(), indices=S),
    )


def test_real_network_matches_scipy(n1000):
    rng = np.random.default_rng(1)
    A = n1000.to_scipy()
    for s in rng.integers(0, n1000.n_nodes, 5):
        assert same(routing.one_to_all(n1000, int(s)), dijkstra(A, indices=int(s)))
    S = rng.integers(0, n1000.n_nodes, 30)
    T = rng.integers(0, n1000.n_nodes, 7)
    ref = dijkstra(A.T.tocsr(), indices=T).T[S]
    assert same(routing.od_matrix_nodes(n1000, S, T), ref)


# --- bad input ------------------------------------------------------------------------------


def _tiny():
    return as_csr([0, 1, 1], [1], [5.0])


@pytest.mark.parametrize("w", [-1.0, np.nan, np.inf])
def test_bad_weights(w):
    with pytest.raises(ValueError, match="finite and >= 0"):
        as_csr([0, 1, 1], [1], [w])


@pytest.mark.parametrize(
    ("indptr", "indices"), [([0, 2, 1], [1]), ([1, 1, 1], [1]), ([0, 1, 1], [7])]
)
def test_malformed_csr(indptr, indices):
    with pytest.raises(ValueError, match="malformed CSR"):
        as_csr(indptr, indices, [1.0] * len(indices))


def test_source_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        routing.one_to_all(_tiny(), 5)
    with pytest.raises(IndexError, match="out of range"):
        routing.nearest_facility(_tiny(), [-1])


def test_empty_sources_and_targets():
    g = _tiny()
    assert routing.od_matrix_nodes(g, [], [0, 1]).shape == (0, 2)
    assert routing.od_matrix_nodes(g, [0], []).shape == (1, 0)
    assert routing.many_to_all(g, []).shape == (0, 2)


def test_bad_k_and_cutoff():
    with pytest.raises(ValueError, match="k must be"):
        routing.nearest_facility(_tiny(), [0], k=6)
    with pytest.raises(ValueError, match="cutoff"):
        routing.one_to_all(_tiny(), 0, cutoff_s=-1)


# --- contraction hierarchies ----------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(graphs(), st.data())
def test_ch_queries_equal_dijkstra_on_random_graphs(gr, data):
    g, edges = gr
    n = g.n_nodes
    ch_graph = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(ch_graph)
    s = data.draw(st.integers(0, n - 1))
    for direction in ("from", "to"):
        assert same(
            routing.one_to_all(ch_graph, s, direction=direction),
            routing.one_to_all(g, s, direction=direction),
        )
    fac = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
    off = np.array(data.draw(st.lists(st.floats(0, 50), min_size=len(fac), max_size=len(fac))))
    d_ch, lab_ch = routing.nearest_facility(ch_graph, fac, offsets=off)
    d_dj, _ = routing.nearest_facility(g, fac, offsets=off)
    assert same(d_ch, d_dj)
    R = to_nx(n, edges).reverse()
    brute = np.array([off[i] + nx_dist(R, f, n) for i, f in enumerate(fac)])
    ok = lab_ch >= 0
    assert np.all(np.abs(brute[lab_ch[ok], np.flatnonzero(ok)] - d_ch[ok]) <= TOL)
    assert same(
        routing.many_to_all(ch_graph, fac, direction="to"),
        routing.many_to_all(g, fac, direction="to"),
    )
    S = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    T = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    cut = data.draw(st.one_of(st.none(), st.floats(0, 200)))
    assert same(
        routing.od_matrix_nodes(ch_graph, S, T, cutoff_s=cut),
        routing.od_matrix_nodes(g, S, T, cutoff_s=cut),
    )


def test_ch_equals_dijkstra_on_n1000(n1000, tmp_path):
    rng = np.random.default_rng(7)
    net = routing.CSR(n1000.indptr, n1000.indices, n1000.weights)
    ch = routing.prepare(net, cache_path=tmp_path / "n1000_ch.npz")
    assert ch.n_shortcuts > 0 and ch.preprocess_seconds > 0
    for s in rng.integers(0, n1000.n_nodes, 20):
        for direction in ("from", "to"):
            assert same(
                routing.one_to_all(net, int(s), direction=direction),
                routing.one_to_all(n1000, int(s), direction=direction),
            )
    fac = rng.integers(0, n1000.n_nodes, 50)
    assert same(routing.nearest_facility(net, fac)[0], routing.nearest_facility(n1000, fac)[0])
    S, T = rng.integers(0, n1000.n_nodes, 200), rng.integers(0, n1000.n_nodes, 40)
    assert same(routing.od_matrix_nodes(net, S, T), routing.od_matrix_nodes(n1000, S, T))
    # reload from disk; a different network refuses the file
    again = routing.CSR(n1000.indptr, n1000.indices, n1000.weights)
    loaded = routing.prepare(again, cache_path=tmp_path / "n1000_ch.npz")
    assert np.array_equal(loaded.new_id, ch.new_id)
    with pytest.raises(ValueError, match="another network"):
        routing.ContractionHierarchy.load(
            tmp_path / "n1000_ch.npz", n1000.indptr, n1000.indices, n1000.weights * 2
        )


def test_ch_equals_dijkstra_on_synthetic_graph():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from synthetic import road_like_graph

    ip, ix, w, _, _ = road_like_graph(20_000, seed=3)
    plain = as_csr(ip, ix, w)
    net = routing.CSR(plain.indptr, plain.indices, plain.weights)
    routing.prepare(net)
    rng = np.random.default_rng(3)
    for s in rng.integers(0, net.n_nodes, 10):
        assert same(routing.one_to_all(net, int(s)), routing.one_to_all(plain, int(s)))
    fac = rng.integers(0, net.n_nodes, 50)
    assert same(routing.nearest_facility(net, fac)[0], routing.nearest_facility(plain, fac)[0])
    S, T = rng.integers(0, net.n_nodes, 100), rng.integers(0, net.n_nodes, 20)
    assert same(routing.od_matrix_nodes(net, S, T), routing.od_matrix_nodes(plain, S, T))
