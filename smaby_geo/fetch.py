"""Fetch registered datasets from their pinned upstream into the data home.

Each download is verified against the registry's sha256 by pooch (which writes to a temporary
file and moves it into place only when the hash matched). Upstream R data files are kept under
``<data home>/upstream/`` and converted (``smaby_geo.convert``) to a temporary GeoPackage that
is moved into place when complete, so a failed fetch leaves nothing half-written.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from smaby_geo import datasets
from smaby_geo.datasets import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    RELEASE_URL,
    RELEASE_URL_ENV,
    UPSTREAM_URL_ENV,
    DatasetFetchError,
)


def unpublished_release(ds: datasets.Dataset) -> bool:
    """Whether ``ds`` is a table of the project's unpublished data release.

    True while ``datasets.RELEASE_PUBLISHED`` is False and no mirror
    (``$SMABY_GEO_RELEASE_URL``) is set.
    """
    return (
        not datasets.RELEASE_PUBLISHED
        and bool(ds.url)
        and str(ds.url).startswith(RELEASE_URL)
        and not os.environ.get(RELEASE_URL_ENV)
    )


def unpublished_release_message(ds: datasets.Dataset) -> str:
    """Why ``ds`` cannot be downloaded while the data release is unpublished, and the fixes."""
    return (
        f"dataset {ds.name!r}: it is one of the project's own tables, which come from the "
        f"project's data release ({RELEASE_URL}), and that release is not published yet, so "
        f"it cannot be downloaded. To fix: set ${DATA_DIR_ENV} to a folder holding "
        f"{ds.relpath}, copy the tables "
        f"with `smaby-geo data fetch --all --from DIR`, set ${RELEASE_URL_ENV} to a mirror of "
        "the release, or pass the file as an explicit path"
    )


def _fix_network(ds: datasets.Dataset) -> str:
    env = RELEASE_URL_ENV if ds.url and ds.url.startswith(RELEASE_URL) else UPSTREAM_URL_ENV
    return (
        f"check the internet connection and retry `{datasets.fetch_command([ds.name])}`, "
        f"set {env} to a mirror holding the pinned file, or set {DATA_DIR_ENV} to a folder "
        f"that holds {ds.relpath}"
    )


def _check_writable(folder: Path, name: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DatasetFetchError(
            f"dataset {name!r}: cannot write to the data home {folder} ({exc.strerror or exc}). "
            f"To fix: set {CACHE_DIR_ENV} to a writable folder, or {DATA_DIR_ENV} to a folder "
            "that already holds the data."
        ) from None


def _retrieve(url: str, sha256: str, target: Path, ds, downloader, progressbar: bool) -> Path:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # fetch_dataset prints its own line
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{sha256}",
                fname=target.name,
                path=target.parent,
                downloader=downloader,
                progressbar=progressbar,
            )
        )
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise DatasetFetchError(
            f"dataset {ds.name!r}: the file downloaded from {url} does not match the pinned "
            f"sha256 {sha256} (the upstream changed, or the download was corrupted); nothing "
            f"was kept. To fix: {_fix_network(ds)}."
        ) from None
    except Exception as exc:
        raise DatasetFetchError(
            f"dataset {ds.name!r}: download from {url} failed ({type(exc).__name__}: {exc}). "
            f"To fix: {_fix_network(ds)}."
        ) from None


def fetch_dataset(
    name: str,
    *,
    raw_dir: str | os.PathLike | None = None,
    downloader=None,
    announce: bool = False,
    progressbar: bool | None = None,
    force: bool = False,
    source_dir: str | os.PathLike | None = None,
) -> Path:
    """Download (and convert) dataset ``name`` into the data home.

    Parameters
    ----------
    name : str
        Registry key.
    raw_dir : path-like, optional
        Data home to write into; default ``datasets.data_home()``.
    downloader : callable, optional
        Passed to ``pooch.retrieve``.
    announce : bool, default False
        Print one line to stderr saying what is fetched from where (used on first use).
    progressbar : bool, optional
        Show a download progress bar; default: when stderr is a terminal.
    force : bool, default False
        Fetch again even when the file is already in the data home.
    source_dir : path-like, optional
        Copy the file from this local data folder (same layout, e.g. a colleague's data
        folder or a USB stick) instead of downloading; its sha256 must match the registry.

    Returns
    -------
    pathlib.Path
        The dataset file in the data home.

    Raises
    ------
    KeyError
        Unknown dataset (lists the known ones).
    DatasetFetchError
        Download failed, checksum differs, the upstream file is not the expected R data, or
        the data home is not writable; the message names the dataset and the fix.
    """
    ds = datasets.get_dataset(name)
    if source_dir is not None:
        return _copy_local(ds, Path(source_dir), raw_dir, force)
    url = datasets.resolve_url(ds)
    if url is None:
        raise DatasetFetchError(f"dataset {name!r} has no upstream URL in the registry")
    if unpublished_release(ds):  # nothing to download yet: say so, do not try
        raise DatasetFetchError(unpublished_release_message(ds) + ".")
    home = Path(raw_dir) if raw_dir is not None else datasets.data_home()
    target = home / ds.relpath
    if not force and datasets.cached_file(ds, home) is not None:
        return target
    _check_writable(target.parent, name)
    if progressbar is None:
        progressbar = sys.stderr.isatty()
    if announce:
        print(
            f"smaby-geo: dataset {name!r} is not on this machine; fetching {url} into {target}",
            file=sys.stderr,
        )
    if ds.convert is None:
        # pooch downloads again only when the file there has another hash
        return _retrieve(url, ds.sha256, target, ds, downloader, progressbar)

    from smaby_geo.convert import ConversionError, convert_rda

    src_path = home / "upstream" / name / url.rsplit("/", 1)[-1]
    _check_writable(src_path.parent, name)
    src = _retrieve(url, ds.upstream_sha256, src_path, ds, downloader, progressbar)
    try:
        convert_rda(src, target, ds.convert)
        datasets.source_stamp_path(target).write_text(ds.upstream_sha256 + "\n")
        return target
    except ConversionError as exc:
        src.unlink(missing_ok=True)
        raise DatasetFetchError(
            f"dataset {name!r}: converting {url} failed: {exc}. Nothing was kept. To fix: "
            f"the registry's converter {ds.convert!r} expects another layout; report it, or "
            f"set {DATA_DIR_ENV} to a folder that holds {ds.relpath}."
        ) from None
    except OSError as exc:
        raise DatasetFetchError(
            f"dataset {name!r}: writing {target} failed ({exc}). To fix: set {CACHE_DIR_ENV} "
            "to a writable folder with free space."
        ) from None


def _copy_local(ds: datasets.Dataset, source_dir: Path, raw_dir, force: bool) -> Path:
    import shutil

    home = Path(raw_dir) if raw_dir is not None else datasets.data_home()
    target = home / ds.relpath
    if not force and datasets.cached_file(ds, home) is not None:
        return target
    src = source_dir / ds.relpath
    if not src.is_file():
        raise DatasetFetchError(
            f"dataset {ds.name!r}: {src} does not exist. To fix: give the folder that holds "
            f"{ds.relpath}, or fetch it with `{datasets.fetch_command([ds.name])}`."
        )
    digest = datasets.hash_file(src)
    if digest != ds.sha256:
        raise DatasetFetchError(
            f"dataset {ds.name!r}: {src} has sha256 {digest}, the registry pins {ds.sha256}; "
            f"nothing was copied. To fix: fetch it with `{datasets.fetch_command([ds.name])}`."
        )
    _check_writable(target.parent, ds.name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if ds.convert is not None:
        datasets.stamp_path(target).write_text(ds.sha256 + "\n")
    return target


def fetch_datasets(
    names: Iterable[str] | None = None,
    *,
    raw_dir: str | os.PathLike | None = None,
    downloader: Callable[..., Any] | None = None,
    progressbar: bool | None = None,
    force: bool = False,
    source_dir: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Fetch several datasets; every failure is collected into one error.

    Parameters
    ----------
    names : iterable of str, optional
        Registry keys; default: every registered dataset.
    raw_dir, downloader, progressbar, force, source_dir
        As ``fetch_dataset``.

    Returns
    -------
    dict
        Name -> file in the data home.

    Raises
    ------
    KeyError
        Unknown names (all listed, before anything is downloaded).
    DatasetFetchError
        One line per dataset that failed, after trying all of them.
    """
    names = list(datasets.DATASETS) if names is None else list(names)
    unknown = [n for n in names if n not in datasets.DATASETS]
    if unknown:
        raise KeyError(
            f"unknown datasets {unknown}; known datasets: {', '.join(sorted(datasets.DATASETS))}"
        )
    done: dict[str, Path] = {}
    failed: list[str] = []
    for n in names:
        try:
            done[n] = fetch_dataset(
                n,
                raw_dir=raw_dir,
                downloader=downloader,
                progressbar=progressbar,
                force=force,
                source_dir=source_dir,
            )
        except DatasetFetchError as exc:
            failed.append(str(exc))
    if failed:
        raise DatasetFetchError("\n".join(failed))
    return done


def ensure_datasets(names, *, download: bool = True) -> dict[str, Path]:
    """Locate every dataset of ``names``, fetching the missing ones (saying so).

    Used by the main job before it starts, so that a machine without the data gets them on
    first use, and an offline machine gets one error naming every missing dataset and the
    one command that fetches them.

    Raises
    ------
    DatasetNotFoundError
        Listing each missing dataset and ``smaby-geo data fetch <names>``.
    """
    found: dict[str, Path] = {}
    missing: list[str] = []
    reasons: list[str] = []
    for n in dict.fromkeys(names):
        try:
            found[n] = datasets.locate_dataset(n, download=download)
        except datasets.DatasetNotFoundError as exc:
            missing.append(n)
            reasons.append(f"  {n}: {getattr(exc, 'reason', '') or str(exc)[:300]}")
    if missing:
        raise datasets.DatasetNotFoundError(
            f"{len(missing)} dataset(s) missing: {', '.join(missing)}. To fix, with internet "
            f"access run: {datasets.fetch_command(missing)}  (or set {DATA_DIR_ENV} to a folder "
            "holding them).\n" + "\n".join(reasons)
        )
    return found


def write_release(folder: str | os.PathLike, names=None) -> Path:
    """Copy the release datasets into ``folder`` with a ``SHA256SUMS`` file, for publishing.

    The project's own tables (service lists, derived tables: registry URLs under
    ``RELEASE_URL``) have no other upstream; the maintainers upload this folder as the data
    release. Each file is verified against the registry before it is copied.

    Parameters
    ----------
    folder : path-like
        Output folder (created).
    names : iterable of str, optional
        Default: every dataset whose URL is in the release.

    Returns
    -------
    pathlib.Path
        The ``SHA256SUMS`` file.
    """
    import shutil

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if names is None:
        names = [n for n, d in datasets.DATASETS.items() if d.url and d.url.startswith(RELEASE_URL)]
    lines = []
    for n in names:
        ds = datasets.get_dataset(n)
        src = datasets.locate_dataset(n, download=False)
        digest = datasets.hash_file(src)
        if digest != ds.sha256:
            raise ValueError(
                f"dataset {n!r}: {src} has sha256 {digest}, the registry pins {ds.sha256}; "
                "update the registry before publishing"
            )
        shutil.copyfile(src, out / Path(ds.relpath).name)
        lines.append(f"{digest}  {Path(ds.relpath).name}")
    sums = out / "SHA256SUMS"
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sums
