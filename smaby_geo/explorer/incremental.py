"""The region half of a scenario comparison, re-using what an edit cannot change.

``compare_regions`` (``smaby_geo.analysis.scenarios``) recomputes, for every scenario, the
kommune centres, the snapping of every populated cell, and a reverse search from both link
ends of every kommune centre (2 x 357 nationally): most of the explorer's time after an edit.
:class:`RegionCache` keeps the base's centres, snapping and searches, and
:func:`compare_regions_cached` gives the same result from them:

- **centres** depend on the cells only: the base's are the scenario's;
- **snapping** of the cells and centres is the base's when the scenario keeps the same snap
  targets with the same geometry and end nodes (``snap_target_links``; edits never move a
  link, and replaced ferries and new links are never targets); only the partial link times
  (``entry_offsets``) are recomputed, from the scenario's link times. A scenario that changes
  the targets (a closed road) is snapped afresh (``snap_points``);
- **searches**: the base's rows of times to each centre link end are updated to the scenario
  network by ``routing.dynamic.update_many_to_all`` (exact; only the nodes whose time an edit
  can change are searched again). A centre whose snap moved (a closed road under it) is
  searched afresh;
- **flows and regions** are recomputed (``gravity_flows``, ``delineate_ba``) unless the kommune
  times came out bit-identical to the base's, when they are the base's.

The kommune-time arithmetic is that of ``places.centres.kommune_times``;
``tests/test_explorer.py`` checks the base against it and every edit type against
``compare_regions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smaby_geo.analysis.scenarios import REGION_SEARCH_METHOD
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.centres import kommune_minutes_from_rows
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    entry_offsets,
    link_geometries,
    snap_points,
    snap_target_links,
)
from smaby_geo.routing.api import many_to_all
from smaby_geo.routing.dynamic import update_many_to_all


@dataclass
class SnappedPoints:
    """Points snapped on the base network, with what decides whether their snap still holds."""

    x: np.ndarray
    y: np.ndarray
    snapped: Snapped


@dataclass(eq=False)
class RegionCache:
    """The base half of the region comparison, with the searches behind it.

    Build it with :func:`prepare_region_cache`. ``as_region_base()`` gives the dict
    ``prepare_region_base`` returns.
    """

    network: RoadNetwork
    access: AccessModel
    codes: list[str]
    pop: np.ndarray
    c0: pd.DataFrame
    T0: np.ndarray
    centres: list[str]
    adj: np.ndarray
    m0: pd.DataFrame
    centre_points: SnappedPoints
    cell_points: SnappedPoints
    k_idx: np.ndarray
    cell_pop: np.ndarray
    rows0: np.ndarray  # (2K, n_nodes) seconds from every node to each centre link end
    targets0: np.ndarray

    def as_region_base(self) -> dict:
        """The dict ``prepare_region_base`` returns (for ``compare_regions``)."""
        return {
            "c0": self.c0,
            "codes": self.codes,
            "pop": self.pop,
            "T0": self.T0,
            "centres": self.centres,
            "adj": self.adj,
            "m0": self.m0,
        }


def _kommune_minutes(
    net: RoadNetwork, rows: np.ndarray, sc: Snapped, so: Snapped, k_idx, cell_pop
) -> np.ndarray:
    """Kommune-to-kommune minutes with internal times (``places.centres.kommune_times``)."""
    return kommune_minutes_from_rows(net, rows, sc, so, k_idx, cell_pop)


def prepare_region_cache(
    net: RoadNetwork, cells, kommuner, access: AccessModel | None = None
) -> RegionCache:
    """Compute the base half of the region comparison once, keeping its searches.

    Parameters
    ----------
    net : RoadNetwork
        Base network.
    cells : GeoDataFrame
        Populated cells with ``kommunenummer`` and ``population`` (the base table).
    kommuner : GeoDataFrame
        Kommune polygons.
    access : AccessModel, optional
        Default ``AccessModel()`` (as ``kommune_times``).

    Returns
    -------
    RegionCache
        Its ``c0``, ``T0``, ``centres``, ``adj`` and ``m0`` are those of
        ``prepare_region_base(net, cells, kommuner)``.
    """
    import warnings

    from smaby_geo.analysis.regions import (
        DEFAULT_BETA_PER_MIN,
        adjacency,
        default_centres,
        delineate_ba,
        gravity_flows,
    )
    from smaby_geo.places.centres import kommune_centres

    access = access or AccessModel()
    cen = kommune_centres(cells)
    cx, cy = cen.geometry.x.to_numpy(), cen.geometry.y.to_numpy()
    sc = snap_points(net, cx, cy, access)
    # the engine of compare_regions (exact Dijkstra, also on a prepared base): the updated rows
    # then equal the library's scenario times, not only to float rounding
    rows0 = many_to_all(net, sc.nodes.ravel(), direction="to", method=REGION_SEARCH_METHOD)
    c = cells[cells["kommunenummer"].isin(cen.index)]
    k_idx = cen.index.get_indexer(c["kommunenummer"])
    pts = c.geometry if c.geometry.geom_type.eq("Point").all() else c.geometry.centroid
    px, py = pts.x.to_numpy(), pts.y.to_numpy()
    so = snap_points(net, px, py, access)
    cell_pop = c["population"].to_numpy(float)
    minutes = _kommune_minutes(net, rows0, sc, so, k_idx, cell_pop)
    c0 = pd.DataFrame(minutes, index=cen.index, columns=cen.index)
    codes = list(c0.index)
    pop = cen["population"].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T0 = gravity_flows(pop, pop, c0.to_numpy(), DEFAULT_BETA_PER_MIN)
    centres = default_centres(codes, T0, pop)
    kom = kommuner[kommuner["kommunenummer"].isin(codes)]
    adj = adjacency(kom, codes)
    m0, _ = delineate_ba(codes, T0, c0.to_numpy(), centres, adjacency_matrix=adj)
    return RegionCache(
        network=net,
        access=access,
        codes=codes,
        pop=pop,
        c0=c0,
        T0=T0,
        centres=centres,
        adj=adj,
        m0=m0,
        centre_points=SnappedPoints(cx, cy, sc),
        cell_points=SnappedPoints(px, py, so),
        k_idx=k_idx,
        cell_pop=cell_pop,
        rows0=rows0,
        targets0=snap_target_links(net, access),
    )


def same_snap_targets(base: RoadNetwork, targets0, net1: RoadNetwork, access) -> bool:
    """True when ``net1`` snaps points exactly as the base (same targets, geometry, ends)."""
    t1 = snap_target_links(net1, access)
    if not np.array_equal(t1, targets0):
        return False
    l0, l1 = base.links, net1.links
    for col in ("u", "v"):
        if not np.array_equal(l0[col].to_numpy()[t1], l1[col].to_numpy()[t1]):
            return False
    g0, g1 = link_geometries(base)[t1], link_geometries(net1)[t1]
    return all(a is b for a, b in zip(g0, g1, strict=True))


def _resnap(cache: RegionCache, net1: RoadNetwork, p: SnappedPoints, same: bool) -> Snapped:
    if not same:
        return snap_points(net1, p.x, p.y, cache.access)
    s = p.snapped
    nodes, out_s, in_s = entry_offsets(net1, s.link, s.frac, s.leg_seconds)
    return Snapped(s.link, s.frac, s.distance_m, s.leg_seconds, s.connected, nodes, out_s, in_s)


def scenario_kommune_times(cache: RegionCache, net1: RoadNetwork) -> tuple[pd.DataFrame, dict]:
    """Kommune-to-kommune minutes on ``net1`` (``kommune_times``), from the base's searches.

    Returns
    -------
    (times, info)
        ``times`` as ``kommune_times(net1, cells)[0]``; ``info``: ``centre_ends`` (link ends
        of the centres), ``centre_ends_searched_afresh`` (ends that moved: a full search),
        ``nodes_invalidated`` (node times the edits invalidated, summed over the updated
        rows) and ``snap_reused`` (bool).
    """
    same = same_snap_targets(cache.network, cache.targets0, net1, cache.access)
    sc = _resnap(cache, net1, cache.centre_points, same)
    so = _resnap(cache, net1, cache.cell_points, same)
    ends = sc.nodes.ravel()
    ends0 = cache.centre_points.snapped.nodes.ravel()
    kept = ends == ends0
    if net1.n_nodes == cache.network.n_nodes and kept.any():
        rows, searched = update_many_to_all(
            cache.network, net1, ends0[kept], cache.rows0[kept], direction="to"
        )
        if not kept.all():
            full = np.empty_like(cache.rows0)
            full[kept] = rows
            full[~kept] = many_to_all(
                net1, ends[~kept], direction="to", method=REGION_SEARCH_METHOD
            )
            rows = full
        nodes_searched = int(searched.sum())
    else:
        rows = many_to_all(net1, ends, direction="to", method=REGION_SEARCH_METHOD)
        nodes_searched = rows.size
    minutes = _kommune_minutes(net1, rows, sc, so, cache.k_idx, cache.cell_pop)
    idx = cache.c0.index
    info = {
        "centre_ends_searched_afresh": int((~kept).sum()),
        "centre_ends": len(ends),
        "nodes_invalidated": nodes_searched,
        "snap_reused": same,
    }
    return pd.DataFrame(minutes, index=idx, columns=idx), info


def compare_regions_cached(cache: RegionCache, net1: RoadNetwork) -> dict:
    """``compare_regions(base, net1, cells, kommuner)`` from a :class:`RegionCache`.

    Returns
    -------
    dict
        ``regions`` and ``benefit`` as ``compare_regions``; also ``search`` (the ``info`` of
        :func:`scenario_kommune_times`).
    """
    import warnings

    from smaby_geo.analysis.regions import DEFAULT_BETA_PER_MIN, delineate_ba, gravity_flows

    c1, info = scenario_kommune_times(cache, net1)
    a, b = cache.c0.to_numpy(), c1.to_numpy()
    if np.array_equal(a, b):  # same inputs, same (deterministic) flows and regions
        T1, m1 = cache.T0, cache.m0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            T1 = gravity_flows(cache.pop, cache.pop, b, DEFAULT_BETA_PER_MIN)
        m1, _ = delineate_ba(cache.codes, T1, b, cache.centres, adjacency_matrix=cache.adj)
    m = cache.m0[["kommunenummer", "centre"]].merge(
        m1[["kommunenummer", "centre"]], on="kommunenummer", suffixes=("_base", "_scenario")
    )
    changed = m[m["centre_base"] != m["centre_scenario"]]
    ok = np.isfinite(a) & np.isfinite(b)
    benefit = 0.5 * ((cache.T0 + T1) * np.where(ok, a - b, 0.0)).sum()
    return {
        "regions": changed.reset_index(drop=True),
        "benefit": {
            "person_minutes_per_day": float(benefit),
            "note": "rule of half, 0.5 * sum (T0 + T1)(c0 - c1), on gravity-modelled "
            "kommune-to-kommune commuting (residents as proxy for workers and "
            "jobs), one-way trips",
        },
        "search": info,
    }


def warm_up() -> None:
    """Compile (or load from numba's cache) the update kernel on a three-node network."""
    from smaby_geo.network.core import csr_indptr

    def net(w):
        return RoadNetwork(
            indptr=csr_indptr(np.array([0, 1]), 3),
            indices=np.array([1, 2], dtype=np.int32),
            weights=np.asarray(w, float),
            edge_link=np.arange(2),
            node_x=np.zeros(3),
            node_y=np.zeros(3),
            links=pd.DataFrame({"link_id": [0, 1]}),
        )

    update_many_to_all(net([1.0, 1.0]), net([2.0, 1.0]), [2], [[2.0, 1.0, 0.0]], direction="to")
