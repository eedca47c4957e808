"""Numba shortest-path kernels over CSR arrays (no geopandas, no Python objects).

All kernels are exact label-setting Dijkstra searches with a lazy 4-ary heap: every improving
relaxation pushes one entry, stale entries are skipped when popped. A search may start from many
nodes at once, each with its own initial offset (the access leg) and label (the facility).
``cutoff`` is inclusive: nodes farther than it are left at ``inf``.

Kept in one module so numba's cache sees edits of the helpers (PITFALLS: numba caching).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

INF = np.inf

# Batched PHAST prefetches the labels of the edge this many edges ahead (the sweep's reads are
# random in memory; 8-32 were within noise of each other on the 1M-node synthetic graph, about
# 13 % faster than none: benchmarks/phast_batch.py).
PREFETCH_EDGES = 16


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to fetch ``arr[idx]`` into cache (LLVM ``prefetch``; no effect on results).

    ``idx`` must lie inside ``arr`` (the address is computed without bounds checks).
    """
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        builder.call(
            fn,
            [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
             ir.Constant(i32, 1)],
        )
        return context.get_dummy_value()

    return sig, codegen


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


# --- contraction hierarchies -----------------------------------------------------------------
#
# Preprocessing contracts nodes one by one (lazy-updated priority = edge difference + contracted
# neighbours), adding a shortcut u->x for each in/out pair around v unless a bounded witness
# search finds a path no longer than u->v->x. The hierarchy is exact whatever the bounds: a
# missed witness only adds a superfluous shortcut. Queries: PHAST (upward search + one linear
# downward sweep over nodes in rank order) and bucket-based many-to-many (Knopp et al. 2007).


@njit(cache=True)
def _grow_i64(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), dtype=np.int64)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_f64(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]))
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _list_append(start, length, cap, pool, pool_end, v, val):
    """Append ``val`` to node ``v``'s list in ``pool`` (moving the list when full)."""
    if length[v] == cap[v]:
        newcap = max(4, 2 * cap[v])
        pool = _grow_i64(pool, pool_end + newcap)
        for i in range(length[v]):
            pool[pool_end + i] = pool[start[v] + i]
        start[v] = pool_end
        cap[v] = newcap
        pool_end += newcap
    pool[start[v] + length[v]] = val
    length[v] += 1
    return pool, pool_end


@njit(cache=True)
def _compact(v, start, length, pool, other, contracted):
    """Drop entries of ``v``'s list whose other end is contracted."""
    j = 0
    s = start[v]
    for i in range(length[v]):
        e = pool[s + i]
        if not contracted[other[e]]:
            pool[s + j] = e
            j += 1
    length[v] = j


@njit(cache=True)
def _witness(
    u,
    skip,
    limit,
    max_settled,
    o_start,
    o_len,
    o_pool,
    e_dst,
    e_w,
    contracted,
    dist,
    touched,
    hk,
    hv,
    hl,
):
    """Bounded Dijkstra from ``u`` among uncontracted nodes except ``skip``; returns #touched.

    Out-lists of the nodes it settles lose their edges to contracted nodes (``o_len`` shrinks).
    """
    nt = 0
    dist[u] = 0.0
    touched[nt] = u
    nt += 1
    size = _push(hk, hv, hl, 0, 0.0, u, 0)
    settled = 0
    cap = hk.shape[0]
    while size > 0:
        d, v, _, size = _pop(hk, hv, hl, size)
        if d > dist[v]:
            continue
        if d > limit:
            break
        settled += 1
        if settled > max_settled:
            break
        # relax v's out-edges, dropping those to contracted nodes for good as we go (a stable
        # in-place compaction: later searches scan shorter lists, in the same order)
        s = o_start[v]
        j = 0
        for i in range(o_len[v]):
            e = o_pool[s + i]
            x = e_dst[e]
            if contracted[x]:
                continue
            o_pool[s + j] = e
            j += 1
            if x == skip:
                continue
            nd = d + e_w[e]
            if nd < dist[x] and nd <= limit:
                if dist[x] == INF:
                    if nt == touched.shape[0]:
                        continue
                    touched[nt] = x
                    nt += 1
                dist[x] = nd
                if size < cap:
                    size = _push(hk, hv, hl, size, nd, x, 0)
        o_len[v] = j
    return nt


@njit(cache=True)
def ch_contract(n, src, dst, w, max_settled_sim, max_settled, update_neighbours):
    """Contract all nodes; return (rank, edge src, edge dst, edge weight).

    ``rank[v]`` is the contraction order (0 = first). The returned edges are the original
    edges plus shortcuts; an edge is 'upward' when its head has the higher rank.
    Priority = edge difference + contracted neighbours, re-checked lazily when a node is
    popped. With ``update_neighbours`` the neighbours of each contracted node are simulated
    again at once (their edge difference refreshed); without, only their contracted-neighbour
    count is, and the lazy check at pop time catches the rest (fewer witness searches).
    """
    m = src.shape[0]
    e_src = np.empty(max(16, 2 * m), dtype=np.int64)
    e_dst = np.empty(max(16, 2 * m), dtype=np.int64)
    e_w = np.empty(max(16, 2 * m))
    o_start = np.zeros(n, dtype=np.int64)
    o_len = np.zeros(n, dtype=np.int64)
    o_cap = np.zeros(n, dtype=np.int64)
    i_start = np.zeros(n, dtype=np.int64)
    i_len = np.zeros(n, dtype=np.int64)
    i_cap = np.zeros(n, dtype=np.int64)
    o_pool = np.empty(max(16, 4 * m), dtype=np.int64)
    i_pool = np.empty(max(16, 4 * m), dtype=np.int64)
    o_end = 0
    i_end = 0
    ne = 0
    for k in range(m):
        a = src[k]
        b = dst[k]
        if a == b:
            continue
        e_src[ne] = a
        e_dst[ne] = b
        e_w[ne] = w[k]
        o_pool, o_end = _list_append(o_start, o_len, o_cap, o_pool, o_end, a, ne)
        i_pool, i_end = _list_append(i_start, i_len, i_cap, i_pool, i_end, b, ne)
        ne += 1
    contracted = np.zeros(n, dtype=np.bool_)
    deleted_nb = np.zeros(n, dtype=np.int64)
    prio = np.zeros(n, dtype=np.int64)
    ed_last = np.zeros(n, dtype=np.int64)  # edge difference at the node's last simulation
    nb_stamp = np.full(n, -1, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)
    wdist = np.full(n, INF)
    wtouch = np.empty(4096, dtype=np.int32)
    wcap = 1 << 16
    whk = np.empty(wcap)
    whv = np.empty(wcap, dtype=np.int32)
    whl = np.empty(wcap, dtype=np.int32)
    in_u = np.empty(64, dtype=np.int64)
    in_w = np.empty(64)
    out_x = np.empty(64, dtype=np.int64)
    out_w = np.empty(64)
    s_in_u = np.empty(64, dtype=np.int64)
    s_in_w = np.empty(64)
    s_out_x = np.empty(64, dtype=np.int64)
    s_out_w = np.empty(64)
    # priority queue of (priority, node); stale entries skipped by comparing with prio[]
    pcap = 4 * n + 16
    pk = np.empty(pcap)
    pv = np.empty(pcap, dtype=np.int32)
    pl = np.empty(pcap, dtype=np.int32)
    psize = 0
    sc_u = np.empty(64, dtype=np.int64)
    sc_x = np.empty(64, dtype=np.int64)
    sc_w = np.empty(64)
    # first pass: simulate every node
    for v in range(n):
        (ed, _, _, in_u, in_w, out_x, out_w, sc_u, sc_x, sc_w, _) = _process(
            v,
            o_start,
            o_len,
            o_pool,
            i_start,
            i_len,
            i_pool,
            e_src,
            e_dst,
            e_w,
            contracted,
            wdist,
            wtouch,
            whk,
            whv,
            whl,
            in_u,
            in_w,
            out_x,
            out_w,
            sc_u,
            sc_x,
            sc_w,
            max_settled_sim,
        )
        prio[v] = ed
        ed_last[v] = ed
        psize = _push(pk, pv, pl, psize, float(prio[v]), v, 0)
    order = 0
    while psize > 0:
        p, v, _, psize = _pop(pk, pv, pl, psize)
        if contracted[v] or p != float(prio[v]):
            continue
        (ed, _, _, in_u, in_w, out_x, out_w, sc_u, sc_x, sc_w, _) = _process(
            v,
            o_start,
            o_len,
            o_pool,
            i_start,
            i_len,
            i_pool,
            e_src,
            e_dst,
            e_w,
            contracted,
            wdist,
            wtouch,
            whk,
            whv,
            whl,
            in_u,
            in_w,
            out_x,
            out_w,
            sc_u,
            sc_x,
            sc_w,
            max_settled_sim,
        )
        ed_last[v] = ed
        newp = ed + deleted_nb[v]
        if psize > 0 and newp > pk[0]:
            prio[v] = newp
            if psize >= pcap - 1:
                psize = _rebuild_pq(n, contracted, prio, pk, pv, pl)
            psize = _push(pk, pv, pl, psize, float(newp), v, 0)
            continue
        # contract v for real: the shortcuts needed with the larger witness limit
        (_, n_in, n_out, in_u, in_w, out_x, out_w, sc_u, sc_x, sc_w, ns) = _process(
            v,
            o_start,
            o_len,
            o_pool,
            i_start,
            i_len,
            i_pool,
            e_src,
            e_dst,
            e_w,
            contracted,
            wdist,
            wtouch,
            whk,
            whv,
            whl,
            in_u,
            in_w,
            out_x,
            out_w,
            sc_u,
            sc_x,
            sc_w,
            max_settled,
        )
        for q in range(ns):
            u = sc_u[q]
            x = sc_x[q]
            via = sc_w[q]
            found = False
            s0 = o_start[u]
            for i in range(o_len[u]):
                e = o_pool[s0 + i]
                if e_dst[e] == x:
                    found = True
                    if e_w[e] > via:
                        e_w[e] = via
                    break
            if not found:
                if ne == e_src.shape[0]:
                    e_src = _grow_i64(e_src, ne + 1)
                    e_dst = _grow_i64(e_dst, ne + 1)
                    e_w = _grow_f64(e_w, ne + 1)
                e_src[ne] = u
                e_dst[ne] = x
                e_w[ne] = via
                o_pool, o_end = _list_append(o_start, o_len, o_cap, o_pool, o_end, u, ne)
                i_pool, i_end = _list_append(i_start, i_len, i_cap, i_pool, i_end, x, ne)
                ne += 1
        contracted[v] = True
        rank[v] = order
        order += 1
        # neighbours: one more contracted neighbour, new priority
        for a in range(n_in + n_out):
            u = in_u[a] if a < n_in else out_x[a - n_in]
            deleted_nb[u] += 1
        for a in range(n_in + n_out):
            u = in_u[a] if a < n_in else out_x[a - n_in]
            if contracted[u] or nb_stamp[u] == order:
                continue  # a two-way neighbour is both an in- and an out-neighbour: once
            nb_stamp[u] = order
            if not update_neighbours:
                np_ = ed_last[u] + deleted_nb[u]
                if np_ != prio[u]:
                    prio[u] = np_
                    if psize >= pcap - 1:
                        psize = _rebuild_pq(n, contracted, prio, pk, pv, pl)
                    psize = _push(pk, pv, pl, psize, float(np_), u, 0)
                continue
            (ed, _, _, s_in_u, s_in_w, s_out_x, s_out_w, sc_u, sc_x, sc_w, _) = _process(
                u,
                o_start,
                o_len,
                o_pool,
                i_start,
                i_len,
                i_pool,
                e_src,
                e_dst,
                e_w,
                contracted,
                wdist,
                wtouch,
                whk,
                whv,
                whl,
                s_in_u,
                s_in_w,
                s_out_x,
                s_out_w,
                sc_u,
                sc_x,
                sc_w,
                max_settled_sim,
            )
            ed_last[u] = ed
            np_ = ed + deleted_nb[u]
            if np_ != prio[u]:
                prio[u] = np_
                if psize >= pcap - 1:
                    psize = _rebuild_pq(n, contracted, prio, pk, pv, pl)
                psize = _push(pk, pv, pl, psize, float(np_), u, 0)
    return rank, e_src[:ne].copy(), e_dst[:ne].copy(), e_w[:ne].copy()


@njit(cache=True)
def _rebuild_pq(n, contracted, prio, pk, pv, pl):
    size = 0
    for v in range(n):
        if not contracted[v]:
            size = _push(pk, pv, pl, size, float(prio[v]), v, 0)
    return size


@njit(cache=True)
def _gather(
    v,
    o_start,
    o_len,
    o_pool,
    i_start,
    i_len,
    i_pool,
    e_src,
    e_dst,
    e_w,
    contracted,
    in_u,
    in_w,
    out_x,
    out_w,
):
    """Live in- and out-neighbours of ``v`` (min weight per neighbour); returns counts.

    Writes at most the arrays' lengths but always returns the true counts, so a caller can
    grow the arrays and call again.
    """
    _compact(v, i_start, i_len, i_pool, e_src, contracted)
    _compact(v, o_start, o_len, o_pool, e_dst, contracted)
    n_in = 0
    s = i_start[v]
    for i in range(i_len[v]):
        e = i_pool[s + i]
        u = e_src[e]
        dup = False
        for j in range(min(n_in, in_u.shape[0])):
            if in_u[j] == u:
                dup = True
                if e_w[e] < in_w[j]:
                    in_w[j] = e_w[e]
                break
        if not dup:
            if n_in < in_u.shape[0]:
                in_u[n_in] = u
                in_w[n_in] = e_w[e]
            n_in += 1
    n_out = 0
    s = o_start[v]
    for i in range(o_len[v]):
        e = o_pool[s + i]
        x = e_dst[e]
        dup = False
        for j in range(min(n_out, out_x.shape[0])):
            if out_x[j] == x:
                dup = True
                if e_w[e] < out_w[j]:
                    out_w[j] = e_w[e]
                break
        if not dup:
            if n_out < out_x.shape[0]:
                out_x[n_out] = x
                out_w[n_out] = e_w[e]
            n_out += 1
    return n_in, n_out


@njit(cache=True)
def _process(
    v,
    o_start,
    o_len,
    o_pool,
    i_start,
    i_len,
    i_pool,
    e_src,
    e_dst,
    e_w,
    contracted,
    wdist,
    wtouch,
    whk,
    whv,
    whl,
    in_u,
    in_w,
    out_x,
    out_w,
    sc_u,
    sc_x,
    sc_w,
    max_settled,
):
    """Shortcuts needed to contract ``v`` (pairs u->x with no witness path).

    Returns (edge difference, n_in, n_out, in/out arrays, shortcut arrays, n_shortcuts); the
    arrays are returned because they may have grown.
    """
    n_in, n_out = _gather(
        v,
        o_start,
        o_len,
        o_pool,
        i_start,
        i_len,
        i_pool,
        e_src,
        e_dst,
        e_w,
        contracted,
        in_u,
        in_w,
        out_x,
        out_w,
    )
    if n_in > in_u.shape[0] or n_out > out_x.shape[0]:
        in_u = _grow_i64(in_u, n_in)
        in_w = _grow_f64(in_w, n_in)
        out_x = _grow_i64(out_x, n_out)
        out_w = _grow_f64(out_w, n_out)
        n_in, n_out = _gather(
            v,
            o_start,
            o_len,
            o_pool,
            i_start,
            i_len,
            i_pool,
            e_src,
            e_dst,
            e_w,
            contracted,
            in_u,
            in_w,
            out_x,
            out_w,
        )
    ns = 0
    for a in range(n_in):
        u = in_u[a]
        limit = 0.0
        for b in range(n_out):
            if out_x[b] != u and in_w[a] + out_w[b] > limit:
                limit = in_w[a] + out_w[b]
        nt = _witness(
            u,
            v,
            limit,
            max_settled,
            o_start,
            o_len,
            o_pool,
            e_dst,
            e_w,
            contracted,
            wdist,
            wtouch,
            whk,
            whv,
            whl,
        )
        for b in range(n_out):
            x = out_x[b]
            via = in_w[a] + out_w[b]
            if x != u and wdist[x] > via:
                if ns == sc_u.shape[0]:
                    sc_u = _grow_i64(sc_u, ns + 1)
                    sc_x = _grow_i64(sc_x, ns + 1)
                    sc_w = _grow_f64(sc_w, ns + 1)
                sc_u[ns] = u
                sc_x[ns] = x
                sc_w[ns] = via
                ns += 1
        for i in range(nt):
            wdist[wtouch[i]] = INF
    return (ns - n_in - n_out, n_in, n_out, in_u, in_w, out_x, out_w, sc_u, sc_x, sc_w, ns)


@njit(cache=True)
def ch_levels(rank, es, ed):
    """Level of every node of a hierarchy (Delling et al., PHAST, 2011).

    0 for nodes with no lower-ranked neighbour, else one more than the highest level among
    them. Every edge joins two levels, so any order by decreasing level is a valid sweep order.
    """
    n = rank.shape[0]
    m = es.shape[0]
    lo = np.empty(m, dtype=np.int64)
    hi = np.empty(m, dtype=np.int64)
    key = np.empty(m, dtype=np.int64)
    for i in range(m):
        a = es[i]
        b = ed[i]
        if rank[a] < rank[b]:
            lo[i] = a
            hi[i] = b
        else:
            lo[i] = b
            hi[i] = a
        key[i] = rank[lo[i]]
    # edges by the rank of their lower end: a node's level is final before its edges are used
    cnt = np.zeros(n + 1, dtype=np.int64)
    for i in range(m):
        cnt[key[i] + 1] += 1
    for r in range(n):
        cnt[r + 1] += cnt[r]
    order = np.empty(m, dtype=np.int64)
    for i in range(m):
        order[cnt[key[i]]] = i
        cnt[key[i]] += 1
    level = np.zeros(n, dtype=np.int64)
    for q in range(m):
        i = order[q]
        if lo[i] == hi[i]:
            continue  # a self-loop joins no two levels
        lv = level[lo[i]] + 1
        if lv > level[hi[i]]:
            level[hi[i]] = lv
    return level


@njit(cache=True)
def phast(
    up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src_nodes, src_off, src_lab, cutoff, new_id
):
    """PHAST one-to-all (or multi-source nearest) over a hierarchy in sweep order.

    Ids are the hierarchy's (``0`` = top level; every edge of ``dn`` arrives from a smaller id).
    ``up_*``: CSR of edges towards higher rank used for the upward search;
    ``dn_*``: for each node, its edges *from* higher-ranked nodes, used in the sweep.
    ``new_id[u]`` is the hierarchy id of original node ``u``: results are gathered back into
    original order (a gather was faster than scattering during the sweep: the reads overlap,
    random writes do not).

    Returns
    -------
    dist : float64 (n,) seconds and label : int32 (n,), in original node order; beyond
    ``cutoff`` (inclusive) -> ``inf`` / ``-1``.
    """
    n = up_ptr.shape[0] - 1
    dist, label, _ = sssp(up_ptr, up_idx, up_w, src_nodes, src_off, src_lab, INF, False)
    out_d = np.empty(n)
    out_l = np.empty(n, dtype=np.int32)
    for v in range(n):
        dv = dist[v]
        lv = label[v]
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            a = dn_idx[e]
            nd = dist[a] + dn_w[e]
            if nd < dv or (nd == dv and label[a] < lv and nd < INF):
                dv = nd
                lv = label[a]
        dist[v] = dv
        label[v] = lv
    for u in range(n):
        v = new_id[u]
        dv = dist[v]
        if dv <= cutoff:
            out_d[u] = dv
            out_l[u] = label[v]
        else:
            out_d[u] = INF
            out_l[u] = -1
    return out_d, out_l


@njit(cache=True)
def phast_to_all(up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, s, off, cutoff, new_id):
    """PHAST from one node: seconds to every node, in original node order.

    ``phast`` without labels: the upward search, one linear sweep, one gather through
    ``new_id``.
    """
    n = up_ptr.shape[0] - 1
    dist = np.full(n, INF)
    done = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int32)
    cap = up_idx.shape[0] + 2
    hk = np.empty(cap)
    hv = np.empty(cap, dtype=np.int32)
    hl = np.empty(cap, dtype=np.int32)
    _upward(up_ptr, up_idx, up_w, s, off, dist, done, touched, hk, hv, hl)
    out = np.empty(n)
    for v in range(n):
        dv = dist[v]
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            nd = dist[dn_idx[e]] + dn_w[e]
            if nd < dv:
                dv = nd
        dist[v] = dv
    for u in range(n):
        dv = dist[new_id[u]]
        out[u] = dv if dv <= cutoff else INF
    return out


@njit(cache=True)
def _upward(ptr, idx, w, s, off, dist, done, touched, hk, hv, hl):
    """Full Dijkstra in an upward graph from ``s``; returns #touched (caller resets)."""
    nt = 0
    dist[s] = off
    touched[nt] = s
    nt += 1
    size = _push(hk, hv, hl, 0, off, s, 0)
    while size > 0:
        d, v, _, size = _pop(hk, hv, hl, size)
        if done[v] or d > dist[v]:
            continue
        done[v] = True
        for e in range(ptr[v], ptr[v + 1]):
            u = idx[e]
            nd = d + w[e]
            if nd < dist[u]:
                if dist[u] == INF:
                    touched[nt] = u
                    nt += 1
                dist[u] = nd
                size = _push(hk, hv, hl, size, nd, u, 0)
    return nt


@njit(cache=True, parallel=True)
def ch_many_to_many(
    up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src, src_off, tgt, tgt_off, cutoff, n_blocks
):
    """Bucket-based many-to-many over a contraction hierarchy (hierarchy ids).

    Backward upward searches from each target (``dn`` graph) fill buckets; forward upward
    searches from each source (``up`` graph), in parallel, scan the buckets they settle.
    """
    n = up_ptr.shape[0] - 1
    ns = src.shape[0]
    nt_ = tgt.shape[0]
    cap = max(up_idx.shape[0], dn_idx.shape[0]) + 2
    # backward searches: collect (node, target, dist)
    dist = np.full(n, INF)
    done = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int32)
    hk = np.empty(cap)
    hv = np.empty(cap, dtype=np.int32)
    hl = np.empty(cap, dtype=np.int32)
    b_node = np.empty(1024, dtype=np.int64)
    b_t = np.empty(1024, dtype=np.int64)
    b_d = np.empty(1024)
    nb = 0
    for j in range(nt_):
        k = _upward(dn_ptr, dn_idx, dn_w, tgt[j], tgt_off[j], dist, done, touched, hk, hv, hl)
        if nb + k > b_node.shape[0]:
            b_node = _grow_i64(b_node, nb + k)
            b_t = _grow_i64(b_t, nb + k)
            b_d = _grow_f64(b_d, nb + k)
        for i in range(k):
            v = touched[i]
            b_node[nb] = v
            b_t[nb] = j
            b_d[nb] = dist[v]
            nb += 1
            dist[v] = INF
            done[v] = False
    # bucket CSR by node
    bptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(nb):
        bptr[b_node[i] + 1] += 1
    for v in range(n):
        bptr[v + 1] += bptr[v]
    fill = bptr[:-1].copy()
    bt = np.empty(nb, dtype=np.int64)
    bd = np.empty(nb)
    for i in range(nb):
        p = fill[b_node[i]]
        bt[p] = b_t[i]
        bd[p] = b_d[i]
        fill[b_node[i]] = p + 1
    out = np.full((ns, nt_), INF)
    n_blocks = max(1, min(n_blocks, ns))
    for blk in prange(n_blocks):
        dist2 = np.full(n, INF)
        done2 = np.zeros(n, dtype=np.bool_)
        touched2 = np.empty(n, dtype=np.int32)
        hk2 = np.empty(cap)
        hv2 = np.empty(cap, dtype=np.int32)
        hl2 = np.empty(cap, dtype=np.int32)
        for i in range(blk, ns, n_blocks):
            k = _upward(
                up_ptr, up_idx, up_w, src[i], src_off[i], dist2, done2, touched2, hk2, hv2, hl2
            )
            row = out[i]
            for q in range(k):
                v = touched2[q]
                dv = dist2[v]
                for p in range(bptr[v], bptr[v + 1]):
                    c = dv + bd[p]
                    if c < row[bt[p]]:
                        row[bt[p]] = c
                dist2[v] = INF
                done2[v] = False
            if cutoff < INF:
                for j in range(nt_):
                    if row[j] > cutoff:
                        row[j] = INF
    return out


@njit(cache=True, parallel=True)
def phast_many(up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src_nodes, cutoff, new_id):
    """One PHAST per source, in parallel; rows in original node order."""
    n = up_ptr.shape[0] - 1
    ns = src_nodes.shape[0]
    out = np.empty((ns, n))
    for i in prange(ns):
        out[i] = phast_to_all(
            up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src_nodes[i], 0.0, cutoff, new_id
        )
    return out


@njit(cache=True)
def _phast_batch_rows(
    up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src, D, n_read, dist, done, touched, hk, hv,
    hl, slot, S, out, r0, cutoff,
):
    """One batched PHAST: ``k = len(src)`` sources carried together in one downward sweep.

    ``D`` is a node-major (n_read * k) float64 buffer in sweep order: ``D[v * k + j]`` is the
    time from source ``j`` to node ``v``, kept only for the first ``n_read`` ids (the nodes
    some edge of ``dn`` leaves from; the rest are never read again, 43 % of the 1M synthetic
    graph). The upward searches write into a small side buffer ``S`` (one k-row per node they
    touch, found through ``slot``, which is all ``-1`` on entry and on return), so ``D`` needs
    no initialisation pass; the sweep completes every node from its edges from higher-ranked
    nodes, all k columns at once (one pass over the edges instead of k), and writes the k
    times of each node into ``out[r0 + j, v]`` (sweep order; beyond ``cutoff`` inclusive ->
    inf) as it goes. Returns ``S`` (it may have grown).
    """
    n = up_ptr.shape[0] - 1
    k = src.shape[0]
    m = 0
    for j in range(k):
        nt = _upward(up_ptr, up_idx, up_w, src[j], 0.0, dist, done, touched, hk, hv, hl)
        for q in range(nt):
            v = touched[q]
            sv = slot[v]
            if sv < 0:
                sv = m
                slot[v] = m
                m += 1
                S = _grow_f64(S, m * k)
                for jj in range(k):
                    S[sv * k + jj] = INF
            S[sv * k + j] = dist[v]
            dist[v] = INF
            done[v] = False
    acc = np.empty(k)  # node v's k labels, kept apart from D so the inner loop vectorises
    ne = dn_idx.shape[0]
    for v in range(n):
        sv = slot[v]
        if sv >= 0:
            slot[v] = -1
            for j in range(k):
                acc[j] = S[sv * k + j]
        else:
            for j in range(k):
                acc[j] = INF
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            # the labels read PREFETCH_EDGES edges ahead are random in memory: fetch them now
            ep = e + PREFETCH_EDGES
            if ep < ne:
                pa = dn_idx[ep] * k
                _prefetch(D, pa)  # type: ignore[call-arg]
                _prefetch(D, pa + k - 1)
            ba = dn_idx[e] * k
            w = dn_w[e]
            for j in range(k):
                acc[j] = min(acc[j], D[ba + j] + w)
        if v < n_read:
            bv = v * k
            for j in range(k):
                D[bv + j] = acc[j]
        for j in range(k):
            x = acc[j]
            out[r0 + j, v] = x if x <= cutoff else INF
    return S


@njit(cache=True, parallel=True)
def phast_batched(
    up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src_nodes, new_id, cutoff, k, D, out,
    node_order,
):
    """Rows of times from each source (hierarchy ids in), in sweep or original node order.

    Sources run ``k`` at a time through one batched PHAST sweep; batches are dealt to
    ``D.shape[0]`` parallel workers. ``D`` (n_workers, n_read * k) float64 holds each worker's
    labels of the nodes the sweep reads again (``n_read = dn_idx.max() + 1``); ``out``
    (n_sources, n) float64 receives the rows. Both are allocated by the caller (numpy asks
    the kernel for huge pages, which made the page faults of fresh rows several times
    cheaper than numba's allocator on the 1M-node synthetic graph).

    Fills ``out``: row ``i`` holds seconds from ``src_nodes[i]``; beyond ``cutoff``
    (inclusive) inf. With ``node_order``, column ``u`` is original node ``u`` (each row is
    gathered through ``new_id`` after its sweep, in place); else column ``v`` is hierarchy id
    ``v`` (the sweep's own order: original node ``old_id[v]``).
    """
    n = up_ptr.shape[0] - 1
    ns = src_nodes.shape[0]
    n_workers = D.shape[0]
    n_read = D.shape[1] // k
    n_batches = (ns + k - 1) // k
    cap = max(up_idx.shape[0], dn_idx.shape[0]) + 2
    for w_ in prange(n_workers):
        Dw = D[w_]
        dist = np.full(n, INF)
        done = np.zeros(n, dtype=np.bool_)
        touched = np.empty(n, dtype=np.int32)
        slot = np.full(n, -1, dtype=np.int64)
        S = np.empty(1024 * k)
        hk = np.empty(cap)
        hv = np.empty(cap, dtype=np.int32)
        hl = np.empty(cap, dtype=np.int32)
        tmp = np.empty(n if node_order else 0)
        for b in range(w_, n_batches, n_workers):
            s0 = b * k
            s1 = min(ns, s0 + k)
            S = _phast_batch_rows(
                up_ptr, up_idx, up_w, dn_ptr, dn_idx, dn_w, src_nodes[s0:s1],
                Dw[: n_read * (s1 - s0)], n_read, dist, done, touched, hk, hv, hl, slot, S,
                out, s0, cutoff,
            )
            if node_order:
                # one row at a time: the gather reads 8 bytes x n of one row (cache-sized)
                for i in range(s0, s1):
                    row = out[i]
                    tmp[:] = row
                    for u in range(n):
                        row[u] = tmp[new_id[u]]
