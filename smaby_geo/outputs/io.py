"""Writers that never leave a half-written file: write to a temp file, then move."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final file path; its folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".part" + path.suffix, dir=path.parent
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _arrow_table(gdf: gpd.GeoDataFrame, metadata: dict):
    """GeoParquet Arrow table of ``gdf`` with ``metadata`` under the ``smaby_geo`` key.

    WKB geometry and the ``geo`` schema metadata, as ``GeoDataFrame.to_parquet`` writes.
    """
    import pyarrow as pa

    try:  # geopandas' own GeoParquet conversion (``geo`` metadata included), one pass
        from geopandas.io.arrow import _geopandas_to_arrow

        table = _geopandas_to_arrow(gdf, index=None)
    except (ImportError, TypeError):  # older/newer private API: the public Arrow export
        table = pa.table(gdf.to_arrow(index=None))
    meta = dict(table.schema.metadata or {})
    meta[b"smaby_geo"] = json.dumps(metadata, ensure_ascii=False, default=str).encode()
    return table.replace_schema_metadata(meta)


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike, metadata: dict) -> Path:
    """Write GeoParquet with ``metadata`` (attribution, notes) in the schema as ``smaby_geo``.

    One Arrow conversion and one write (zstd); the file reads back with
    ``geopandas.read_parquet``.
    """
    import pyarrow.parquet as pq

    table = _arrow_table(gdf, metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str, metadata: dict) -> Path:
    """Write a GeoPackage layer with ``metadata`` as layer metadata (GDAL, Arrow path).

    pyogrio's Arrow path (``use_arrow=True``) hands GDAL whole columns instead of row-by-row
    features; it falls back to the row path where pyogrio or GDAL lack Arrow support.
    """
    import pyogrio

    kw = {
        "layer": layer,
        "driver": "GPKG",
        "layer_metadata": {k: str(v) for k, v in metadata.items()},
    }
    with atomic_path(path) as tmp:
        try:
            pyogrio.write_dataframe(gdf, tmp, use_arrow=True, **kw)
        except (RuntimeError, NotImplementedError, ValueError, TypeError) as err:
            if "arrow" not in str(err).lower():
                raise
            if tmp.exists():
                tmp.unlink()
            pyogrio.write_dataframe(gdf, tmp, **kw)
    return Path(path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a CSV atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file (HTML, JSON) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(obj, path: str | os.PathLike) -> Path:
    """Write JSON atomically."""
    return write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), path)
