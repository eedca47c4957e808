"""Join points to the road network at the nearest point of the nearest link (METHODS §1).

A point (grid cell, service, town) attaches to the nearest point of the nearest drivable link
(projected onto the link geometry), not to the nearest node: on generalised N1000 the nearest
node is a median 1.1 km away, the nearest link 0.2 km. From there it enters the graph through
the link's two ends, with the partial link time to each end as an offset (one-way aware: a
direction closed on the link is closed on its parts), plus the access leg

    leg seconds = straight-line distance to the link x detour factor / access speed.

Snap targets are drivable road links: car-ferry links are never targets (nobody boards a ferry
in mid-fjord), nor the fixed links a scenario puts across water, and by default neither are
tunnels (a house above a tunnel does not drive into it; ``AccessModel.snap_to_tunnels``).
Partial link times are proportional to the position along the link (a link has one speed;
where a link is partly urban this spreads its time evenly). Two points on the same link may
also travel directly along it (``same_link_seconds``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from smaby_geo.network.core import RoadNetwork


@dataclass(frozen=True)
class AccessModel:
    """How a point reaches the network: the access leg to the nearest link.

    Parameters
    ----------
    detour_factor : float
        Straight-line distance multiplier, default 1.3 (METHODS §1).
    speed_kmh : float
        Speed on the access leg, default 30 km/h (METHODS §1).
    max_snap_m : float
        Points farther than this from any drivable link are not road-connected, default
        5000 m (METHODS §1); they are reported, never attached. With snapping to links this
        holds for origins and services alike (the 10 km service allowance that papered over
        node snapping is retired).
    snap_to_tunnels : bool
        Allow tunnels as snap targets, default False (a point above a tunnel cannot enter it).
    """

    detour_factor: float = 1.3
    speed_kmh: float = 30.0
    max_snap_m: float = 5000.0
    snap_to_tunnels: bool = False

    def __post_init__(self) -> None:
        for name in ("detour_factor", "speed_kmh", "max_snap_m"):
            v = getattr(self, name)
            if not (isinstance(v, int | float | np.floating) and np.isfinite(v) and v > 0):
                raise ValueError(f"AccessModel.{name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class Snapped:
    """Points attached to a network (all arrays have one row per point, k points).

    Attributes
    ----------
    link : int64 (k,)
        Row of ``network.links`` the point attaches to; -1 where not connected.
    frac : float64 (k,)
        Position of the attachment point along the link geometry, 0 at ``u`` to 1 at ``v``.
    distance_m : float64 (k,)
        Straight-line distance from the point to the link (the snap distance); ``inf`` where
        no drivable link lies within ``max_snap_m``.
    leg_seconds : float64 (k,)
        Access-leg time (``inf`` where not connected).
    connected : bool (k,)
        A drivable link lies within ``max_snap_m``.
    nodes : int64 (k, 2)
        The link's end nodes ``u``, ``v`` (0 where not connected; their times are ``inf``).
    out_seconds : float64 (k, 2)
        Seconds from the point to ``u`` and to ``v``: access leg + partial link time;
        ``inf`` where that direction of the link is closed or the point is not connected.
    in_seconds : float64 (k, 2)
        Seconds from ``u`` and from ``v`` to the point.
    """

    link: np.ndarray
    frac: np.ndarray
    distance_m: np.ndarray
    leg_seconds: np.ndarray
    connected: np.ndarray
    nodes: np.ndarray
    out_seconds: np.ndarray
    in_seconds: np.ndarray

    @property
    def node(self) -> np.ndarray:
        """The entry node reached soonest from each point (-1 where not connected)."""
        best = np.argmin(self.out_seconds, axis=1)
        n = self.nodes[np.arange(len(best)), best]
        return np.where(self.connected, n, -1)

    def __len__(self) -> int:
        return int(self.link.shape[0])


_TREES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def snap_target_links(network: RoadNetwork, access: AccessModel | None = None) -> np.ndarray:
    """Rows of ``network.links`` that points may attach to.

    Drivable road links with at least one open direction; never car ferries, nor the fixed
    links a scenario puts in their place (a replaced crossing, a new bridge or tunnel);
    tunnels only with ``access.snap_to_tunnels``. N1000 bridges (``medium`` L) are targets:
    they are mostly short river crossings inside the road network.
    """
    access = access or AccessModel()
    lk = network.links
    ok = ~lk["ferry"].to_numpy(dtype=bool)
    if not access.snap_to_tunnels and "tunnel" in lk.columns:
        ok &= ~lk["tunnel"].fillna(False).to_numpy(dtype=bool)
    # fixed links over water added by a scenario: a replaced ferry crossing and a new bridge
    # or tunnel (``scenario_edit``, category "bridge"/"tunnel"); nobody enters them mid-span,
    # and attaching points to them would move access legs between scenarios
    if "scenario_edit" in lk.columns:
        ok &= ~lk["scenario_edit"].isin(["replace_ferry", "new_link"]).to_numpy(dtype=bool)
    if "time_basis" in lk.columns:
        ok &= (lk["time_basis"] != "ferry").to_numpy(dtype=bool)
    ok &= ~lk["category"].isin(["bridge", "tunnel"]).to_numpy(dtype=bool)
    fw = lk["seconds_fw"].to_numpy(dtype=float)
    bw = lk["seconds_bw"].to_numpy(dtype=float)
    ok &= np.isfinite(fw) | np.isfinite(bw)
    return np.flatnonzero(ok)


def link_geometries(network: RoadNetwork) -> np.ndarray:
    """Link geometries (shapely LineStrings, u -> v), straight u-v lines where none are stored."""
    lk = network.links
    if "geometry" in lk.columns:
        g = np.asarray(lk.geometry.to_numpy(), dtype=object)
        if not pd.isna(g).any():
            return g
    u = lk["u"].to_numpy(dtype=np.int64)
    v = lk["v"].to_numpy(dtype=np.int64)
    xy = np.stack(
        [
            np.column_stack([network.node_x[u], network.node_y[u]]),
            np.column_stack([network.node_x[v], network.node_y[v]]),
        ],
        axis=1,
    )
    return shapely.linestrings(xy)


# Grid cell of the snapping index (metres): about the median N1000 link-piece spacing.
_GRID_M = 1000.0


class _LinkIndex:
    """Exact nearest-link search over the straight segments of the target links.

    A numba kernel (``places._nearest``) searches a uniform grid of segments ring by ring;
    the result equals a brute-force nearest-line search (ties to the lower segment).
    """

    def __init__(self, rows: np.ndarray, geoms: np.ndarray) -> None:
        from smaby_geo.places._nearest import build_grid

        self.rows, self.geoms = rows, geoms
        self.length = shapely.length(geoms)
        xy, gi = shapely.get_coordinates(geoms, return_index=True)
        same = gi[1:] == gi[:-1]
        a, b, g = xy[:-1][same], xy[1:][same], gi[:-1][same]
        seg_len = np.hypot(*(b - a).T)
        cum = np.concatenate([[0.0], np.cumsum(seg_len)])
        first = np.searchsorted(g, g, side="left")
        self.along0 = cum[:-1] - cum[first]
        self.seg_len, self.geom = seg_len, g
        self.a, self.b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        self.grid = build_grid(a[:, 0], a[:, 1], b[:, 0], b[:, 1], _GRID_M) if len(g) else None

    def query(self, x: np.ndarray, y: np.ndarray, max_m: float):
        """Nearest target (position in ``geoms``), distance, fraction along; -1 beyond max_m."""
        from smaby_geo.places._nearest import nearest_segments

        n = len(x)
        if self.grid is None or n == 0:
            return np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.zeros(n)
        gx, gy, nx, ny, ptr, seg = self.grid
        # writable C arrays always: numba compiles a read-only array (pandas hands those out)
        # as another specialisation, which the warm-up step would not have cached
        best, dist, t = nearest_segments(
            np.require(x, np.float64, ["C", "W"]),
            np.require(y, np.float64, ["C", "W"]),
            self.a[:, 0].copy(),
            self.a[:, 1].copy(),
            self.b[:, 0].copy(),
            self.b[:, 1].copy(),
            gx,
            gy,
            _GRID_M,
            nx,
            ny,
            ptr,
            seg,
            float(max_m),
        )
        hit = best >= 0
        gi = np.full(n, -1, dtype=np.int64)
        frac = np.zeros(n)
        gi[hit] = self.geom[best[hit]]
        along = self.along0[best[hit]] + t[hit] * self.seg_len[best[hit]]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac[hit] = np.where(self.length[gi[hit]] > 0, along / self.length[gi[hit]], 0.0)
        return gi, dist, np.clip(frac, 0.0, 1.0)


def _tree(network: RoadNetwork, access: AccessModel) -> _LinkIndex:
    per_net = _TREES.setdefault(network, {})
    key = bool(access.snap_to_tunnels)
    if key not in per_net:
        rows = snap_target_links(network, access)
        geoms = link_geometries(network)
        per_net[key] = _LinkIndex(rows, geoms[rows])
    return per_net[key]


def entry_offsets(
    network: RoadNetwork,
    link: np.ndarray,
    frac: np.ndarray,
    leg_seconds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """End nodes and partial times of points attached at ``frac`` along ``link``.

    Parameters
    ----------
    network : RoadNetwork
    link : int64 (k,)
        Rows of ``network.links`` (-1 = not connected).
    frac : float64 (k,)
        Position along each link, 0 at ``u`` to 1 at ``v``.
    leg_seconds : float64 (k,)
        Access-leg seconds added at both ends.

    Returns
    -------
    nodes (k, 2) int64, out_seconds (k, 2), in_seconds (k, 2): see ``Snapped``.
    """
    link = np.asarray(link, dtype=np.int64)
    ok = link >= 0
    li = np.where(ok, link, 0)
    lk = network.links
    u = lk["u"].to_numpy(dtype=np.int64)[li]
    v = lk["v"].to_numpy(dtype=np.int64)[li]
    fw = lk["seconds_fw"].to_numpy(dtype=float)[li]
    bw = lk["seconds_bw"].to_numpy(dtype=float)[li]
    f = np.clip(np.asarray(frac, dtype=float), 0.0, 1.0)

    def part(sec, share):
        # a zero share costs nothing even on a closed direction (the point is at the node)
        with np.errstate(invalid="ignore"):
            return np.where(share == 0.0, 0.0, sec * share)

    leg = np.where(ok, leg_seconds, np.inf)
    out_s = np.column_stack([leg + part(bw, f), leg + part(fw, 1.0 - f)])
    in_s = np.column_stack([part(fw, f) + leg, part(bw, 1.0 - f) + leg])
    nodes = np.where(ok[:, None], np.column_stack([u, v]), 0)
    return nodes, out_s, in_s


def snap_points(
    network: RoadNetwork,
    x: ArrayLike,
    y: ArrayLike,
    access: AccessModel | None = None,
) -> Snapped:
    """Attach points (EPSG:25833 metres) to the nearest point of the nearest drivable link.

    Parameters
    ----------
    network : RoadNetwork
    x, y : array of float
        Coordinates in EPSG:25833 metres.
    access : AccessModel, optional
        Detour factor, access speed and maximum snap distance; default ``AccessModel()``.

    Returns
    -------
    Snapped
        Leg seconds = distance x detour_factor / speed; entry nodes and offsets per point.

    Raises
    ------
    ValueError
        NaN or infinite coordinates.
    """
    access = access or AccessModel()
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    k = x.size
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("points to snap have NaN or infinite coordinates")
    link = np.full(k, -1, dtype=np.int64)
    frac = np.zeros(k)
    dist = np.full(k, np.inf)
    if k:
        index = _tree(network, access)
        gi, d, f = index.query(x, y, access.max_snap_m)
        hit = gi >= 0
        link[hit] = index.rows[gi[hit]]
        dist[hit] = d[hit]
        frac[hit] = f[hit]
    ok = link >= 0
    frac = np.nan_to_num(frac, nan=0.0)
    leg = np.where(ok, dist * access.detour_factor / (access.speed_kmh / 3.6), np.inf)
    nodes, out_s, in_s = entry_offsets(network, link, frac, leg)
    return Snapped(link, frac, dist, leg, ok, nodes, out_s, in_s)


def same_link_pairs(a_link: np.ndarray, b_link: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` in ``a_link`` and ``b_link`` of every pair on the same link.

    The arrays are ``Snapped.link`` of connected points; the pairs feed ``same_link_seconds``.
    """
    pairs = pd.DataFrame({"i": np.arange(len(a_link)), "link": a_link}).merge(
        pd.DataFrame({"j": np.arange(len(b_link)), "link": b_link}), on="link"
    )
    return pairs["i"].to_numpy(dtype=np.int64), pairs["j"].to_numpy(dtype=np.int64)


def same_link_seconds(
    network: RoadNetwork, a: Snapped, ia: ArrayLike, b: Snapped, ib: ArrayLike
) -> np.ndarray:
    """Seconds from points ``a[ia]`` to points ``b[ib]`` directly along a shared link.

    ``inf`` where the two lie on different links, a point is not connected, or the link's
    direction between them is closed. Access legs of both points are included.
    """
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    la, lb = a.link[ia], b.link[ib]
    same = (la == lb) & (la >= 0)
    li = np.where(same, la, 0)
    fw = network.links["seconds_fw"].to_numpy(dtype=float)[li]
    bw = network.links["seconds_bw"].to_numpy(dtype=float)[li]
    df = b.frac[ib] - a.frac[ia]
    with np.errstate(invalid="ignore"):
        along = np.where(df > 0, fw * df, np.where(df < 0, bw * -df, 0.0))
    t = a.leg_seconds[ia] + along + b.leg_seconds[ib]
    return np.where(same, t, np.inf)


def snap_point_on_link(network: RoadNetwork, s: Snapped, i: int):
    """The attachment point of point ``i`` (a shapely Point on its link), or None."""
    if not s.connected[i]:
        return None
    g = link_geometries(network)[s.link[i]]
    return shapely.line_interpolate_point(g, s.frac[i], normalized=True)


# Why a point cannot reach the main network (``unreachable_reasons``).
REASON_NO_ROAD = "no drivable road within the maximum snap distance"
REASON_DANGLING_FERRY = "car ferry in the data does not reach the main network"
REASON_ISLAND = "island without a car ferry or bridge in the data"
REASON_GAP = "road fragment not joined to the main network (a gap in the data)"
REASON_NO_LINK = "no car ferry, bridge or road to the main network in the data"


def main_component(network: RoadNetwork) -> int:
    """Label (``network.node_component``) of the largest strongly connected component."""
    return int(network.components()["component"].iloc[0])


def component_reasons(network: RoadNetwork, land=None) -> dict[int, str]:
    """Why each strongly connected component other than the largest is cut off from it.

    Parameters
    ----------
    network : RoadNetwork
    land : array of shapely polygons (EPSG:25833), optional
        Land polygons (``read_land``: the parts of the coastline-clipped kommune polygons).
        With them, a component without car ferries is an *island* when its nodes lie on land
        polygons that hold no road node of the main network, else a *gap in the data*;
        without them both read ``REASON_NO_LINK``.

    Returns
    -------
    dict component label -> reason (``REASON_*``).
    """
    comp = network.node_component
    main = main_component(network)
    e_comp = comp[network.edge_source]
    ferry = network.links["ferry"].to_numpy(dtype=bool)[network.edge_link]
    has_ferry = np.zeros(int(comp.max()) + 1, dtype=bool)
    has_ferry[e_comp[ferry]] = True
    # a ferry edge leaving or entering the component also counts
    has_ferry[comp[network.indices[ferry]]] = True
    off_nodes = np.flatnonzero(comp != main)
    node_land = np.full(network.n_nodes, -1, dtype=np.int64)
    on_main_land: dict[int, bool] = {}
    if land is not None and len(off_nodes):
        land = np.asarray(land, dtype=object)
        tree = shapely.STRtree(land)
        pts = shapely.points(network.node_x[off_nodes], network.node_y[off_nodes])
        ni, li = tree.query(pts, predicate="within")
        node_land[off_nodes[ni]] = li
        outside = node_land[off_nodes] < 0
        if outside.any():  # nodes on the shore of the generalised coastline: nearest land
            oi, lj = tree.query_nearest(pts[outside], all_matches=False)
            node_land[off_nodes[np.flatnonzero(outside)[oi]]] = lj
        # the main network's road nodes (a ferry node out at sea is no evidence of a road
        # on the nearest shore) on each land polygon that holds a cut-off component
        road_node = np.zeros(network.n_nodes, dtype=bool)
        road_node[network.edge_source[~ferry]] = True
        mx = network.node_x[(comp == main) & road_node]
        my = network.node_y[(comp == main) & road_node]
        for li_ in np.unique(node_land[off_nodes]):
            poly = land[li_]
            shapely.prepare(poly)
            on_main_land[int(li_)] = bool(shapely.contains_xy(poly, mx, my).any())
    out: dict[int, str] = {}
    for c in np.unique(comp):
        if c == main:
            continue
        if has_ferry[c]:
            out[int(c)] = REASON_DANGLING_FERRY
        elif land is None:
            out[int(c)] = REASON_NO_LINK
        else:
            shared = any(on_main_land.get(int(x), False) for x in np.unique(node_land[comp == c]))
            out[int(c)] = REASON_GAP if shared else REASON_ISLAND
    return out


def entry_component(network: RoadNetwork, s: Snapped) -> np.ndarray:
    """Strong component each snapped point enters (-1 where not connected).

    That of the main network when either open link end lies in it, else that of the first
    open end.
    """
    comp = network.node_component
    main = main_component(network)
    n0, n1 = s.nodes[:, 0], s.nodes[:, 1]
    o0, o1 = np.isfinite(s.out_seconds[:, 0]), np.isfinite(s.out_seconds[:, 1])
    in_main = ((comp[n0] == main) & o0) | ((comp[n1] == main) & o1)
    c = np.where(in_main, main, np.where(o0, comp[n0], comp[n1]))
    return np.where(s.connected, c, -1).astype(np.int64)


def unreachable_reasons(
    network: RoadNetwork, s: Snapped, access: AccessModel | None = None, *, land=None
) -> np.ndarray:
    """Why each snapped point cannot reach the main network ("" where it can).

    A point reaches the main network (the largest strongly connected component) when one of
    its link's ends lies in it and the link is open from the point to that end. Otherwise the
    reason is ``REASON_NO_ROAD`` (beyond ``access.max_snap_m``) or its component's reason
    (``component_reasons``). Points off the main network may still reach services on their
    own component (an island with its own police office).

    Returns
    -------
    ndarray of str (object), one per point.
    """
    access = access or AccessModel()
    comp = entry_component(network, s)
    main = main_component(network)
    reasons = np.full(len(s), "", dtype=object)
    reasons[~s.connected] = f"{REASON_NO_ROAD} ({access.max_snap_m:.0f} m)"
    off = np.flatnonzero(s.connected & (comp != main))
    if len(off):
        table = component_reasons(network, land)
        reasons[off] = [table.get(int(c), REASON_NO_LINK) for c in comp[off]]
    return reasons


def read_land(path=None) -> np.ndarray:
    """Land polygons of Norway (EPSG:25833) for telling islands from gaps in the data.

    The parts of the coastline-clipped simplified kommune polygons (registry
    ``kommuner_simplified``, © Kartverket via robhop/fylker-og-kommuner): each island of a
    kommune is its own part; the mainland is split by kommune borders, and each such part
    holds roads of the main network. Simplification merges some small islands with their
    neighbours: an island read as part of land with the main network is then reported as a
    gap in the data.
    """
    import pyogrio

    from smaby_geo import datasets

    g = pyogrio.read_dataframe(datasets.locate_dataset("kommuner_simplified", path))
    parts = shapely.get_parts(g.to_crs("EPSG:25833").geometry.to_numpy())
    return parts[shapely.get_type_id(parts) == 3]
