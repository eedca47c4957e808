"""Population reachable from every origin within a time limit (many-to-all, node to node).

Every origin cell reaches every target cell in ``leg_o + T(node_o, node_t) + leg_t`` seconds
(METHODS §1 access legs; ``T`` exact shortest times on the network). Computing that for every
pair of 250 m cells (220,000²) is out of reach; this module works **node to node** instead:

* targets are listed by their network node with their exact access legs;
* origins are grouped by node; one shortest-path row ``T(node_o, ·)`` (the public
  ``routing.many_to_all`` with the limit as cutoff) serves every origin at that node;
* a numba kernel sorts each row's trips ``T + target leg`` into bins of ``time_bin_s``
  (counting sort) and answers every origin at the node from a prefix sum, checking only the
  one bin the limit cuts one trip at a time — no origin x target matrix is ever held (a
  block of ``block_size`` rows at a time).

**Exactness.** ``population_within`` is exact (inclusive limit, both access legs exact).
The travel-time *weights* of ``weighted_population`` are evaluated at the middle of each
``time_bin_s`` bin (default 10 s), so a weight is off by at most the weight change over
10 s (0.4 % for a 30-minute half-life). Origins farther than the maximum snap distance are
not road-connected: their results are NaN and they are reported, never attached.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo.analysis._reach_kernels import reduce_block
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.population import as_origins
from smaby_geo.places.snapping import AccessModel, snap_points
from smaby_geo.routing.api import many_to_all

# The 90-minute limit of both SSB's sentralitetsindeks (Høydahl 2017, SSB Notater 2017/40)
# and the EU transport-performance indicator (Dijkstra, Poelman & Ackermans 2019).
DEFAULT_LIMIT_MIN = 90.0
DEFAULT_TIME_BIN_S = 10.0
DEFAULT_BLOCK_SIZE = 512


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
        twice its access leg).
    limit_min : float, default 90
        Inclusive limit in minutes (SSB and EU both use 90 minutes).
    weight : callable, optional
        Travel-time weight ``w(minutes) -> array``, evaluated on the bin grid 0..limit; default
        1 (plain cumulative count).
    time_bin_s : float, default 10
        Bin width of the kernel (see the module note): it sets where weights are evaluated,
        never which trips count.
    access : AccessModel, optional
        Snapping of both layers (default ``AccessModel()``, METHODS §1).
    block_size : int, default 512
        Source nodes searched per block (memory ``block_size x n_nodes x 8`` bytes).
    method : {"auto", "dijkstra", "ch"}
        Passed to ``routing.many_to_all`` (each block is one call with the limit as cutoff;
        ``auto`` picks the routing layer's fastest exact search).

    Returns
    -------
    DataFrame
        Indexed like ``origins``: ``road_connected``, ``population_within`` (persons) and
        ``weighted_population`` (sum of population x weight); NaN where not connected.
    """
    if not (np.isfinite(limit_min) and limit_min > 0):
        raise ValueError(f"limit_min must be a positive number of minutes, got {limit_min!r}")
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
    tc = np.flatnonzero(st.connected)
    t_order = tc[np.argsort(st.node[tc], kind="stable")]
    t_node = st.node[t_order]
    t_leg = np.ascontiguousarray(st.leg_seconds[t_order])
    t_pop = t["population"].to_numpy(dtype=float)[t_order]
    t_ptr = np.searchsorted(t_node, np.arange(network.n_nodes + 1)).astype(np.int64)

    oc = np.flatnonzero(so.connected)
    o_order = oc[np.argsort(so.node[oc], kind="stable")]
    o_node = so.node[o_order]
    o_leg = np.ascontiguousarray(so.leg_seconds[o_order])
    nodes, start = np.unique(o_node, return_index=True)
    ptr = np.r_[start, len(o_node)].astype(np.int64)
    acc = np.zeros(len(o_order))
    wsum = np.zeros(len(o_order))
    limit_s = float(limit_min) * 60.0
    for b0 in range(0, len(nodes), int(block_size)):
        blk = nodes[b0 : b0 + int(block_size)]
        times = many_to_all(network, blk, cutoff_s=limit_s, method=method)
        p = ptr[b0 : b0 + len(blk) + 1]
        lo, hi = p[0], p[-1]
        a = np.zeros(hi - lo)
        ws = np.zeros(hi - lo)
        reduce_block(
            times, limit_s, float(time_bin_s), t_ptr, t_leg, t_pop, p - lo, o_leg[lo:hi], w,
            a, ws,
        )
        acc[lo:hi] = a
        wsum[lo:hi] = ws

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
