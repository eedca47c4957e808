"""Numba kernels that reduce blocks of node-to-node times to per-origin sums.

Pure functions over arrays; nothing here knows about geopandas. See
``smaby_geo.analysis.reach``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def reduce_block(times_s, limit_s, bin_s, t_ptr, t_leg, t_pop, s_ptr, s_leg, weight, acc, wsum):
    """Population within the limit (exact) and weighted population for a block of origins.

    Per source node: every target trip ``q = T(node, target node) + target leg`` within the
    limit is put into bins of ``bin_s`` seconds (a counting sort). An origin with leg ``l``
    counts the bins wholly below ``limit - l`` from a prefix sum and checks the trips of the
    one partial bin one by one, so the count is exact. The weighted sum evaluates the weight
    at each bin's middle (the only rounding).

    Parameters
    ----------
    times_s : float64 (b, n)
        Seconds from each of the block's source nodes to every node (``inf`` = unreachable).
    limit_s, bin_s : float
        Limit (inclusive) and bin width, seconds.
    t_ptr : int64 (n + 1,)
        Target entries at node v are ``t_ptr[v]:t_ptr[v + 1]``.
    t_leg, t_pop : float64 (E,)
        Target entries: access leg (seconds), population.
    s_ptr : int64 (b + 1,)
        The origins of row r are ``s_ptr[r]:s_ptr[r + 1]``.
    s_leg : float64 (S,)
        Access leg of each origin, seconds.
    weight : float64 (L + 1,)
        Weight of a trip of k bins (k = 0..L, ``L = limit_s / bin_s``).
    acc, wsum : float64 (S,)
        Output: population within the limit; sum of population x weight.
    """
    b = times_s.shape[0]
    n = times_s.shape[1]
    n_w = weight.shape[0]
    n_bins = np.int64(np.floor(limit_s / bin_s)) + 1
    for r in prange(b):
        lo, hi = s_ptr[r], s_ptr[r + 1]
        if hi == lo:
            continue
        row = times_s[r]
        m = 0
        for v in range(n):
            if row[v] <= limit_s:
                m += t_ptr[v + 1] - t_ptr[v]
        qa = np.empty(m)
        pa = np.empty(m)
        cnt = np.zeros(n_bins + 1, dtype=np.int64)
        h = np.zeros(n_bins)
        j = 0
        for v in range(n):
            d = row[v]
            if d > limit_s:
                continue
            for e in range(t_ptr[v], t_ptr[v + 1]):
                q = d + t_leg[e]
                if q <= limit_s:
                    k = np.int64(q // bin_s)
                    qa[j] = q
                    pa[j] = t_pop[e]
                    cnt[k + 1] += 1
                    h[k] += t_pop[e]
                    j += 1
        start = np.cumsum(cnt)  # start[k] = first slot of bin k
        pos = start.copy()
        qs = np.empty(j)
        ps = np.empty(j)
        for i in range(j):
            k = np.int64(qa[i] // bin_s)
            qs[pos[k]] = qa[i]
            ps[pos[k]] = pa[i]
            pos[k] += 1
        pre = np.zeros(n_bins + 1)
        for b_ in range(n_bins):
            pre[b_ + 1] = pre[b_] + h[b_]
        for s in range(lo, hi):
            rem = limit_s - s_leg[s]
            if rem < 0:
                acc[s] = 0.0
                wsum[s] = 0.0
                continue
            kb = np.int64(rem // bin_s)
            if kb >= n_bins:
                kb = n_bins - 1
            a = pre[kb]
            ws = 0.0
            for i in range(start[kb], start[kb + 1]):  # the bin the limit cuts
                if qs[i] <= rem:
                    a += ps[i]
                    wk = np.int64((s_leg[s] + qs[i]) // bin_s)
                    ws += ps[i] * weight[min(wk, n_w - 1)]
            acc[s] = a
            for b_ in range(kb):
                if h[b_] != 0.0:
                    wk = np.int64((s_leg[s] + (b_ + 0.5) * bin_s) // bin_s)
                    ws += h[b_] * weight[min(wk, n_w - 1)]
            wsum[s] = ws


@njit(cache=True)
def _cell_seconds(row, c_col, c_out_s, c):
    """Seconds from cell ``c`` to a town whose row (to the town itself) is ``row``."""
    t = np.inf
    for e in range(2):
        col = c_col[c, e]
        if col >= 0:
            q = c_out_s[c, e] + row[col]
            if q < t:
                t = q
    return t


@njit(cache=True, parallel=True)
def town_thresholds(
    times_s, row_offset_s, c_col, c_out_s, c_pop, c_rural, c_nearest, pair_ptr, pair_cell,
    pair_s, limits_s,
):
    """Population within each limit of each town, the part nearer to another town, the rural part.

    Exact with the main job's access model (``places.snapping``, METHODS §1): a cell enters
    through both ends of its link, a town is entered through both ends of its link, and a
    cell on the town's own link may also go directly along it.

    Parameters
    ----------
    times_s : float64 (2m, n)
        Rows ``2r`` and ``2r + 1``: seconds from every node (column) to the ``u`` and the
        ``v`` end of town ``r``'s link.
    row_offset_s : float64 (2m,)
        Seconds from that link end to the town (partial link time + access leg; ``inf``
        where that direction is closed).
    c_col : int64 (k, 2)
        Column of each cell's two link ends in ``times_s`` (-1 = not road-connected).
    c_out_s : float64 (k, 2)
        Seconds from each cell to its two link ends (access leg + partial link time).
    c_pop : float64 (k,)
        Population.
    c_rural : bool (k,)
        Cells counted in ``rural``.
    c_nearest : int64 (k,)
        The nearest town of each cell (row number, -1 = none).
    pair_ptr : int64 (m + 1,)
        Cells on town ``r``'s own link are ``pair_cell[pair_ptr[r]:pair_ptr[r + 1]]``,
    pair_cell, pair_s : int64 (P,), float64 (P,)
        with the seconds directly along the link (``places.snapping.same_link_seconds``).
    limits_s : float64 (q,)
        Limits in seconds (inclusive).

    Returns
    -------
    gross, other, rural : float64 (m, q)
        Population within each limit; the part of it whose nearest town is another one; the
        part of it in rural cells.
    """
    m = times_s.shape[0] // 2
    q = limits_s.shape[0]
    gross = np.zeros((m, q))
    other = np.zeros((m, q))
    rural = np.zeros((m, q))
    for r in prange(m):
        # seconds from every node to the town: the better of its link's two ends
        row = np.minimum(
            times_s[2 * r] + row_offset_s[2 * r], times_s[2 * r + 1] + row_offset_s[2 * r + 1]
        )
        for c in range(c_col.shape[0]):
            t = _cell_seconds(row, c_col, c_out_s, c)
            for j in range(q):
                if t <= limits_s[j]:
                    gross[r, j] += c_pop[c]
                    if c_nearest[c] != r:
                        other[r, j] += c_pop[c]
                    if c_rural[c]:
                        rural[r, j] += c_pop[c]
        # cells on the town's own link: directly along it where that is sooner
        for p in range(pair_ptr[r], pair_ptr[r + 1]):
            c = pair_cell[p]
            t = _cell_seconds(row, c_col, c_out_s, c)
            d = pair_s[p]
            if not d < t:
                continue
            for j in range(q):
                if d <= limits_s[j] and not t <= limits_s[j]:
                    gross[r, j] += c_pop[c]
                    if c_nearest[c] != r:
                        other[r, j] += c_pop[c]
                    if c_rural[c]:
                        rural[r, j] += c_pop[c]
    return gross, other, rural
