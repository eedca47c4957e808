"""Speed features stay exact: batched PHAST, the prepared-network cache, the CH engine in the
main job, block-wise many-to-all and the Dask sweep (results equal the single-process ones)."""

import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from smaby_geo import routing
from smaby_geo.routing.api import iter_many_to_all, map_many_to_all, routing_engine
from tests.test_routing import graphs, nx_dist, same, scipy_matrix, to_nx


@settings(max_examples=120, deadline=None)
@given(graphs(), st.data())
def test_batched_phast_equals_scipy_and_networkx(gr, data):
    g, edges = gr
    n = g.n_nodes
    ch_graph = routing.CSR(g.indptr, g.indices, g.weights)
    routing.prepare(ch_graph)
    src = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40)))
    batch = data.draw(st.sampled_from([1, 3, 8, 16]))
    cut = data.draw(st.one_of(st.none(), st.floats(0, 150)))
    direction = data.draw(st.sampled_from(["from", "to"]))
    rows = routing.many_to_all(ch_graph, src, direction=direction, batch=batch)
    mat = scipy_matrix(g, edges)
    ref = dijkstra(mat.T.tocsr() if direction == "to" else mat, indices=src)
    assert rows.shape == (len(src), n)
    assert same(rows, ref)
    G = to_nx(n, edges)
    G = G.reverse() if direction == "to" else G
    assert same(rows[0], nx_dist(G, int(src[0]), n))
    # the cutoff is inclusive and only removes what lies beyond it
    cut_rows = routing.many_to_all(ch_graph, src, cutoff_s=cut, direction=direction, batch=batch)
    want = rows if cut is None else np.where(rows <= cut, rows, np.inf)
    # a bounded search may add a path's times in another order than the full sweep (a
    # shortcut holds a sum): equal to rounding, and a time within rounding of the cutoff
    # may fall either side of it
    edge = np.zeros(rows.shape, bool) if cut is None else np.abs(rows - cut) <= 1e-9
    assert same(np.where(edge, 0.0, cut_rows), np.where(edge, 0.0, want))


def test_batched_phast_rejects_a_bad_batch():
    g = routing.CSR(np.array([0, 1, 1]), np.array([1], np.int32), np.array([2.0]))
    routing.prepare(g)
    with pytest.raises(ValueError, match="batch"):
        routing.many_to_all(g, [0], batch=0)


def _n1000_csr(n1000):
    return routing.CSR(n1000.indptr, n1000.indices, n1000.weights)


def test_blocks_and_dask_equal_many_to_all(n1000):
    from dask.distributed import Client, LocalCluster

    net = _n1000_csr(n1000)
    routing.prepare(net)
    src = np.arange(0, n1000.n_nodes, 97)
    full = routing.many_to_all(net, src, cutoff_s=5400.0, method="ch")
    dj = routing.many_to_all(n1000, src, cutoff_s=5400.0, method="dijkstra")
    assert same(full, dj) and np.isfinite(full).any() and np.isinf(full).any()
    blocks = list(iter_many_to_all(net, src, cutoff_s=5400.0, block_rows=7, method="ch"))
    assert [s for s, _ in blocks] == list(range(0, len(src), 7))
    assert np.array_equal(np.vstack([r for _, r in blocks]), full)
    local = map_many_to_all(net, src, _reachable, cutoff_s=5400.0, block_rows=9, method="ch")
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        remote = map_many_to_all(
            net, src, _reachable, cutoff_s=5400.0, block_rows=9, method="ch", client=client
        )
    assert np.array_equal(np.concatenate(local), np.isfinite(full).sum(1))
    assert np.array_equal(np.concatenate(remote), np.concatenate(local))


def _reachable(sources, rows):
    return np.isfinite(rows).sum(axis=1)


def test_prepared_network_is_cached_by_fingerprint_and_corrupt_files_are_rebuilt(n1000, tmp_path):
    net = _n1000_csr(n1000)
    ch = routing.prepare(net, cache_dir=tmp_path)
    files = list(tmp_path.glob("ch_*.npz"))
    assert len(files) == 1 and ch.fingerprint[:32] in files[0].name
    assert routing_engine(net)["cache"] == "built and saved"
    again = _n1000_csr(n1000)
    routing.prepare(again, cache_dir=tmp_path)
    info = routing_engine(again)
    assert info["cache"] == "loaded" and info["engine"].startswith("contraction hierarchy")
    # an edited network gets its own file, never the base's hierarchy
    edited = routing.CSR(n1000.indptr, n1000.indices, n1000.weights * 1.5)
    routing.prepare(edited, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("ch_*.npz"))) == 2
    s = int(np.flatnonzero(np.diff(n1000.indptr) > 0)[0])
    assert same(routing.one_to_all(edited, s), routing.one_to_all(n1000, s) * 1.5)
    # a truncated file is rebuilt, not trusted
    files[0].write_bytes(files[0].read_bytes()[:200])
    with pytest.raises((zipfile.BadZipFile, ValueError, OSError, EOFError)):
        routing.ContractionHierarchy.load(files[0])
    third = _n1000_csr(n1000)
    routing.prepare(third, cache_dir=tmp_path)
    assert routing_engine(third)["cache"] == "built and saved"
    assert same(routing.one_to_all(third, s), routing.one_to_all(n1000, s))
    assert routing_engine(n1000) == {"engine": "Dijkstra"}
