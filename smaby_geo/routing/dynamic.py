"""Shortest-path rows after an edit, updated from the rows before it (exact).

A scenario changes a few edges of a network (a road closed or made faster, a ferry retimed or
replaced, a new link). ``update_many_to_all`` takes full rows of times to (or from) some nodes
on the base network and returns the rows of the edited network, searching only the nodes
whose time can change (the dynamic shortest-path update of Ramalingam & Reps, 1996):

1. *grown* edges (slower or closed) that lie on a shortest path (``w_base + d(v) <= d(u)``,
   for times ``d`` to the target) invalidate their tail ``u`` and every node whose shortest
   path runs through it: the backward closure of those tails over such tight edges, ``U``;
2. each node of ``U`` restarts from its best edge of the edited network into a node outside
   ``U`` (whose time holds: it has a shortest path over edges that did not grow);
3. *fallen* edges (faster or new) offer their tail a shorter way;
4. a Dijkstra search from the nodes changed in 2 and 3 settles the rest.

The result is a feasible potential of the edited network (every edge is relaxed) whose labels
are lengths of real paths, so it is the shortest-path distance. Tight tests use a margin
``margin_s`` so that rounding in summed link times can only enlarge ``U``, never shrink it.
Results are checked against scipy's Dijkstra on random graphs and edits in
``tests/test_routing_dynamic.py``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from smaby_geo.network.core import RoadNetwork, reverse_arrays

INF = np.inf
# Seconds of slack in "this edge lies on a shortest path": far above rounding in summed times.
TIGHT_MARGIN_S = 1e-3


@njit(cache=True, inline="always")
def _hpush(hk, hv, size, key, v):
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = v
    return size + 1


@njit(cache=True, inline="always")
def _hpop(hk, hv, size):
    key = hk[0]
    v = hv[0]
    size -= 1
    if size > 0:
        lk = hk[size]
        lv = hv[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and hk[c + 1] < hk[c]:
                c += 1
            if hk[c] >= lk:
                break
            hk[i] = hk[c]
            hv[i] = hv[c]
            i = c
        hk[i] = lk
        hv[i] = lv
    return key, v, size


@njit(cache=True)
def _update_row(
    d, target, r0p, r0i, r0w, f1p, f1i, f1w, r1p, r1i, r1w, gu, gv, gw0, fu, fv, fw1, margin,
    in_u, stack, hk, hv,
):
    """Update one row ``d`` (times to ``target``) in place; work arrays come back cleared."""
    n_u = 0
    for k in range(gu.shape[0]):
        u = gu[k]
        if u != target and not in_u[u] and d[u] < INF and gw0[k] + d[gv[k]] <= d[u] + margin:
            in_u[u] = True
            stack[n_u] = u
            n_u += 1
    i = 0
    while i < n_u:
        y = stack[i]
        i += 1
        dy = d[y]
        for e in range(r0p[y], r0p[y + 1]):
            x = r0i[e]
            if not in_u[x] and x != target and d[x] < INF and r0w[e] + dy <= d[x] + margin:
                in_u[x] = True
                stack[n_u] = x
                n_u += 1
    for i in range(n_u):
        d[stack[i]] = INF
    size = 0
    for i in range(n_u):
        x = stack[i]
        best = INF
        for e in range(f1p[x], f1p[x + 1]):
            y = f1i[e]
            if not in_u[y]:
                c = f1w[e] + d[y]
                if c < best:
                    best = c
        if best < INF:
            d[x] = best
            size = _hpush(hk, hv, size, best, x)
    for k in range(fu.shape[0]):
        c = fw1[k] + d[fv[k]]
        if c < d[fu[k]]:
            d[fu[k]] = c
            size = _hpush(hk, hv, size, c, fu[k])
    while size > 0:
        key, x, size = _hpop(hk, hv, size)
        if key > d[x]:
            continue
        for e in range(r1p[x], r1p[x + 1]):
            y = r1i[e]
            c = key + r1w[e]
            if c < d[y]:
                d[y] = c
                size = _hpush(hk, hv, size, c, y)
    for i in range(n_u):
        in_u[stack[i]] = False
    return n_u


@njit(cache=True, parallel=True)
def _update_rows(
    rows, targets, r0p, r0i, r0w, f1p, f1i, f1w, r1p, r1i, r1w, gu, gv, gw0, fu, fv, fw1,
    margin, n_blocks,
):
    n = rows.shape[1]
    n_rows = rows.shape[0]
    cap = f1i.shape[0] + n + fu.shape[0] + 1
    reset = np.zeros(n_rows, dtype=np.int64)
    for b in prange(n_blocks):
        in_u = np.zeros(n, dtype=np.bool_)
        stack = np.empty(n, dtype=np.int64)
        hk = np.empty(cap)
        hv = np.empty(cap, dtype=np.int64)
        for r in range(b, n_rows, n_blocks):
            reset[r] = _update_row(
                rows[r], targets[r], r0p, r0i, r0w, f1p, f1i, f1w, r1p, r1i, r1w, gu, gv,
                gw0, fu, fv, fw1, margin, in_u, stack, hk, hv,
            )
    return reset


def _edge_table(indptr, indices, weights) -> tuple[np.ndarray, np.ndarray, np.int64]:
    """Tail, head and smallest time of every distinct directed pair of a CSR graph."""
    n = indptr.shape[0] - 1
    u = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = u * n + np.asarray(indices, np.int64)
    order = np.lexsort((weights, key))
    key, w = key[order], np.asarray(weights, float)[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return key[first], w[first], np.int64(n)


def changed_edges(base: RoadNetwork, edited: RoadNetwork) -> dict[str, np.ndarray]:
    """Directed node pairs whose (smallest) edge time differs between two networks.

    Returns
    -------
    dict
        ``u``, ``v`` (int64 node numbers), ``base_s`` and ``edited_s`` (seconds; ``inf`` where
        the pair has no edge in that network), for every pair that changed.

    Raises
    ------
    ValueError
        The networks have different node counts.
    """
    if base.n_nodes != edited.n_nodes:
        raise ValueError(
            f"networks have {base.n_nodes} and {edited.n_nodes} nodes; an edited network must "
            "keep the base's nodes"
        )
    k0, w0, n = _edge_table(base.indptr, base.indices, base.weights)
    k1, w1, _ = _edge_table(edited.indptr, edited.indices, edited.weights)
    keys = np.union1d(k0, k1)
    a = np.full(len(keys), np.inf)
    b = np.full(len(keys), np.inf)
    a[np.searchsorted(keys, k0)] = w0
    b[np.searchsorted(keys, k1)] = w1
    ch = np.flatnonzero(a != b)
    return {"u": keys[ch] // n, "v": keys[ch] % n, "base_s": a[ch], "edited_s": b[ch]}


def update_many_to_all(
    base: RoadNetwork,
    edited: RoadNetwork,
    sources,
    rows,
    *,
    direction: str = "from",
    margin_s: float = TIGHT_MARGIN_S,
) -> tuple[np.ndarray, np.ndarray]:
    """``many_to_all(edited, sources)`` from ``rows = many_to_all(base, sources)``, exactly.

    Parameters
    ----------
    base, edited : RoadNetwork
        The network the rows were computed on and the edited one (same nodes; edges may be
        added, removed or retimed).
    sources : array of int
        Node numbers, one per row.
    rows : ndarray (len(sources), n_nodes)
        Seconds on ``base`` (``many_to_all(base, sources, direction=direction)``); not changed.
    direction : {"from", "to"}
    margin_s : float, default ``TIGHT_MARGIN_S``
        Slack of the "on a shortest path" test (seconds); larger only searches more nodes.

    Returns
    -------
    (rows, searched)
        Seconds on ``edited`` (a new array) and, per row, the number of nodes whose time was
        invalidated by a grown edge and searched again.
    """
    if direction not in ("from", "to"):
        raise ValueError(f"direction must be 'from' or 'to', got {direction!r}")
    src = np.asarray(sources, dtype=np.int64).ravel()
    rows = np.asarray(rows, dtype=np.float64)
    n = base.n_nodes
    if rows.shape != (len(src), n):
        raise ValueError(f"rows must have shape ({len(src)}, {n}), got {rows.shape}")
    ch = changed_edges(base, edited)
    out = np.array(rows, dtype=np.float64, order="C", copy=True)
    if len(ch["u"]) == 0 or len(src) == 0:
        return out, np.zeros(len(src), dtype=np.int64)
    u, v = ch["u"], ch["v"]
    if direction == "from":  # times from s are times to s on the reversed graph
        u, v = v, u
    grew = ch["edited_s"] > ch["base_s"]
    fell = ~grew

    def fwd(net):
        return net.indptr, net.indices, net.weights

    def rev(net):
        ip, ix, w, _ = reverse_arrays(net.indptr, net.indices, net.weights)
        return ip, ix, w

    # in the graph G' where row times are times *to* the source: out-edges f, in-edges r
    f1 = fwd(edited) if direction == "to" else rev(edited)
    r1 = rev(edited) if direction == "to" else fwd(edited)
    r0 = rev(base) if direction == "to" else fwd(base)
    n_blocks = max(1, min(len(src), numba.get_num_threads() * 4))
    searched = _update_rows(
        out,
        src,
        r0[0], r0[1].astype(np.int64), r0[2],
        f1[0], f1[1].astype(np.int64), f1[2],
        r1[0], r1[1].astype(np.int64), r1[2],
        u[grew], v[grew], ch["base_s"][grew],
        u[fell], v[fell], ch["edited_s"][fell],
        float(margin_s),
        n_blocks,
    )  # fmt: skip
    return out, searched
