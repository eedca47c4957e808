"""Shared steps of the readers: node building, ferry joining, link timing, the build."""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from smaby_geo.network.core import NETWORK_CRS, RoadNetwork, build_network
from smaby_geo.network.ferry import (
    check_same_boat_routes,
    connect_ferry_ends,
    expand_ferry_routes,
    ferry_routes,
    same_boat_route_name,
)
from smaby_geo.network.linktimes import (
    compute_link_times,
    curvature_deg_per_km,
    read_builtup,
    urban_fraction,
)
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.roadside import (
    DEFAULT_POPULATION,
    ROADSIDE_COLUMN,
    measure_roadside_densities,
    with_grid_attribution,
)

# Kartverket `vegkategori` -> prefix of the Norwegian road number (E6, Rv3, Fv30, Kv, Pv).
ROAD_NUMBER_PREFIX = {"E": "E", "R": "Rv", "F": "Fv", "K": "Kv", "P": "Pv", "S": "Sv"}


def format_road_number(category: object, number: float | None) -> str | None:
    """Return the Norwegian road number, e.g. ``("R", 3) -> "Rv3"``; None when unnumbered."""
    if not isinstance(category, str) or number is None or pd.isna(number):
        return None
    prefix = ROAD_NUMBER_PREFIX.get(category, category)
    return f"{prefix}{int(number)}"


def node_points(xy: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Group points closer than ``tolerance_m`` into nodes.

    Parameters
    ----------
    xy : ndarray, shape (k, 2)
        Point coordinates in metres.
    tolerance_m : float
        Points within this distance (transitively) become one node; 0 means exact equality.

    Returns
    -------
    labels : ndarray of int64, shape (k,)
        Node number of each point.
    node_xy : ndarray, shape (n_nodes, 2)
        Mean coordinate of each node's points.
    """
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        raise ValueError(f"tolerance_m must be a finite number >= 0, got {tolerance_m!r}")
    if tolerance_m == 0:
        _, labels = np.unique(xy, axis=0, return_inverse=True)
    else:
        pairs = cKDTree(xy).query_pairs(r=tolerance_m, output_type="ndarray")
        k = len(xy)
        adj = sparse.coo_matrix(
            (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k)
        ).tocsr()
        _, labels = csgraph.connected_components(adj, directed=False)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    n = int(labels.max()) + 1 if len(labels) else 0
    cnt = np.bincount(labels, minlength=n)
    node_xy = np.column_stack(
        [
            np.bincount(labels, weights=xy[:, 0], minlength=n) / cnt,
            np.bincount(labels, weights=xy[:, 1], minlength=n) / cnt,
        ]
    )
    return labels, node_xy


def _finish(
    links: pd.DataFrame,
    geometry: gpd.GeoSeries | None,
    node_xy: np.ndarray,
    *,
    source: str,
    attribution: str,
    report: dict,
    keep: str,
    t0: float,
) -> RoadNetwork:
    if keep not in ("all", "largest"):
        raise ValueError(f"keep must be 'all' or 'largest', got {keep!r}")
    links = links.reset_index(drop=True)
    if geometry is not None:
        links = gpd.GeoDataFrame(
            links, geometry=geometry.reset_index(drop=True).to_numpy(), crs=NETWORK_CRS
        )
    net = build_network(
        links,
        node_xy[:, 0],
        node_xy[:, 1],
        source=source,
        attribution=attribution,
        report=report,
    )
    if keep == "largest":
        net = net.largest_component()
    # wall time of the whole read + build, file reading included
    net.report["build_seconds"] = time.perf_counter() - t0
    return net


def _check_profile(profile) -> CarProfile:
    if profile is None:
        return CarProfile()
    if not isinstance(profile, CarProfile):
        raise ValueError(f"profile must be a CarProfile, got {type(profile).__name__}")
    return profile


def _finish_profiled(
    links: pd.DataFrame,
    geoms: np.ndarray,
    node_xy: np.ndarray,
    *,
    profile: CarProfile,
    builtup,
    source: str,
    attribution: str,
    report: dict,
    keep: str,
    t0: float,
    connect_ferries: bool = True,
    population=None,
    same_boat_routes=None,
) -> RoadNetwork:
    """Join ferry ends, measure urban shares, time every link with ``profile``, build.

    ``same_boat_routes`` (groups of road numbers that are one boat, ``ferry.ferry_routes``)
    goes to ``expand_ferry_routes``; when given it is also named in the network's ``source``
    (so in every output's metadata) and ``report["ferry_routes"]["same_boat_routes"]``.

    ``population`` ("default", a grid CSV path or None) gives the roadside residents per km
    of each link (``smaby_geo.network.roadside``; 0 when None). With ``"default"`` and a
    profile whose roadside term is off they are left NaN, to be measured by
    ``compute_link_times`` when a profile with the term needs them.
    """
    if keep not in ("all", "largest"):
        raise ValueError(f"keep must be 'all' or 'largest', got {keep!r}")
    if connect_ferries and links["ferry"].any():
        links, geoms, node_xy, fc = connect_ferry_ends(links, geoms, node_xy, profile.ferry)
        con = links["connector"].to_numpy(dtype=bool)
        links.loc[con, "time_basis"] = "connector"
        links.loc[con, ["fw_open", "bw_open"]] = True
        report["ferry_connectors"] = fc
    else:
        links["connector"] = False
        if "split_from" not in links:
            links["split_from"] = None
    links["curvature_deg_per_km"] = curvature_deg_per_km(geoms)
    areas = read_builtup(builtup)
    if areas is not None:
        frac = urban_fraction(geoms, areas)
        ferry = links["ferry"].to_numpy(dtype=bool)
        frac[ferry] = 0.0
        links["urban_fraction"] = frac
        report["urban"] = {
            "source": areas.attrs.get("name", "built-up layer"),
            "areas": len(areas),
            "empty_rows_skipped": areas.attrs.get("empty_rows", 0),
            "km_inside": round(float((frac * links["length_m"].to_numpy()).sum()) / 1000.0, 1),
            "links_touching": int((frac > 0).sum()),
        }
    else:
        links["urban_fraction"] = 0.0
        if (links["time_basis"] == "category").any():
            report["urban"] = {"off": "builtup=None"}
    term_on = profile.roadside_density_scale_residents_per_km is not None
    if isinstance(population, str) and population == DEFAULT_POPULATION and not term_on:
        # not measured until a profile with the roadside term needs them (compute_link_times)
        links[ROADSIDE_COLUMN] = np.nan
        report["roadside"] = {"deferred": "measured when a profile's roadside term needs them"}
    else:
        rho, roadside_report = measure_roadside_densities(
            geoms, links["ferry"].to_numpy(dtype=bool), population
        )
        links[ROADSIDE_COLUMN] = rho
        if population is None and term_on and (links["time_basis"] == "category").any():
            warnings.warn(
                "the profile's roadside term has no densities to act on ("
                f"{roadside_report['off']}): every link counts as empty road",
                stacklevel=3,
            )
        if population is not None:
            report["roadside"] = roadside_report
            attribution = with_grid_attribution(attribution, roadside_report)
    groups = check_same_boat_routes(same_boat_routes)
    if links["ferry"].any():
        # turn-aware waits: route copies and transfer links (smaby_geo.network.ferry)
        calls = [c["node"] for c in report.get("ferry_connectors", {}).get("calls", [])]
        links, geoms, node_xy, fr = expand_ferry_routes(
            links, geoms, node_xy, groups, call_nodes=calls
        )
        report["ferry_routes"] = fr
    elif groups:
        ferry_routes(links, groups)  # no ferry link has these numbers: its error names one
    if groups:
        source = f"{source}; same boat: {', '.join(same_boat_route_name(g) for g in groups)}"
    links = compute_link_times(links, profile)
    net = _finish(
        links,
        gpd.GeoSeries(geoms, crs=NETWORK_CRS),
        node_xy,
        source=source,
        attribution=attribution,
        report=report,
        keep=keep,
        t0=t0,
    )
    net.profile = profile
    return net
