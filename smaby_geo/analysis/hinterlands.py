"""Small towns as regional centres: their hinterlands (omland) and what they offer.

Definitions (every number a parameter):

* **Centres** are the towns of at least ``centre_min_class`` (default ``small_town``: 5,000
  residents or more, so towns and large cities count too: they serve their surroundings as
  well). The strategy's *småbyer* of roughly 5,000-50,000 are the classes ``small_town`` and
  ``town`` (``smaby_geo.places.towns``).
* **Rural** cells are the cells outside every centre (villages under 5,000 and scattered
  settlement).
* **Gross reach** of a centre: the population within 15/30/45/60 minutes by car of its centre
  (to the centre, access legs included), *including* people who have another centre nearer;
  that part is reported separately (``nearer_other_<T>``).
* **Times** use the main job's access model (``travel_times``, METHODS §1), exactly: a cell and
  a centre each enter the network through both ends of their links, with the partial link
  time to each end and their access legs, and a cell on a centre's own link may also go
  directly along it (``analysis.traveltimes.nearest_sites``; the same for gross reach).
* **Exclusive hinterland**: the people for whom it is the nearest centre of at least its own
  class (a small town competes with every centre, a town with towns and large cities, a large
  city with large cities). For each class level the exclusive hinterlands and the unreachable
  population partition the whole population.
* **Region**: ``hinterlands(..., region=mask)`` reports on a region's cells (the cell table
  holds only them) while every per-centre figure still counts every cell passed, so a region
  run given the whole country's cells gets each centre's national figures. The figures of
  the region's residents alone are named so: ``region_exclusive_population`` and
  ``region_exclusive_rural_population``.
* **Services hosted**: a service site belongs to the nearest centre whose outline lies within
  ``host_buffer_m`` (default 3 km: the shipped service points are N1000 place-name label
  points, which lie within a few km of the place). For every centre the nearest site of each
  type and its minutes are reported too.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo._compat import LegacyMapping
from smaby_geo.analysis.town_reach import town_reach
from smaby_geo.analysis.traveltimes import (
    SERVICE_ACCESS,
    nearest_sites,
    people_by_reason,
    travel_times,
    weighted_quantile,
)
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.services import SERVICE_TYPES
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    snap_points,
    unreachable_reasons,
)
from smaby_geo.places.towns import CLASS_RANK, town_centres

HINTERLAND_LIMITS_MIN: tuple[float, ...] = (15.0, 30.0, 45.0, 60.0)
SUMMARY_LIMITS_MIN: tuple[float, ...] = (30.0, 45.0, 60.0)
CENTRE_MIN_CLASS = "small_town"
HOST_BUFFER_M = 3000.0
# Why a cell on the main network has no centre (``unreachable_reason``).
REASON_NO_CENTRE = "no centre reachable"


def _check_limits(limits) -> list[float]:
    lim = [float(v) for v in limits]
    if not lim or any(not np.isfinite(v) or v < 0 for v in lim) or lim != sorted(lim):
        raise ValueError(f"limits must be a non-empty sorted list of minutes >= 0, got {limits}")
    return lim


def _region_mask(region, cells: gpd.GeoDataFrame) -> np.ndarray | None:
    """``region`` as one bool per cell of ``cells`` (None: no region)."""
    if region is None:
        return None
    if isinstance(region, pd.Series):
        if not region.index.equals(cells.index):
            raise ValueError("region must be indexed like cells (one bool per cell)")
        region = region.to_numpy()
    mask = np.asarray(region)
    if mask.dtype != bool or mask.shape != (len(cells),):
        raise ValueError(
            f"region must be one bool per cell ({len(cells)}), got dtype {mask.dtype} and "
            f"shape {mask.shape}"
        )
    return mask


def _take(s: Snapped, idx: np.ndarray) -> Snapped:
    """The points ``idx`` of ``s``."""
    return Snapped(**{f.name: getattr(s, f.name)[idx] for f in dataclasses.fields(s)})


def _centres(towns: gpd.GeoDataFrame, centre_min_class: str) -> gpd.GeoDataFrame:
    if centre_min_class not in CLASS_RANK:
        raise ValueError(
            f"centre_min_class must be one of {list(CLASS_RANK)}, got {centre_min_class!r}"
        )
    need = {"town_class", "population", "centre_x", "centre_y", "name"}
    if not need <= set(towns.columns):
        raise ValueError(f"towns need columns {sorted(need)} (use places.towns.build_towns)")
    rank = towns["town_class"].map(CLASS_RANK).fillna(-1)
    return towns[rank >= CLASS_RANK[centre_min_class]]


def hosted_services(
    centres: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    *,
    host_buffer_m: float = HOST_BUFFER_M,
) -> pd.DataFrame:
    """Number of service sites of each type each centre hosts.

    A site belongs to the nearest centre outline within ``host_buffer_m`` metres (see the
    module note); sites near no centre belong to none.

    Returns
    -------
    DataFrame
        Indexed like ``centres``: ``<type>_sites`` (int) per type in ``SERVICE_TYPES``.
    """
    out = pd.DataFrame(0, index=centres.index, columns=[f"{t}_sites" for t in SERVICE_TYPES])
    if services is None or len(services) == 0 or len(centres) == 0:
        return out
    sv = services.to_crs(centres.crs) if services.crs != centres.crs else services
    geoms = centres.geometry.to_numpy()
    pts = sv.geometry.to_numpy()
    si, ci = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=host_buffer_m)
    if len(si) == 0:
        return out
    d = shapely.distance(pts[si], geoms[ci])
    order = np.lexsort((ci, d, si))
    si, ci = si[order], ci[order]
    first = np.r_[True, si[1:] != si[:-1]]
    si, ci = si[first], ci[first]
    types = sv["service_type"].to_numpy()[si]
    for t in SERVICE_TYPES:
        sel = types == t
        if sel.any():
            out[f"{t}_sites"] = np.bincount(ci[sel], minlength=len(centres))
    return out


@dataclass(frozen=True, eq=False)
class Hinterlands(LegacyMapping):
    """The hinterlands of the centres (``hinterlands``).

    Attributes
    ----------
    towns : DataFrame
        One row per centre: gross reach within each limit (``population_within_<T>``,
        ``nearer_other_<T>``, ``rural_within_<T>``), exclusive hinterland population (all of
        these count every cell passed) and, for a region, ``region_exclusive_population`` /
        ``region_exclusive_rural_population`` (the region's cells only); with services, the
        sites it hosts and the nearest site in minutes.
    cells : GeoDataFrame
        One row per grid cell (of the region, where one is given): its nearest centre
        (``nearest_town_id``, ``nearest_town``) and ``minutes_to_town`` in minutes (``inf`` =
        no route).
    """

    towns: pd.DataFrame
    cells: gpd.GeoDataFrame


def hinterlands(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    towns: gpd.GeoDataFrame,
    cell_town: pd.Series,
    services: gpd.GeoDataFrame | None = None,
    *,
    region: np.ndarray | pd.Series | None = None,
    centre_min_class: str = CENTRE_MIN_CLASS,
    limits_min: Sequence[float] = HINTERLAND_LIMITS_MIN,
    host_buffer_m: float = HOST_BUFFER_M,
    access: AccessModel | None = None,
    land: np.ndarray | None = None,
) -> Hinterlands:
    """Hinterlands of every centre and the nearest centre of every cell.

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        Population grid (``read_population_grid``) with kommune fields: every resident the
        centres' figures count (for a region run, the whole country's grid, so that each
        centre gets its national figures).
    towns : GeoDataFrame
        ``build_towns`` output.
    cell_town : Series
        Town of each cell (``build_towns(..., return_cells=True)``), -1 = in no town.
    services : GeoDataFrame, optional
        Service layer (``load_services``); without it the service columns are left out.
    region : array of bool, optional
        One per cell of ``cells`` (a Series must be indexed like ``cells``): the cells of the
        region the result reports on. The cell table and its ``attrs`` then hold only these
        cells, and the towns table adds ``region_exclusive_population`` and
        ``region_exclusive_rural_population`` (these cells' residents for whom the centre is
        the nearest of its class level); every other per-centre figure still counts every
        cell of ``cells``. Default: no region (the cell table holds every cell).
    centre_min_class : str, default "small_town"
        The smallest town class that counts as a centre.
    limits_min : sequence of float, default 15/30/45/60
        Gross-reach limits in minutes (inclusive).
    host_buffer_m : float, default 3000
        See ``hosted_services``.
    access : AccessModel, optional
        Snapping of cells and centres (default ``AccessModel()``, METHODS §1).
    land : array of shapely polygons, optional
        Landmasses (``places.snapping.read_land``) that tell an island from a gap in the data
        in ``unreachable_reason``.

    Returns
    -------
    Hinterlands
        ``towns``: one row per centre (name, class, population, kommune, per limit
        ``population_within_<T>`` / ``nearer_other_<T>`` / ``rural_within_<T>``,
        ``exclusive_population``, ``exclusive_rural_population``, ``exclusive_level`` (these
        count every cell of ``cells``), with ``region`` ``region_exclusive_population`` and
        ``region_exclusive_rural_population`` (the region's cells only) and, with services,
        ``<type>_sites``, ``<type>_nearest_minutes`` (``inf`` where no site of the type is
        reachable, also where there is none), ``<type>_nearest_name``).
        ``cells``: one row per cell (``population``, kommune fields, ``town_id``, ``rural``,
        ``road_connected``, ``nearest_town_id``, ``nearest_town``, ``minutes_to_town``
        (``inf`` = no route), ``unreachable_reason`` ("" where a centre is reached, else why
        not: ``places.snapping.unreachable_reasons``, or "no centre reachable"), with
        services ``town_has_<type>``), only the region's cells where ``region`` is given.
        ``attrs`` say who is unreachable (``unreachable_population``,
        ``unreachable_by_reason``, ``unreachable_by_level``): on the towns table among every
        cell of ``cells`` (with a region also ``region_unreachable_population``,
        ``region_unreachable_by_level``), on the cell table among its cells.
    """
    lim = _check_limits(limits_min)
    access = access or AccessModel()
    if not cell_town.index.equals(cells.index):
        raise ValueError("cell_town must be indexed like cells (build_towns(return_cells=True))")
    in_region = _region_mask(region, cells)
    cen = _centres(towns, centre_min_class)
    cpts = town_centres(cen)
    sc = snap_points(network, cpts.geometry.x.to_numpy(), cpts.geometry.y.to_numpy(), access)
    if (~sc.connected).any():
        warnings.warn(
            f"{int((~sc.connected).sum())} centres lie beyond {access.max_snap_m:.0f} m of the "
            f"network and are left out: {cen.loc[~sc.connected, 'name'].tolist()[:10]}",
            stacklevel=2,
        )
    cen, cpts = cen[sc.connected], cpts[sc.connected]
    sc = _take(sc, np.flatnonzero(sc.connected))
    m = len(cen)
    if m == 0:
        warnings.warn(
            f"no road-connected town of class {centre_min_class!r} or above: every cell is "
            "left without a nearest centre",
            stacklevel=2,
        )
    so = snap_points(network, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy(), access)
    pop = cells["population"].to_numpy(dtype=float)
    tid = cell_town.to_numpy()
    rank_of_town = towns["town_class"].map(CLASS_RANK).fillna(-1)
    in_centre = np.zeros(len(cells), dtype=bool)
    known = tid >= 0
    in_centre[known] = (
        rank_of_town.reindex(tid[known]).to_numpy() >= CLASS_RANK[centre_min_class]
    )
    rural = ~in_centre

    def nearest(sel: np.ndarray):
        # the main job's search (``travel_times``): both link ends of cell and centre with
        # their partial link times, and a centre on the cell's own link directly
        if len(sel) == 0:
            return np.full(len(cells), np.inf), np.full(len(cells), -1)
        sec, lab = nearest_sites(network, so, sc, sel)
        sec, lab = sec[:, 0], lab[:, 0]
        lab = np.where(np.isfinite(sec) & (lab >= 0), sel[np.maximum(lab, 0)], -1)
        return sec, lab

    sec_all, lab_all = nearest(np.arange(m))
    crank = cen["town_class"].map(CLASS_RANK).to_numpy()
    # exclusive hinterlands of every cell passed, and (with a region) of the region's cells
    scopes = {"": np.ones(len(cells), dtype=bool)}
    if in_region is not None:
        scopes["region_"] = in_region
    excl = {k: np.zeros(m) for k in scopes}
    excl_rural = {k: np.zeros(m) for k in scopes}
    levels: dict[str, dict] = {k: {} for k in scopes}
    for level in sorted(set(crank)):
        sel = np.flatnonzero(crank >= level)
        _, lab = nearest(sel) if level != min(crank) else (sec_all, lab_all)
        own = crank == level
        for k, scope in scopes.items():
            ok = (lab >= 0) & scope
            tot = np.bincount(lab[ok], weights=pop[ok], minlength=m)
            totr = np.bincount(lab[ok & rural], weights=pop[ok & rural], minlength=m)
            excl[k][own], excl_rural[k][own] = tot[own], totr[own]
            levels[k][str(level)] = float(pop[(lab < 0) & scope].sum())

    gross, other, grossr = town_reach(
        network, so, sc, pop, rural, lab_all.astype(np.int64), np.asarray(lim) * 60.0
    )

    keep = [
        c
        for c in ("name", "town_class", "population", "source", "kommunenummer", "kommunenavn",
                  "fylkesnummer", "fylkesnavn", "centre_x", "centre_y")
        if c in cen.columns
    ]
    tt = pd.DataFrame(cen[keep].copy())
    for j, t in enumerate(lim):
        tt[f"population_within_{t:g}"] = np.round(gross[:, j]).astype(np.int64)
        tt[f"nearer_other_{t:g}"] = np.round(other[:, j]).astype(np.int64)
        tt[f"rural_within_{t:g}"] = np.round(grossr[:, j]).astype(np.int64)
    tt["exclusive_population"] = np.round(excl[""]).astype(np.int64)
    tt["exclusive_rural_population"] = np.round(excl_rural[""]).astype(np.int64)
    tt["exclusive_level"] = cen["town_class"].to_numpy()
    if in_region is not None:
        tt["region_exclusive_population"] = np.round(excl["region_"]).astype(np.int64)
        tt["region_exclusive_rural_population"] = np.round(excl_rural["region_"]).astype(
            np.int64
        )

    # every cell without a centre says why (inf minutes = unreachable, never silent)
    why = np.full(len(cells), "", dtype=object)
    gone = lab_all < 0
    if gone.any():
        gi = np.flatnonzero(gone)
        net_why = unreachable_reasons(network, _take(so, gi), access, land=land)
        why[gi] = np.where(net_why == "", REASON_NO_CENTRE, net_why)
    # the cell table: the region's cells, or every cell
    rows = np.flatnonzero(in_region) if in_region is not None else slice(None)
    names = np.append(cen["name"].to_numpy(dtype=object), np.array([None], dtype=object))
    ids = np.append(cen.index.to_numpy(), -1)
    lab_rows = lab_all[rows]  # position -1 (no centre) picks the appended "none" entry
    ct = pd.DataFrame(
        {
            "population": cells["population"].to_numpy()[rows],
            **{
                c: cells[c].to_numpy()[rows]
                for c in ("kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn",
                          "x_sw", "y_sw", "cell_size_m")
                if c in cells.columns
            },
            "town_id": tid[rows],
            "rural": rural[rows],
            "road_connected": so.connected[rows],
            "nearest_town_id": ids[lab_rows],
            "nearest_town": names[lab_rows],
            "minutes_to_town": sec_all[rows] / 60.0,
        },
        index=cells.index[rows],
    )
    ct["unreachable_reason"] = pd.Categorical(why[rows])
    if services is not None:
        hosts = hosted_services(cen, services, host_buffer_m=host_buffer_m)
        tt = tt.join(hosts)
        # every type, also one with no site (inf minutes: unreachable, never NaN or missing)
        svt = list(SERVICE_TYPES)
        if m:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                near_sv = travel_times(
                    network,
                    cpts.assign(population=cpts["population"]),
                    services,
                    service_types=svt,
                    access=access,
                    service_access=SERVICE_ACCESS,
                )
        for st in svt:
            tt[f"{st}_nearest_minutes"] = near_sv[f"{st}_minutes"].to_numpy() if m else []
            tt[f"{st}_nearest_name"] = near_sv[f"{st}_name"].to_numpy() if m else []
            has = np.append(hosts[f"{st}_sites"].to_numpy() > 0, False)
            ct[f"town_has_{st}"] = has[lab_rows]
    ct = gpd.GeoDataFrame(ct, geometry=cells.geometry.to_numpy()[rows], crs=cells.crs)
    attribution = " | ".join(
        dict.fromkeys(
            a.strip()
            for p in (network.attribution, towns.attrs.get("attribution", ""),
                      "" if services is None else services.attrs.get("attribution", ""))
            for a in p.split("|")
            if a.strip()
        )
    )
    ct_gone = gone if in_region is None else gone & in_region
    ct_levels = levels["region_" if in_region is not None else ""]
    for d, g, by_level in ((tt, gone, levels[""]), (ct, ct_gone, ct_levels)):
        d.attrs["attribution"] = attribution
        d.attrs["centre_min_class"] = centre_min_class
        d.attrs["limits_min"] = lim
        d.attrs["unreachable_population"] = float(pop[g].sum())
        d.attrs["unreachable_by_reason"] = people_by_reason(pop[g], why[g])
        d.attrs["unreachable_by_level"] = by_level
        if services is not None:
            d.attrs["note"] = services.attrs.get("note", "")
    if in_region is not None:
        tt.attrs["region_unreachable_population"] = ct.attrs["unreachable_population"]
        tt.attrs["region_unreachable_by_level"] = levels["region_"]
    return Hinterlands(towns=tt, cells=ct)


def summarise_hinterlands(
    cell_table: pd.DataFrame,
    by: str = "kommunenummer",
    *,
    limits_min=SUMMARY_LIMITS_MIN,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Per area: rural population and its minutes to the nearest centre.

    Parameters
    ----------
    cell_table : DataFrame
        ``hinterlands(...).cells``.
    by : str, default "kommunenummer"
        Column to group by (or the name given to ``groups``).
    limits_min : sequence of float, default 30/45/60
    groups : Series, optional
        Group of each cell (e.g. labour-market region), indexed like ``cell_table``; cells
        with no group go to ``"unknown"``.

    Returns
    -------
    DataFrame
        One row per area: ``population``, ``rural_population``, ``unreachable_rural_population``,
        ``rural_median_minutes``, ``rural_p90_minutes``, ``rural_share_within_<T>`` and
        ``share_within_<T>`` (all residents), ``nearest_towns`` (the centres its rural
        residents go to, most people first). The rows' populations sum to the table's.
    """
    lim = _check_limits(limits_min)
    if groups is not None:
        key = groups.reindex(cell_table.index)
    elif by in cell_table.columns:
        key = cell_table[by]
    else:
        raise ValueError(f"cell table has no column {by!r}; pass groups=")
    key = key.astype(object).where(key.notna(), "unknown")
    mins = cell_table["minutes_to_town"].to_numpy(dtype=float)
    pop = cell_table["population"].to_numpy(dtype=float)
    rural = cell_table["rural"].to_numpy(dtype=bool)
    town = cell_table["nearest_town"].to_numpy(dtype=object)
    rows = []
    for area, idx in key.groupby(key).indices.items():
        m, p, r = mins[idx], pop[idx], rural[idx]
        rp = p[r]
        rm = m[r]
        ok = np.isfinite(rm)
        row = {
            by: area,
            "population": int(p.sum()),
            "rural_population": int(rp.sum()),
            "unreachable_rural_population": int(rp[~ok].sum()),
            "rural_median_minutes": weighted_quantile(rm[ok], rp[ok], 0.5),
            "rural_p90_minutes": weighted_quantile(rm[ok], rp[ok], 0.9),
        }
        for t in lim:
            row[f"rural_share_within_{t:g}"] = (
                float(rp[ok & (rm <= t)].sum() / rp.sum()) if rp.sum() > 0 else np.nan
            )
            row[f"share_within_{t:g}"] = (
                float(p[np.isfinite(m) & (m <= t)].sum() / p.sum()) if p.sum() > 0 else np.nan
            )
        tw = pd.Series(rp, index=town[idx][r]).groupby(level=0).sum().sort_values(ascending=False)
        row["nearest_towns"] = "; ".join(str(n) for n in tw.index[:3])
        rows.append(row)
    return pd.DataFrame(rows)
