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


@njit(cache=True, parallel=True)
def town_thresholds(times_s, town_leg_s, c_node, c_leg_s, c_pop, c_nearest, limits_s):
    """Population within each limit of each town, and the part nearer to another town.

    Parameters
    ----------
    times_s : float64 (m, n)
        Seconds from every node to each town's node (rows = towns).
    town_leg_s : float64 (m,)
        Access leg of each town centre.
    c_node, c_leg_s, c_pop : (k,)
        Origin cells: node (-1 = not road-connected), access leg seconds, population.
    c_nearest : int64 (k,)
        The nearest town of each cell (row number, -1 = none).
    limits_s : float64 (q,)
        Limits in seconds (inclusive).

    Returns
    -------
    gross, other : float64 (m, q)
        Population within each limit; the part of it whose nearest town is another one.
    """
    m = times_s.shape[0]
    q = limits_s.shape[0]
    gross = np.zeros((m, q))
    other = np.zeros((m, q))
    for r in prange(m):
        row = times_s[r]
        for c in range(c_node.shape[0]):
            if c_node[c] < 0:
                continue
            t = row[c_node[c]] + c_leg_s[c] + town_leg_s[r]
            for j in range(q):
                if t <= limits_s[j]:
                    gross[r, j] += c_pop[c]
                    if c_nearest[c] != r:
                        other[r, j] += c_pop[c]
    return gross, other
