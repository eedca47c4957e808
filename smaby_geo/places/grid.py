"""Square grid cells: their polygons and coarser aggregates (used by analysis and outputs).

Grid tables carry the south-west corner of each cell (``x_sw``, ``y_sw``, EPSG:25833 metres)
and its side ``cell_size_m``, as ``read_population_grid`` and ``travel_times`` write them.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

__all__ = ["cell_squares", "coarsen_cells", "dissolve_cells", "polygons_from_shapes"]


def cell_squares(table: pd.DataFrame) -> np.ndarray:
    """Square polygons of grid cells from ``x_sw``, ``y_sw``, ``cell_size_m`` (EPSG:25833)."""
    need = {"x_sw", "y_sw", "cell_size_m"}
    if not need <= set(table.columns):
        raise ValueError(f"table needs grid columns {sorted(need)} to draw cells")
    x = table["x_sw"].to_numpy(float)
    y = table["y_sw"].to_numpy(float)
    s = table["cell_size_m"].to_numpy(float)
    return shapely.box(x, y, x + s, y + s)


def polygons_from_shapes(items) -> tuple[np.ndarray, np.ndarray]:
    """Shapely polygons from ``rasterio.features.shapes`` output, built in bulk.

    ``shapes`` yields one GeoJSON-like polygon per connected area; building each with
    ``shapely.geometry.shape`` costs a Python object per ring and polygon. Here all ring
    coordinates go into one array and ``shapely.linearrings`` / ``shapely.polygons`` build
    every ring and polygon in one call each (exactly the same geometries).

    Parameters
    ----------
    items : iterable of (geojson dict, value)
        As ``rasterio.features.shapes`` yields them.

    Returns
    -------
    polygons : ndarray of shapely Polygons
    values : ndarray of float, the raster value of each polygon
    """
    rings: list = []
    n_rings: list[int] = []
    values: list[float] = []
    for geom, value in items:
        coords = geom["coordinates"]
        rings.extend(coords)
        n_rings.append(len(coords))
        values.append(value)
    if not rings:
        return np.empty(0, dtype=object), np.empty(0, dtype=float)
    lens = np.fromiter(map(len, rings), np.int64, count=len(rings))
    flat = chain.from_iterable(chain.from_iterable(rings))
    xy = np.fromiter(flat, float, count=2 * int(lens.sum())).reshape(-1, 2)
    lr = shapely.linearrings(xy, indices=np.repeat(np.arange(len(rings)), lens))
    polys = shapely.polygons(lr, indices=np.repeat(np.arange(len(n_rings)), n_rings))
    return polys, np.asarray(values, dtype=float)


def dissolve_cells(table: pd.DataFrame, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Union of the squares of the grid cells sharing each label, traced on the grid.

    The cells are burnt into a raster of label codes on their own grid (one pixel per
    cell) and GDAL's polygonize (``rasterio.features.shapes``, 4-connected) traces each
    label's outline: exact for a regular grid (every vertex is a cell corner) and far
    faster than unioning hundreds of thousands of squares with shapely. Tables that are
    not one regular grid (mixed cell sizes, corners off the grid, repeated cells) fall back
    to ``shapely.union_all`` of the squares.

    Parameters
    ----------
    table : DataFrame
        Grid cells (``x_sw``, ``y_sw``, ``cell_size_m``; EPSG:25833 metres).
    labels : array-like (n_cells,)
        Label of each cell (e.g. the site serving it); missing labels are left out.

    Returns
    -------
    keys : ndarray
        The distinct labels, in order of first appearance.
    geometries : ndarray of shapely (Multi)Polygons
        The union of each label's squares (a Polygon where it is one piece).
    """
    need = {"x_sw", "y_sw", "cell_size_m"}
    if not need <= set(table.columns):
        raise ValueError(f"table needs grid columns {sorted(need)} to dissolve cells")
    codes, keys = pd.factorize(pd.Series(np.asarray(labels, dtype=object)), sort=False)
    keys = np.asarray(keys, dtype=object)
    out = np.empty(len(keys), dtype=object)
    ok = codes >= 0
    if not ok.any():
        return keys, out
    x = table["x_sw"].to_numpy(float)[ok]
    y = table["y_sw"].to_numpy(float)[ok]
    size = table["cell_size_m"].to_numpy(float)[ok]
    code = codes[ok]
    s = float(size[0])
    x0, y1 = float(x.min()), float(y.max()) + s
    cols_f, rows_f = (x - x0) / s, (y1 - s - y) / s
    cols, rows = np.round(cols_f).astype(np.int64), np.round(rows_f).astype(np.int64)
    shape = (int(rows.max()) + 1, int(cols.max()) + 1) if len(rows) else (0, 0)
    flat = rows * shape[1] + cols
    regular = (
        np.all(size == s)
        and np.array_equal(cols, cols_f)
        and np.array_equal(rows, rows_f)
        and len(np.unique(flat)) == len(flat)
        and len(keys) < 2**31 - 1
    )
    if not regular:
        squares = cell_squares(table.loc[ok])
        order = np.argsort(code, kind="stable")
        bounds = np.searchsorted(code[order], np.arange(len(keys) + 1))
        for k in range(len(keys)):
            # squares of mixed sizes may overlap: the general union, not the coverage one
            out[k] = shapely.union_all(squares[order[bounds[k] : bounds[k + 1]]])
        return keys, out
    from rasterio.features import shapes
    from rasterio.transform import from_origin

    raster = np.zeros(shape, dtype=np.int32)
    raster.ravel()[flat] = code + 1
    polys, values = polygons_from_shapes(
        shapes(raster, mask=raster > 0, connectivity=4, transform=from_origin(x0, y1, s, s))
    )
    part_of = values.astype(np.int64) - 1
    order = np.argsort(part_of, kind="stable")
    part_of, polys = part_of[order], polys[order]
    n_parts = np.bincount(part_of, minlength=len(keys))
    multi = shapely.multipolygons(polys, indices=part_of)
    present = np.flatnonzero(n_parts)
    first = np.searchsorted(part_of, present)
    # one piece: the Polygon itself, as a union of its squares would give
    out[present] = np.where(n_parts[present] == 1, polys[first], multi[present])
    return keys, out


def coarsen_cells(table: pd.DataFrame, service_type: str, resolution_m: int) -> pd.DataFrame:
    """Aggregate a grid-cell table to coarser square cells (for light national maps).

    Each coarse cell takes the summed population, the population-weighted mean minutes of its
    reachable fine cells and the site serving most of its people.

    Parameters
    ----------
    table : DataFrame
        ``travel_times`` output over grid cells.
    service_type : str
    resolution_m : int
        Multiple of the table's cell size.

    Returns
    -------
    DataFrame with ``x_sw``, ``y_sw``, ``cell_size_m``, ``population``, ``<type>_minutes``,
    ``<type>_site``.
    """
    base = int(table["cell_size_m"].iloc[0])
    if resolution_m % base:
        raise ValueError(f"resolution_m={resolution_m} must be a multiple of {base} m")
    mcol, scol = f"{service_type}_minutes", f"{service_type}_site"
    d = pd.DataFrame(
        {
            "x_sw": table["x_sw"].to_numpy() // resolution_m * resolution_m,
            "y_sw": table["y_sw"].to_numpy() // resolution_m * resolution_m,
            "population": table["population"].to_numpy(),
            "m": table[mcol].to_numpy(float),
            "site": table[scol].to_numpy(),
        }
    )
    ok = np.isfinite(d["m"])
    d["pm"] = np.where(ok, d["m"] * np.maximum(d["population"], 1e-9), 0.0)
    d["w"] = np.where(ok, np.maximum(d["population"], 1e-9), 0.0)
    g = d.groupby(["x_sw", "y_sw"], sort=False)
    out = g.agg(population=("population", "sum"), pm=("pm", "sum"), w=("w", "sum"))
    out[mcol] = np.where(out["w"] > 0, out["pm"] / out["w"].where(out["w"] > 0), np.inf)
    best = (
        d[ok]
        .groupby(["x_sw", "y_sw", "site"], sort=False)["population"]
        .sum()
        .reset_index()
        .sort_values("population", ascending=False)
        .drop_duplicates(["x_sw", "y_sw"])
        .set_index(["x_sw", "y_sw"])["site"]
    )
    out[scol] = best.reindex(out.index)
    out = out.drop(columns=["pm", "w"]).reset_index()
    out["cell_size_m"] = resolution_m
    return out
