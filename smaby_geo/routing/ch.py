"""Contraction hierarchies: preprocessing once, fast exact queries many times.

``build_ch`` contracts the network (numba) and stores two CSR graphs in sweep order (by level,
top level first): ``up`` (edges towards higher rank) and ``dn`` (for each node, the edges
arriving from higher-ranked nodes). Queries on it (PHAST one-to-all, multi-source nearest
facility, bucket many-to-many) are exact and are checked against plain Dijkstra in the tests.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smaby_geo.network.core import csr_indptr
from smaby_geo.routing import _kernels as kern

# Witness-search limits (settled nodes). Smaller is faster preprocessing with more shortcuts;
# results stay exact either way. Measured once on the 1M-node synthetic graph while choosing
# them: 10/50 contracted in ~32 s with 2.55M shortcuts, 20/100 in ~41 s with 2.53M, 50/500 in
# ~56 s with 2.53M; PHAST query times were within noise of each other. The current figure is
# in benchmarks/README.md.
WITNESS_SETTLED_SIMULATE = 10
WITNESS_SETTLED_CONTRACT = 50
# Re-simulate the neighbours of each contracted node at once (True) or only lazily when they
# are popped (False); the figures behind the choice are in benchmarks/README.md.
UPDATE_NEIGHBOURS = True


# Saved hierarchies carry this; another number is rebuilt. 2: ids in sweep layout (by level).
CH_FORMAT_VERSION = 2


def _csr_fingerprint(indptr, indices, weights) -> str:
    h = hashlib.sha256()
    for a in (indptr, indices, weights):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _csr(keys, nbrs, w, n):
    order = np.argsort(keys, kind="stable")
    return csr_indptr(keys, n), nbrs[order].astype(np.int32), w[order].astype(np.float64)


@dataclass(eq=False)
class ContractionHierarchy:
    """A contraction hierarchy of one graph.

    Attributes
    ----------
    new_id : int64 (n,) hierarchy id of each original node (``sweep_layout``: by level, top
        first; every edge from a higher-ranked node comes from a smaller id).
    old_id : int64 (n,) original node of each hierarchy id.
    up_ptr, up_idx, up_w : CSR of upward edges (hierarchy ids, seconds).
    dn_ptr, dn_idx, dn_w : CSR of edges arriving from higher-ranked nodes.
    n_shortcuts : int
    preprocess_seconds : float
    fingerprint : str
        sha256 of the CSR it was built from; loading checks it.
    """

    new_id: np.ndarray
    old_id: np.ndarray
    up_ptr: np.ndarray
    up_idx: np.ndarray
    up_w: np.ndarray
    dn_ptr: np.ndarray
    dn_idx: np.ndarray
    dn_w: np.ndarray
    n_shortcuts: int
    preprocess_seconds: float
    fingerprint: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.new_id.shape[0])

    def graphs(self, direction: str):
        """(search graph, sweep graph) for ``direction`` "from" or "to"."""
        up = (self.up_ptr, self.up_idx, self.up_w)
        dn = (self.dn_ptr, self.dn_idx, self.dn_w)
        return (up, dn) if direction == "from" else (dn, up)

    def save(self, path: str | os.PathLike) -> Path:
        """Save to a ``.npz`` file (atomically), with a sha256 ``checksum`` of its arrays."""
        from smaby_geo.routing._store import save_npz

        d = dict(self.__dict__)
        d["format_version"] = CH_FORMAT_VERSION
        d["checksum"] = _arrays_checksum(d)
        return save_npz(path, d)

    @classmethod
    def load(cls, path: str | os.PathLike, indptr=None, indices=None, weights=None):
        """Load from ``save`` output; with CSR arrays given, check it was built from them.

        Raises
        ------
        CHCacheError (a ValueError)
            The file is truncated, damaged (its arrays do not match their checksum) or not a
            contraction hierarchy; ``routing.api.prepare`` then rebuilds it.
        ValueError
            The file was built for another network.
        """
        import zipfile
        import zlib

        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            stored = str(d.pop("checksum"))
            if stored != _arrays_checksum(d):
                raise CHCacheError(f"contraction hierarchy {path} is damaged (checksum differs)")
            version = int(d.pop("format_version", 1))
            if version != CH_FORMAT_VERSION:
                raise CHCacheError(
                    f"contraction hierarchy {path} has format {version}, this version reads "
                    f"{CH_FORMAT_VERSION}; prepare() rebuilds it"
                )
            d["n_shortcuts"] = int(d["n_shortcuts"])
            d["preprocess_seconds"] = float(d["preprocess_seconds"])
            d["fingerprint"] = str(d["fingerprint"])
            ch = cls(**d)
        except CHCacheError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, KeyError, TypeError, ValueError,
                zlib.error) as exc:
            raise CHCacheError(
                f"contraction hierarchy {path} cannot be read ({type(exc).__name__}); delete it "
                "or let prepare() rebuild it"
            ) from None
        if indptr is not None and _csr_fingerprint(indptr, indices, weights) != ch.fingerprint:
            raise ValueError(
                f"contraction hierarchy {path} was built for another network; rebuild it with "
                "build_ch(network)"
            )
        return ch


class CHCacheError(ValueError):
    """A saved contraction hierarchy that is truncated, damaged or of another format."""


def _arrays_checksum(d: dict) -> str:
    """sha256 over every entry of ``d`` (names, dtypes, shapes and bytes), ``checksum`` aside."""
    h = hashlib.sha256()
    for k in sorted(d):
        if k == "checksum":
            continue
        a = np.ascontiguousarray(np.asarray(d[k]))
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def build_ch(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    *,
    witness_settled_simulate: int = WITNESS_SETTLED_SIMULATE,
    witness_settled_contract: int = WITNESS_SETTLED_CONTRACT,
    order: np.ndarray | None = None,
    update_neighbours: bool = UPDATE_NEIGHBOURS,
) -> ContractionHierarchy:
    """Contract a CSR graph (seconds) into a ContractionHierarchy.

    Parameters
    ----------
    indptr, indices, weights : CSR arrays (validated by the caller).
    order : ndarray of int, optional
        Cache-friendly node order used while contracting (``spatial_order`` or
        ``graph_order``); it speeds preprocessing about 1.6x on shuffled ids and does not
        change results.
    witness_settled_simulate, witness_settled_contract : int
        Settled-node limits of the witness searches while ordering and contracting.
    update_neighbours : bool
        Refresh the priority of a contracted node's neighbours by simulating them at once;
        ``False`` leaves it to the lazy re-check when they are popped. Exact either way.

    Returns
    -------
    ContractionHierarchy
    """
    t0 = time.perf_counter()
    n = indptr.shape[0] - 1
    fingerprint = _csr_fingerprint(indptr, indices, weights)
    pos = None
    if order is not None:
        indptr, indices, weights, pos = permute_csr(indptr, indices, weights, order)
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    rank, es, ed, ew = kern.ch_contract(
        n,
        src,
        np.asarray(indices, np.int64),
        np.asarray(weights, np.float64),
        int(witness_settled_simulate),
        int(witness_settled_contract),
        bool(update_neighbours),
    )
    n_orig_edges = int(np.count_nonzero(src != indices))
    new_id = sweep_layout(rank, es, ed)
    a, b = new_id[es], new_id[ed]
    if pos is not None:
        new_id = new_id[pos]  # original id -> permuted id -> hierarchy id
    old_id = np.empty(n, dtype=np.int64)
    old_id[new_id] = np.arange(n)
    upward = rank[ed] > rank[es]  # head has the higher rank
    up = _csr(a[upward], b[upward], ew[upward], n)
    dn = _csr(b[~upward], a[~upward], ew[~upward], n)
    return ContractionHierarchy(
        new_id=new_id,
        old_id=old_id,
        up_ptr=up[0],
        up_idx=up[1],
        up_w=up[2],
        dn_ptr=dn[0],
        dn_idx=dn[1],
        dn_w=dn[2],
        n_shortcuts=int(len(es) - n_orig_edges),
        preprocess_seconds=time.perf_counter() - t0,
        fingerprint=fingerprint,
    )


def sweep_layout(rank: np.ndarray, es: np.ndarray, ed: np.ndarray) -> np.ndarray:
    """Hierarchy ids for a contracted graph: by level, top level first.

    Levels as in Delling et al. (PHAST, 2011, section 4.1); within a level the nodes keep the
    numbering they were contracted under (the cache-friendly ``order`` given to ``build_ch``).

    A node's edges from higher-ranked nodes then all come from smaller ids, so the PHAST sweep
    is one linear scan, and nodes close in space sit close in memory within each level (the
    sweep's reads of higher-level labels hit cache far more often than in contraction order).

    Parameters
    ----------
    rank : int64 (n,) contraction order; es, ed : edge ends (original edges and shortcuts).

    Returns
    -------
    int64 (n,) hierarchy id of each node (0 = first in the sweep).
    """
    n = rank.shape[0]
    level = kern.ch_levels(rank, es, ed)
    order = np.lexsort((np.arange(n), -level))
    new_id = np.empty(n, dtype=np.int64)
    new_id[order] = np.arange(n)
    return new_id


def ch_nearest(ch: ContractionHierarchy, nodes, offsets, labels, cutoff: float, direction: str):
    """PHAST from (or to, with ``direction="to"``) several nodes; original ids in and out."""
    (sp, si, sw), (wp, wi, ww) = ch.graphs(direction)
    return kern.phast(
        sp, si, sw, wp, wi, ww, ch.new_id[nodes], offsets, labels, cutoff, ch.new_id
    )


def ch_one_to_all(ch: ContractionHierarchy, node: int, cutoff: float, direction: str):
    """PHAST seconds from (or to) one node to every node; original ids in and out."""
    (sp, si, sw), (wp, wi, ww) = ch.graphs(direction)
    return kern.phast_to_all(
        sp, si, sw, wp, wi, ww, int(ch.new_id[node]), 0.0, float(cutoff), ch.new_id
    )


# Sources carried per batched PHAST sweep. 8-16 is the usual range (Delling et al., PHAST,
# 2011); the figure behind the choice is in benchmarks/README.md (``routing.py --batch``).
PHAST_BATCH = 16


def ch_many_to_all(
    ch: ContractionHierarchy,
    nodes,
    cutoff: float,
    direction: str,
    *,
    batch: int = PHAST_BATCH,
    node_order: bool = True,
) -> np.ndarray:
    """Full rows of seconds from (or to) each node, original ids in.

    Sources run ``batch`` at a time through one batched PHAST sweep (one pass over the
    downward edges serves the whole batch); batches run in parallel. Columns are original
    nodes with ``node_order`` (each row gathered after its sweep), else the sweep's order:
    column ``v`` is original node ``ch.old_id[v]`` (no gather).
    """
    (sp, si, sw), (wp, wi, ww) = ch.graphs(direction)
    if not 1 <= int(batch) <= 64:
        raise ValueError(f"batch must be 1..64 sources per sweep, got {batch!r}")
    src = np.ascontiguousarray(ch.new_id[np.asarray(nodes, np.int64)], dtype=np.int64)
    import numba

    n = ch.n_nodes
    k = int(batch)
    n_read = int(wi.max()) + 1 if wi.shape[0] else 0
    n_workers = max(1, min(-(-len(src) // k), int(numba.get_num_threads())))
    # allocated by numpy, which asks for huge pages (see phast_batched)
    out = np.empty((len(src), n))
    work = np.empty((n_workers, n_read * k))
    kern.phast_batched(
        sp,
        si,
        sw,
        wp,
        wi,
        ww,
        src,
        np.ascontiguousarray(ch.new_id),
        float(cutoff),
        k,
        work,
        out,
        bool(node_order),
    )
    return out


def ch_matrix(
    ch: ContractionHierarchy, src, src_off, tgt, tgt_off, cutoff: float, n_blocks: int
) -> np.ndarray:
    """Many-to-many seconds (sources x targets), original ids in."""
    return kern.ch_many_to_many(
        ch.up_ptr,
        ch.up_idx,
        ch.up_w,
        ch.dn_ptr,
        ch.dn_idx,
        ch.dn_w,
        ch.new_id[src],
        src_off,
        ch.new_id[tgt],
        tgt_off,
        cutoff,
        n_blocks,
    )


def spatial_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nodes sorted along a Z-order (Morton) curve of their coordinates.

    Returns
    -------
    ndarray of int64
        ``order[k]`` = node placed at position k; neighbours in space end up close in memory.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)

    def q(v):
        span = v.max() - v.min()
        return ((v - v.min()) / (span if span > 0 else 1.0) * 65535).astype(np.uint64)

    def spread(v):
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    code = spread(q(x)) | (spread(q(y)) << np.uint64(1))
    return np.argsort(code, kind="stable").astype(np.int64)


def graph_order(indptr, indices) -> np.ndarray:
    """A cache-friendly node order from the graph alone (reverse Cuthill-McKee, scipy)."""
    from scipy import sparse
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = indptr.shape[0] - 1
    a = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))
    return np.asarray(reverse_cuthill_mckee((a + a.T).tocsr(), symmetric_mode=True), np.int64)


def permute_csr(indptr, indices, weights, order):
    """Renumber a CSR graph so that node ``order[k]`` becomes node ``k``."""
    n = indptr.shape[0] - 1
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    deg = np.diff(indptr)
    src = np.repeat(np.arange(n), deg)
    new_src = pos[src]
    new_dst = pos[indices]
    o = np.lexsort((new_dst, new_src))
    return csr_indptr(new_src, n), new_dst[o].astype(np.int32), np.asarray(weights)[o], pos
