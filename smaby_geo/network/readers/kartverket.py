"""Kartverket N1000/N2000 ``Veglenke`` reader.

N1000 is noded at junctions; nodes come from endpoint coordinates, so crossings without a
shared vertex (bridges, tunnels) stay apart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from smaby_geo import datasets
from smaby_geo.network._validate import check_line_layer, endpoints
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.ferry import check_same_boat_routes, new_link_ids
from smaby_geo.network.linktimes import DEFAULT_BUILTUP
from smaby_geo.network.noding import SAME_ROAD_GAP_M, join_dead_ends
from smaby_geo.network.profile import N1000_DRIVABLE_TYPES, CarProfile
from smaby_geo.network.readers._common import (
    _check_profile,
    _finish_profiled,
    format_road_number,
    node_points,
)
from smaby_geo.network.roadside import DEFAULT_POPULATION


def read_kartverket(
    path: str | os.PathLike | gpd.GeoDataFrame | None = None,
    *,
    dataset: str = "n1000_roads",
    profile: CarProfile | None = None,
    tolerance_m: float = 0.5,
    include_planned: bool = False,
    drivable_types: tuple[str, ...] = N1000_DRIVABLE_TYPES,
    keep: str = "all",
    builtup: str | os.PathLike | gpd.GeoDataFrame | None = DEFAULT_BUILTUP,
    connect_ferries: bool = True,
    population: str | os.PathLike | None = DEFAULT_POPULATION,
    join_dead_ends_m: float | None = SAME_ROAD_GAP_M,
    same_boat_routes: Sequence[Sequence[str]] | None = None,
) -> RoadNetwork:
    """Read a Kartverket N1000/N2000 ``Veglenke`` layer into a car network.

    Parameters
    ----------
    path : path-like or GeoDataFrame, optional
        File (or a layer already read); default: dataset ``dataset`` from the registry.
    dataset : {"n1000_roads", "n2000_roads"}
        Registry entry used when ``path`` is None.
    profile : CarProfile, optional
        Speeds, length factor and ferry model; default ``CarProfile()``.
    tolerance_m : float, default 0.5
        Endpoints within this distance in metres share a node. Lines are joined only at their
        endpoints: N1000 is noded at junctions, so lines that cross without a shared vertex
        (bridges, tunnels) stay unconnected.
    include_planned : bool, default False
        Keep links with ``vegfase`` P (planned roads; 13 links in N1000).
    drivable_types : tuple of str
        ``typeVeg`` values a car may use; other links (sti, barmarksløype, passasjerferje) are
        excluded and counted in ``report["excluded"]``.
    keep : {"all", "largest"}
        Keep every strongly connected component, or only the largest (the removed part is
        counted in ``report``).
    builtup : "default", path-like, GeoDataFrame or None
        Built-up area polygons for urban speeds. ``"default"`` (the default) uses the
        registry's ``builtup_areas`` (N1000 ``Tettbebyggelse``), fetched when it is not on
        this machine (``DatasetNotFoundError`` naming the fixes when that fails); None
        switches urban speeds off (``report["urban"]`` says so); a path or GeoDataFrame gives
        polygons of your own.
    connect_ferries : bool, default True
        Join ferry ends that touch no road by connectors; False keeps them as dead ends
        (for comparisons only).
    join_dead_ends_m : float or None, default ``SAME_ROAD_GAP_M`` (50 m)
        Junctions the data drew but did not split (``smaby_geo.network.noding``): a road
        that ends on another link (within ``tolerance_m``) or within this many metres of a
        link of its own road number is joined to it there, the other link split
        (``report["dead_ends_joined"]``; N1000: 12 joins, 11 on another link's vertex and one
        1.5 m gap). None leaves the lines as they are (for comparisons only).
    population : "default", path-like or None
        SSB 250 m population grid for the roadside settlement term (each link's
        ``roadside_residents_per_km``, ``smaby_geo.network.roadside``): ``"default"`` the
        registry's ``popgrid_250m`` (fetched when missing), measured only when a profile with
        the term on needs them — the default profile has it off — (NaN until then: this read if
        ``profile`` has the term, else the first ``with_profile`` that does;
        ``DatasetNotFoundError`` naming the fixes if the grid cannot be had then); a path a
        grid CSV of your own, measured now; None 0 everywhere (the profile's term then
        changes nothing, with a warning).
    same_boat_routes : sequence of sequences of str, optional
        Groups of road numbers that are one boat calling at several quays, e.g.
        ``[("Fv57", "Fv606")]``: each group is one ferry route
        (``smaby_geo.network.ferry.ferry_routes``), so a car staying aboard from one
        number's quay to the other's waits once, not twice. Default none: each road number
        is its own route (the data carry no route ids, and no list of same-boat numbers is
        shipped). A number no car-ferry link has, a number in two groups or a non-string is
        a ``ValueError``; the groups are named in ``net.source`` and ``net.describe()``.

    Returns
    -------
    RoadNetwork
        Both directions of every link (N1000 has no one-way data). Road links take
        ``length_m * profile.length_factor`` at the rural speed of their class for the part
        outside built-up areas and at the urban speed for the part inside
        (``urban_fraction``). Car ferries take the ferry model's crossing + wait (charged
        once per crossing); a ferry end that touches no road is joined to the nearest road by
        a connector (``smaby_geo.network.ferry.connect_ferry_ends``; counted in
        ``report["ferry_connectors"]``). ``net.profile`` is ``profile``.
    """
    t0 = time.perf_counter()
    profile = _check_profile(profile)
    check_same_boat_routes(same_boat_routes)  # before the file is read
    if isinstance(path, gpd.GeoDataFrame):
        gdf, src = path, "GeoDataFrame"
    else:
        file = datasets.locate_dataset(dataset, path)
        gdf = pyogrio.read_dataframe(file, fid_as_index=True)
        src = f"{dataset} ({file.name})"
    gdf = check_line_layer(gdf, f"Kartverket road layer {src}")
    for col in ("typeVeg", "vegkategori"):
        if col not in gdf.columns:
            raise ValueError(f"Kartverket road layer {src} has no {col!r} column")
    excluded: dict[str, int] = {}
    drivable = gdf["typeVeg"].isin(drivable_types)
    for t, c in gdf.loc[~drivable, "typeVeg"].fillna("missing").value_counts().items():
        excluded[f"typeVeg={t}"] = int(c)
    planned = (gdf["vegfase"] == "P") if "vegfase" in gdf.columns else False
    if not include_planned:
        n_planned = int((planned & drivable).sum())
        if n_planned:
            excluded["vegfase=P (planned)"] = n_planned
        drivable &= ~planned
    gdf = gdf.loc[drivable]
    if len(gdf) == 0:
        raise ValueError(f"Kartverket road layer {src} has no drivable links")
    number = gdf["vegnummer"] if "vegnummer" in gdf else pd.Series(np.nan, index=gdf.index)
    road_number = np.array(
        [format_road_number(c, n) for c, n in zip(gdf["vegkategori"], number, strict=True)],
        dtype=object,
    )
    geoms = gdf.geometry.to_numpy()
    ferry = (gdf["typeVeg"] == "bilferje").to_numpy()
    ids = gdf.index.to_numpy()
    rows = np.arange(len(gdf))
    junctions = None
    if join_dead_ends_m is not None:
        if not np.isfinite(join_dead_ends_m) or join_dead_ends_m < 0:
            raise ValueError(
                f"join_dead_ends_m must be a finite number of metres >= 0 (default "
                f"{SAME_ROAD_GAP_M:g}), or None to leave the lines as they are; got "
                f"{join_dead_ends_m!r}"
            )
        rows, geoms, _, junctions = join_dead_ends(
            geoms, road_number, ferry, tolerance_m=tolerance_m, same_road_gap_m=join_dead_ends_m
        )
    # a split link's pieces and a dead end's connector (timed as the dead end's road): the
    # first row of a link keeps its id, the others get fresh ones; all remember it
    piece = np.r_[False, rows[1:] == rows[:-1]]
    split = np.bincount(rows, minlength=len(gdf))[rows] > 1
    fresh = iter(new_link_ids(ids, int(piece.sum()), "link"))
    link_ids = np.array([next(fresh) if p else i for i, p in zip(ids[rows], piece, strict=True)])
    gdf = gdf.iloc[rows]
    first, last = endpoints(geoms)
    labels, node_xy = node_points(np.vstack([first, last]), tolerance_m)
    k = len(gdf)
    category = gdf["vegkategori"].to_numpy(dtype=object)
    motorway = (
        gdf["motorvegtype"].to_numpy(dtype=object) if "motorvegtype" in gdf else np.full(k, None)
    )
    medium = gdf["medium"] if "medium" in gdf else pd.Series(None, index=gdf.index)
    ferry = ferry[rows]
    links = pd.DataFrame(
        {
            "link_id": link_ids,
            "u": labels[:k],
            "v": labels[k:],
            "seconds_fw": np.nan,
            "seconds_bw": np.nan,
            "length_m": shapely.length(geoms),
            "category": category,
            "road_number": road_number[rows],
            "ferry": ferry,
            "time_basis": np.where(ferry, "ferry", "category").astype(object),
            "fw_open": True,
            "bw_open": True,
            "motorway": motorway,
            "tunnel": (medium == "U").to_numpy(),
            "bridge": (medium == "L").to_numpy(),
            "split_from": np.where(split, ids[rows], None),
        }
    )
    report = {"links_read": len(drivable), "excluded": excluded}
    if junctions is not None:
        report["dead_ends_joined"] = junctions
    return _finish_profiled(
        links,
        geoms,
        node_xy,
        profile=profile,
        builtup=builtup,
        source=src,
        attribution=datasets.KARTVERKET,
        report=report,
        keep=keep,
        t0=t0,
        connect_ferries=connect_ferries,
        population=population,
        same_boat_routes=same_boat_routes,
    )
