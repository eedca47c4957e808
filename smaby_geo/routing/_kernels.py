"""Numba shortest-path kernels over CSR arrays (no geopandas, no Python objects).

All kernels are exact label-setting Dijkstra searches with a lazy 4-ary heap: every improving
relaxation pushes one entry, stale entries are skipped when popped. A search may start from many
nodes at once, each with its own initial offset (the access leg) and label (the facility).
``cutoff`` is inclusive: nodes farther than it are left at ``inf``.

Kept in one module so numba's cache sees edits of the helpers (PITFALLS: numba caching).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

INF = np.inf


@njit(cache=True, inline="always")
def _push(hk, hv, hl, size, key, v, lab):
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        hl[i] = hl[p]
        i = p
    hk[i] = key
    hv[i] = v
    hl[i] = lab
    return size + 1


@njit(cache=True, inline="always")
def _pop(hk, hv, hl, size):
    key = hk[0]
    v = hv[0]
    lab = hl[0]
    size -= 1
    if size > 0:
        lk = hk[size]
        lv = hv[size]
        ll = hl[size]
        i = 0
        while True:
            c = 4 * i + 1
            if c >= size:
                break
            m = c
            mk = hk[c]
            e = min(c + 4, size)
            for j in range(c + 1, e):
                if hk[j] < mk:
                    mk = hk[j]
                    m = j
            if mk >= lk:
                break
            hk[i] = mk
            hv[i] = hv[m]
            hl[i] = hl[m]
            i = m
        hk[i] = lk
        hv[i] = lv
        hl[i] = ll
    return key, v, lab, size


@njit(cache=True)
def sssp(indptr, indices, weights, src_nodes, src_off, src_lab, cutoff, want_pred):
    """Multi-source Dijkstra: distance, nearest label and predecessor edge of every node.

    Parameters
    ----------
    indptr, indices, weights : CSR arrays (int64, int32, float64 seconds).
    src_nodes : int64 array of start nodes; src_off : float64 initial offsets (seconds);
    src_lab : int32 labels (e.g. facility numbers; ties at equal time go to the smaller label).
    cutoff : float, inclusive (``inf`` for none).
    want_pred : bool, fill the predecessor-edge array.

    Returns
    -------
    dist : float64 (n,), label : int32 (n,) (-1 unreachable), pred_edge : int64 (n,) or (0,).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, INF)
    label = np.full(n, -1, dtype=np.int32)
    pred = np.full(n if want_pred else 0, -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    cap = indices.shape[0] + src_nodes.shape[0] + 1
    hk = np.empty(cap)
    hv = np.empty(cap, dtype=np.int32)
    hl = np.empty(cap, dtype=np.int32)
    size = 0
    for i in range(src_nodes.shape[0]):
        s = src_nodes[i]
        d = src_off[i]
        if d > cutoff:
            continue
        if d < dist[s] or (d == dist[s] and src_lab[i] < label[s]):
            dist[s] = d
            label[s] = src_lab[i]
            size = _push(hk, hv, hl, size, d, s, 0)
    while size > 0:
        d, v, _, size = _pop(hk, hv, hl, size)
        if done[v] or d > dist[v]:
            continue
        done[v] = True
        lv = label[v]
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if done[u]:
                continue
            nd = d + weights[e]
            if nd > cutoff:
                continue
            du = dist[u]
            if nd < du or (nd == du and lv < label[u]):
                dist[u] = nd
                label[u] = lv
                if want_pred:
                    pred[u] = e
                size = _push(hk, hv, hl, size, nd, u, 0)
    return dist, label, pred


@njit(cache=True)
def k_nearest(indptr, indices, weights, src_nodes, src_off, src_lab, k, cutoff):
    """The ``k`` nearest distinct labels of every node, in one multi-source search.

    Each node is settled at most once per label and at most ``k`` times.

    Returns
    -------
    dist : float64 (n, k) seconds (``inf`` where fewer than k are reachable),
    label : int32 (n, k) (-1 there).
    """
    n = indptr.shape[0] - 1
    kd = np.full((n, k), INF)
    kl = np.full((n, k), -1, dtype=np.int32)
    cnt = np.zeros(n, dtype=np.int32)
    cap = k * indices.shape[0] + src_nodes.shape[0] + 1
    hk = np.empty(cap)
    hv = np.empty(cap, dtype=np.int32)
    hl = np.empty(cap, dtype=np.int32)
    size = 0
    for i in range(src_nodes.shape[0]):
        if src_off[i] <= cutoff:
            size = _push(hk, hv, hl, size, src_off[i], src_nodes[i], src_lab[i])
    while size > 0:
        d, v, lab, size = _pop(hk, hv, hl, size)
        c = cnt[v]
        if c == k:
            continue
        seen = False
        for j in range(c):
            if kl[v, j] == lab:
                seen = True
                break
        if seen:
            continue
        kd[v, c] = d
        kl[v, c] = lab
        cnt[v] = c + 1
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            cu = cnt[u]
            if cu == k:
                continue
            nd = d + weights[e]
            if nd > cutoff:
                continue
            seen = False
            for j in range(cu):
                if kl[u, j] == lab:
                    seen = True
                    break
            if not seen:
                size = _push(hk, hv, hl, size, nd, u, lab)
    return kd, kl


@njit(cache=True)
def _search_into(
    indptr, indices, weights, s, off, cutoff, tslot, n_slots, row, dist, done, touched, hk, hv, hl
):
    """One search from node ``s`` writing settled target slots into ``row``; resets state."""
    size = 0
    nt = 0
    found = 0
    if off <= cutoff:
        dist[s] = off
        touched[nt] = s
        nt += 1
        size = _push(hk, hv, hl, size, off, s, 0)
    while size > 0:
        d, v, _, size = _pop(hk, hv, hl, size)
        if done[v] or d > dist[v]:
            continue
        done[v] = True
        t = tslot[v]
        if t >= 0:
            row[t] = d
            found += 1
            if found == n_slots:
                break
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if done[u]:
                continue
            nd = d + weights[e]
            if nd > cutoff:
                continue
            if nd < dist[u]:
                if dist[u] == INF:
                    touched[nt] = u
                    nt += 1
                dist[u] = nd
                size = _push(hk, hv, hl, size, nd, u, 0)
    for i in range(nt):
        dist[touched[i]] = INF
        done[touched[i]] = False


@njit(cache=True, parallel=True)
def many_to_many(indptr, indices, weights, src_nodes, src_off, tslot, n_slots, cutoff, n_blocks):
    """Distances from every source to every target slot, one search per source, in parallel.

    Parameters
    ----------
    tslot : int32 (n,) slot of each node in the output columns, -1 for non-targets.
    n_slots : number of distinct target nodes; a search stops once all are settled.
    n_blocks : number of parallel blocks (each reuses its own work arrays).

    Returns
    -------
    float64 (n_sources, n_slots) seconds, ``inf`` where unreachable within ``cutoff``.
    """
    n = indptr.shape[0] - 1
    ns = src_nodes.shape[0]
    out = np.full((ns, n_slots), INF)
    n_blocks = max(1, min(n_blocks, ns))
    cap = indices.shape[0] + 2
    for b in prange(n_blocks):
        dist = np.full(n, INF)
        done = np.zeros(n, dtype=np.bool_)
        touched = np.empty(n, dtype=np.int32)
        hk = np.empty(cap)
        hv = np.empty(cap, dtype=np.int32)
        hl = np.empty(cap, dtype=np.int32)
        for i in range(b, ns, n_blocks):
            _search_into(
                indptr,
                indices,
                weights,
                src_nodes[i],
                src_off[i],
                cutoff,
                tslot,
                n_slots,
                out[i],
                dist,
                done,
                touched,
                hk,
                hv,
                hl,
            )
    return out


@njit(cache=True, parallel=True)
def many_to_all(indptr, indices, weights, src_nodes, src_off, cutoff):
    """Full distance rows from each source (one independent search each, in parallel).

    Returns
    -------
    float64 (n_sources, n) seconds.
    """
    n = indptr.shape[0] - 1
    ns = src_nodes.shape[0]
    out = np.empty((ns, n))
    lab = np.zeros(1, dtype=np.int32)
    for i in prange(ns):
        d, _, _ = sssp(
            indptr, indices, weights, src_nodes[i : i + 1], src_off[i : i + 1], lab, cutoff, False
        )
        out[i] = d
    return out
