"""Public routing API over a RoadNetwork (or raw CSR arrays).

Times are seconds in and out; ``inf`` means unreachable (or beyond ``cutoff_s``, inclusive).
``direction="from"`` searches along the edges (from the given nodes outwards);
``direction="to"`` searches the reverse graph, giving times *to* the given nodes.

Longer than 500 lines because it is the one public face of the routing kernels: every query
(one-to-all, many-to-all in blocks or on Dask, nearest facility, matrices, routes) with its
argument checks and engine choice in one place.
"""

from __future__ import annotations

import os
import weakref
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, overload

import numba
import numpy as np
from numpy.typing import ArrayLike

from smaby_geo._compat import LegacyMapping, renamed_kwargs
from smaby_geo.network.core import RoadNetwork, reverse_arrays
from smaby_geo.routing import _kernels as kern
from smaby_geo.routing.ch import (
    PHAST_BATCH,
    ContractionHierarchy,
    _csr_fingerprint,
    build_ch,
    ch_many_to_all,
    ch_matrix,
    ch_nearest,
    ch_one_to_all,
    graph_order,
    spatial_order,
)

METHODS = ("auto", "dijkstra", "ch")

MAX_K = 5


@dataclass
class CSR:
    """Validated CSR arrays: ``indptr`` int64, ``indices`` int32, ``weights`` float64 seconds.

    ``routing_index`` holds a contraction hierarchy once ``prepare`` has run.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    routing_index: ContractionHierarchy | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @cached_property
    def reversed(self) -> CSR:
        """The reverse graph (computed once)."""
        return reverse_csr(self)


def _n_nodes(net) -> int:
    if isinstance(net, CSR | RoadNetwork):
        return net.n_nodes
    raise TypeError(f"expected a RoadNetwork or CSR, got {type(net).__name__}")


def as_csr(indptr, indices, weights) -> CSR:
    """Check CSR arrays and return them with the kernels' dtypes.

    Raises
    ------
    ValueError
        Malformed CSR (indptr not starting at 0, decreasing, or not ending at the edge count;
        indices out of range) or weights that are NaN, infinite or negative.
    """
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices_arr = np.asarray(indices)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if indptr.ndim != 1 or indptr.shape[0] < 1:
        raise ValueError("CSR indptr must be a 1-d array of length n_nodes + 1")
    m = indices_arr.shape[0]
    if indptr[0] != 0 or indptr[-1] != m or np.any(np.diff(indptr) < 0):
        raise ValueError(
            f"malformed CSR: indptr must start at 0, never decrease and end at len(indices)={m}"
        )
    if weights.shape[0] != m:
        raise ValueError(f"CSR weights has {weights.shape[0]} values for {m} edges")
    n = indptr.shape[0] - 1
    if m and (indices_arr.min() < 0 or indices_arr.max() >= n):
        raise ValueError(f"malformed CSR: indices must lie in 0..{n - 1}")
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        idx = np.flatnonzero(bad)[:10].tolist()
        raise ValueError(
            f"edge weights must be finite and >= 0 seconds; {int(bad.sum())} are not "
            f"(edge positions {idx})"
        )
    return CSR(indptr, np.ascontiguousarray(indices_arr, dtype=np.int32), weights)


def _check_direction(direction: str) -> None:
    if direction not in ("from", "to"):
        raise ValueError(f"direction must be 'from' or 'to', got {direction!r}")


def _graph(net, direction: str) -> CSR:
    _check_direction(direction)
    if isinstance(net, CSR):
        return net.reversed if direction == "to" else net
    if not isinstance(net, RoadNetwork):
        raise TypeError(f"expected a RoadNetwork or CSR, got {type(net).__name__}")
    if direction == "to":
        ip, ix, w, _ = net.reverse
        return CSR(ip, ix, w)
    return CSR(net.indptr, net.indices, net.weights)


def reverse_csr(g: CSR) -> CSR:
    """Return the reverse graph of ``g``."""
    indptr, indices, weights, _ = reverse_arrays(g.indptr, g.indices, g.weights)
    return CSR(indptr, indices, weights)


# How each prepared hierarchy came to be (run metadata); the hierarchy itself stays plain data.
_CACHE_STATUS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@renamed_kwargs(net="network")
def prepare(
    network: RoadNetwork | CSR,
    *,
    cache_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    **ch_options,
) -> ContractionHierarchy:
    """Build (or load) the contraction hierarchy of ``network`` and attach it for later queries.

    Nodes are contracted in a cache-friendly order: Z-order of the coordinates for a
    RoadNetwork, reverse Cuthill-McKee for bare CSR arrays.

    Parameters
    ----------
    network : RoadNetwork or CSR
    cache_path : path-like, optional
        ``.npz`` file: loaded when it exists and was built from this network, else written.
        An unreadable or foreign file is rebuilt and overwritten, never trusted.
    cache_dir : path-like, optional
        Folder of prepared networks, one ``ch_<fingerprint>.npz`` per network (the sha256 of
        its CSR arrays), so edited or clipped networks never share a file. Ignored when
        ``cache_path`` is given.
    **ch_options
        Passed to ``build_ch`` (witness-search limits).

    Returns
    -------
    ContractionHierarchy
        Also stored as ``network.routing_index``; ``preprocess_seconds`` says what it cost.
    """
    g = _graph(network, "from")
    if cache_path is None and cache_dir is not None:
        fp = _csr_fingerprint(g.indptr, g.indices, g.weights)
        cache_path = Path(cache_dir) / f"ch_{fp[:32]}.npz"
    if cache_path is not None and Path(cache_path).is_file():
        try:
            ch = ContractionHierarchy.load(cache_path, g.indptr, g.indices, g.weights)
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile):
            ch = None  # foreign, truncated or corrupted: rebuild below
        if ch is not None and ch.n_nodes == g.n_nodes:
            _CACHE_STATUS[ch] = "loaded"
            network.routing_index = ch
            return ch
    if isinstance(network, RoadNetwork):
        order = spatial_order(network.node_x, network.node_y)
    else:
        order = graph_order(g.indptr, g.indices)
    ch = build_ch(g.indptr, g.indices, g.weights, order=order, **ch_options)
    if cache_path is not None:
        ch.save(cache_path)
    _CACHE_STATUS[ch] = "built" if cache_path is None else "built and saved"
    network.routing_index = ch
    return ch


@renamed_kwargs(net="network")
def routing_engine(network: RoadNetwork | CSR) -> dict:
    """Which engine answers ``method="auto"`` queries on ``network``, for run metadata.

    Returns
    -------
    dict
        ``engine`` ("contraction hierarchy (PHAST, bucket many-to-many)" or "Dijkstra"), and
        for a prepared network ``preprocess_seconds``, ``n_shortcuts``, ``fingerprint`` and
        ``cache`` ("loaded", "built", "built and saved", or "given" when attached by hand).
    """
    ch = getattr(network, "routing_index", None)
    if ch is None:
        return {"engine": "Dijkstra"}
    return {
        "engine": "contraction hierarchy (PHAST, bucket many-to-many)",
        "preprocess_seconds": round(float(ch.preprocess_seconds), 3),
        "n_shortcuts": int(ch.n_shortcuts),
        "fingerprint": ch.fingerprint[:32],
        "cache": _CACHE_STATUS.get(ch, "given"),
    }


def _index(net, method: str) -> ContractionHierarchy | None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "dijkstra":
        return None
    ch = getattr(net, "routing_index", None)
    if ch is None and method == "ch":
        ch = prepare(net)
    return ch


def _nodes(nodes, n: int, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(nodes))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must be integer node numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64).ravel()
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise IndexError(
            f"{what}: node numbers {arr[bad][:10].tolist()} are out of range 0..{n - 1}"
        )
    return arr


def _offsets(offsets, k: int, what: str) -> np.ndarray:
    if offsets is None:
        return np.zeros(k)
    off = np.asarray(offsets, dtype=np.float64).ravel()
    if off.shape[0] != k:
        raise ValueError(f"{what} has {off.shape[0]} values for {k} nodes")
    if np.any(np.isnan(off)) or np.any(off < 0):
        raise ValueError(f"{what} must be >= 0 seconds (inf allowed for 'never'); got NaN/negative")
    return off


def _cutoff(cutoff) -> float:
    if cutoff is None:
        return np.inf
    c = float(cutoff)
    if np.isnan(c) or c < 0:
        raise ValueError(f"cutoff_s must be >= 0 seconds or None, got {cutoff!r}")
    return c


@renamed_kwargs(net="network", cutoff="cutoff_s")
def one_to_all(
    network: RoadNetwork | CSR,
    source: int,
    *,
    cutoff_s: float | None = None,
    direction: str = "from",
    predecessors: bool = False,
    method: str = "auto",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Travel time from one node to every node (or to it, with ``direction="to"``).

    Parameters
    ----------
    network : RoadNetwork or CSR
    source : int
        Node number.
    cutoff_s : float, optional
        Inclusive limit in seconds; nodes beyond it are ``inf``.
    direction : {"from", "to"}
    predecessors : bool
        Also return the predecessor edge of every node (position in the searched CSR; -1 for
        the source and unreached nodes).
    method : {"auto", "dijkstra", "ch"}
        ``auto`` uses the contraction hierarchy (PHAST) when ``prepare`` has run and neither
        a cutoff nor predecessors are asked for (a bounded Dijkstra is cheaper with a cutoff);
        ``ch`` builds it if missing.

    Returns
    -------
    ndarray of float64 (n,) seconds, or (seconds, pred_edge) when ``predecessors``.
    """
    _check_direction(direction)
    src = _nodes(source, _n_nodes(network), "source")
    if src.shape[0] != 1:
        raise ValueError("one_to_all takes a single source node; use many_to_all for several")
    ch = _index(network, method)
    if ch is not None and not predecessors and (cutoff_s is None or method == "ch"):
        return ch_one_to_all(ch, int(src[0]), _cutoff(cutoff_s), direction)
    g = _graph(network, direction)
    d, _, pred = kern.sssp(
        g.indptr,
        g.indices,
        g.weights,
        src,
        np.zeros(1),
        np.zeros(1, np.int32),
        _cutoff(cutoff_s),
        predecessors,
    )
    return (d, pred) if predecessors else d


COLUMNS = ("nodes", "sweep")


def _check_columns(columns: str) -> None:
    if columns not in COLUMNS:
        raise ValueError(f"columns must be one of {COLUMNS}, got {columns!r}")


def _positive_int(value, name: str, hi: int | None = None) -> int:
    """``value`` as an int, or a ValueError naming ``name`` (no silent truncation of 1.5)."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not ok or value < 1 or (hi is not None and value > hi):
        span = f"1..{hi}" if hi is not None else ">= 1"
        raise ValueError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def _check_many(cutoff_s, direction: str, method: str, columns: str, batch: int) -> float:
    """Check every option of the many-to-all queries, with or without sources."""
    _check_direction(direction)
    _check_columns(columns)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _positive_int(batch, "batch", 64)
    return _cutoff(cutoff_s)


@overload
def many_to_all(
    network: RoadNetwork | CSR,
    sources: ArrayLike,
    *,
    cutoff_s: float | None = ...,
    direction: str = ...,
    method: str = ...,
    batch: int = ...,
    columns: Literal["nodes"] = ...,
) -> np.ndarray: ...


@overload
def many_to_all(
    network: RoadNetwork | CSR,
    sources: ArrayLike,
    *,
    cutoff_s: float | None = ...,
    direction: str = ...,
    method: str = ...,
    batch: int = ...,
    columns: Literal["sweep"],
) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def many_to_all(
    network: RoadNetwork | CSR,
    sources: ArrayLike,
    *,
    cutoff_s: float | None = ...,
    direction: str = ...,
    method: str = ...,
    batch: int = ...,
    columns: str = ...,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...


@renamed_kwargs(net="network", cutoff="cutoff_s")
def many_to_all(
    network: RoadNetwork | CSR,
    sources: ArrayLike,
    *,
    cutoff_s: float | None = None,
    direction: str = "from",
    method: str = "auto",
    batch: int = PHAST_BATCH,
    columns: str = "nodes",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Full rows of times from each source (parallel over sources).

    Memory is ``len(sources) * n_nodes * 8`` bytes; prefer ``nearest_facility`` or
    ``od_matrix_nodes`` when only a reduction or a few targets are needed, and
    ``iter_many_to_all`` / ``map_many_to_all`` to stream rows in blocks.

    Parameters
    ----------
    network : RoadNetwork or CSR
    sources : array of int
        Node numbers.
    cutoff_s : float, optional
        Inclusive limit in seconds; farther nodes are ``inf``.
    direction : {"from", "to"}
    method : {"auto", "dijkstra", "ch"}
        With a contraction hierarchy (``prepare``), sources run ``batch`` at a time through one
        batched PHAST sweep. ``auto`` uses it when there is no cutoff (a bounded Dijkstra per
        source was faster with a 90-minute cutoff on N1000: ``benchmarks/manytoall.py``);
        ``ch`` always.
    batch : int, default ``PHAST_BATCH`` (16)
        Sources per batched PHAST sweep (1..64).
    columns : {"nodes", "sweep"}
        ``"nodes"`` (default): column ``u`` is node ``u``. ``"sweep"``: the columns keep the
        order batched PHAST computes them in (the hierarchy's sweep order), which spares a
        random gather of every row (30 % of batched PHAST's time in node order on the
        1M-node synthetic graph, ``benchmarks/manytoall.py``), and the node of each column is
        returned with the rows: permute per-node data once (``weights[column_nodes]``) and
        reduce the rows against it. Without a hierarchy in use ``column_nodes`` is
        ``arange(n_nodes)``. The times are the same either way.

    Returns
    -------
    ndarray of float64 (n_sources, n_nodes) seconds; with ``columns="sweep"`` the tuple
    ``(rows, column_nodes)``, ``column_nodes`` int64 (n_nodes,) the node of each column.
    """
    _check_many(cutoff_s, direction, method, columns, batch)
    n = _n_nodes(network)
    src = _nodes(sources, n, "sources")
    ch = _index(network, method) if src.shape[0] else None
    if ch is not None and (cutoff_s is None or method == "ch"):
        rows = ch_many_to_all(
            ch, src, _cutoff(cutoff_s), direction, batch=batch, node_order=columns == "nodes"
        )
        if columns == "nodes":
            return rows
        column_nodes = ch.old_id.view()  # the hierarchy's own array: callers may not change it
        column_nodes.flags.writeable = False
        return rows, column_nodes
    if src.shape[0] == 0:
        rows = np.empty((0, n))
    else:
        g = _graph(network, direction)
        rows = kern.many_to_all(
            g.indptr, g.indices, g.weights, src, np.zeros(len(src)), _cutoff(cutoff_s)
        )
    return rows if columns == "nodes" else (rows, np.arange(n, dtype=np.int64))


@renamed_kwargs(net="network", cutoff="cutoff_s")
def iter_many_to_all(
    network: RoadNetwork | CSR,
    sources,
    *,
    cutoff_s: float | None = None,
    direction: str = "from",
    method: str = "auto",
    block_rows: int = 1024,
    columns: str = "nodes",
) -> Iterator[tuple[int, np.ndarray]] | Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``many_to_all`` in blocks of rows, so memory stays ``block_rows * n_nodes * 8`` bytes.

    Every option is checked when the call is made (before the first block), with or without
    sources.

    Yields
    ------
    (start, rows)
        ``rows`` (float64, seconds) are the rows of ``sources[start:start + len(rows)]``.
        With ``columns="sweep"`` (see ``many_to_all``): ``(start, rows, column_nodes)``.

    Raises
    ------
    ValueError
        ``block_rows`` not an integer >= 1; a bad ``cutoff_s``, ``direction``, ``method`` or
        ``columns``.
    """
    n = _n_nodes(network)
    src = _nodes(sources, n, "sources")
    _check_many(cutoff_s, direction, method, columns, PHAST_BATCH)
    step = _positive_int(block_rows, "block_rows")
    return _iter_blocks(network, src, step, cutoff_s, direction, method, columns)


def _iter_blocks(network, src, step, cutoff_s, direction, method, columns):
    for s0 in range(0, len(src), step):
        blk = src[s0 : s0 + step]
        out = many_to_all(
            network, blk, cutoff_s=cutoff_s, direction=direction, method=method, columns=columns
        )
        yield (s0, out) if columns == "nodes" else (s0, *out)


def _map_block(net, blk, func, cutoff, direction, method, columns="nodes"):
    out = many_to_all(
        net, blk, cutoff_s=cutoff, direction=direction, method=method, columns=columns
    )
    return func(blk, out) if columns == "nodes" else func(blk, *out)


@renamed_kwargs(net="network", cutoff="cutoff_s")
def map_many_to_all(
    network: RoadNetwork | CSR,
    sources,
    func: Callable[..., object],
    *,
    cutoff_s: float | None = None,
    direction: str = "from",
    method: str = "auto",
    block_rows: int = 1024,
    client=None,
    columns: str = "nodes",
) -> list:
    """Reduce many-to-all rows block by block, locally or on a Dask cluster.

    The way to run many-to-all from every origin of a national grid: only ``func``'s
    results are kept (e.g. the population reachable within a cutoff, per source).

    Parameters
    ----------
    network : RoadNetwork or CSR
        Prepared (``prepare``) networks answer with batched PHAST; the hierarchy travels to
        the workers with the network.
    sources : array of int
        Node numbers.
    func : callable
        ``func(source_nodes, rows)`` with ``rows`` float64 seconds (len(source_nodes), n_nodes);
        with ``columns="sweep"``, ``func(source_nodes, rows, column_nodes)`` where column
        ``j`` of ``rows`` is node ``column_nodes[j]`` (see ``many_to_all``). Must be
        picklable when ``client`` is given (a module-level function).
    cutoff_s, direction, method, columns
        As in ``many_to_all``. ``columns="sweep"`` spares the gather of every row into node
        order; a reduction that is the same in any column order (sums, counts, a weighted
        sum against ``weights[column_nodes]``) gives the same result.
    block_rows : int, default 1024
        Sources per block (memory ``block_rows * n_nodes * 8`` bytes per worker).
    client : dask.distributed.Client, optional
        Run blocks on this cluster (``LocalCluster`` or a scheduler address); the network is
        scattered once. Results equal the local ones exactly.

    Returns
    -------
    list
        ``func``'s results, one per block, in source order.
    """
    n = _n_nodes(network)
    src = _nodes(sources, n, "sources")
    _check_many(cutoff_s, direction, method, columns, PHAST_BATCH)
    step = _positive_int(block_rows, "block_rows")
    blocks = [src[s0 : s0 + step] for s0 in range(0, len(src), step)]
    if client is None or not blocks:
        return [
            _map_block(network, b, func, cutoff_s, direction, method, columns) for b in blocks
        ]
    # the workers get the bare arrays and the hierarchy the local path would use: the one
    # attached (``auto``, ``ch``), or one built here once for ``method="ch"`` (not once per
    # worker). ``auto`` never builds one, locally or here; ``dijkstra`` never sends one.
    g = CSR(network.indptr, network.indices, network.weights)
    if method != "dijkstra":
        g.routing_index = getattr(network, "routing_index", None)
        if g.routing_index is None and method == "ch":
            g.routing_index = prepare(network)
    [fut_net] = client.scatter([g], broadcast=True)
    futs = [
        client.submit(
            _map_block, fut_net, b, func, cutoff_s, direction, method, columns, pure=False
        )
        for b in blocks
    ]
    return client.gather(futs)


@renamed_kwargs(net="network", cutoff="cutoff_s")
def nearest_facility(
    network: RoadNetwork | CSR,
    facility_nodes: ArrayLike,
    *,
    offsets: ArrayLike | None = None,
    k: int = 1,
    cutoff_s: float | None = None,
    direction: str = "to",
    method: str = "auto",
    labels: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Time from every node to its nearest facility (or k nearest), in one search.

    Parameters
    ----------
    network : RoadNetwork or CSR
    facility_nodes : array of int
        Node of each facility; facility ``i`` is reported as ``i``.
    offsets : array of float, optional
        Seconds added at each facility (its access leg), so results are exact.
    k : int, default 1
        Number of nearest distinct facilities (1..5).
    cutoff_s : float, optional
        Inclusive limit in seconds.
    direction : {"to", "from"}, default "to"
        ``to``: time from each node to the facility (reverse search). ``from``: from facility.
    method : {"auto", "dijkstra", "ch"}
        With a contraction hierarchy (``prepare``), k=1 runs as one multi-source PHAST.
    labels : array of int, optional
        Facility number of each entry of ``facility_nodes`` (default ``0..len-1``); several
        entries may share a label, e.g. the two ends of the link a facility lies on.

    Returns
    -------
    seconds : float64 (n,) for k=1, else (n, k); ``inf`` where none is reachable.
    facility : int32, same shape; -1 where none is reachable. Ties at equal time go to the
        smaller facility number (k=1).
    """
    _check_direction(direction)
    fac = _nodes(facility_nodes, _n_nodes(network), "facility_nodes")
    if not (isinstance(k, int | np.integer) and 1 <= k <= MAX_K):
        raise ValueError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    off = _offsets(offsets, len(fac), "offsets")
    if labels is None:
        labels = np.arange(len(fac), dtype=np.int32)
    else:
        labels = np.ascontiguousarray(labels, dtype=np.int32).ravel()
        if labels.shape[0] != len(fac) or (len(fac) and labels.min() < 0):
            raise ValueError(f"labels must be {len(fac)} integers >= 0, one per facility node")
    c = _cutoff(cutoff_s)
    ch = _index(network, method)
    if k == 1 and ch is not None:
        return ch_nearest(ch, fac, off, labels, c, direction)
    g = _graph(network, direction)
    if k == 1:
        d, lab, _ = kern.sssp(g.indptr, g.indices, g.weights, fac, off, labels, c, False)
        return d, lab
    return kern.k_nearest(g.indptr, g.indices, g.weights, fac, off, labels, int(k), c)


@renamed_kwargs(net="network", cutoff="cutoff_s")
def od_matrix_nodes(
    network: RoadNetwork | CSR,
    sources,
    targets,
    *,
    source_offsets=None,
    target_offsets=None,
    cutoff_s: float | None = None,
    n_blocks: int | None = None,
    method: str = "auto",
) -> np.ndarray:
    """Many-to-many matrix of times from ``sources`` to ``targets`` (node numbers).

    Searches from the smaller side: forward from sources when there are fewer sources, else
    backward (reverse graph) from targets. Offsets (access legs, seconds) are added exactly at
    both ends; the cutoff applies to the total. With a contraction hierarchy (``prepare``,
    or ``method="ch"``) it runs the bucket many-to-many algorithm instead.

    Returns
    -------
    ndarray of float64 (n_sources, n_targets) seconds.
    """
    n = _n_nodes(network)
    src = _nodes(sources, n, "sources")
    tgt = _nodes(targets, n, "targets")
    so = _offsets(source_offsets, len(src), "source_offsets")
    to = _offsets(target_offsets, len(tgt), "target_offsets")
    c = _cutoff(cutoff_s)
    if len(src) == 0 or len(tgt) == 0:
        return np.empty((len(src), len(tgt)))
    blocks = n_blocks or numba.get_num_threads() * 4
    ch = _index(network, method)
    if ch is not None:
        return ch_matrix(ch, src, so, tgt, to, c, blocks)
    fwd = _graph(network, "from")
    if len(src) <= len(tgt):
        g, a, ao, b, bo = fwd, src, so, tgt, to
    else:
        g, a, ao, b, bo = _graph(network, "to"), tgt, to, src, so
    uniq, inv = np.unique(b, return_inverse=True)
    tslot = np.full(n, -1, dtype=np.int32)
    tslot[uniq] = np.arange(len(uniq), dtype=np.int32)
    # The far-end offsets are added after the search; the search itself may stop at c.
    m = kern.many_to_many(g.indptr, g.indices, g.weights, a, ao, tslot, len(uniq), c, blocks)
    out = m[:, inv] + bo[None, :]
    out[out > c] = np.inf
    return out if g is fwd else out.T.copy()


@dataclass(frozen=True)
class Route(LegacyMapping):
    """The fastest route between two nodes (``route``).

    Attributes
    ----------
    seconds : float
        Travel time in seconds; ``inf`` when the target cannot be reached.
    nodes : list of int
        Node numbers along the route, source first; empty when unreachable.
    link_ids : list
        ``link_id`` of each link in order.
    ferry_links : int
        Number of car-ferry links on the route.
    length_m : float
        Sum of the link lengths in metres; NaN when unreachable.
    geometry : shapely.LineString or None
        The route in EPSG:25833 metres; None when unreachable or the network has no link
        geometry.
    """

    seconds: float
    nodes: list[int]
    link_ids: list
    ferry_links: int
    length_m: float
    geometry: object | None = None

    @property
    def minutes(self) -> float:
        """Travel time in minutes."""
        return self.seconds / 60.0


@renamed_kwargs(net="network")
def route(network: RoadNetwork, source: int, target: int) -> Route:
    """Fastest route between two nodes with its links and geometry.

    Parameters
    ----------
    network : RoadNetwork
    source, target : int
        Node numbers.

    Returns
    -------
    Route
        ``seconds`` (inf if unreachable), ``nodes``, ``link_ids`` (in order),
        ``ferry_links``, ``length_m`` and ``geometry`` (EPSG:25833).
    """
    import shapely

    dist, pred = one_to_all(network, source, predecessors=True)
    tgt = int(_nodes(target, network.n_nodes, "target")[0])
    if not np.isfinite(dist[tgt]):
        return Route(
            seconds=np.inf, nodes=[], link_ids=[], ferry_links=0, length_m=np.nan, geometry=None
        )
    edges: list[int] = []
    v = tgt
    while pred[v] >= 0:
        edges.append(int(pred[v]))
        v = int(network.edge_source[pred[v]])
    edges.reverse()
    nodes = [int(source)] + [int(network.indices[e]) for e in edges]
    rows = network.edge_link[edges]
    lk = network.links.iloc[rows]
    geom = None
    if "geometry" in network.links.columns and len(edges):
        parts = []
        for e, g in zip(edges, lk.geometry.to_numpy(), strict=False):
            coords = shapely.get_coordinates(g)
            # orient each link along the route
            sx, sy = network.node_x[network.edge_source[e]], network.node_y[network.edge_source[e]]
            if np.hypot(*(coords[0] - (sx, sy))) > np.hypot(*(coords[-1] - (sx, sy))):
                coords = coords[::-1]
            parts.append(coords)
        geom = shapely.linestrings(np.vstack(parts))
    return Route(
        seconds=float(dist[tgt]),
        nodes=nodes,
        link_ids=lk["link_id"].tolist(),
        ferry_links=int(lk["ferry"].sum()),
        length_m=float(lk["length_m"].sum()),
        geometry=geom,
    )
