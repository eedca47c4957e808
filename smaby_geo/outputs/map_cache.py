"""The main job's minutes map, kept in the data cache by a fingerprint of everything drawn.

Drawing the national hospital map costs its libraries' import (folium, branca, jinja2) and
about a second of work; a rerun on the same data draws the same map. ``minutes_map_html``
therefore keeps the rendered HTML in the data home (``derived_cache``), named by the sha256
of every input ``maps.map_minutes`` reads (the table's columns it draws, the kommune summary,
the kommune polygons, the sites, the base-layer files), the source files of the modules that
draw it and the versions of the libraries involved. Any change gives another name, so a
cached map is only ever the map these inputs draw. This module imports no map library: a
cache hit skips them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo.derived_cache import cached, entry_path, fingerprint

# Change when the cached file's meaning changes (the source files below are hashed anyway).
MAP_CACHE_FORMAT = "minutes-map-v1"
# Modules whose code draws the map: their source is part of the fingerprint.
_DRAWING_MODULES = (
    "smaby_geo.outputs.maps",
    "smaby_geo.outputs.rasters",
    "smaby_geo.places.grid",
    "smaby_geo.outputs.map_cache",
)
# Libraries whose versions are part of the fingerprint (distribution names).
_LIBRARIES = ("folium-offline", "branca", "jinja2", "pillow", "pyproj", "shapely", "numpy")


def frame_digest(df: pd.DataFrame, columns=None) -> str:
    """sha256 of ``columns`` of ``df`` (all by default): values, names, dtypes, CRS, length.

    Geometry columns are hashed by their WKB; the others by ``pandas.util.hash_pandas_object``
    (row order kept, index left out).
    """
    import shapely

    cols = list(df.columns) if columns is None else [c for c in columns if c in df.columns]
    parts: list = [len(df), cols, [str(df[c].dtype) for c in cols], str(getattr(df, "crs", ""))]
    for c in cols:
        s = df[c]
        if isinstance(s.dtype, gpd.array.GeometryDtype):
            parts.append(b"".join(shapely.to_wkb(np.asarray(s.to_numpy()))))
        else:
            parts.append(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return fingerprint(*parts)


def _points_digest(geoms) -> str:
    """sha256 of point geometries by their coordinates (fast); other types by WKB."""
    import shapely

    arr = np.asarray(geoms)
    types = shapely.get_type_id(arr)
    if len(arr) and np.all(types == 0):  # all points: the coordinates say everything
        return fingerprint(b"points", np.ascontiguousarray(shapely.get_coordinates(arr)).tobytes())
    return fingerprint(b"wkb", b"".join(shapely.to_wkb(arr)))


def _code_and_libraries() -> tuple:
    import importlib.metadata as md

    sources = []
    for name in _DRAWING_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        sources.append(Path(origin).read_bytes() if origin else name.encode())
    versions = []
    for lib in _LIBRARIES:
        try:
            versions.append(f"{lib}={md.version(lib)}")
        except md.PackageNotFoundError:
            versions.append(f"{lib}=?")
    return (*sources, *versions)


def minutes_map_html(
    table: gpd.GeoDataFrame,
    service_type: str,
    *,
    kommune_summary: pd.DataFrame | None = None,
    kommuner: gpd.GeoDataFrame | None = None,
    services: gpd.GeoDataFrame | None = None,
) -> str:
    """HTML of ``maps.map_minutes(...)`` (defaults otherwise), from the data cache when drawn.

    Parameters
    ----------
    table, service_type, kommune_summary, kommuner, services
        As ``maps.map_minutes``.

    Returns
    -------
    str
        The page (``map.get_root().render()``), legend and data attribution included.
    """

    def draw() -> str:
        from smaby_geo.outputs.maps import map_minutes

        m = map_minutes(
            table,
            service_type,
            kommune_summary=kommune_summary,
            kommuner=kommuner,
            services=services,
        )
        return m.get_root().render()

    col = f"{service_type}_minutes"
    drawn = [col, "population", f"{service_type}_name", "x_sw", "y_sw", "cell_size_m"]
    try:
        key = _key(table, service_type, drawn, kommune_summary, kommuner, services)
    except TypeError:  # a column pandas cannot hash (lists in cells): drawn, not cached
        return draw()
    return cached(
        entry_path("maps", f"minutes_{service_type}", key, "html"),
        draw,
        lambda p: p.read_text(encoding="utf-8"),
        lambda html, p: p.write_text(html, encoding="utf-8"),
    )


def _key(table, service_type, drawn, kommune_summary, kommuner, services) -> str:
    from smaby_geo import datasets

    return fingerprint(
        MAP_CACHE_FORMAT,
        service_type,
        frame_digest(table, drawn),
        _points_digest(table.geometry.to_numpy()),
        str(table.crs),
        str(table.attrs.get("attribution", "")),
        str(table.attrs.get("note", "")),
        None if kommune_summary is None else frame_digest(kommune_summary),
        None if kommuner is None else frame_digest(kommuner),
        None if services is None else frame_digest(services),
        datasets.locate_dataset("fylker_simplified"),
        datasets.locate_dataset("kommuner_simplified"),
        *_code_and_libraries(),
    )
