"""Travel-time rasters aligned to the SSB grid, and isochrone polygons from them (rasterio)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import shapes
from rasterio.transform import from_origin
from shapely.geometry import shape

from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.outputs.io import atomic_path

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


def isochrones(raster: MinutesRaster, thresholds) -> gpd.GeoDataFrame:
    """Isochrone polygons: the populated, reachable cells within each threshold.

    Parameters
    ----------
    raster : MinutesRaster
    thresholds : sorted minutes, e.g. (30, 45, 60, 90)

    Returns
    -------
    GeoDataFrame
        One (multi)polygon per threshold, ``minutes`` and ``area_km2``; bands are cumulative
        (the 60-minute polygon contains the 30-minute one). Built from network times, so they
        follow roads and ferries, never straight-line buffers.
    """
    th = [float(t) for t in thresholds]
    if not th or th != sorted(th) or any(t < 0 for t in th):
        raise ValueError(f"thresholds must be sorted minutes >= 0, got {thresholds}")
    rows = []
    for t in th:
        mask = (raster.valid & (raster.data <= t)).astype(np.uint8)
        geoms = [
            shape(g)
            for g, v in shapes(mask, mask=mask.astype(bool), transform=raster.transform)
            if v == 1
        ]
        # rasterio's shapes are already dissolved and disjoint: no union needed
        geom = shapely.multipolygons(geoms) if geoms else None
        rows.append({"minutes": t, "geometry": geom})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=NETWORK_CRS)
    out["area_km2"] = out.geometry.area / 1e6
    return out
