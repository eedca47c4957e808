"""Numba kernels that reduce blocks of node-to-node times to per-origin sums.

Pure functions over arrays; nothing here knows about geopandas. Times are in whole *bins*
(``time_bin_s`` seconds each) after rounding; see ``smaby_geo.analysis.reach``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def reduce_block(times_s, bin_s, t_ptr, t_bin, t_pop, s_ptr, s_bin, weight, acc, wsum):
    """Population within the limit and weighted population for the origins of a block.

    Parameters
    ----------
    times_s : float64 (b, n)
        Seconds from each of the block's source nodes to every node (``inf`` = unreachable).
    bin_s : float
        Bin width in seconds.
    t_ptr : int64 (n + 1,)
        Target entries at node v are ``t_ptr[v]:t_ptr[v + 1]``.
    t_bin, t_pop : (E,)
        Target entries: access leg in bins, population.
    s_ptr : int64 (b + 1,)
        The origin entries of row r are ``s_ptr[r]:s_ptr[r + 1]``.
    s_bin : int64 (S,)
        Access leg of each origin entry in bins.
    weight : float64 (L + 1,)
        Weight of a trip of k bins, k = 0..L (L = the limit in bins); trips over L count 0.
    acc, wsum : float64 (S,)
        Output: population within L bins; sum of population x weight.
    """
    b = times_s.shape[0]
    n = times_s.shape[1]
    n_bins = weight.shape[0] - 1
    limit_s = (n_bins + 0.5) * bin_s
    for r in prange(b):
        lo, hi = s_ptr[r], s_ptr[r + 1]
        if hi == lo:
            continue
        row = times_s[r]
        h = np.zeros(n_bins + 1)
        for v in range(n):
            d = row[v]
            if d > limit_s or t_ptr[v] == t_ptr[v + 1]:
                continue
            k0 = np.int64(np.floor(d / bin_s + 0.5))
            for e in range(t_ptr[v], t_ptr[v + 1]):
                k = k0 + t_bin[e]
                if k <= n_bins:
                    h[k] += t_pop[e]
        for s in range(lo, hi):
            kmax = n_bins - s_bin[s]
            a = 0.0
            ws = 0.0
            for k in range(kmax + 1):
                if h[k] != 0.0:
                    a += h[k]
                    ws += h[k] * weight[k + s_bin[s]]
            acc[s] = a
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
