"""Numba kernels that reduce blocks of shortest-path rows to per-origin or per-town sums.

Pure functions over arrays; nothing here knows about geopandas. See
``smaby_geo.analysis.reach``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _bin_trips(q, p, kq, m, n_bins, start, h, pre, qs, ps, pos):
    """Counting sort of trips ``q[:m]`` (seconds, all within the limit) by their bins ``kq``.

    Fills ``start`` (first slot of each bin in ``qs``/``ps``, ``n_bins + 1``), ``h`` (population
    per bin), ``pre`` (prefix sums of ``h``) and ``qs``/``ps`` (the trips sorted by bin).
    """
    start[:] = 0
    h[:] = 0.0
    for i in range(m):
        start[kq[i] + 1] += 1
        h[kq[i]] += p[i]
    for k in range(n_bins):
        start[k + 1] += start[k]
    pos[:] = start
    for i in range(m):
        k = kq[i]
        qs[pos[k]] = q[i]
        ps[pos[k]] = p[i]
        pos[k] += 1
    pre[0] = 0.0
    for k in range(n_bins):
        pre[k + 1] = pre[k] + h[k]


@njit(cache=True)
def _answer(leg, limit_s, bin_s, n_bins, start, h, pre, qs, ps, weight):
    """Population and weighted population of binned trips for an origin ``leg`` seconds off.

    The bins wholly below ``limit - leg`` come from the prefix sum; the one bin the limit cuts
    is checked trip by trip (exact count). Weights: at each full bin's middle, at the trip's
    own bin in the cut bin.
    """
    rem = limit_s - leg
    if not rem >= 0.0:  # also an infinite leg (that end of the link is closed)
        return 0.0, 0.0
    n_w = weight.shape[0]
    kb = np.int64(rem // bin_s)
    if kb >= n_bins:
        kb = n_bins - 1
    a = pre[kb]
    ws = 0.0
    for i in range(start[kb], start[kb + 1]):  # the bin the limit cuts
        if qs[i] <= rem:
            a += ps[i]
            wk = np.int64((leg + qs[i]) // bin_s)
            ws += ps[i] * weight[min(wk, n_w - 1)]
    for b_ in range(kb):
        if h[b_] != 0.0:
            wk = np.int64((leg + (b_ + 0.5) * bin_s) // bin_s)
            ws += h[b_] * weight[min(wk, n_w - 1)]
    return a, ws


@njit(cache=True)
def _row_value(times_s, r, v):
    """``times_s[r, v]``; ``inf`` where there is no row (``r < 0``: that link end is closed)."""
    if r < 0:
        return np.inf
    return times_s[r, v]


@njit(cache=True, parallel=True)
def reduce_links(
    times_s, limit_s, bin_s, l_row, l_link, s_ptr, s_out, tl_ptr, tl_nodes, tl_link, t_in,
    t_pop, pair_ptr, pair_t, pair_s, weight, tie_s, n_chunks, acc, wsum,
):
    """Population within the limit (exact) and weighted population of origins grouped by link.

    Exact with the main job's access model (``places.snapping``, METHODS §1): an origin leaves
    through both ends of its link (access leg + partial link time to each), a target is
    entered through both ends of its link, and an origin and a target on the same link may
    also go directly along it. The trip time is ``min(a0 + Qu, a1 + Qv, direct)``: ``a0``,
    ``a1`` the origin's seconds to its link's ``u`` and ``v`` ends, ``Qu``, ``Qv`` the seconds
    from those ends to the target (the better of its two entries).

    Per origin link, each target within reach is put in one of three sets: *U* where the ``u``
    end is at least as good for every origin on the link (``Qu - Qv <= a1 - a0`` for all),
    *V* where the ``v`` end is, and *M* (mixed, and every target on the link itself). *U* and
    *V* are counting-sorted into bins of ``bin_s`` and answered per origin from prefix sums,
    checking the one bin the limit cuts trip by trip; *M* is checked per origin, target by
    target. Counts are exact; weights are taken at bin middles (full bins) or at the trip's
    own bin.

    Parameters
    ----------
    times_s : float64 (b, n)
        Seconds from each of the block's source nodes to every node (``inf`` = beyond the limit).
    limit_s, bin_s : float
        Limit (inclusive) and bin width, seconds.
    l_row : int64 (L, 2)
        Row of ``times_s`` from the ``u`` and the ``v`` end of each origin link (-1 = none).
    l_link : int64 (L,)
        The origin links' rows in ``network.links`` (to find targets on the same link).
    s_ptr : int64 (L + 1,)
        The origins of link ``l`` are ``s_ptr[l]:s_ptr[l + 1]``.
    s_out : float64 (S, 2)
        Seconds from each origin to its link's ``u`` and ``v`` ends (``Snapped.out_seconds``).
    tl_ptr : int64 (K + 1,)
        The targets on target link ``k`` are ``tl_ptr[k]:tl_ptr[k + 1]``.
    tl_nodes : int64 (K, 2)
        The ``u`` and ``v`` node of each target link.
    tl_link : int64 (K,)
        The target links' rows in ``network.links``.
    t_in : float64 (T, 2)
        Seconds from the ``u`` and ``v`` end of its link to each target (``Snapped.in_seconds``).
    t_pop : float64 (T,)
        Population of each target.
    pair_ptr : int64 (S + 1,)
        The targets on origin ``s``'s own link are ``pair_t[pair_ptr[s]:pair_ptr[s + 1]]``,
    pair_t, pair_s : int64 (P,), float64 (P,)
        with the seconds directly along the link (``places.snapping.same_link_seconds``).
    weight : float64 (W,)
        Weight of a trip in bin k (k = 0..W - 1).
    tie_s : float
        Seconds within which the two ends count as equally good for a target (rounding in
        the rows would otherwise make every target behind an end look mixed); a trip can be
        taken at most this much too long.
    n_chunks : int
        Parallel chunks of links (each holds scratch arrays of T entries).
    acc, wsum : float64 (S,)
        Output: population within the limit; sum of population x weight.
    """
    n_links = l_row.shape[0]
    n_t = t_pop.shape[0]
    n_tl = tl_ptr.shape[0] - 1
    n_w = weight.shape[0]
    n_bins = np.int64(np.floor(limit_s / bin_s)) + 1
    for c in prange(n_chunks):
        u_q, u_p = np.empty(n_t), np.empty(n_t)
        v_q, v_p = np.empty(n_t), np.empty(n_t)
        u_k = np.empty(n_t, dtype=np.int64)
        v_k = np.empty(n_t, dtype=np.int64)
        m_id = np.empty(n_t, dtype=np.int64)
        m_qu, m_qv = np.empty(n_t), np.empty(n_t)
        qs_u, ps_u = np.empty(n_t), np.empty(n_t)
        qs_v, ps_v = np.empty(n_t), np.empty(n_t)
        direct = np.full(n_t, np.inf)
        st_u = np.zeros(n_bins + 1, dtype=np.int64)
        st_v = np.zeros(n_bins + 1, dtype=np.int64)
        pos = np.zeros(n_bins + 1, dtype=np.int64)
        h_u, h_v = np.zeros(n_bins), np.zeros(n_bins)
        pre_u, pre_v = np.zeros(n_bins + 1), np.zeros(n_bins + 1)
        for li in range(c, n_links, n_chunks):
            lo, hi = s_ptr[li], s_ptr[li + 1]
            if hi == lo:
                continue
            ru, rv = l_row[li, 0], l_row[li, 1]
            # the origins' best offsets and the range of a1 - a0 (+inf: v end closed)
            a0min, a1min, dmin, dmax = np.inf, np.inf, np.inf, -np.inf
            for s in range(lo, hi):
                a0, a1 = s_out[s, 0], s_out[s, 1]
                a0min = min(a0min, a0)
                a1min = min(a1min, a1)
                if a1 == np.inf:
                    d = np.inf
                elif a0 == np.inf:
                    d = -np.inf
                else:
                    d = a1 - a0
                dmin = min(dmin, d)
                dmax = max(dmax, d)
            nu, nv, nm = 0, 0, 0
            lim_u, lim_v = limit_s - a0min, limit_s - a1min  # -inf where that end is closed
            for k in range(n_tl):
                x, y = tl_nodes[k, 0], tl_nodes[k, 1]
                ux, uy = _row_value(times_s, ru, x), _row_value(times_s, ru, y)
                vx, vy = _row_value(times_s, rv, x), _row_value(times_s, rv, y)
                if tl_link[k] == l_link[li]:  # targets on the origins' own link: all mixed
                    for t in range(tl_ptr[k], tl_ptr[k + 1]):
                        m_id[nm] = t
                        m_qu[nm] = min(ux + t_in[t, 0], uy + t_in[t, 1])
                        m_qv[nm] = min(vx + t_in[t, 0], vy + t_in[t, 1])
                        nm += 1
                    continue
                if min(ux, uy) > lim_u and min(vx, vy) > lim_v:
                    continue
                for t in range(tl_ptr[k], tl_ptr[k + 1]):
                    qu = min(ux + t_in[t, 0], uy + t_in[t, 1])
                    qv = min(vx + t_in[t, 0], vy + t_in[t, 1])
                    if not (qu <= lim_u or qv <= lim_v):
                        continue
                    if qv == np.inf or (qu != np.inf and qu - qv <= dmin + tie_s):
                        if qu <= lim_u:  # the u end is as good for every origin
                            u_q[nu], u_p[nu], u_k[nu] = qu, t_pop[t], np.int64(qu // bin_s)
                            nu += 1
                    elif qu == np.inf or qu - qv >= dmax - tie_s:
                        if qv <= lim_v:  # the v end is
                            v_q[nv], v_p[nv], v_k[nv] = qv, t_pop[t], np.int64(qv // bin_s)
                            nv += 1
                    else:
                        m_id[nm], m_qu[nm], m_qv[nm] = t, qu, qv
                        nm += 1
            _bin_trips(u_q, u_p, u_k, nu, n_bins, st_u, h_u, pre_u, qs_u, ps_u, pos)
            _bin_trips(v_q, v_p, v_k, nv, n_bins, st_v, h_v, pre_v, qs_v, ps_v, pos)
            for s in range(lo, hi):
                a0, a1 = s_out[s, 0], s_out[s, 1]
                au, wu = _answer(a0, limit_s, bin_s, n_bins, st_u, h_u, pre_u, qs_u, ps_u,
                                 weight)
                av, wv = _answer(a1, limit_s, bin_s, n_bins, st_v, h_v, pre_v, qs_v, ps_v,
                                 weight)
                a, ws = au + av, wu + wv
                for p in range(pair_ptr[s], pair_ptr[s + 1]):
                    direct[pair_t[p]] = min(direct[pair_t[p]], pair_s[p])
                for i in range(nm):
                    t = m_id[i]
                    q = min(min(a0 + m_qu[i], a1 + m_qv[i]), direct[t])
                    if q <= limit_s:
                        a += t_pop[t]
                        ws += t_pop[t] * weight[min(np.int64(q // bin_s), n_w - 1)]
                for p in range(pair_ptr[s], pair_ptr[s + 1]):
                    direct[pair_t[p]] = np.inf
                acc[s] = a
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
