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


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike, metadata: dict) -> Path:
    """Write GeoParquet with ``metadata`` (attribution, notes) in the schema as ``smaby_geo``."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp)
        table = pq.read_table(tmp)
        meta = dict(table.schema.metadata or {})
        meta[b"smaby_geo"] = json.dumps(metadata, ensure_ascii=False).encode()
        pq.write_table(table.replace_schema_metadata(meta), tmp)
    return Path(path)


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str, metadata: dict) -> Path:
    """Write a GeoPackage layer with ``metadata`` as layer metadata (GDAL)."""
    import pyogrio

    with atomic_path(path) as tmp:
        pyogrio.write_dataframe(
            gdf,
            tmp,
            layer=layer,
            driver="GPKG",
            layer_metadata={k: str(v) for k, v in metadata.items()},
        )
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
