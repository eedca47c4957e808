"""Travel-time rasters aligned to the SSB grid, and isochrone polygons from them (rasterio).

rasterio is imported where a raster is made or traced, not with the module: the main job's
map overlay (``mercator_grid``, ``png_bytes``) needs only pyproj and Pillow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo._compat import renamed_kwargs
from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.outputs.io import atomic_path
from smaby_geo.places.grid import polygons_from_shapes

NODATA = -1.0


@dataclass(frozen=True)
class MinutesRaster:
    """A float32 grid of minutes (``NODATA`` = -1 where nobody lives or no route).

    Attributes
    ----------
    data : ndarray (rows, cols), north-up
    transform : affine.Affine, EPSG:25833 metres
    resolution_m : int
    """

    data: np.ndarray
    transform: object
    resolution_m: int

    @property
    def valid(self) -> np.ndarray:
        """Cells holding a travel time."""
        return self.data != NODATA


def minutes_raster(
    table: pd.DataFrame,
    column: str,
    resolution_m: int | None = None,
) -> MinutesRaster:
    """Grid a per-cell minutes column onto the SSB grid.

    Parameters
    ----------
    table : DataFrame
        Grid-cell table (``x_sw``, ``y_sw``, ``cell_size_m``, ``population``, ``column``).
    column : str
        Minutes column, e.g. ``"hospital_minutes"``.
    resolution_m : int, optional
        Output cell size; default the table's. A coarser size must be a multiple of the
        table's (250 m -> 1 km); its cells hold the population-weighted mean minutes of the
        reachable fine cells inside them.

    Returns
    -------
    MinutesRaster
        Aligned to multiples of ``resolution_m`` in EPSG:25833, as the SSB grid is.

    Raises
    ------
    ValueError
        Missing columns, mixed or non-dividing resolutions.
    """
    need = {"x_sw", "y_sw", "cell_size_m", "population", column}
    if not need <= set(table.columns):
        raise ValueError(f"table needs columns {sorted(need)}")
    if len(table) == 0:
        raise ValueError("cannot grid an empty table")
    sizes = table["cell_size_m"].unique()
    if len(sizes) != 1:
        raise ValueError(f"table mixes cell sizes {sorted(sizes)}")
    base = int(sizes[0])
    res = base if resolution_m is None else int(resolution_m)
    if res < base or res % base:
        raise ValueError(
            f"resolution_m={resolution_m} must be a multiple of the grid's {base} m cells "
            f"(e.g. {base} or {base * 4})"
        )
    from rasterio.transform import from_origin

    m = table[column].to_numpy(float)
    p = table["population"].to_numpy(float)
    ok = np.isfinite(m)
    x = (table["x_sw"].to_numpy(np.int64) // res) * res
    y = (table["y_sw"].to_numpy(np.int64) // res) * res
    x0, y1 = int(x.min()), int(y.max()) + res
    cols = ((x - x0) // res).astype(np.int64)
    rows = ((y1 - res - y) // res).astype(np.int64)
    shape = (int(rows.max()) + 1, int(cols.max()) + 1)
    flat = rows * shape[1] + cols
    w = np.where(ok, np.maximum(p, 1e-9), 0.0)
    num = np.bincount(flat[ok], weights=w[ok] * m[ok], minlength=shape[0] * shape[1])
    den = np.bincount(flat[ok], weights=w[ok], minlength=shape[0] * shape[1])
    data = np.full(shape[0] * shape[1], NODATA, dtype=np.float32)
    has = den > 0
    data[has] = (num[has] / den[has]).astype(np.float32)
    return MinutesRaster(data.reshape(shape), from_origin(x0, y1, res, res), res)


def write_geotiff(raster: MinutesRaster, path: str | os.PathLike, *, tags: dict) -> str:
    """Write a MinutesRaster as a compressed GeoTIFF (atomically) with metadata ``tags``."""
    import rasterio

    with (
        atomic_path(path) as tmp,
        rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            height=raster.data.shape[0],
            width=raster.data.shape[1],
            count=1,
            dtype="float32",
            crs=NETWORK_CRS,
            transform=raster.transform,
            nodata=NODATA,
            compress="deflate",
            tiled=True,
        ) as dst,
    ):
        dst.write(raster.data, 1)
        dst.update_tags(**{k: str(v) for k, v in tags.items()})
        dst.set_band_description(1, "minutes")
    return str(path)


@renamed_kwargs(thresholds="thresholds_min")
def isochrones(raster: MinutesRaster, thresholds_min: Sequence[float]) -> gpd.GeoDataFrame:
    """Isochrone polygons: the populated, reachable cells within each threshold.

    Parameters
    ----------
    raster : MinutesRaster
    thresholds_min : sorted minutes, e.g. (30, 45, 60, 90)

    Returns
    -------
    GeoDataFrame
        One (multi)polygon per threshold, ``minutes`` and ``area_km2``; bands are cumulative
        (the 60-minute polygon contains the 30-minute one). Built from network times, so they
        follow roads and ferries, never straight-line buffers.
    """
    from rasterio.features import shapes

    th = [float(t) for t in thresholds_min]
    if not th or th != sorted(th) or any(t < 0 for t in th):
        raise ValueError(f"thresholds_min must be sorted minutes >= 0, got {thresholds_min}")
    rows = []
    for t in th:
        mask = (raster.valid & (raster.data <= t)).astype(np.uint8)
        # only value-1 areas are traced (the mask); built in bulk (places.grid)
        geoms, _ = polygons_from_shapes(
            shapes(mask, mask=mask.astype(bool), transform=raster.transform)
        )
        # rasterio's shapes are already dissolved and disjoint: no union needed
        geom = shapely.multipolygons(geoms) if len(geoms) else None
        rows.append({"minutes": t, "geometry": geom})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=NETWORK_CRS)
    out["area_km2"] = out.geometry.area / 1e6
    return out


# Web-map overlays: the cell grid resampled to Web Mercator (EPSG:3857), the projection Leaflet
# stretches an image overlay in, so pixels land where their cells are.
MERCATOR_CRS = "EPSG:3857"
# Largest side of an overlay image (pixels): ~2 km pixels nationally, the cells' own size in a
# county. Measured sizes are in benchmarks/README.md (benchmarks/pipeline.py).
MAX_OVERLAY_SIDE_PX = 1600


@dataclass(frozen=True)
class MercatorGrid:
    """Per-pixel values of a cell table on a Web Mercator grid, north-up.

    Attributes
    ----------
    value : float32 (rows, cols)
        Population-weighted mean of the reachable cells in each pixel; ``inf`` where every
        cell in it has no route; NaN where no cell lies in it.
    population : float64 (rows, cols)
        People in the pixel's cells.
    bounds_m : (x0, y0, x1, y1) EPSG:3857 metres of the image's outer edges.
    bounds_wgs84 : ((south, west), (north, east)) for Leaflet's ``ImageOverlay``.
    pixel_m : float
        Pixel size in EPSG:3857 metres.
    """

    value: np.ndarray
    population: np.ndarray
    bounds_m: tuple[float, float, float, float]
    bounds_wgs84: tuple[tuple[float, float], tuple[float, float]]
    pixel_m: float


def mercator_grid(
    table: pd.DataFrame, column: str, *, max_side_px: int = MAX_OVERLAY_SIDE_PX
) -> MercatorGrid:
    """Bin a grid-cell column onto Web Mercator pixels for a map overlay.

    Each cell's centre goes to one pixel. Pixels are never smaller than a cell at the most
    northern cell (times 1.2 for the grid's rotation against north), so a contiguous area of
    cells leaves no holes, and never so small that a side exceeds ``max_side_px``.

    Parameters
    ----------
    table : DataFrame
        Grid cells (``x_sw``, ``y_sw``, ``cell_size_m``, ``population``, ``column``) in
        EPSG:25833.
    column : str
        Value column (minutes; ``inf`` = no route).
    max_side_px : int
        Cap on the image's width and height (pixels).

    Returns
    -------
    MercatorGrid
    """
    from pyproj import Transformer

    need = {"x_sw", "y_sw", "cell_size_m", "population", column}
    if not need <= set(table.columns):
        raise ValueError(f"table needs columns {sorted(need)}")
    if len(table) == 0:
        raise ValueError("cannot grid an empty table")
    if int(max_side_px) < 1:
        raise ValueError(f"max_side_px must be >= 1, got {max_side_px!r}")
    size = table["cell_size_m"].to_numpy(float)
    cx = table["x_sw"].to_numpy(float) + size / 2
    cy = table["y_sw"].to_numpy(float) + size / 2
    tr = Transformer.from_crs(NETWORK_CRS, MERCATOR_CRS, always_xy=True)
    mx, my = tr.transform(cx, cy)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - np.pi / 2)
    scale = 1.0 / np.cos(np.radians(np.abs(lat)).max())
    x0, x1 = float(mx.min()), float(mx.max())
    y0, y1 = float(my.min()), float(my.max())
    span = max(x1 - x0, y1 - y0)
    pixel = max(float(size.max()) * scale * 1.2, span / max(int(max_side_px) - 2, 1))
    x0, y0 = x0 - pixel, y0 - pixel  # half a cell of margin plus rounding room on each side
    cols = np.floor((mx - x0) / pixel).astype(np.int64)
    rows_from_bottom = np.floor((my - y0) / pixel).astype(np.int64)
    w = int(cols.max()) + 2
    h = int(rows_from_bottom.max()) + 2
    rows = h - 1 - rows_from_bottom
    flat = rows * w + cols
    v = table[column].to_numpy(float)
    p = table["population"].to_numpy(float)
    ok = np.isfinite(v)
    wt = np.where(ok, np.maximum(p, 1e-9), 0.0)
    num = np.bincount(flat[ok], weights=wt[ok] * v[ok], minlength=w * h)
    den = np.bincount(flat[ok], weights=wt[ok], minlength=w * h)
    seen = np.bincount(flat, minlength=w * h) > 0
    out = np.full(w * h, np.nan)
    out[seen] = np.inf
    has = den > 0
    out[has] = num[has] / den[has]
    pop = np.bincount(flat, weights=p, minlength=w * h)
    x1, y1 = x0 + w * pixel, y0 + h * pixel
    back = Transformer.from_crs(MERCATOR_CRS, "EPSG:4326", always_xy=True)
    (west, east), (south, north) = back.transform([x0, x1], [y0, y1])
    return MercatorGrid(
        out.reshape(h, w).astype(np.float32),
        pop.reshape(h, w),
        (x0, y0, x1, y1),
        ((float(south), float(west)), (float(north), float(east))),
        float(pixel),
    )


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode a (rows, cols, 4) uint8 RGBA array as PNG (Pillow, zlib level 6).

    Pillow's ``optimize=True`` made the national overlay's three images about 10x slower to
    encode for a few per cent less size.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), "RGBA").save(
        buf, format="PNG", compress_level=6
    )
    return buf.getvalue()
