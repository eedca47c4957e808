"""Checks shared by the readers: CRS, geometry type, emptiness."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo.network.core import NETWORK_CRS


def _require_geometry(gdf, name: str, layer: str, what: str) -> None:
    """Require a GeoDataFrame: a table without geometry (a CSV file) is named as such.

    The line names the kind of file wanted (``layer``, ``what``).
    """
    if isinstance(gdf, pd.DataFrame) and not isinstance(gdf, gpd.GeoDataFrame):
        cols = f" (columns {list(gdf.columns)[:6]})" if len(gdf.columns) else ""
        raise ValueError(
            f"{name} is a table with no geometry{cols}, not a {layer}; give a GeoPackage "
            f"(.gpkg) or shapefile of {what}"
        )
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{name} must be a GeoDataFrame, got {type(gdf).__name__}")


def check_line_layer(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Validate a line layer and return it in EPSG:25833 with single LineStrings.

    Parameters
    ----------
    gdf : GeoDataFrame
        Line layer.
    name : str
        Name of the input, used in error messages.

    Returns
    -------
    GeoDataFrame
        Reprojected to EPSG:25833 (a geographic CRS is reprojected with a warning); single-part
        MultiLineStrings become LineStrings, multi-part ones are merged where they join and
        rejected otherwise.

    Raises
    ------
    ValueError
        A table with no geometry (e.g. a CSV file), empty layer, no CRS, empty or non-line
        geometries (with counts per type).
    """
    _require_geometry(gdf, name, "line layer", "road lines")
    if len(gdf) == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if gdf.crs is None:
        raise ValueError(
            f"{name} has no CRS; set it with gdf.set_crs(...) (Kartverket and SSB data use "
            f"{NETWORK_CRS})"
        )
    if gdf.crs.is_geographic:
        warnings.warn(
            f"{name} is in a geographic CRS ({gdf.crs.to_string()}); reprojecting to "
            f"{NETWORK_CRS} so lengths are metres",
            stacklevel=3,
        )
    if gdf.crs != NETWORK_CRS:
        gdf = gdf.to_crs(NETWORK_CRS)
    geom = gdf.geometry
    null = geom.isna() | geom.is_empty
    if null.any():
        raise ValueError(
            f"{name} has {int(null.sum())} rows with no geometry (row labels "
            f"{gdf.index[null][:10].tolist()}); drop or fix them"
        )
    types = geom.geom_type
    bad = ~types.isin(["LineString", "MultiLineString"])
    if bad.any():
        counts = types[bad].value_counts().to_dict()
        raise ValueError(f"{name} must hold line geometries; found {counts} (of {len(gdf)} rows)")
    multi = (types == "MultiLineString").to_numpy()
    if multi.any():
        merged = shapely.line_merge(geom.to_numpy()[multi])
        still = shapely.get_type_id(merged) != 1
        if still.any():
            raise ValueError(
                f"{name} has {int(still.sum())} MultiLineStrings whose parts do not join "
                f"(row labels {gdf.index[np.flatnonzero(multi)[still]][:10].tolist()}); "
                "explode them into separate links first"
            )
        values = geom.to_numpy().copy()
        values[multi] = merged
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
    return gdf


def endpoints(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the first and last coordinate of each LineString as (n, 2) arrays."""
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    return first, last


def check_polygon_layer(gdf: gpd.GeoDataFrame, name: str) -> tuple[gpd.GeoDataFrame, int]:
    """Validate a polygon layer (built-up areas); repair invalid polygons.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygon layer, any CRS.
    name : str
        Name of the input (the file), used in messages.

    Returns
    -------
    GeoDataFrame
        The rows with a geometry, in the input's CRS, invalid polygons (a bow-tie ring, a
        self-touching ring) repaired with ``shapely.make_valid`` (``method="structure"``: the
        area the ring encloses is kept, as polygons only).
    int
        Rows with no geometry, dropped (the caller says so).

    Raises
    ------
    ValueError
        A table with no geometry (e.g. a CSV file), no CRS, no polygons at all, or
        geometries other than polygons (with counts per type).

    Warns
    -----
    UserWarning
        How many polygons were repaired (row labels), and how many of those had no area left
        and were dropped. Repaired rather than refused: a hand-drawn or converted polygon is
        often slightly invalid, and every other step (overlay with the links, merging touching
        areas) fails on it with a GEOS topology error that names no row.
    """
    _require_geometry(gdf, name, "polygon layer", "built-up area polygons")
    if gdf.crs is None:
        raise ValueError(
            f"{name} has no CRS; set it with gdf.set_crs(...) (N1000 uses {NETWORK_CRS})"
        )
    geom = gdf.geometry
    null = geom.isna() | geom.is_empty
    if len(gdf) == 0 or null.all():
        raise ValueError(f"{name} has no polygons")
    types = geom[~null].geom_type
    bad = ~types.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        raise ValueError(
            f"{name} must hold polygons; found {types[bad].value_counts().to_dict()} "
            f"(of {len(gdf)} rows)"
        )
    n_empty = int(null.sum())
    gdf = gdf.loc[~null]
    values = gdf.geometry.to_numpy()
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        fixed = shapely.make_valid(values[invalid], method="structure", keep_collapsed=False)
        gone = shapely.is_empty(fixed)
        values = values.copy()
        values[invalid] = fixed
        labels = gdf.index[invalid].tolist()
        dropped = f"; {int(gone.sum())} of them had no area left and are dropped"
        dropped = dropped if gone.any() else ""
        warnings.warn(
            f"{name}: repaired {int(invalid.sum())} invalid polygons with shapely.make_valid "
            f"(row labels {labels[:10]}){dropped}",
            stacklevel=3,
        )
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
        gdf = gdf.loc[~shapely.is_empty(values)]
    return gdf, n_empty
