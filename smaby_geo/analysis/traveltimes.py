"""The travel-time table: minutes from every origin to the nearest service of each type.

Times include both access legs (METHODS §1): every point attaches to the nearest point of the
nearest drivable link (``places.snapping``) and enters the graph through that link's two ends;
two points on the same link may also travel directly along it. ``inf`` minutes means no
road/ferry route (e.g. an island without a car ferry); origins farther than the maximum snap
distance are flagged ``road_connected = False`` and also get ``inf``.

Longer than 500 lines because the travel-time table, the OD matrix, the unreachable summary and
the kommune summary share one snapping and one search path; splitting them would split that path.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smaby_geo._compat import renamed_kwargs
from smaby_geo.network.core import NETWORK_CRS, RoadNetwork
from smaby_geo.places.population import as_origins
from smaby_geo.places.services import INCOMPLETE_NOTE, SERVICE_TYPES
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    entry_component,
    same_link_pairs,
    same_link_seconds,
    snap_points,
    unreachable_reasons,
)
from smaby_geo.routing.api import nearest_facility, od_matrix_nodes

DEFAULT_THRESHOLDS_MIN: tuple[int, ...] = (30, 45, 60, 90)  # SSB-style shares (METHODS §2)
# Kept for old imports: with snapping to links, services use the same access model as origins
# (METHODS §1, 5 km); the 10 km allowance that papered over node snapping is retired.
SERVICE_ACCESS = AccessModel()
# Origins per block in ``od_matrix`` (each point enters through two nodes).
_OD_BLOCK = 20_000


def _points(gdf: gpd.GeoDataFrame, what: str, stacklevel: int = 3) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what} have no CRS; set it with gdf.set_crs(...)")
    if gdf.crs != NETWORK_CRS:
        warnings.warn(
            f"{what} are in {gdf.crs.to_string()}; reprojecting to {NETWORK_CRS}",
            stacklevel=stacklevel,
        )
        gdf = gdf.to_crs(NETWORK_CRS)
    if not gdf.geometry.geom_type.eq("Point").all():
        gdf = gdf.set_geometry(gdf.geometry.representative_point())
    return gdf


def _cutoff_seconds(cutoff: float | None) -> float | None:
    if cutoff is None:
        return None
    if not (cutoff >= 0):
        raise ValueError(f"cutoff_min must be >= 0 minutes, got {cutoff!r}")
    return float(cutoff) * 60.0


@renamed_kwargs(cutoff="cutoff_min", by="type_column", types="service_types")
def travel_times(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    type_column: str = "service_type",
    k: int = 1,
    cutoff_min: float | None = None,
    *,
    service_types: list[str] | None = None,
    access: AccessModel | None = None,
    service_access: AccessModel | None = None,
    population_column: str = "population",
    land: ArrayLike | None = None,
) -> gpd.GeoDataFrame:
    """Minutes from every origin to the nearest site of each service type.

    Parameters
    ----------
    network : RoadNetwork
    origins : GeoDataFrame
        Points or polygons with a population column; results keep its index.
    services : GeoDataFrame
        Service layer (``load_services``, ``read_services``, ``services_from_osm``).
    type_column : str, default "service_type"
        Column of ``services`` whose values are the groups searched separately.
    k : int, default 1
        Also report the 2nd..k-th nearest sites (k <= 5).
    cutoff_min : float, optional
        Search limit in minutes (inclusive); farther sites count as unreachable (``inf``).
    service_types : list of str, optional
        Groups to report; default the groups present in ``services`` (in ``SERVICE_TYPES``
        order when ``type_column="service_type"``, else sorted): a type that was never loaded
        is not reported. Sites of other groups are not used (a full service layer with
        ``service_types=["hospital"]`` reports hospitals only).
        A group asked for by name with no sites connected to the network gets ``inf``
        minutes for every origin (unreachable, as everywhere: never NaN), no site or name,
        and a warning; it is listed in ``attrs["service_types_without_sites"]``.
    access : AccessModel, optional
        Access legs and maximum snap distance of origins (default ``AccessModel()``: 5 km).
    service_access : AccessModel, optional
        The same for services (default: ``access``, one access model for both ends).
    population_column : str
        Population column of ``origins``.
    land : array of shapely polygons, optional
        Landmasses (EPSG:25833) that tell an island from a gap in the data in
        ``unreachable_reason`` (``places.snapping.component_reasons``).

    Returns
    -------
    GeoDataFrame
        Indexed like ``origins``: ``population``, kommune and grid-cell columns when the
        origins have them, ``snap_m`` (metres to the nearest drivable link; ``inf`` beyond
        the maximum snap distance), ``road_connected``, ``network_component`` (strong component
        the origin enters, -1 where not connected), ``unreachable_reason`` (empty where
        the origin reaches the main network, else why not: see
        ``places.snapping.unreachable_reasons``), then per group ``<g>_minutes`` (float,
        ``inf`` = no route),
        ``<g>_site`` (``service_id``), ``<g>_name``; with k > 1 also ``<g>_minutes_2`` ...
        ``attrs`` holds ``service_types``, ``note`` (service lists incomplete) and
        ``attribution``.
    """
    access = access or AccessModel()
    o = as_origins(origins, population_column)
    s = _points(services, "services", stacklevel=4)  # 4: past the renamed_kwargs wrapper
    if type_column not in s.columns:
        raise ValueError(
            f"services have no column {type_column!r}; columns are {list(s.columns)}"
        )
    if service_types is None:  # the groups present: a type never loaded is not reported
        present = set(s[type_column].dropna())
        service_types = (
            [t for t in SERVICE_TYPES if t in present]
            if type_column == "service_type"
            else sorted(present)
        )
        if not service_types:
            raise ValueError(
                f"services have no rows with a {type_column!r} value, so there is nothing to "
                "report; load some services, or pass service_types=[...] to report those types "
                "as unreachable"
            )
    if type_column == "service_type":  # a typo in either is an error; other types are unused
        unknown = sorted(set(s[type_column].dropna()) - set(SERVICE_TYPES))
        if unknown:
            raise ValueError(
                f"services have unknown service types {unknown}; known: {list(SERVICE_TYPES)}"
            )
        asked = sorted(set(service_types) - set(SERVICE_TYPES))
        if asked:
            raise ValueError(
                f"service_types has unknown service types {asked}; known: {list(SERVICE_TYPES)}"
            )
    c_s = _cutoff_seconds(cutoff_min)
    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    service_access = service_access or access
    ss = snap_points(network, s.geometry.x.to_numpy(), s.geometry.y.to_numpy(), service_access)
    if (~ss.connected).any():
        far = s.loc[~ss.connected, "name" if "name" in s else type_column].tolist()
        warnings.warn(
            f"{int((~ss.connected).sum())} services lie more than "
            f"{service_access.max_snap_m:.0f} m from the network and are left out: {far[:10]}",
            stacklevel=3,  # past the renamed_kwargs wrapper
        )
    keep_cols = [
        c
        for c in ("kommunenummer", "kommunenavn", "fylkesnummer", "x_sw", "y_sw", "cell_size_m")
        if c in o.columns
    ]
    out = gpd.GeoDataFrame(
        {"population": o["population"].to_numpy(), **{c: o[c].to_numpy() for c in keep_cols}},
        index=o.index,
        geometry=o.geometry.to_numpy(),
        crs=NETWORK_CRS,
    )
    out["snap_m"] = so.distance_m
    out["road_connected"] = so.connected
    out["network_component"] = entry_component(network, so)
    out["unreachable_reason"] = pd.Categorical(unreachable_reasons(network, so, access, land=land))
    ids = s["service_id"].to_numpy() if "service_id" in s else s.index.to_numpy()
    names = s["name"].to_numpy() if "name" in s else np.full(len(s), None)
    without: list[str] = []  # types with no site on the network: everyone unreachable
    for t in service_types:
        of_type = (s[type_column] == t).to_numpy()
        sel = np.flatnonzero(of_type & ss.connected)
        if len(sel) == 0:
            why = "" if of_type.any() else " (services have none of this type: not loaded?)"
            warnings.warn(
                f"service type {t!r} has no sites connected to the network{why}; every origin "
                "is unreachable (inf minutes)",
                stacklevel=3,  # past the renamed_kwargs wrapper
            )
            without.append(t)
        # with no site, every origin gets inf and no site, in all k ranks
        sec, lab = nearest_sites(network, so, ss, sel, k=k, cutoff_s=c_s)
        # position -1 (no site within reach) picks the None appended at the end
        site_ids = np.empty(len(sel) + 1, dtype=object)  # the last stays None
        site_ids[:-1] = ids[sel]
        site_names = np.empty(len(sel) + 1, dtype=object)
        site_names[:-1] = names[sel]
        for j in range(sec.shape[1]):
            lj = lab[:, j]
            suf = "" if j == 0 else f"_{j + 1}"
            out[f"{t}_minutes{suf}"] = sec[:, j] / 60.0
            out[f"{t}_site{suf}"] = site_ids[lj]
            out[f"{t}_name{suf}"] = site_names[lj]
    out.attrs["service_types"] = list(service_types)
    out.attrs["service_types_without_sites"] = without
    # Sites too far from the network are not used: record them so callers count only the rest.
    out.attrs["services_left_out"] = [str(i) for i in ids[~ss.connected]]
    out.attrs["note"] = services.attrs.get("note", INCOMPLETE_NOTE)
    parts = [
        network.attribution,
        origins.attrs.get("attribution", ""),
        services.attrs.get("attribution", ""),
    ]
    out.attrs["attribution"] = " | ".join(
        dict.fromkeys(a.strip() for p in parts for a in p.split("|") if a.strip())
    )
    return out


@renamed_kwargs(cutoff="cutoff_min")
def od_matrix(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    cutoff_min: float | None = None,
    *,
    access: AccessModel | None = None,
    destination_access: AccessModel | None = None,
) -> pd.DataFrame:
    """Minutes between two point layers, access legs included.

    Parameters
    ----------
    network : RoadNetwork
    origins, destinations : GeoDataFrame
        Points (or polygons, represented by an inside point); any CRS (reprojected).
    cutoff_min : float, optional
        Limit in minutes (inclusive); beyond it ``inf``.
    access : AccessModel, optional
        Snapping of both layers (default ``AccessModel()``).
    destination_access : AccessModel, optional
        Snapping of ``destinations`` when it differs (default: ``access``).

    Returns
    -------
    DataFrame
        Minutes, index = origins' index, columns = destinations' index; ``inf`` where there is
        no route or a point is beyond the maximum snap distance.
    """
    access = access or AccessModel()
    o = _points(origins, "origins", stacklevel=4)  # 4: past the renamed_kwargs wrapper
    d = _points(destinations, "destinations", stacklevel=4)
    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    sd = snap_points(
        network, d.geometry.x.to_numpy(), d.geometry.y.to_numpy(), destination_access or access
    )
    m = point_matrix_seconds(network, so, sd, cutoff_s=_cutoff_seconds(cutoff_min))
    return pd.DataFrame(m / 60.0, index=origins.index, columns=destinations.index)


def point_matrix_seconds(
    network: RoadNetwork, so: Snapped, sd: Snapped, *, cutoff_s: float | None = None
) -> np.ndarray:
    """Seconds from every snapped origin to every snapped destination, access legs included.

    Each point enters through both ends of its link (``Snapped.out_seconds``/``in_seconds``);
    points on the same link may also go directly along it. Exact shortest paths.

    Returns
    -------
    ndarray (len(so), len(sd)) of seconds; ``inf`` where there is no route, a point is not
    connected, or the time is beyond ``cutoff_s``.
    """
    c = np.inf if cutoff_s is None else float(cutoff_s)
    m = np.full((len(so), len(sd)), np.inf)
    oi, di = np.flatnonzero(so.connected), np.flatnonzero(sd.connected)
    if len(oi) == 0 or len(di) == 0:
        return m
    tn, to = sd.nodes[di].ravel(), sd.in_seconds[di].ravel()
    for b0 in range(0, len(oi), _OD_BLOCK):
        ob = oi[b0 : b0 + _OD_BLOCK]
        block = od_matrix_nodes(
            network,
            so.nodes[ob].ravel(),
            tn,
            source_offsets=so.out_seconds[ob].ravel(),
            target_offsets=to,
            cutoff_s=cutoff_s,
        )
        m[np.ix_(ob, di)] = block.reshape(len(ob), 2, len(di), 2).min(axis=(1, 3))
    # points on a shared link: directly along it
    i, j = same_link_pairs(so.link[oi], sd.link[di])
    if len(i):
        po, pd_ = oi[i], di[j]
        m[po, pd_] = np.minimum(m[po, pd_], same_link_seconds(network, so, po, sd, pd_))
    m[m > c] = np.inf
    return m


def nearest_sites(
    network: RoadNetwork,
    so: Snapped,
    ss: Snapped,
    sites: np.ndarray,
    *,
    k: int = 1,
    cutoff_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of the snapped sites ``ss[sites]`` from every snapped origin.

    One multi-source search from both link ends of every site (labelled by site), then each
    origin takes the better of its two link ends, and sites on its own link directly.

    Returns
    -------
    seconds : float64 (n_origins, k), ``inf`` where fewer than k sites are reachable.
    site : int64 (n_origins, k), position in ``sites``; -1 where none. Ties at equal time go
        to the smaller position.
    """
    c = np.inf if cutoff_s is None else float(cutoff_s)
    sites = np.asarray(sites, dtype=np.int64)
    nodes = ss.nodes[sites].ravel()
    offs = ss.in_seconds[sites].ravel()
    labs = np.repeat(np.arange(len(sites), dtype=np.int32), 2)
    ok = np.isfinite(offs)
    n = len(so)
    if not ok.any():
        return np.full((n, k), np.inf), np.full((n, k), -1, dtype=np.int64)
    d, lab = nearest_facility(
        network, nodes[ok], offsets=offs[ok], labels=labs[ok], k=k, cutoff_s=cutoff_s
    )
    d = d.reshape(network.n_nodes, -1)
    lab = lab.reshape(network.n_nodes, -1)
    on = so.nodes
    oi = np.flatnonzero(so.connected)
    i, ps = same_link_pairs(so.link[oi], ss.link[sites])  # ps: positions in sites
    po = oi[i]
    if k == 1:
        a = so.out_seconds[:, 0] + d[on[:, 0], 0]
        b = so.out_seconds[:, 1] + d[on[:, 1], 0]
        la, lb_ = lab[on[:, 0], 0].astype(np.int64), lab[on[:, 1], 0].astype(np.int64)
        take_b = (b < a) | ((b == a) & (lb_ < la))
        sec = np.where(take_b, b, a)
        best = np.where(take_b, lb_, la)
        if len(po):
            direct = same_link_seconds(network, so, po, ss, sites[ps])
            for o_, s_, t_ in zip(po, ps, direct, strict=True):
                if t_ < sec[o_] or (t_ == sec[o_] and s_ < best[o_]):
                    sec[o_], best[o_] = t_, s_
        ok = np.isfinite(sec) & (sec <= c) & (best >= 0)
        return np.where(ok, sec, np.inf)[:, None], np.where(ok, best, -1)[:, None]
    # candidates: (origin, seconds, site) through each link end, and along a shared link
    cand_sec = [so.out_seconds[:, [e]] + d[on[:, e]] for e in (0, 1)]
    cand_lab = [lab[on[:, e]] for e in (0, 1)]
    rows = [np.repeat(np.arange(n), d.shape[1])] * 2
    if len(po):
        rows.append(po)
        cand_sec.append(same_link_seconds(network, so, po, ss, sites[ps]))
        cand_lab.append(ps)
    r = np.concatenate(rows)
    sec = np.concatenate([x.ravel() for x in cand_sec])
    lb = np.concatenate([x.ravel() for x in cand_lab]).astype(np.int64)
    keep = np.isfinite(sec) & (lb >= 0) & (sec <= c)
    r, sec, lb = r[keep], sec[keep], lb[keep]
    # best time per (origin, site), then the k best sites per origin
    order = np.lexsort((sec, lb, r))
    r, sec, lb = r[order], sec[order], lb[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (lb[1:] != lb[:-1])
    r, sec, lb = r[first], sec[first], lb[first]
    order = np.lexsort((lb, sec, r))
    r, sec, lb = r[order], sec[order], lb[order]
    start = np.searchsorted(r, r, side="left")
    rank = np.arange(len(r)) - start
    take = rank < k
    out_s = np.full((n, k), np.inf)
    out_l = np.full((n, k), -1, dtype=np.int64)
    out_s[r[take], rank[take]] = sec[take]
    out_l[r[take], rank[take]] = lb[take]
    return out_s, out_l


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Population-weighted quantile: the smallest value whose cumulative weight >= q.

    Parameters
    ----------
    values : array of float
        No NaN (``inf``, e.g. minutes with no route, sorts last).
    weights : array of float (>= 0, finite), as many as ``values``
    q : float in [0, 1]

    Returns
    -------
    float
        NaN when the total weight is 0.

    Raises
    ------
    ValueError
        ``q`` outside [0, 1], NaN values, NaN/infinite/negative weights, or lengths that
        differ (naming the first positions at fault).
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if not 0.0 <= float(q) <= 1.0:  # NaN fails too
        raise ValueError(f"weighted_quantile: q must be in [0, 1] (0.5 = median), got {q!r}")
    if values.shape != weights.shape:
        raise ValueError(
            f"weighted_quantile: {values.shape} values but {weights.shape} weights; give one "
            "weight per value"
        )
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        raise ValueError(
            f"weighted_quantile: {len(bad)} values are NaN (positions {bad[:5].tolist()}); "
            "drop them first, e.g. with values[np.isfinite(values)], or use inf for no route"
        )
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if len(bad):
        raise ValueError(
            f"weighted_quantile: weights must be finite and >= 0; {len(bad)} are not "
            f"(positions {bad[:5].tolist()}, e.g. {float(weights[bad[0]])})"
        )
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    total = w.sum()
    if total <= 0:
        return np.nan
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * total - 1e-9 * total, side="left")])


@renamed_kwargs(thresholds="thresholds_min")
def summarise(
    table: pd.DataFrame,
    by: str = "kommunenummer",
    thresholds_min: tuple[float, ...] = DEFAULT_THRESHOLDS_MIN,
) -> pd.DataFrame:
    """Per area and service type: weighted median/P90 minutes and shares within thresholds.

    Parameters
    ----------
    table : DataFrame
        Output of ``travel_times``.
    by : str, default "kommunenummer"
        Grouping column of ``table``.
    thresholds_min : tuple of float
        Minutes; default 30/45/60/90 (SSB style, METHODS §2).

    Returns
    -------
    DataFrame
        One row per (``by``, ``service_type``): ``population``, ``unreachable_population``
        (no route or not road-connected), ``median_minutes`` and ``p90_minutes`` over the
        reachable population, ``share_within_<T>`` over the whole population.
    """
    if by not in table.columns:
        raise ValueError(f"table has no column {by!r} to summarise by")
    th = list(thresholds_min)
    if any(t < 0 for t in th) or th != sorted(th):
        raise ValueError(
            f"thresholds_min must be sorted and >= 0 minutes, got {thresholds_min}"
        )
    types = table.attrs.get("service_types") or [
        c[: -len("_minutes")] for c in table.columns if c.endswith("_minutes")
    ]
    rows = []
    key = table[by].astype(object).where(table[by].notna(), "unknown")
    pop_all = table["population"].to_numpy(dtype=float)
    for t in types:
        minutes = table[f"{t}_minutes"].to_numpy(dtype=float)
        for area, idx in key.groupby(key).indices.items():
            m, p = minutes[idx], pop_all[idx]
            ok = np.isfinite(m)
            total = p.sum()
            row = {
                by: area,
                "service_type": t,
                "population": int(total),
                # inf = no route; NaN (tables of older versions: no site at all) alike
                "unreachable_population": int(p[~ok].sum()),
                "median_minutes": weighted_quantile(m[ok], p[ok], 0.5),
                "p90_minutes": weighted_quantile(m[ok], p[ok], 0.9),
            }
            for thr in th:
                row[f"share_within_{thr:g}"] = (
                    float(p[ok & (m <= thr)].sum() / total) if total > 0 else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


def people_by_reason(population: np.ndarray, reasons: np.ndarray) -> dict[str, int]:
    """Residents per reason: ``{reason: persons}`` (``population`` and ``reasons`` aligned)."""
    sums = pd.Series(np.asarray(population, float)).groupby(np.asarray(reasons)).sum()
    return {str(k): round(float(v)) for k, v in sums.items()}


@renamed_kwargs(types="service_types")
def unreachable_summary(table: pd.DataFrame, service_types: list[str] | None = None) -> dict:
    """Who cannot be reached, and why: the figures the main job prints and writes.

    Parameters
    ----------
    table : DataFrame
        ``travel_times`` output (``population``, ``snap_m``, ``network_component``,
        ``unreachable_reason``, ``<type>_minutes``).
    service_types : list of str, optional
        Service types; default ``table.attrs["service_types"]``.

    Returns
    -------
    dict
        ``median_snap_m`` (over connected cells) and ``median_snap_m_people`` (population-
        weighted); ``off_main_network_people`` and ``by_reason`` (people off the main network
        or beyond the snap distance, by reason); ``unreachable_people`` per type and
        ``unreachable_by_reason`` per type (people with ``inf`` minutes; those on the main
        network with no site in reach read "no <type> site reachable", or "no <type> site on
        the network" where the type has no site at all); ``fragments``: one entry per
        component that holds people and is not the main network (``component`` -1 = beyond
        the snap distance), with ``people``, ``cells``, ``kommuner`` (up to 3 names) and
        ``reason``, most people first. Every unreachable person has a reason.
    """
    service_types = list(service_types or table.attrs.get("service_types") or [])
    p = table["population"].to_numpy(dtype=float)
    snap = table["snap_m"].to_numpy(dtype=float)
    ok = np.isfinite(snap)
    reason = table["unreachable_reason"].astype(object).to_numpy()
    off = reason != ""
    out: dict = {
        "median_snap_m": round(float(np.median(snap[ok])), 1) if ok.any() else None,
        "median_snap_m_people": (
            round(weighted_quantile(snap[ok], p[ok], 0.5), 1) if ok.any() else None
        ),
        "off_main_network_people": int(p[off].sum()),
        "by_reason": people_by_reason(p[off], reason[off]),
        "unreachable_people": {},
        "unreachable_by_reason": {},
    }
    no_sites = set(table.attrs.get("service_types_without_sites") or ())
    for t in service_types:
        m = table[f"{t}_minutes"].to_numpy(dtype=float)
        bad = ~np.isfinite(m)  # inf = no route (NaN from older tables: no site at all)
        none_here = t in no_sites or (len(m) > 0 and np.isnan(m).all())
        nobody = f"no {t} site on the network" if none_here else f"no {t} site reachable"
        why = np.where(reason[bad] == "", nobody, reason[bad])
        out["unreachable_people"][t] = int(p[bad].sum())
        out["unreachable_by_reason"][t] = people_by_reason(p[bad], why)
    frag = pd.DataFrame(
        {
            "component": table["network_component"].to_numpy()[off],
            "people": p[off],
            "reason": reason[off],
            "kommune": (
                table["kommunenavn"].astype(object).to_numpy()[off]
                if "kommunenavn" in table
                else np.full(int(off.sum()), None)
            ),
        }
    )
    rows = []
    for (c, r), g in frag.groupby(["component", "reason"], sort=False):
        names = g.groupby("kommune")["people"].sum().sort_values(ascending=False)
        rows.append(
            {
                "component": int(c),
                "people": int(g["people"].sum()),
                "cells": len(g),
                "kommuner": [str(x) for x in names.index[:3]],
                "reason": str(r),
            }
        )
    out["fragments"] = sorted(rows, key=lambda d: (-d["people"], d["component"]))
    return out
