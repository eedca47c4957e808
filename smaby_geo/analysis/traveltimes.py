"""The travel-time table: minutes from every origin to the nearest service of each type.

Times include both access legs (METHODS §1): origin -> nearest node and node -> service.
``inf`` minutes means no road/ferry route (e.g. an island without a car ferry); origins farther
than the maximum snap distance are flagged ``road_connected = False`` and also get ``inf``.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo.network.core import NETWORK_CRS, RoadNetwork
from smaby_geo.places.population import as_origins
from smaby_geo.places.services import INCOMPLETE_NOTE, SERVICE_TYPES
from smaby_geo.places.snapping import AccessModel, snap_points
from smaby_geo.routing.api import nearest_facility, od_matrix_nodes

DEFAULT_THRESHOLDS_MIN: tuple[int, ...] = (30, 45, 60, 90)  # SSB-style shares (METHODS §2)
# Services placed at N1000 place-name points sit at label positions that can be several km
# from the generalised network (Trondheim's is 5.6 km from the nearest N1000 node), so they
# may snap up to 10 km by default; origins keep METHODS §1's 5 km.
SERVICE_ACCESS = AccessModel(max_snap_m=10_000.0)


def _points(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what} have no CRS; set it with gdf.set_crs(...)")
    if gdf.crs != NETWORK_CRS:
        warnings.warn(
            f"{what} are in {gdf.crs.to_string()}; reprojecting to {NETWORK_CRS}", stacklevel=3
        )
        gdf = gdf.to_crs(NETWORK_CRS)
    if not gdf.geometry.geom_type.eq("Point").all():
        gdf = gdf.set_geometry(gdf.geometry.representative_point())
    return gdf


def _cutoff_seconds(cutoff: float | None) -> float | None:
    if cutoff is None:
        return None
    if not (cutoff >= 0):
        raise ValueError(f"cutoff must be >= 0 minutes, got {cutoff!r}")
    return float(cutoff) * 60.0


def travel_times(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    by: str = "service_type",
    k: int = 1,
    cutoff: float | None = None,
    *,
    types: list[str] | None = None,
    access: AccessModel | None = None,
    service_access: AccessModel | None = None,
    population_column: str = "population",
) -> gpd.GeoDataFrame:
    """Minutes from every origin to the nearest site of each service type.

    Parameters
    ----------
    network : RoadNetwork
    origins : GeoDataFrame
        Points or polygons with a population column; results keep its index.
    services : GeoDataFrame
        Service layer (``load_services``, ``read_services``, ``services_from_osm``).
    by : str, default "service_type"
        Column of ``services`` whose values are the groups searched separately.
    k : int, default 1
        Also report the 2nd..k-th nearest sites (k <= 5).
    cutoff : float, optional
        Search limit in minutes (inclusive); farther sites count as unreachable (``inf``).
    types : list of str, optional
        Groups to report; default ``SERVICE_TYPES`` when ``by="service_type"``, else all values.
        A group with no sites gets NaN columns and a warning.
    access : AccessModel, optional
        Access legs and maximum snap distance of origins (default ``AccessModel()``: 5 km).
    service_access : AccessModel, optional
        The same for services (default ``SERVICE_ACCESS``: 10 km, see its comment).
    population_column : str
        Population column of ``origins``.

    Returns
    -------
    GeoDataFrame
        Indexed like ``origins``: ``population``, kommune and grid-cell columns when the
        origins have them, ``snap_m`` (metres to the network),
        ``road_connected``, then per group ``<g>_minutes`` (float, ``inf`` = no route),
        ``<g>_site`` (``service_id``), ``<g>_name``; with k > 1 also ``<g>_minutes_2`` ...
        ``attrs`` holds ``service_types``, ``note`` (service lists incomplete) and
        ``attribution``.
    """
    access = access or AccessModel()
    o = as_origins(origins, population_column)
    s = _points(services, "services")
    if by not in s.columns:
        raise ValueError(f"services have no column {by!r}; columns are {list(s.columns)}")
    if types is None:
        types = list(SERVICE_TYPES) if by == "service_type" else sorted(s[by].dropna().unique())
    unknown = sorted(set(s[by].dropna()) - set(types))
    if by == "service_type" and unknown:
        raise ValueError(f"services have unknown service types {unknown}; known: {types}")
    c_s = _cutoff_seconds(cutoff)
    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    service_access = service_access or SERVICE_ACCESS
    ss = snap_points(network, s.geometry.x.to_numpy(), s.geometry.y.to_numpy(), service_access)
    if (~ss.connected).any():
        far = s.loc[~ss.connected, "name" if "name" in s else by].tolist()
        warnings.warn(
            f"{int((~ss.connected).sum())} services lie more than "
            f"{service_access.max_snap_m:.0f} m from the network and are left out: {far[:10]}",
            stacklevel=2,
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
    ids = s["service_id"].to_numpy() if "service_id" in s else s.index.to_numpy()
    names = s["name"].to_numpy() if "name" in s else np.full(len(s), None)
    onode = np.where(so.connected, so.node, 0)
    for t in types:
        sel = np.flatnonzero((s[by] == t).to_numpy() & ss.connected)
        cols = [f"{t}_minutes", f"{t}_site", f"{t}_name"]
        if len(sel) == 0:
            warnings.warn(
                f"service type {t!r} has no sites connected to the network; its columns are NaN",
                stacklevel=2,
            )
            for c in cols:
                out[c] = np.nan
            continue
        d, lab = nearest_facility(
            network,
            ss.node[sel],
            offsets=ss.leg_seconds[sel],
            k=k,
            cutoff=None if c_s is None else c_s,
        )
        d = d.reshape(network.n_nodes, -1)
        lab = lab.reshape(network.n_nodes, -1)
        for j in range(d.shape[1]):
            sec = d[onode, j] + so.leg_seconds
            if c_s is not None:
                sec = np.where(sec <= c_s, sec, np.inf)
            lj = np.where(np.isfinite(sec), lab[onode, j], -1)
            suf = "" if j == 0 else f"_{j + 1}"
            out[f"{t}_minutes{suf}"] = sec / 60.0
            out[f"{t}_site{suf}"] = np.where(lj >= 0, ids[sel][lj], None)
            out[f"{t}_name{suf}"] = np.where(lj >= 0, names[sel][lj], None)
    out.attrs["service_types"] = list(types)
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


def od_matrix(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    cutoff: float | None = None,
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
    cutoff : float, optional
        Limit in minutes (inclusive); beyond it ``inf``.
    access : AccessModel, optional
        Snapping of both layers (default ``AccessModel()``).
    destination_access : AccessModel, optional
        Snapping of ``destinations`` when it differs (e.g. ``SERVICE_ACCESS`` for services).

    Returns
    -------
    DataFrame
        Minutes, index = origins' index, columns = destinations' index; ``inf`` where there is
        no route or a point is beyond the maximum snap distance.
    """
    access = access or AccessModel()
    o = _points(origins, "origins")
    d = _points(destinations, "destinations")
    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    sd = snap_points(
        network, d.geometry.x.to_numpy(), d.geometry.y.to_numpy(), destination_access or access
    )
    m = np.full((len(o), len(d)), np.inf)
    oi, di = np.flatnonzero(so.connected), np.flatnonzero(sd.connected)
    c_s = _cutoff_seconds(cutoff)
    if len(oi) and len(di):
        m[np.ix_(oi, di)] = od_matrix_nodes(
            network,
            so.node[oi],
            sd.node[di],
            source_offsets=so.leg_seconds[oi],
            target_offsets=sd.leg_seconds[di],
            cutoff=c_s,
        )
    return pd.DataFrame(m / 60.0, index=origins.index, columns=destinations.index)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Population-weighted quantile: the smallest value whose cumulative weight >= q.

    Parameters
    ----------
    values : array of float
    weights : array of float (>= 0)
    q : float in [0, 1]

    Returns
    -------
    float
        NaN when the total weight is 0.
    """
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values)[order], np.asarray(weights, dtype=float)[order]
    total = w.sum()
    if total <= 0:
        return np.nan
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * total - 1e-9 * total, side="left")])


def summarise(
    table: pd.DataFrame,
    by: str = "kommunenummer",
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS_MIN,
) -> pd.DataFrame:
    """Per area and service type: weighted median/P90 minutes and shares within thresholds.

    Parameters
    ----------
    table : DataFrame
        Output of ``travel_times``.
    by : str, default "kommunenummer"
        Grouping column of ``table``.
    thresholds : tuple of float
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
    th = list(thresholds)
    if any(t < 0 for t in th) or th != sorted(th):
        raise ValueError(f"thresholds must be sorted and >= 0 minutes, got {thresholds}")
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
                "unreachable_population": int(p[~ok & ~np.isnan(m)].sum()),
                "median_minutes": weighted_quantile(m[ok], p[ok], 0.5),
                "p90_minutes": weighted_quantile(m[ok], p[ok], 0.9),
            }
            if np.isnan(m).all():
                row["unreachable_population"] = 0
            for thr in th:
                row[f"share_within_{thr:g}"] = (
                    float(p[ok & (m <= thr)].sum() / total) if total > 0 else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)
