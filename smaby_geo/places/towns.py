"""Towns from Kartverket's N1000 built-up areas and the SSB population grid.

A *town* here is a populated place found in the data by a documented rule:

1. **Built-up areas.** N1000 ``Tettbebyggelse`` polygons (1:1,000,000) that touch or overlap
   are merged into one area. Every 250 m grid cell whose centre lies inside an area, or within
   ``polygon_buffer_m`` of it (the generalised outline cuts corners), belongs to the nearest
   area. The area's population is the sum of its cells.
2. **Grid clusters where no polygon exists.** Cells outside every built-up area whose density
   reaches ``dense_per_km2`` (default 300 residents per km², the density of Eurostat's
   DEGURBA "urban cluster") are joined into 8-neighbour clusters; a cluster of at least
   ``village_min_population`` residents is a town of source ``grid_cluster``.
3. **One continuous settlement is one town** (``places.town_merge``, SSB's tettsted rule):
   areas and clusters linked by a chain of cells of at least ``settled_per_km2`` residents per
   km², each within ``merge_gap_m`` (400 m, SSB's satellite distance) of the next, are merged
   (N1000's generalised outlines split Ålesund and Spjelkavik, Drammen and Krokstadelva).
4. **Classes by population** (named thresholds below, each with its source): ``large_city``,
   ``town``, ``small_town`` (småby) and ``village``.

Each town is named after an N1000 label inside or near its own outline (``places.town_names``:
the largest place type, never a label beyond ``name_radius_m`` or inside another town; else
its kommune's name), carries the kommune of its centre
cell, and its centre is the populated cell nearest to the population-weighted mean of its cells
(so it is never in a fjord).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from smaby_geo import datasets
from smaby_geo._compat import renamed_kwargs
from smaby_geo.network._validate import check_polygon_layer
from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.places.town_merge import MERGE_GAP_M, SETTLED_PER_KM2, link_settlement_groups
from smaby_geo.places.town_names import NAME_RADIUS_M, name_towns
from smaby_geo.places.town_names import (  # noqa: F401 (the old private path)
    resolve_primary_names as _primary_names,
)

# Class thresholds (residents of the town).
# LARGE_CITY_MIN_POPULATION: 50,000 — the old SSB centrality standard's level-3 tettsted
# (SSB, "Standard
#   for sentralitet", METHODS §2) and the EU/OECD city definition (an urban centre of at least
#   50,000 people; Dijkstra & Poelman 2014, DG REGIO WP 01/2014).
# TOWN_MIN_POPULATION: 15,000 — the old SSB standard's level-2 tettsted (15,000-50,000).
# SMALL_TOWN_MIN_POPULATION: 5,000 — the old SSB standard's level-1 tettsted (5,000-15,000),
#   Eurostat
#   DEGURBA's minimum urban cluster (5,000 people), and the lower end of the towns of
#   "roughly 5,000-50,000" the district strategy speaks of (småbyer).
# VILLAGE_MIN_POPULATION: 200 — SSB's tettsted definition (at least 200 residents).
LARGE_CITY_MIN_POPULATION = 50_000
TOWN_MIN_POPULATION = 15_000
SMALL_TOWN_MIN_POPULATION = 5_000
VILLAGE_MIN_POPULATION = 200

# minimum populations were ``*_min`` until 0.2 (``_min`` means minutes elsewhere)
_POPULATION_RENAMES = {
    "village_min": "village_min_population",
    "small_town_min": "small_town_min_population",
    "town_min": "town_min_population",
    "large_city_min": "large_city_min_population",
}

# Eurostat DEGURBA urban-cluster density: 300 residents per km² (Dijkstra & Poelman 2014).
DENSE_PER_KM2 = 300.0
# N1000 outlines are generalised to 1:1,000,000: cells within one cell width of an outline
# count as inside.
POLYGON_BUFFER_M = 250.0
# Largest polygon_buffer_m and merge_gap_m, metres: 25 times SSB's 400 m satellite distance.
# A wider gap joins places no one counts as one settlement, and the pair search of
# town_merge grows with its square.
MAX_TOWN_GAP_M = 10_000.0

TOWN_CLASSES: tuple[str, ...] = ("large_city", "town", "small_town", "village")
CLASS_RANK: dict[str, int] = {"village": 0, "small_town": 1, "town": 2, "large_city": 3}
BUILTUP_LAYER = "tettbebyggelse"


def read_builtup_areas(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Read the N1000 built-up areas and merge polygons that touch or overlap.

    Parameters
    ----------
    path : path-like, optional
        Explicit GeoPackage; default the registry's ``builtup_areas``.

    Returns
    -------
    GeoDataFrame
        ``builtup_id`` (0..n-1), ``parts`` (source polygons merged), polygon geometry in
        EPSG:25833.

    Raises
    ------
    ValueError
        A file that is not a polygon layer (a CSV table, lines or points), without CRS or
        empty, as ``network.load_network(builtup=...)`` refuses it
        (``network._validate.check_polygon_layer``, which also repairs invalid polygons with
        a warning). Rows with no geometry are dropped and counted in ``attrs["empty_rows"]``,
        as ``network.linktimes.read_builtup`` does.
    """
    file = datasets.locate_dataset("builtup_areas", path)
    layers = [row[0] for row in pyogrio.list_layers(file)]
    layer = BUILTUP_LAYER if BUILTUP_LAYER in layers else layers[0]
    name = f"built-up areas {Path(file).name}"
    g, n_empty = check_polygon_layer(pyogrio.read_dataframe(file, layer=layer), name)
    out = merge_touching(g.to_crs(NETWORK_CRS))
    out.attrs.update(name=name, empty_rows=n_empty)  # N1000: 989 of 1,191 rows are empty
    return out


def merge_touching(polygons: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Merge polygons that touch or overlap into one area each.

    Returns
    -------
    GeoDataFrame
        ``builtup_id``, ``parts``, geometry (EPSG of the input).
    """
    geoms = shapely.make_valid(polygons.geometry.to_numpy())
    n = len(geoms)
    if n == 0:
        return gpd.GeoDataFrame(
            {"builtup_id": [], "parts": []}, geometry=[], crs=polygons.crs
        )
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    out = []
    for k in range(lab.max() + 1):
        members = np.flatnonzero(lab == k)
        out.append((k, len(members), shapely.union_all(geoms[members])))
    return gpd.GeoDataFrame(
        {"builtup_id": [o[0] for o in out], "parts": [o[1] for o in out]},
        geometry=[o[2] for o in out],
        crs=polygons.crs,
    )


@renamed_kwargs(**_POPULATION_RENAMES)
def classify_population(
    population,
    *,
    village_min_population: int = VILLAGE_MIN_POPULATION,
    small_town_min_population: int = SMALL_TOWN_MIN_POPULATION,
    town_min_population: int = TOWN_MIN_POPULATION,
    large_city_min_population: int = LARGE_CITY_MIN_POPULATION,
) -> np.ndarray:
    """Town class of each population (see the module's thresholds and their sources).

    Returns
    -------
    ndarray of str
        ``large_city`` >= large_city_min_population > ``town`` >= town_min_population >
        ``small_town`` >=
        small_town_min_population > ``village`` >= village_min_population > ``""`` (not a town).
    """
    if not (
        0
        < village_min_population
        < small_town_min_population
        < town_min_population
        < large_city_min_population
    ):
        raise ValueError(
            "class thresholds must satisfy 0 < village_min_population < "
            "small_town_min_population < town_min_population < large_city_min_population; got "
            f"{village_min_population}, {small_town_min_population}, {town_min_population}, "
            f"{large_city_min_population}"
        )
    p = np.asarray(population, dtype=float)
    return np.select(
        [
            p >= large_city_min_population,
            p >= town_min_population,
            p >= small_town_min_population,
            p >= village_min_population,
        ],
        ["large_city", "town", "small_town", "village"],
        default="",
    )


def _assign_to_areas(x, y, areas: gpd.GeoDataFrame, buffer_m: float) -> np.ndarray:
    """Index of the nearest area within ``buffer_m`` of each point, -1 where none."""
    out = np.full(len(x), -1, dtype=np.int64)
    if len(areas) == 0 or len(x) == 0:
        return out
    pts = shapely.points(x, y)
    geoms = areas.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    pi, ai = tree.query(pts, predicate="dwithin", distance=buffer_m)
    if len(pi) == 0:
        return out
    d = shapely.distance(pts[pi], geoms[ai])
    order = np.lexsort((ai, d, pi))
    pi, ai = pi[order], ai[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = ai[first]
    return out


def _grid_clusters(cells: pd.DataFrame, free: np.ndarray, dense_pop: float) -> np.ndarray:
    """8-neighbour clusters of dense cells among ``free`` cells; -1 elsewhere."""
    lab_out = np.full(len(cells), -1, dtype=np.int64)
    pop = cells["population"].to_numpy(dtype=float)
    sel = np.flatnonzero(free & (pop >= dense_pop))
    if len(sel) == 0:
        return lab_out
    size = float(cells["cell_size_m"].iloc[0])
    xs = cells["x_sw"].to_numpy()[sel]
    ys = cells["y_sw"].to_numpy()[sel]
    col = ((xs - xs.min()) // size).astype(np.int64)
    row = ((ys - ys.min()) // size).astype(np.int64)
    grid = np.zeros((row.max() + 1, col.max() + 1), dtype=bool)
    grid[row, col] = True
    labels, _ = ndimage.label(grid, structure=np.ones((3, 3), dtype=bool))
    lab_out[sel] = labels[row, col] - 1
    return lab_out


@renamed_kwargs(**_POPULATION_RENAMES)
def _check_town_options(**options: float | None) -> None:
    """Refuse a distance or density of ``build_towns`` out of its range (one line each).

    ``polygon_buffer_m`` and ``merge_gap_m`` (None allowed: no merging): finite, 0 to
    ``MAX_TOWN_GAP_M``; ``name_radius_m``: finite, >= 0; ``dense_per_km2`` and
    ``settled_per_km2``: finite, > 0.
    """
    for name, value in options.items():
        if name == "merge_gap_m" and value is None:
            continue
        number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        )
        v = float(value) if number else math.nan  # type: ignore[arg-type]
        if name.endswith("_per_km2"):
            ok, want = math.isfinite(v) and v > 0, "a finite density > 0"
        elif name in ("polygon_buffer_m", "merge_gap_m"):
            ok = math.isfinite(v) and 0 <= v <= MAX_TOWN_GAP_M
            want = f"a finite distance from 0 to {MAX_TOWN_GAP_M:,.0f} m"
        else:
            ok, want = math.isfinite(v) and v >= 0, "a finite distance >= 0 m"
        if not ok:
            extra = " (or None: no merging)" if name == "merge_gap_m" else ""
            raise ValueError(f"{name} must be {want}{extra}, got {value!r}")


def build_towns(
    cells: gpd.GeoDataFrame,
    builtup: gpd.GeoDataFrame | None = None,
    *,
    place_names: gpd.GeoDataFrame | None = None,
    polygon_buffer_m: float = POLYGON_BUFFER_M,
    dense_per_km2: float = DENSE_PER_KM2,
    village_min_population: int = VILLAGE_MIN_POPULATION,
    small_town_min_population: int = SMALL_TOWN_MIN_POPULATION,
    town_min_population: int = TOWN_MIN_POPULATION,
    large_city_min_population: int = LARGE_CITY_MIN_POPULATION,
    name_radius_m: float = NAME_RADIUS_M,
    merge_gap_m: float | None = MERGE_GAP_M,
    settled_per_km2: float = SETTLED_PER_KM2,
    return_cells: bool = False,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, pd.Series]:
    """Towns from built-up areas and grid clusters, with population and class.

    Parameters
    ----------
    cells : GeoDataFrame
        ``read_population_grid`` output (``population``, ``x_sw``, ``y_sw``, ``cell_size_m``,
        kommune fields, point geometry at cell centres, EPSG:25833); one cell size.
    builtup : GeoDataFrame, optional
        Built-up area polygons (``read_builtup_areas``); None = grid clusters only.
    place_names : GeoDataFrame, optional
        ``read_place_names()`` output to name the towns.
    polygon_buffer_m : float, default 250
        Cells whose centre lies within this distance (metres) of a built-up outline belong
        to it (see ``POLYGON_BUFFER_M``).
    dense_per_km2 : float, default 300
        Density (residents per km²) of a cell that can seed a grid-cluster town (DEGURBA).
    village_min_population, small_town_min_population, town_min_population, \
    large_city_min_population : int
        Class thresholds in residents (module constants give the sources). Areas and clusters
        under ``village_min_population`` are not towns; their cells count as rural.
    name_radius_m : float, default 6000
        Labels farther than this (metres) from the town's outline never name it
        (``town_names.NAME_RADIUS_M``); nor does a label inside another town's outline.
        Among the others the largest
        place type wins (by > tettsted > ...), then the name of the town's own kommune, then
        the label nearest the centre; a label goes to one town only (the most populous that
        wants it); a town left without one takes its kommune's name (``name_source``
        ``kommune``, numbered "(2)" when taken). Parallel names printed under a primary label
        (Tråante under Trondheim) give the primary name, and hyphen-split labels are joined.
    merge_gap_m : float or None, default 400
        Areas and clusters linked by a chain of settled cells with open gaps of at most this
        many metres become one town (``town_merge.MERGE_GAP_M``, SSB's 400 m satellite
        distance); None keeps every area and cluster apart (the rule before 0.3).
    settled_per_km2 : float, default 300
        Density (residents per km²) from which a cell carries the chain
        (``town_merge.SETTLED_PER_KM2``, DEGURBA's urban-cluster density).
    return_cells : bool, default False
        Also return the town of every cell.

    Returns
    -------
    GeoDataFrame
        Indexed by ``town_id``: ``name``, ``name_distance_m`` (label to centre; NaN for a
        kommune name), ``name_source`` (``label`` or ``kommune``), ``town_class``,
        ``population``, ``cells``, ``area_km2`` (of the outline or the cells), ``source``
        (``n1000_builtup`` when an N1000 area is part of it, else ``grid_cluster``),
        ``parts`` (areas and clusters merged into it), kommune fields of the centre cell,
        ``centre_x``/``centre_y`` (EPSG:25833 metres), polygon geometry; ``attrs`` holds
        ``attribution`` and the ``thresholds`` used. With ``return_cells``, also the town of
        every cell (Series ``town_id`` indexed like ``cells``, -1 = in no town): the towns'
        populations plus the population of cells in no town equal the cells' total.
    """
    need = {"x_sw", "y_sw", "cell_size_m", "population"}
    if not need <= set(cells.columns):
        raise ValueError(f"cells need columns {sorted(need)}; have {list(cells.columns)}")
    sizes = cells["cell_size_m"].unique()
    if len(sizes) != 1:
        raise ValueError(f"cells mix cell sizes {sorted(sizes)}; build towns from one grid")
    _check_town_options(
        polygon_buffer_m=polygon_buffer_m,
        dense_per_km2=dense_per_km2,
        name_radius_m=name_radius_m,
        merge_gap_m=merge_gap_m,
        settled_per_km2=settled_per_km2,
    )
    classify_population(
        [0],
        village_min_population=village_min_population,
        small_town_min_population=small_town_min_population,
        town_min_population=town_min_population,
        large_city_min_population=large_city_min_population,
    )
    size = float(sizes[0])
    x = cells.geometry.x.to_numpy()
    y = cells.geometry.y.to_numpy()
    pop = cells["population"].to_numpy(dtype=float)
    areas = builtup if builtup is not None else gpd.GeoDataFrame(geometry=[], crs=NETWORK_CRS)
    if len(areas) and areas.crs != NETWORK_CRS:
        areas = areas.to_crs(NETWORK_CRS)
    area_of = _assign_to_areas(x, y, areas, polygon_buffer_m)
    dense_pop = dense_per_km2 * (size / 1000.0) ** 2
    cluster_of = _grid_clusters(cells, area_of < 0, dense_pop)
    n_area = len(areas)
    # one label space: areas first, then clusters
    part = np.where(area_of >= 0, area_of, np.where(cluster_of >= 0, n_area + cluster_of, -1))
    in_group = part >= 0
    n_parts = int(part.max()) + 1 if in_group.any() else 0
    # areas and clusters that form one continuous settlement become one (town_merge)
    merged = np.arange(n_parts)
    if merge_gap_m is not None and n_parts:
        col = ((cells["x_sw"].to_numpy() - cells["x_sw"].min()) // size).astype(np.int64)
        row = ((cells["y_sw"].to_numpy() - cells["y_sw"].min()) // size).astype(np.int64)
        merged = link_settlement_groups(
            col, row, part, pop, cell_size_m=size, settled_per_km2=settled_per_km2,
            merge_gap_m=merge_gap_m,
        )
    group = np.where(in_group, merged[np.maximum(part, 0)], -1)
    n_groups = int(merged.max()) + 1 if n_parts else 0
    gp = np.bincount(group[in_group], weights=pop[in_group], minlength=n_groups)
    keep = gp >= village_min_population
    ids = np.flatnonzero(keep)
    new_id = np.full(n_groups, -1, dtype=np.int64)
    new_id[ids] = np.arange(len(ids))
    town = np.where(in_group, new_id[np.maximum(group, 0)], -1)
    town[~in_group] = -1

    member = town >= 0
    tm = town[member]
    n = len(ids)
    tot = np.bincount(tm, weights=pop[member], minlength=n)
    cnt = np.bincount(tm, minlength=n)
    w = pop[member] + 1e-9
    mx = np.bincount(tm, weights=w * x[member], minlength=n) / np.bincount(tm, w, minlength=n)
    my = np.bincount(tm, weights=w * y[member], minlength=n) / np.bincount(tm, w, minlength=n)
    # centre = member cell nearest the weighted mean
    midx = np.flatnonzero(member)
    dist = np.hypot(x[midx] - mx[tm], y[midx] - my[tm])
    order = np.lexsort((dist, tm))
    first = order[np.r_[True, tm[order][1:] != tm[order][:-1]]]
    centre_cell = midx[first]
    cx, cy = x[centre_cell], y[centre_cell]

    geoms = np.empty(n, dtype=object)
    has_area = np.zeros(n, dtype=bool)
    n_merged = np.zeros(n, dtype=np.int64)  # areas and clusters merged into the town
    for k, gid in enumerate(ids):
        members = np.flatnonzero(merged == gid)
        outlines = [areas.geometry.iloc[m] for m in members[members < n_area]]
        sel = midx[(tm == k) & (part[midx] >= n_area)]  # grid-cluster cells of the town
        if len(sel):
            xs, ys = cells["x_sw"].to_numpy()[sel], cells["y_sw"].to_numpy()[sel]
            outlines.append(shapely.union_all(shapely.box(xs, ys, xs + size, ys + size)))
        geoms[k] = outlines[0] if len(outlines) == 1 else shapely.union_all(outlines)
        has_area[k] = bool((members < n_area).any())
        n_merged[k] = len(np.unique(part[midx[tm == k]]))
    source = np.where(has_area, "n1000_builtup", "grid_cluster")
    kommune_names = (
        cells["kommunenavn"].to_numpy()[centre_cell] if "kommunenavn" in cells.columns else None
    )
    name, name_m, name_source = name_towns(
        place_names, geoms, cx, cy, tot, name_radius_m=name_radius_m, kommune_names=kommune_names
    )
    out = gpd.GeoDataFrame(
        {
            "name": name,
            "name_distance_m": np.round(name_m, 0),
            "name_source": name_source,
            "town_class": classify_population(
                tot,
                village_min_population=village_min_population,
                small_town_min_population=small_town_min_population,
                town_min_population=town_min_population,
                large_city_min_population=large_city_min_population,
            ),
            "population": np.round(tot).astype(np.int64),
            "cells": cnt,
            "source": source,
            "parts": n_merged,
        },
        index=pd.RangeIndex(n, name="town_id"),
        geometry=list(geoms),
        crs=NETWORK_CRS,
    )
    out["area_km2"] = out.geometry.area / 1e6
    for c in ("kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn"):
        if c in cells.columns:
            out[c] = cells[c].to_numpy()[centre_cell]
    out["centre_x"], out["centre_y"] = cx, cy
    out.attrs["attribution"] = " | ".join(
        dict.fromkeys([datasets.KARTVERKET, cells.attrs.get("attribution") or datasets.SSB])
    )
    out.attrs["thresholds"] = {
        "village_min_population": village_min_population,
        "small_town_min_population": small_town_min_population,
        "town_min_population": town_min_population,
        "large_city_min_population": large_city_min_population,
        "dense_per_km2": dense_per_km2,
        "polygon_buffer_m": polygon_buffer_m,
        "merge_gap_m": merge_gap_m,
        "settled_per_km2": settled_per_km2,
        "name_radius_m": name_radius_m,
    }
    if return_cells:
        return out, pd.Series(town, index=cells.index, name="town_id")
    return out


@renamed_kwargs(**_POPULATION_RENAMES)
def towns(
    cells: gpd.GeoDataFrame | None = None,
    *,
    builtup_path: str | os.PathLike | None = None,
    **options,
) -> gpd.GeoDataFrame:
    """Towns of Norway (or of ``cells``) from the registry's data: see ``build_towns``.

    Parameters
    ----------
    cells : GeoDataFrame, optional
        Population grid cells; default the national 250 m grid (``read_population_grid``).
    builtup_path : path-like, optional
        Explicit built-up area file (default the registry's ``builtup_areas``).
    **options
        Passed to ``build_towns`` (thresholds, buffers).
    """
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.population import read_population_grid

    cells = read_population_grid("250m") if cells is None else cells
    return build_towns(
        cells, read_builtup_areas(builtup_path), place_names=read_place_names(), **options
    )


def town_centres(towns_gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The towns as points at their centre cells (for routing), same index and columns."""
    pts = gpd.points_from_xy(towns_gdf["centre_x"], towns_gdf["centre_y"])
    out = gpd.GeoDataFrame(towns_gdf.drop(columns="geometry"), geometry=pts, crs=NETWORK_CRS)
    out.attrs.update(towns_gdf.attrs)
    return out
