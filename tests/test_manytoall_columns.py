"""Many-to-all rows in the sweep's column order (``columns="sweep"``) are the exact times.

Checked against scipy and networkx on random graphs (zero weights, self-loops, parallel edges,
unreachable parts), with and without a cutoff, both directions, several batch sizes, through
``many_to_all``, ``iter_many_to_all`` and ``map_many_to_all``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from smaby_geo import routing
from smaby_geo.routing.api import iter_many_to_all, map_many_to_all
from tests.test_routing import graphs, nx_dist, same, scipy_matrix, to_nx


def _reference(g, edges, src, direction, cut):
    """scipy times (node order); which nodes lie within ``cut`` from networkx's exact sums
    (scipy stores zero weights as 1e-300, PITFALLS)."""
    n = g.n_nodes
    mat = scipy_matrix(g, edges)
    ref = dijkstra(mat.T.tocsr() if direction == "to" else mat, indices=src)
    ref = np.atleast_2d(ref)
    if cut is None:
        return ref
    G = to_nx(n, edges)
    G = G.reverse() if direction == "to" else G
    keep = np.array([np.isfinite(nx_dist(G, int(s), n, cutoff=cut)) for s in src])
    return np.where(keep, ref, np.inf)


@settings(max_examples=120, deadline=None)
@given(graphs(), st.data())
def test_sweep_columns_equal_scipy_after_the_permutation(gr, data):
    g, edges = gr
    n = g.n_nodes
    net = routing.CSR(g.indptr, g.indices, g.weights)
    method = data.draw(st.sampled_from(["ch", "dijkstra"]))
    if method == "ch":
        routing.prepare(net)
    src = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40)))
    batch = data.draw(st.sampled_from([1, 3, 8, 16]))
    cut = data.draw(st.one_of(st.none(), st.floats(0, 150)))
    direction = data.draw(st.sampled_from(["from", "to"]))
    rows, cols = routing.many_to_all(
        net, src, cutoff_s=cut, direction=direction, method=method, batch=batch,
        columns="sweep",
    )
    assert rows.shape == (len(src), n)
    assert np.array_equal(np.sort(cols), np.arange(n))  # a permutation of the nodes
    if method == "dijkstra":
        assert np.array_equal(cols, np.arange(n))
    else:
        assert np.array_equal(cols, net.routing_index.old_id)
    in_nodes = np.empty_like(rows)
    in_nodes[:, cols] = rows
    assert same(in_nodes, _reference(g, edges, src, direction, cut))
    # the default (node order) holds the same numbers, bit for bit
    node_rows = routing.many_to_all(
        net, src, cutoff_s=cut, direction=direction, method=method, batch=batch
    )
    assert np.array_equal(node_rows, in_nodes)


def _population_within(sources, rows, cols, pop, limit_s):
    """Persons within ``limit_s`` of each source, ``pop`` in node order."""
    return (rows <= limit_s) @ pop[cols]


def _population_within_nodes(sources, rows, pop, limit_s):
    return (rows <= limit_s) @ pop


@settings(max_examples=60, deadline=None)
@given(graphs(), st.data())
def test_blocks_in_sweep_columns_reduce_to_the_node_order_result(gr, data):
    g, edges = gr
    n = g.n_nodes
    net = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(net)
    src = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=30)))
    pop = np.array(data.draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), float)
    limit = data.draw(st.floats(0, 200))
    block = data.draw(st.integers(1, 7))
    ref = _reference(g, edges, src, "from", None)
    want = (ref <= limit) @ pop
    # exactly at the limit scipy's 1e-300 zero weights may fall the other side: leave out
    # sources with a time within rounding of it
    ok = ~np.any(np.abs(ref - limit) <= 1e-9, axis=1)
    blocks = list(iter_many_to_all(net, src, block_rows=block, method="ch", columns="sweep"))
    assert [b[0] for b in blocks] == list(range(0, len(src), block))
    got = np.concatenate(
        [_population_within(src[s0:], r, c, pop, limit) for s0, r, c in blocks]
    )
    assert np.array_equal(got[ok], want[ok])
    mapped = map_many_to_all(
        net, src, lambda b, r, c: _population_within(b, r, c, pop, limit),
        block_rows=block, method="ch", columns="sweep",
    )
    assert len(mapped) == -(-len(src) // block)
    assert np.array_equal(np.concatenate(mapped), got)
    node = map_many_to_all(
        net, src, lambda b, r: _population_within_nodes(b, r, pop, limit),
        block_rows=block, method="ch",
    )
    assert np.array_equal(np.concatenate(node), got)


def test_iter_in_sweep_columns_yields_start_rows_and_columns():
    g = routing.as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])
    net = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(net)
    out = list(iter_many_to_all(net, [0, 1, 2], block_rows=2, method="ch", columns="sweep"))
    assert [o[0] for o in out] == [0, 2]
    rows = np.vstack([o[1] for o in out])
    cols = out[0][2]
    node = np.empty_like(rows)
    node[:, cols] = rows
    assert np.array_equal(node, [[0.0, 1.0, 3.0], [np.inf, 0.0, 2.0], [np.inf, np.inf, 0.0]])


def test_an_unknown_column_order_is_refused():
    g = routing.as_csr([0, 1, 1], [1], [2.0])
    with pytest.raises(ValueError, match="columns must be one of"):
        routing.many_to_all(g, [0], columns="rank")
    with pytest.raises(ValueError, match="columns must be one of"):
        map_many_to_all(g, [0], _population_within_nodes, columns="rank")


def test_the_column_nodes_handed_out_cannot_change_the_hierarchy():
    g = routing.as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])
    net = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(net)
    _, cols = routing.many_to_all(net, [0], method="ch", columns="sweep")
    with pytest.raises(ValueError, match="read-only"):
        cols.sort()
    _, again = routing.many_to_all(net, [0], method="ch", columns="sweep")
    assert np.array_equal(again, cols)
