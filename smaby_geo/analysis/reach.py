"""Population reachable from every origin within a time limit (many-to-all, link to link).

Trip times follow the main job's access model exactly (``places.snapping``, METHODS §1): an
origin cell leaves through *both* ends of the link it snaps to (its access leg plus the
partial link time to each end), a target cell is entered through both ends of its link the
same way, and two cells on the same link may also go directly along it
(``same_link_seconds``). Computing that for every pair of 250 m cells (220,000²) is out of
reach; this module works **link to link** instead:

* targets are listed by their link with their two entry times;
* origins are grouped by link; the two shortest-path rows from the link's ends (the public
  ``routing.many_to_all`` with the limit as cutoff) serve every origin on it;
* a numba kernel (``reduce_links``) puts each target in the set reached best through the
  ``u`` end by every origin of the link, the set reached best through ``v``, or the few
  mixed ones (and those on the link itself); the first two are sorted into bins of
  ``time_bin_s`` (counting sort) and every origin is answered from prefix sums, checking
  only the one bin the limit cuts one trip at a time; the mixed ones are checked per origin.
  No origin x target matrix is ever held (a block of ``block_size`` rows at a time).

**Exactness.** ``population_within`` is exact (inclusive limit, both access legs and partial
link times exact). The travel-time *weights* of ``weighted_population`` are evaluated at the
middle of each ``time_bin_s`` bin (default 10 s), so a weight is off by at most the weight
change over 10 s (0.4 % for a 30-minute half-life). Origins farther than the maximum snap
distance are not road-connected: their results are NaN and they are reported, never attached.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numba
import numpy as np
import pandas as pd

from smaby_geo.analysis._reach_kernels import reduce_links
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.population import as_origins
from smaby_geo.places.snapping import (
    AccessModel,
    same_link_pairs,
    same_link_seconds,
    snap_points,
)
from smaby_geo.routing.api import many_to_all
from smaby_geo.routing.ch import spatial_order

# The 90-minute limit of both SSB's sentralitetsindeks (Høydahl 2017, SSB Notater 2017/40)
# and the EU transport-performance indicator (Dijkstra, Poelman & Ackermans 2019).
DEFAULT_LIMIT_MIN = 90.0
# Largest limit_min (and ``indicators --limit-min``), minutes: one day. Both indicators are
# defined at 90 minutes; a longer limit only makes sense for a sensitivity run, and the weight
# grid (limit / time_bin_s bins) and the searches grow with it (1e9 minutes asked for 44.7 GiB).
MAX_LIMIT_MIN = 1440.0
DEFAULT_TIME_BIN_S = 10.0
DEFAULT_BLOCK_SIZE = 512
# Seconds within which both ends of an origin's link count as equally good for a target
# (``reduce_links``): far below any rounding of the inputs, far above float noise in the rows.
TIE_S = 1e-6


def _link_blocks(ends: np.ndarray, open_end: np.ndarray, max_rows: int) -> list[np.ndarray]:
    """Consecutive runs of origin links whose open ends need at most ``max_rows`` rows.

    Links come ordered along a Z-order curve (neighbours share ends), so a node's row is
    mostly computed once (4 % more rows than nodes on the national 250 m grid).
    """
    blocks: list[np.ndarray] = []
    seen: set[int] = set()
    start = 0
    for li in range(len(ends)):
        new = {int(n) for n, ok in zip(ends[li], open_end[li], strict=True) if ok} - seen
        if seen and len(seen) + len(new) > max_rows:
            blocks.append(np.arange(start, li))
            start, seen = li, set()
            new = {int(n) for n, ok in zip(ends[li], open_end[li], strict=True) if ok}
        seen |= new
    if len(ends):
        blocks.append(np.arange(start, len(ends)))
    return blocks


def check_limit_min(limit_min: float, option: str = "limit_min") -> None:
    """Refuse a time limit that is not a positive finite number of minutes <= ``MAX_LIMIT_MIN``.

    Parameters
    ----------
    limit_min : float
        The limit, minutes.
    option : str, default "limit_min"
        How the message names it (the CLI passes ``--limit-min``).

    Raises
    ------
    ValueError
        One line naming ``option``, the value and the allowed range.
    """
    ok = isinstance(limit_min, int | float | np.integer | np.floating) and not isinstance(
        limit_min, bool
    )
    if not (ok and np.isfinite(limit_min) and 0 < limit_min <= MAX_LIMIT_MIN):
        raise ValueError(
            f"{option} must be a positive number of minutes up to {MAX_LIMIT_MIN:,.0f} (one day; "
            f"the indicators are defined at {DEFAULT_LIMIT_MIN:g}), got {limit_min!r}"
        )


def reach_population(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame | None = None,
    *,
    limit_min: float = DEFAULT_LIMIT_MIN,
    weight: Callable[[np.ndarray], np.ndarray] | None = None,
    time_bin_s: float = DEFAULT_TIME_BIN_S,
    access: AccessModel | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    method: str = "auto",
) -> pd.DataFrame:
    """Population of ``targets`` reachable by car from each origin within ``limit_min``.

    Parameters
    ----------
    network : RoadNetwork
        A contraction hierarchy attached by ``routing.prepare`` is used when the routing layer
        finds it faster.
    origins : GeoDataFrame
        Points with a ``population`` column (e.g. grid cells); results keep its index.
    targets : GeoDataFrame, optional
        Where the population lives; default ``origins`` themselves (own cell included, at
        twice its access leg, out to the link and back).
    limit_min : float, default 90
        Inclusive limit in minutes (SSB and EU both use 90 minutes), at most ``MAX_LIMIT_MIN``
        (1,440, one day).
    weight : callable, optional
        Travel-time weight ``w(minutes) -> array``, evaluated on the bin grid 0..limit; default
        1 (plain cumulative count).
    time_bin_s : float, default 10
        Bin width of the kernel (see the module note): it sets where weights are evaluated,
        never which trips count.
    access : AccessModel, optional
        Snapping of both layers (default ``AccessModel()``, METHODS §1).
    block_size : int, default 512
        Rows (link ends) searched per block (memory ``block_size x n_nodes x 8`` bytes).
    method : {"auto", "dijkstra", "ch"}
        Passed to ``routing.many_to_all`` (each block is one call with the limit as cutoff;
        ``auto`` picks the routing layer's fastest exact search).

    Returns
    -------
    DataFrame
        Indexed like ``origins``: ``road_connected``, ``population_within`` (persons) and
        ``weighted_population`` (sum of population x weight); NaN where not connected.
    """
    check_limit_min(limit_min)
    if not (np.isfinite(time_bin_s) and 0 < time_bin_s <= 60):
        raise ValueError(f"time_bin_s must be in (0, 60] seconds, got {time_bin_s!r}")
    if int(block_size) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size!r}")
    access = access or AccessModel()
    o = as_origins(origins)
    t = o if targets is None else as_origins(targets)
    n_bins = int(np.floor(limit_min * 60.0 / time_bin_s + 1e-9))
    # the weight of bin k is taken at its middle (never beyond the limit)
    grid_min = np.minimum((np.arange(n_bins + 1) + 0.5) * time_bin_s, limit_min * 60.0) / 60.0
    w = np.ones(n_bins + 1) if weight is None else np.asarray(weight(grid_min), dtype=float)
    if w.shape != (n_bins + 1,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weight(minutes) must return finite values >= 0, one per minute value")

    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    st = snap_points(network, t.geometry.x.to_numpy(), t.geometry.y.to_numpy(), access)
    # targets grouped by their link, each with its two entries (partial link time + leg)
    tc = np.flatnonzero(st.connected)
    t_order = tc[np.argsort(st.link[tc], kind="stable")]
    tl_link, tl_start = np.unique(st.link[t_order], return_index=True)
    tl_ptr = np.r_[tl_start, len(t_order)].astype(np.int64)
    tl_nodes = np.ascontiguousarray(st.nodes[t_order[tl_start]])
    t_in = np.ascontiguousarray(st.in_seconds[t_order])
    t_pop = t["population"].to_numpy(dtype=float)[t_order]
    # origins grouped by their link, the links along a Z-order curve of their ends, so that
    # a block of links shares most of its ends' rows
    oc = np.flatnonzero(so.connected)
    if len(oc) == 0:  # no origin is road-connected: every result is NaN
        none = np.zeros(0, dtype=np.int64)
        return _reach_frame(origins, so, st, t, none, none, none, limit_min, time_bin_s)
    links, o_inv = np.unique(so.link[oc], return_inverse=True)
    mid = so.nodes[oc][np.unique(o_inv, return_index=True)[1]]
    along = spatial_order(network.node_x[mid].mean(axis=1), network.node_y[mid].mean(axis=1))
    rank = np.empty(len(links), dtype=np.int64)
    rank[along] = np.arange(len(links))
    o_order = oc[np.argsort(rank[o_inv], kind="stable")]
    o_link = links[along]  # the link of each group of o_order, in the curve's order
    o_start = np.flatnonzero(np.r_[True, so.link[o_order][1:] != so.link[o_order][:-1]])
    o_ptr = np.r_[o_start, len(o_order)].astype(np.int64)
    ends = so.nodes[o_order[o_start]]
    # an end no origin of the link can leave towards needs no row
    open_end = np.maximum.reduceat(np.isfinite(so.out_seconds[o_order]), o_start, axis=0)
    acc = np.zeros(len(o_order))
    wsum = np.zeros(len(o_order))
    limit_s = float(limit_min) * 60.0
    n_chunks = 2 * numba.get_num_threads()
    for lb in _link_blocks(ends, open_end, int(block_size)):
        nodes = np.unique(ends[lb][open_end[lb]])
        times = many_to_all(network, nodes, cutoff_s=limit_s, method=method)
        l_row = np.where(open_end[lb], np.searchsorted(nodes, ends[lb]), -1).astype(np.int64)
        lo, hi = o_ptr[lb[0]], o_ptr[lb[-1] + 1]
        s_ptr = o_ptr[lb[0] : lb[-1] + 2] - lo
        # origins and targets on the same link may also go directly along it
        blk = o_order[lo:hi]
        i, j = same_link_pairs(so.link[blk], st.link[t_order])
        order = np.argsort(i, kind="stable")
        i, j = i[order], j[order]
        pair_s = same_link_seconds(network, so, blk[i], st, t_order[j])
        pair_ptr = np.searchsorted(i, np.arange(hi - lo + 1)).astype(np.int64)
        a = np.zeros(hi - lo)
        ws = np.zeros(hi - lo)
        reduce_links(
            times, limit_s, float(time_bin_s), l_row, o_link[lb], s_ptr,
            np.ascontiguousarray(so.out_seconds[blk]), tl_ptr, tl_nodes, tl_link, t_in, t_pop,
            pair_ptr, j, pair_s, w, TIE_S, min(n_chunks, len(lb)), a, ws,
        )
        acc[lo:hi] = a
        wsum[lo:hi] = ws

    return _reach_frame(origins, so, st, t, o_order, acc, wsum, limit_min, time_bin_s)


def _reach_frame(origins, so, st, t, o_order, acc, wsum, limit_min, time_bin_s) -> pd.DataFrame:
    """``reach_population``'s result: NaN for origins that are not road-connected."""
    out = pd.DataFrame(
        {
            "road_connected": so.connected,
            "population_within": np.nan,
            "weighted_population": np.nan,
        },
        index=origins.index,
    )
    out.iloc[o_order, 1] = acc
    out.iloc[o_order, 2] = wsum
    out.attrs.update(
        limit_min=float(limit_min),
        time_bin_s=float(time_bin_s),
        unconnected_origins=int((~so.connected).sum()),
        unconnected_target_population=float(
            t["population"].to_numpy(dtype=float)[~st.connected].sum()
        ),
    )
    return out
