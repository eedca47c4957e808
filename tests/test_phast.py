"""PHAST's sweep layout, the label-free one-to-all, lazy neighbour updates and the CH format."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from smaby_geo import routing
from smaby_geo.routing import _kernels as kern
from smaby_geo.routing.ch import CH_FORMAT_VERSION, CHCacheError, ContractionHierarchy, build_ch
from tests.test_routing import graphs, nx_dist, same, scipy_matrix, to_nx


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_sweep_layout_puts_every_higher_ranked_neighbour_first(gr):
    g, _ = gr
    ch = build_ch(g.indptr, g.indices, g.weights)
    n = g.n_nodes
    assert np.array_equal(np.sort(ch.new_id), np.arange(n))
    assert np.array_equal(ch.old_id[ch.new_id], np.arange(n))
    for ptr, idx in ((ch.up_ptr, ch.up_idx), (ch.dn_ptr, ch.dn_idx)):
        rows = np.repeat(np.arange(n), np.diff(ptr))
        assert np.all(idx < rows)  # the sweep (ascending ids) has read them already


def _levels_by_definition(rank, es, ed):
    n = len(rank)
    level = np.zeros(n, int)
    for v in np.argsort(rank):  # lowest rank first
        lower = [b if a == v else a for a, b in zip(es, ed, strict=True) if v in (a, b)]
        lower = [u for u in lower if u != v and rank[u] < rank[v]]
        level[v] = 1 + max(level[u] for u in lower) if lower else 0
    return level


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.permutations(range(n)),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30),
    )
))
def test_ch_levels_follow_their_definition(case):
    rank, pairs = case
    rank = np.array(rank, np.int64)
    es = np.array([a for a, _ in pairs], np.int64)
    ed = np.array([b for _, b in pairs], np.int64)
    assert np.array_equal(kern.ch_levels(rank, es, ed), _levels_by_definition(rank, es, ed))


@settings(max_examples=80, deadline=None)
@given(graphs(), st.data())
def test_phast_one_to_all_with_cutoff_and_lazy_updates_equals_scipy_and_networkx(gr, data):
    g, edges = gr
    n = g.n_nodes
    net = routing.CSR(g.indptr, g.indices, g.weights)
    net.routing_index = build_ch(
        g.indptr, g.indices, g.weights, update_neighbours=data.draw(st.booleans())
    )
    s = data.draw(st.integers(0, n - 1))
    cut = data.draw(st.one_of(st.none(), st.floats(0, 150)))
    direction = data.draw(st.sampled_from(["from", "to"]))
    got = routing.one_to_all(net, s, cutoff_s=cut, direction=direction, method="ch")
    mat = scipy_matrix(g, edges)
    mat = mat.T.tocsr() if direction == "to" else mat

    G = to_nx(n, edges)
    Gd = G.reverse() if direction == "to" else G

    def within(d, sources):
        # scipy stores zero weights as 1e-300 (PITFALLS), so which nodes lie within the cut
        # is taken from networkx's exact sums; the distances from scipy
        if cut is None:
            return d
        keep = np.array([np.isfinite(nx_dist(Gd, int(x), n, cutoff=cut)) for x in sources])
        return np.where(keep.reshape(d.shape), d, np.inf)

    assert same(got, within(dijkstra(mat, indices=s), [s]))
    assert same(got, nx_dist(G.reverse() if direction == "to" else G, s, n, cutoff=cut))
    src = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=20)))
    rows = routing.many_to_all(net, src, cutoff_s=cut, direction=direction, method="ch", batch=4)
    assert same(rows, within(dijkstra(mat, indices=src), src))


def _rewrite(path, **changes):
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    d.update(changes)
    d.pop("checksum")
    from smaby_geo.routing.ch import _arrays_checksum

    d["checksum"] = _arrays_checksum(d)
    np.savez(path, **d)


def test_a_hierarchy_of_another_format_is_rebuilt(tmp_path):
    rng = np.random.default_rng(5)
    n = 60
    src = rng.integers(0, n, 240)
    dst = rng.integers(0, n, 240)
    w = rng.uniform(1, 50, 240)
    o = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    g = routing.as_csr(indptr, dst[o], w[o])
    path = tmp_path / "ch.npz"
    built = routing.prepare(routing.CSR(g.indptr, g.indices, g.weights), cache_path=path)
    with np.load(path) as z:
        assert int(z["format_version"]) == CH_FORMAT_VERSION
    # an older layout (ids in contraction order) under format 1: refused, then rebuilt
    _rewrite(path, format_version=np.array(1))
    with pytest.raises(CHCacheError, match="format 1"):
        ContractionHierarchy.load(path, g.indptr, g.indices, g.weights)
    again = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(again, cache_path=path)
    assert routing.routing_engine(again)["cache"] == "built and saved"
    assert np.array_equal(again.routing_index.new_id, built.new_id)
    for s in range(0, n, 7):
        assert same(routing.one_to_all(again, s), routing.one_to_all(g, s))
