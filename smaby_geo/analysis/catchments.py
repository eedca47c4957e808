"""Catchments (network Voronoi), population within thresholds and coverage (METHODS §2-3).

A catchment is the set of origin cells whose nearest facility by car time is that facility
(ties broken by the facility order, i.e. the smaller ``service_id``); its polygon is the union
of those cells' squares (traced on the grid, ``places.grid.dissolve_cells``), so it follows
roads and fjords rather than straight-line buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from shapely.geometry import Point

from smaby_geo._compat import renamed_kwargs
from smaby_geo.analysis.traveltimes import (
    DEFAULT_THRESHOLDS_MIN,
    SERVICE_ACCESS,
    _points,
    od_matrix,
    point_matrix_seconds,
    weighted_quantile,
)
from smaby_geo.network.core import NETWORK_CRS, RoadNetwork
from smaby_geo.places.grid import cell_squares, coarsen_cells, dissolve_cells
from smaby_geo.places.snapping import AccessModel, snap_points

__all__ = [
    "catchments",
    "cell_squares",  # moved to smaby_geo.places.grid; re-exported for old imports
    "coarsen_cells",  # moved to smaby_geo.places.grid; re-exported for old imports
    "coverage_curve",
    "facility_times",
    "minutes_from_facility",
    "minutes_from_point",
    "population_within",
]


def _check_thresholds(thresholds) -> list[float]:
    th = [float(t) for t in thresholds]
    if not th or any(not np.isfinite(t) or t < 0 for t in th) or th != sorted(th):
        raise ValueError(
            f"thresholds must be a non-empty sorted list of minutes >= 0, got {thresholds}"
        )
    return th


def catchments(
    table: gpd.GeoDataFrame,
    service_type: str,
    services: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Catchment polygons of each site of one service type.

    Parameters
    ----------
    table : GeoDataFrame
        ``travel_times`` output over grid cells (needs ``x_sw``/``y_sw``/``cell_size_m``).
    service_type : str
    services : GeoDataFrame, optional
        The service layer, to add names and keep sites with an empty catchment.

    Returns
    -------
    GeoDataFrame
        One row per site: ``service_id``, ``name``, ``population``, ``cells``, ``area_km2``,
        ``median_minutes`` (population-weighted), ``max_minutes``, polygon geometry.
        ``attrs["unreachable_population"]`` holds the people in no catchment.
    """
    site_col, min_col = f"{service_type}_site", f"{service_type}_minutes"
    if min_col not in table.columns:
        raise ValueError(f"table has no {min_col!r}; run travel_times with {service_type!r}")
    reach = table[site_col].notna().to_numpy() & np.isfinite(table[min_col].to_numpy(float))
    t = table.loc[reach]
    # each catchment's outline traced once on the grid (exact; places.grid.dissolve_cells)
    keys, geoms = dissolve_cells(t, t[site_col].to_numpy())
    shape_of = dict(zip(keys, geoms, strict=True))
    rows = []
    for site, idx in t.groupby(site_col).indices.items():
        m = t[min_col].to_numpy(float)[idx]
        p = t["population"].to_numpy(float)[idx]
        rows.append(
            {
                "service_id": site,
                "population": int(p.sum()),
                "cells": len(idx),
                "area_km2": float(t["cell_size_m"].to_numpy(float)[idx].__pow__(2).sum() / 1e6),
                "median_minutes": weighted_quantile(m, p, 0.5),
                "max_minutes": float(m.max()),
                "geometry": shape_of[site],
            }
        )
    out = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=NETWORK_CRS)
        if rows
        else gpd.GeoDataFrame({"service_id": [], "population": []}, geometry=[], crs=NETWORK_CRS)
    )
    if services is not None:
        sv = services[services["service_type"] == service_type][["service_id", "name"]]
        out = sv.merge(out, on="service_id", how="left")
        out["population"] = out["population"].fillna(0).astype(int)
        out["cells"] = out["cells"].fillna(0).astype(int)
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=NETWORK_CRS)
    out.attrs["unreachable_population"] = int(table.loc[~reach, "population"].sum())
    out.attrs["service_type"] = service_type
    out.attrs.update({k: table.attrs[k] for k in ("attribution", "note") if k in table.attrs})
    return out


@renamed_kwargs(cutoff="cutoff_min")
def facility_times(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    service_type: str | None = None,
    *,
    cutoff_min: float | None = None,
    access: AccessModel | None = None,
    service_access: AccessModel | None = None,
) -> pd.DataFrame:
    """Origin x facility matrix of minutes (the input of the accessibility measures).

    Parameters
    ----------
    network : RoadNetwork
    origins : GeoDataFrame
    services : GeoDataFrame
        Service layer; columns of the result are its ``service_id``.
    service_type : str, optional
        Keep only this type.
    cutoff_min : float, optional
        Minutes (inclusive); beyond it ``inf``.
    access, service_access : AccessModel, optional
        Snapping of origins (default 5 km) and services (default ``SERVICE_ACCESS``).

    Returns
    -------
    DataFrame (n_origins x n_sites) of minutes.
    """
    s = services if service_type is None else services[services["service_type"] == service_type]
    if len(s) == 0:
        raise ValueError(f"services have no sites of type {service_type!r}")
    s = s.set_index("service_id") if "service_id" in s.columns else s
    return od_matrix(
        network,
        origins,
        s,
        cutoff_min=cutoff_min,
        access=access,
        destination_access=service_access or SERVICE_ACCESS,
    )


@renamed_kwargs(thresholds="thresholds_min")
def population_within(
    minutes: pd.DataFrame,
    population: ArrayLike,
    thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
) -> pd.DataFrame:
    """People within each threshold of each facility (not only its catchment).

    Parameters
    ----------
    minutes : DataFrame (n_origins x n_sites)
        ``facility_times`` output.
    population : array-like (n_origins,)
    thresholds_min : sorted minutes, default 30/45/60/90

    Returns
    -------
    DataFrame indexed by site with columns ``within_<T>`` (persons).
    """
    th = _check_thresholds(thresholds_min)
    p = np.asarray(population, dtype=float)
    m = minutes.to_numpy(float)
    return pd.DataFrame({f"within_{t:g}": p @ (m <= t) for t in th}, index=minutes.columns).astype(
        np.int64
    )


def coverage_curve(
    table: pd.DataFrame, service_type: str, minutes: Sequence[float] | None = None
) -> pd.DataFrame:
    """Share of the population within each number of minutes of the nearest site.

    ``minutes`` defaults to 0, 5, ..., 180.

    Returns
    -------
    DataFrame with ``minutes`` and ``share`` (of the whole population, unreachable included).

    Raises
    ------
    ValueError
        No such column, or ``minutes`` holding NaN, infinite or negative values.
    """
    col = f"{service_type}_minutes"
    if col not in table.columns:
        raise ValueError(f"table has no {col!r}")
    mins = np.arange(0, 181, 5, dtype=float) if minutes is None else np.asarray(minutes, float)
    bad = ~np.isfinite(mins) | (mins < 0)
    if bad.any():
        raise ValueError(
            f"coverage_curve: minutes must be finite and >= 0; got {mins[bad].tolist()[:5]}"
        )
    t = table[col].to_numpy(float)
    p = table["population"].to_numpy(float)
    order = np.argsort(t)
    cum = np.concatenate([[0.0], np.cumsum(p[order])])
    k = np.searchsorted(t[order], mins, side="right")
    return pd.DataFrame({"minutes": mins, "share": cum[k] / p.sum(), "service_type": service_type})


def minutes_from_point(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    point: Point | tuple[float, float],
    *,
    access: AccessModel | None = None,
    point_access: AccessModel | None = None,
    direction: str = "from",
) -> pd.Series:
    """Minutes from one point (a facility, a town) to every origin, access legs included.

    Parameters
    ----------
    network : RoadNetwork
    origins : GeoDataFrame
    point : shapely Point or (x, y) in EPSG:25833 metres
    access, point_access : AccessModel, optional
        Snapping of origins and of the point (default ``AccessModel()``, 5 km to a link).
    direction : {"from", "to"}
        Travel from the point, or to it.

    Returns
    -------
    Series indexed like ``origins`` (``inf`` where unreachable).
    """
    o = _points(origins, "origins")
    px, py = (point.x, point.y) if isinstance(point, Point) else point
    sp = snap_points(network, [px], [py], point_access or access)
    if not sp.connected[0]:
        raise ValueError("the point is farther than the maximum snap distance from the network")
    so = snap_points(network, o.geometry.x.to_numpy(), o.geometry.y.to_numpy(), access)
    if direction == "from":
        sec = point_matrix_seconds(network, sp, so)[0]
    else:
        sec = point_matrix_seconds(network, so, sp)[:, 0]
    return pd.Series(sec / 60.0, index=origins.index, name="minutes")


def minutes_from_facility(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    service_id: str,
    **kwargs,
) -> pd.Series:
    """``minutes_from_point`` for the site ``service_id`` of a service layer.

    Raises
    ------
    KeyError
        Unknown ``service_id``, listing close matches.
    """
    hit = services[services["service_id"] == service_id]
    if hit.empty:
        import difflib

        close = difflib.get_close_matches(service_id, services["service_id"].tolist(), n=5)
        raise KeyError(f"no facility with service_id {service_id!r}; close matches: {close}")
    return minutes_from_point(network, origins, hit.geometry.iloc[0], **kwargs)
