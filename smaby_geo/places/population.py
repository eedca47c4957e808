"""Origins from the SSB population grid, and kommune polygons to label them."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from smaby_geo import datasets, ssb_grid
from smaby_geo.derived_cache import cached, entry_path, fingerprint
from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.ssb_grid import SSB_ID_X_OFFSET, decode_ssb_cell_ids, read_grid_csv  # noqa: F401

GRID_SIZES_M = {"250m": 250, "1km": 1000}
_GRID_FILES = {"250m": ("popgrid_250m", "ru250m"), "1km": ("popgrid_1km", "ssbid_1000m")}
# Format of the labelled grid kept in the data home (``read_population_grid``); change it
# when the computation or the columns change, so older entries are no longer read. The
# kommune labels take the nearest kommune within label_kommune's 5 km.
POPGRID_CACHE_FORMAT = "popgrid-v2 max_distance_m=5000"


def read_kommuner(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Read the 2024 kommune polygons (Kartverket N1000), EPSG:25833.

    Returns
    -------
    GeoDataFrame
        ``kommunenummer``, ``kommunenavn``, ``fylkesnummer``, ``fylkesnavn``, geometry; one row
        per kommune (multi-part kommuner dissolved).
    """
    g = pyogrio.read_dataframe(datasets.locate_dataset("kommuner", path))
    g = g.dissolve(by="kommunenummer", as_index=False, aggfunc="first")
    return g[["kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn", "geometry"]]


def label_kommune(
    points: gpd.GeoDataFrame, kommuner: gpd.GeoDataFrame, max_distance_m: float = 5000.0
) -> pd.DataFrame:
    """Return the kommune of each point: inside a polygon, else the nearest within a limit.

    Points on the coast can fall just outside the generalised N1000 polygons; they take the
    nearest kommune within ``max_distance_m`` (default 5 km). Points farther still keep NaN
    kommune fields (and are counted by the caller), never dropped.

    Returns
    -------
    DataFrame
        Indexed like ``points``: ``kommunenummer``, ``kommunenavn``, ``fylkesnummer``,
        ``fylkesnavn``.
    """
    cols = ["kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn"]
    pts = gpd.GeoDataFrame(geometry=points.geometry.to_numpy(), crs=points.crs)
    j = gpd.sjoin(pts, kommuner[[*cols, "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated(keep="first")]
    out = j[cols].copy()
    miss = out["kommunenummer"].isna().to_numpy()
    if miss.any():
        near = gpd.sjoin_nearest(
            pts.iloc[np.flatnonzero(miss)],
            kommuner[[*cols, "geometry"]],
            how="left",
            max_distance=max_distance_m,
        )
        near = near[~near.index.duplicated(keep="first")]
        out.loc[near.index, cols] = near[cols].to_numpy()
    out.index = points.index
    return out


def read_population_grid(
    resolution: str = "250m",
    path: str | os.PathLike | None = None,
    *,
    kommuner: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Read the SSB population grid as origin points at cell centres.

    Parameters
    ----------
    resolution : {"250m", "1km"}
        Grid size; the registry's ``popgrid_250m`` or ``popgrid_1km`` (SSB, 1 January 2015).
    path : path-like, optional
        Explicit grid CSV (``;``-separated with the SSB id column and ``pop_tot``).
    kommuner : GeoDataFrame, optional
        Kommune polygons for labelling; default ``read_kommuner()``.

    Returns
    -------
    GeoDataFrame
        Indexed by ``cell_id`` (str): ``population`` (persons), ``x_sw``/``y_sw`` (cell
        corner), ``cell_size_m``, kommune fields, point geometry at the cell centre, EPSG:25833.
        ``attrs["attribution"]`` is "Kilde: SSB".
    """
    if resolution not in _GRID_FILES:
        raise ValueError(f"resolution must be one of {list(_GRID_FILES)}, got {resolution!r}")
    name, id_col = _GRID_FILES[resolution]
    file = datasets.locate_dataset(name, path)
    kom = read_kommuner() if kommuner is None else kommuner
    # the labelled grid is kept in the data home, named by the grid file's bytes, the
    # kommune polygons and this module's code (``derived_cache``): later runs read it
    # instead of computing it again
    key = fingerprint(
        POPGRID_CACHE_FORMAT,
        resolution,
        file,
        _kommuner_digest(kom),
        Path(__file__),  # the labelling code itself: a change to it is a new entry
        Path(ssb_grid.__file__),  # and the reading of the grid file
        *_library_versions(),
    )
    g = cached(
        entry_path("population", f"cells_{resolution}", key, "parquet"),
        lambda: _grid_points(file, id_col, resolution, kom),
        _load_grid,
        _save_grid,
    )
    unlabelled = g["kommunenummer"].isna()
    if unlabelled.any():
        warnings.warn(
            f"{int(unlabelled.sum())} grid cells ({int(g.loc[unlabelled, 'population'].sum())} "
            "people) lie more than 5 km outside every kommune polygon; kept with no kommune",
            stacklevel=2,
        )
    g.attrs["attribution"] = datasets.SSB
    g.attrs["source"] = f"{name} ({file.name})"
    return g


def _grid_points(file, id_col: str, resolution: str, kom: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read the grid CSV, place each cell's centre and label its kommune (uncached)."""
    ids, x, y, pop = read_grid_csv(file, id_col)
    size = GRID_SIZES_M[resolution]
    g = gpd.GeoDataFrame(
        {
            "population": pop.astype(np.int64),
            "x_sw": x,
            "y_sw": y,
            "cell_size_m": size,
        },
        index=pd.Index(ids, name="cell_id"),
        geometry=gpd.points_from_xy(x + size / 2, y + size / 2),
        crs=NETWORK_CRS,
    )
    return g.join(label_kommune(g, kom))


def _save_grid(g: gpd.GeoDataFrame, path) -> None:
    """Store the grid without its geometry (the cell centres follow from the corners)."""
    pd.DataFrame(g.drop(columns="geometry")).to_parquet(path, compression="zstd")


def _load_grid(path) -> gpd.GeoDataFrame:
    """Read ``_save_grid``'s file; the centre points are placed again, as ``_grid_points``."""
    df = pd.read_parquet(path)
    size = df["cell_size_m"].to_numpy()
    centres = gpd.points_from_xy(
        df["x_sw"].to_numpy() + size / 2, df["y_sw"].to_numpy() + size / 2, crs=NETWORK_CRS
    )
    df.insert(list(df.columns).index("cell_size_m") + 1, "geometry", centres)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=NETWORK_CRS)


def _kommuner_digest(kom: gpd.GeoDataFrame) -> str:
    """Fingerprint of what ``label_kommune`` reads from the kommune polygons."""
    import shapely

    cols = ["kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn"]
    attrs = pd.util.hash_pandas_object(kom[cols], index=False).to_numpy().tobytes()
    wkb = shapely.to_wkb(np.asarray(kom.geometry.to_numpy()))
    return fingerprint(attrs, b"".join(wkb), str(kom.crs))


def _library_versions() -> tuple[str, ...]:
    """Versions of the libraries that compute and store the cached grid."""
    import pyarrow
    import shapely

    return (pd.__version__, gpd.__version__, shapely.__version__, pyarrow.__version__)


def as_origins(gdf: gpd.GeoDataFrame, population_column: str = "population") -> gpd.GeoDataFrame:
    """Check a user layer of origins (points or polygons) and return points in EPSG:25833.

    Polygons are represented by a point inside them (``representative_point``).

    Raises
    ------
    ValueError
        No CRS, no population column, NaN or negative population (naming rows).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"origins must be a GeoDataFrame, got {type(gdf).__name__}")
    if population_column not in gdf.columns:
        raise ValueError(
            f"origins have no population column {population_column!r}; columns are "
            f"{list(gdf.columns)}. Pass population_column= or add one."
        )
    if gdf.crs is None:
        raise ValueError("origins have no CRS; set it with gdf.set_crs(...)")
    pop = pd.to_numeric(gdf[population_column], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        raise ValueError(
            f"origins: {population_column!r} is missing or negative in {int(bad.sum())} rows "
            f"(labels {gdf.index[bad][:10].tolist()})"
        )
    if gdf.index.has_duplicates:
        raise ValueError("origins have duplicate index labels; results are keyed by the index")
    out = gdf
    if gdf.crs != NETWORK_CRS:
        warnings.warn(
            f"origins are in {gdf.crs.to_string()}; reprojecting to {NETWORK_CRS}", stacklevel=2
        )
        out = gdf.to_crs(NETWORK_CRS)
    types = out.geometry.geom_type
    if not types.isin(["Point"]).all():
        out = out.set_geometry(out.geometry.representative_point())
    if population_column != "population":
        out = out.rename(columns={population_column: "population"})
    return out
