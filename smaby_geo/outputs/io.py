"""Writers that never leave a half-written file: write to a temp file, then move.

``start_gpkg`` writes a GeoPackage in a forked process while the caller goes on (the main
job draws its map meanwhile): pyogrio holds the GIL for the whole GDAL write, so a thread
would not run beside the map.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd


def _part_path(path: Path) -> Path:
    """A free hidden ``.<stem>.*.part<suffix>`` name beside ``path`` (its folder created).

    ``outdir.clean_stale`` removes such files left by a killed run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".part" + path.suffix, dir=path.parent
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final file path; its folder is created.
    """
    path = Path(path)
    tmp_path = _part_path(path)
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
    with atomic_path(path) as tmp:
        _write_gpkg_file(gdf, tmp, layer, metadata)
    return Path(path)


def _write_gpkg_file(gdf: gpd.GeoDataFrame, tmp: Path, layer: str, metadata: dict) -> None:
    import pyogrio

    kw = {
        "layer": layer,
        "driver": "GPKG",
        "layer_metadata": {k: str(v) for k, v in metadata.items()},
    }
    try:
        pyogrio.write_dataframe(gdf, tmp, use_arrow=True, **kw)
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as err:
        if "arrow" not in str(err).lower():
            raise
        if tmp.exists():
            tmp.unlink()
        pyogrio.write_dataframe(gdf, tmp, **kw)


class BackgroundWrite:
    """A file being written beside the caller's work; ``result()`` waits for it.

    The file appears under its final name only when the write succeeded (write-then-rename,
    as ``atomic_path``); ``cancel()`` stops the write and removes the partial file.
    """

    def __init__(self, path: Path, tmp: Path, process=None, conn=None, future=None) -> None:
        self.path, self._tmp = path, tmp
        self._process, self._conn, self._future = process, conn, future
        self._done: Path | None = None

    def result(self) -> Path:
        """Wait for the write; return the final path.

        Raises
        ------
        Exception
            What the write raised (in the child process where it ran there).
        """
        if self._done is not None:
            return self._done
        try:
            if self._future is not None:
                self._future.result()
            else:
                try:
                    err = self._conn.recv()
                except EOFError:  # the child ended without a word (killed, out of memory)
                    err = OSError(f"writing {self.path} stopped (process ended without result)")
                self._process.join()
                if err is None and self._process.exitcode != 0:
                    err = OSError(
                        f"writing {self.path} stopped (exit code {self._process.exitcode})"
                    )
                if err is not None:
                    raise err
            os.replace(self._tmp, self.path)
        finally:
            self._close()
        self._done = self.path
        return self.path

    def cancel(self) -> None:
        """Stop the write (a forked writer is terminated) and remove the partial file."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()
        if self._future is not None:
            with contextlib.suppress(Exception):
                self._future.result()
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._tmp.exists():
            self._tmp.unlink()


def _die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel stop this child when its parent ends (killed, SIGTERM)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent ended before the request took effect
        os._exit(1)


def _gpkg_child(conn, gdf, tmp: Path, layer: str, metadata: dict, parent_pid: int = 0) -> None:
    """Body of the forked GeoPackage writer: write, then send None or the exception."""
    if parent_pid:
        _die_with_parent(parent_pid)
    try:
        _write_gpkg_file(gdf, tmp, layer, metadata)
        conn.send(None)
    except BaseException as exc:  # reported to the parent, which raises it
        try:
            conn.send(exc)
        except Exception:  # an exception that cannot be pickled: its text
            conn.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def start_gpkg(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str, metadata: dict
) -> BackgroundWrite:
    """Start writing a GeoPackage layer (``write_gpkg``) beside the caller's work.

    pyogrio holds the GIL for the whole GDAL write (about 2 s for the national 220,171 cells
    here), so a thread would stall the Python work meant to run beside it. On Linux a forked
    child writes the file: it inherits the table without copying or pickling it and has its
    own interpreter. Elsewhere, and inside a daemonic worker process, a thread writes it.

    Parameters
    ----------
    gdf : GeoDataFrame
        Not to be changed until ``result()`` returns (a thread reads it meanwhile).
    path : path-like
        Final file path.
    layer : str
    metadata : dict
        Layer metadata (values as text).

    Returns
    -------
    BackgroundWrite
        ``result()`` waits and returns the path; ``cancel()`` stops the write.
    """
    import multiprocessing

    path = Path(path)
    tmp = _part_path(path)
    # fork only on Linux: macOS system libraries are not safe to use in a forked child
    can_fork = sys.platform.startswith("linux")
    # a daemonic process (a Dask or multiprocessing worker) may not have children
    if can_fork and not multiprocessing.current_process().daemon:
        ctx = multiprocessing.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_gpkg_child,
            args=(send, gdf, tmp, layer, metadata, os.getpid()),
            daemon=True,
        )
        with warnings.catch_warnings():  # Python >= 3.12 warns on fork beside threads
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
            proc.start()
        send.close()
        return BackgroundWrite(path, tmp, process=proc, conn=recv)
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    fut = pool.submit(_write_gpkg_file, gdf, tmp, layer, metadata)
    pool.shutdown(wait=False)
    return BackgroundWrite(path, tmp, future=fut)


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
