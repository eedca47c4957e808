"""Seeded synthetic road-like graph generator for the routing benchmark.

Nodes sit on a jittered square grid (about 100 m spacing). Each grid street is kept with a
probability that gives about 2.5 directed edges per node (like Norwegian road graphs, where
most nodes have degree 2-3), every ``arterial_every``-th row and column is an arterial kept
whole at 80 km/h, every ``motorway_every``-th a motorway at 110 km/h, local streets 40 km/h.
Only the largest connected part is kept. Node ids are shuffled (seeded), as in data read
from files, so the benefit of a cache-friendly renumbering is part of what is measured.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


def road_like_graph(
    n_target: int = 1_000_000,
    *,
    seed: int = 42,
    keep_local: float = 0.62,
    arterial_every: int = 20,
    motorway_every: int = 100,
    shuffle: bool = True,
):
    """Return ``(indptr, indices, weights_s, x_m, y_m)`` of a symmetric road-like graph."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_target / 0.97)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = (jj * 100.0 + rng.uniform(-30, 30, ii.shape)).ravel()
    y = (ii * 100.0 + rng.uniform(-30, 30, ii.shape)).ravel()
    ids = np.arange(side * side).reshape(side, side)
    edges = []
    for axis in (0, 1):
        a = ids[:, :-1] if axis == 1 else ids[:-1, :]
        b = ids[:, 1:] if axis == 1 else ids[1:, :]
        line = (ii[:, :-1] if axis == 1 else jj[:-1, :]).ravel()
        a, b = a.ravel(), b.ravel()
        motorway = line % motorway_every == 0
        arterial = (line % arterial_every == 0) & ~motorway
        keep = motorway | arterial | (rng.random(a.shape[0]) < keep_local)
        speed = np.where(motorway, 110.0, np.where(arterial, 80.0, 40.0))
        edges.append((a[keep], b[keep], speed[keep]))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    speed = np.concatenate([e[2] for e in edges])
    length = np.hypot(x[a] - x[b], y[a] - y[b]) * rng.uniform(1.0, 1.2, a.shape[0])
    w = length / (speed / 3.6)
    n_all = side * side
    g = sparse.coo_matrix((np.ones_like(w), (a, b)), shape=(n_all, n_all))
    _, lab = csgraph.connected_components(g, directed=False)
    big = np.bincount(lab).argmax()
    keep_nodes = np.flatnonzero(lab == big)
    new = np.full(n_all, -1, dtype=np.int64)
    order = rng.permutation(len(keep_nodes)) if shuffle else np.arange(len(keep_nodes))
    new[keep_nodes] = order
    ok = (new[a] >= 0) & (new[b] >= 0)
    a, b, w = new[a[ok]], new[b[ok]], w[ok]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w])
    n = len(keep_nodes)
    o = np.lexsort((dst, src))
    src, dst, ww = src[o], dst[o], ww[o]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    xs = np.empty(n)
    ys = np.empty(n)
    xs[new[keep_nodes]] = x[keep_nodes]
    ys[new[keep_nodes]] = y[keep_nodes]
    return indptr, dst.astype(np.int32), ww, xs, ys
