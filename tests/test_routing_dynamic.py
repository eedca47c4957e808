"""``routing.dynamic.update_many_to_all`` against scipy's Dijkstra on the edited graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from smaby_geo.network.core import RoadNetwork, csr_indptr
from smaby_geo.routing.api import many_to_all
from smaby_geo.routing.dynamic import changed_edges, update_many_to_all


def network(u, v, w, n) -> RoadNetwork:
    u, v, w = np.asarray(u, np.int64), np.asarray(v, np.int64), np.asarray(w, float)
    keep = np.isfinite(w)
    u, v, w = u[keep], v[keep], w[keep]
    o = np.lexsort((v, u))
    return RoadNetwork(
        indptr=csr_indptr(u[o], n),
        indices=v[o].astype(np.int32),
        weights=w[o],
        edge_link=np.arange(len(o), dtype=np.int64),
        node_x=np.zeros(n),
        node_y=np.zeros(n),
        links=pd.DataFrame({"link_id": np.arange(len(o))}),
    )


def scipy_rows(u, v, w, n, sources, direction):
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, float)
    keep = np.isfinite(w)
    # parallel edges: the smallest time of each pair (csr_matrix would add them up)
    df = pd.DataFrame({"u": u[keep], "v": v[keep], "w": w[keep]}).groupby(["u", "v"]).min()
    iu, iv = (df.index.get_level_values(i).to_numpy() for i in (0, 1))
    m = csr_matrix((df["w"].to_numpy(), (iu, iv)), shape=(n, n))
    return dijkstra(m, directed=True, indices=sources) if direction == "from" else dijkstra(
        m.T.tocsr(), directed=True, indices=sources
    )


def random_graph(rng, n, m):
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    w = rng.integers(1, 60, m).astype(float)  # integer seconds: ties on purpose
    keep = u != v
    return u[keep], v[keep], w[keep]


def edit(rng, u, v, w, n, k):
    """Close, slow down, speed up some edges and add new ones."""
    w1 = w.copy()
    i = rng.choice(len(w), size=min(k, len(w)), replace=False)
    kind = rng.integers(0, 3, len(i))
    w1[i[kind == 0]] = np.inf
    w1[i[kind == 1]] *= rng.integers(2, 5, (kind == 1).sum())
    w1[i[kind == 2]] = np.maximum(1.0, np.floor(w1[i[kind == 2]] / 3))
    nu = rng.integers(0, n, k)
    nv = rng.integers(0, n, k)
    ok = nu != nv
    return (
        np.concatenate([u, nu[ok]]),
        np.concatenate([v, nv[ok]]),
        np.concatenate([w1, rng.integers(1, 30, ok.sum()).astype(float)]),
    )


@pytest.mark.parametrize("direction", ["to", "from"])
@pytest.mark.parametrize("seed", range(12))
def test_update_equals_dijkstra_on_the_edited_graph(direction, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    u, v, w = random_graph(rng, n, int(n * rng.uniform(1.5, 4)))
    u1, v1, w1 = edit(rng, u, v, w, n, int(rng.integers(1, 8)))
    g0, g1 = network(u, v, w, n), network(u1, v1, w1, n)
    src = rng.choice(n, size=min(n, 15), replace=False)
    rows0 = many_to_all(g0, src, direction=direction, method="dijkstra")
    np.testing.assert_array_equal(rows0, scipy_rows(u, v, w, n, src, direction))
    rows1, searched = update_many_to_all(g0, g1, src, rows0, direction=direction)
    want = scipy_rows(u1, v1, w1, n, src, direction)
    np.testing.assert_allclose(rows1, want, rtol=0, atol=1e-9)
    assert np.array_equal(np.isinf(rows1), np.isinf(want))
    assert rows0 is not rows1 and np.array_equal(
        rows0, many_to_all(g0, src, direction=direction, method="dijkstra")
    )  # the input rows are left as they were
    assert searched.shape == (len(src),)


def test_closing_the_only_way_disconnects_and_a_new_link_reconnects():
    # a path 0 -> 1 -> 2 -> 3; close 1 -> 2, add 0 -> 3
    u, v, w = [0, 1, 2], [1, 2, 3], [5.0, 5.0, 5.0]
    g0 = network(u, v, w, 4)
    rows0 = many_to_all(g0, [3], direction="to", method="dijkstra")
    assert rows0.tolist() == [[15.0, 10.0, 5.0, 0.0]]
    g1 = network(u, v, [5.0, np.inf, 5.0], 4)
    rows1, searched = update_many_to_all(g0, g1, [3], rows0, direction="to")
    assert rows1.tolist() == [[np.inf, np.inf, 5.0, 0.0]]
    assert searched.tolist() == [2]  # nodes 1 and 0 were searched again
    g2 = network([0, 1, 2, 0], [1, 2, 3, 3], [5.0, 5.0, 5.0, 4.0], 4)
    rows2, _ = update_many_to_all(g0, g2, [3], rows0, direction="to")
    assert rows2.tolist() == [[4.0, 10.0, 5.0, 0.0]]


def test_changed_edges_lists_each_pair_once():
    g0 = network([0, 1, 1], [1, 2, 2], [5.0, 7.0, 3.0], 3)  # parallel 1->2: the minimum counts
    g1 = network([0, 1, 2], [1, 2, 0], [5.0, 3.0, 1.0], 3)
    ch = changed_edges(g0, g1)
    assert ch["u"].tolist() == [2] and ch["v"].tolist() == [0]
    assert ch["base_s"].tolist() == [np.inf] and ch["edited_s"].tolist() == [1.0]
    with pytest.raises(ValueError, match="keep the base's nodes"):
        changed_edges(g0, network([0], [1], [1.0], 4))


def test_bad_arguments_are_refused():
    g = network([0], [1], [1.0], 2)
    with pytest.raises(ValueError, match="direction"):
        update_many_to_all(g, g, [0], np.zeros((1, 2)), direction="up")
    with pytest.raises(ValueError, match="shape"):
        update_many_to_all(g, g, [0], np.zeros((2, 2)))
