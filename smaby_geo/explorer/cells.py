"""The cell half of a scenario comparison on the base's snapping (``compare``, regions off).

``compare`` runs ``travel_times`` on the scenario network: it snaps every populated cell again
(220,171 nationally) and builds the full table (site names, network components, reasons for
no route), of which the comparison reads only the minutes and the nearest site.
:func:`compare_cells_cached` snaps the cells once, at start (:class:`CellCache`), and after an
edit recomputes only the partial link times of each snap (``entry_offsets``) — or snaps afresh
when the edit changes the snap targets (``explorer.incremental``) — then runs the library's
``nearest_sites`` per type and ``compare``'s arithmetic (``summarise_changes``).
``tests/test_explorer_incremental.py`` checks every edit type against ``compare``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smaby_geo.analysis.scenarios import summarise_changes
from smaby_geo.explorer.incremental import SnappedPoints, same_snap_targets
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    entry_offsets,
    snap_points,
    snap_target_links,
)


@dataclass(eq=False)
class CellCache:
    """The base's snapping and tables behind the cell half of ``compare`` (one base table).

    Build it with :func:`prepare_cell_cache`; :func:`compare_cells_cached` then gives what
    ``compare(base, net1, cells, services, services1, types=..., base_table=cells,
    regions=False)`` gives, without re-snapping 220,000 cells or building the scenario's
    full travel-time table (names, components, reasons) that the comparison does not read.
    """

    network: RoadNetwork
    access: AccessModel
    table: pd.DataFrame  # the base travel-time table (GeoDataFrame)
    types: list[str]
    cells: pd.DataFrame  # the base columns of ``compare``'s ``cells`` table
    points: SnappedPoints
    targets0: np.ndarray
    site_codes: dict  # per type: codes of the base's nearest site ("" = -1)
    site_index: dict  # per type: site id -> code


def prepare_cell_cache(
    net: RoadNetwork, table, types: list[str], access: AccessModel | None = None
) -> CellCache:
    """Snap the base table's cells once and keep the base columns ``compare`` reads.

    Parameters
    ----------
    net : RoadNetwork
        Base network.
    table : GeoDataFrame
        Base travel-time table (``travel_times`` output, point geometry in EPSG:25833).
    types : list of str
        Service types compared.
    access : AccessModel, optional
        Default ``AccessModel()`` (as ``travel_times``).
    """
    access = access or AccessModel()
    pts = table.geometry
    if not pts.geom_type.eq("Point").all():
        pts = pts.representative_point()
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    cells = table[
        ["population", "geometry"]
        + [c for c in ("kommunenummer", "x_sw", "y_sw", "cell_size_m") if c in table]
    ].copy()
    codes, index = {}, {}
    for t in types:
        s0 = pd.Series(table[f"{t}_site"].to_numpy()).fillna("")
        c, uniq = pd.factorize(s0)
        codes[t] = c
        index[t] = {v: i for i, v in enumerate(uniq)}
    return CellCache(
        network=net,
        access=access,
        table=table,
        types=list(types),
        cells=cells,
        points=SnappedPoints(x, y, snap_points(net, x, y, access)),
        targets0=snap_target_links(net, access),
        site_codes=codes,
        site_index=index,
    )


def _snap_like(base: RoadNetwork, targets0, net1: RoadNetwork, x, y, access, same) -> Snapped:
    """``snap_points(net1, x, y)``; on the base's index when the snap targets are the same."""
    if not same:
        return snap_points(net1, x, y, access)
    s = snap_points(base, x, y, access)
    nodes, out_s, in_s = entry_offsets(net1, s.link, s.frac, s.leg_seconds)
    return Snapped(s.link, s.frac, s.distance_m, s.leg_seconds, s.connected, nodes, out_s, in_s)


def scenario_minutes(
    cache: CellCache, net1: RoadNetwork, services1
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Minutes and nearest-site code per cell and type on ``net1`` (``travel_times``' values).

    Returns
    -------
    dict type -> (minutes float64, site code int64: the base's code of the site id, a new
    code for a site the base does not have, -1 for none).
    """
    from smaby_geo.analysis.traveltimes import nearest_sites

    same = same_snap_targets(cache.network, cache.targets0, net1, cache.access)
    p = cache.points
    if same:
        s = p.snapped
        nodes, out_s, in_s = entry_offsets(net1, s.link, s.frac, s.leg_seconds)
        so = Snapped(s.link, s.frac, s.distance_m, s.leg_seconds, s.connected, nodes, out_s, in_s)
    else:
        so = snap_points(net1, p.x, p.y, cache.access)
    sv = services1
    if not sv.geometry.geom_type.eq("Point").all():
        sv = sv.set_geometry(sv.geometry.representative_point())
    sx, sy = sv.geometry.x.to_numpy(), sv.geometry.y.to_numpy()
    ss = _snap_like(cache.network, cache.targets0, net1, sx, sy, cache.access, same)
    ids = sv["service_id"].to_numpy() if "service_id" in sv else sv.index.to_numpy()
    st = sv["service_type"].to_numpy()
    out = {}
    for t in cache.types:
        sel = np.flatnonzero((st == t) & ss.connected)
        if len(sel) == 0:
            out[t] = (np.full(len(so), np.nan), np.full(len(so), -1, dtype=np.int64))
            continue
        sec, lab = nearest_sites(net1, so, ss, sel)
        index = cache.site_index[t]
        site_code = np.array(
            [index.get(i, len(index) + k) for k, i in enumerate(ids[sel])], dtype=np.int64
        )
        lj = lab[:, 0]
        code = np.where(lj >= 0, site_code[np.maximum(lj, 0)], index.get("", -1))
        out[t] = (sec[:, 0] / 60.0, code)
    return out


def compare_cells_cached(cache: CellCache, net1: RoadNetwork, services1, thresholds) -> dict:
    """The cell half of ``compare`` (``regions=False``) from a :class:`CellCache`.

    Parameters
    ----------
    cache : CellCache
    net1 : RoadNetwork
        Scenario network.
    services1 : GeoDataFrame
        Scenario service layer (``apply_service_edits``).
    thresholds : tuple of int
        Minutes (``compare``'s default ``SCENARIO_THRESHOLDS_MIN``).

    Returns
    -------
    dict
        ``cells``, ``kommuner``, ``thresholds``, ``catchments``, ``summary`` and ``base_table``
        as ``compare`` (the same ``summarise_changes``; the scenario's minutes come from
        ``nearest_sites`` on the re-used snapping).
    """
    t0 = cache.table
    cells = cache.cells.copy(deep=False)
    minutes = scenario_minutes(cache, net1, services1)
    changes = {}
    for t in cache.types:
        b, code1 = minutes[t]
        changes[t] = (t0[f"{t}_minutes"].to_numpy(float), b, cache.site_codes[t] != code1)
    return {**summarise_changes(cells, changes, thresholds), "base_table": t0}
