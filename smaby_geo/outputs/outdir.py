"""Output folders written as a whole: checked before computing, locked, staged and swapped.

A run writes every file into a hidden staging folder beside the output folder. When all of
them are written, the files of the folder that this run does not replace are hard-linked into
the staging folder and the two folders are exchanged in one step (Linux ``renameat2`` with
``RENAME_EXCHANGE``). A reader, or a run killed at any moment, therefore sees either the
previous complete set or the new complete set, never a mix. A lock file beside the folder
keeps a second writer out ("folder in use"), and each run first removes what killed runs
left behind (staging folders, hidden ``.*.part.*`` files).

Where the exchange is not possible (another operating system, a folder whose parent is not
writable) the files are moved one by one; each file is still replaced atomically.

A mount point inside the output folder (a Docker volume, a tmpfs, a bind-mounted file) is
refused before any work: carrying it over into the staging folder would copy it and then
delete the original set, the mount's files with it. Nothing here ever descends into another
filesystem to move or remove anything, and a re-created folder keeps its mode, owner and
group (``outputs.folders``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fnmatch
import json
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from smaby_geo import datasets
from smaby_geo._errors import OutputFolderError, OutputFolderInUseError
from smaby_geo.outputs import folders
from smaby_geo.outputs.folders import (  # re-exported: old import paths
    check_no_mounts_inside as check_no_mounts_inside,
)
from smaby_geo.outputs.folders import copy_folder_meta as copy_folder_meta
from smaby_geo.outputs.folders import keep_folder_meta as keep_folder_meta
from smaby_geo.outputs.folders import link_tree as link_tree
from smaby_geo.outputs.folders import mounts_inside as mounts_inside

STAGING_TAG = ".smaby-staging-"
OLD_TAG = ".smaby-old-"
LOCK_SUFFIX = ".smaby-lock"
# Refuse to start with less free space than this (bytes); a single-kommune run writes a few
# MB, a national run about 0.5 GB. A full disk later still ends in a clear error and leaves
# the previous set in place.
MIN_FREE_BYTES = 64 * 1024 * 1024


def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_output_folder(out_dir: str | os.PathLike, *, min_free_bytes: int = MIN_FREE_BYTES):
    """Check that ``out_dir`` can be created and written, before any computing.

    Parameters
    ----------
    out_dir : path-like
    min_free_bytes : int, default ``MIN_FREE_BYTES`` (64 MiB)

    Raises
    ------
    OutputFolderError
        A path under a file, a file where the folder should be, a read-only place, too little
        free space, a mount point inside the folder. The message names the path and the fix.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out}: is a file, not a folder; choose another --out")
    anc = _existing_ancestor(out.absolute())
    if not anc.is_dir():
        raise OutputFolderError(
            f"--out {out}: {anc} is a file, so no folder can be made under it; "
            "choose another --out"
        )
    try:
        probe = anc / f".smaby-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputFolderError(
            f"--out {out}: {anc} is not writable ({exc.strerror}); choose a folder you may write"
        ) from None
    free = shutil.disk_usage(anc).free
    if free < min_free_bytes:
        raise OutputFolderError(
            f"--out {out}: only {free / 2**20:.0f} MiB free on its disk (need at least "
            f"{min_free_bytes / 2**20:.0f} MiB); free some space or choose another --out"
        )
    if out.is_dir():
        folders.check_no_mounts_inside(out)


def _lock_path(out: Path) -> Path:
    parent = out.parent
    if os.access(parent, os.W_OK | os.X_OK):
        return parent / f".{out.name}{LOCK_SUFFIX}"
    out.mkdir(parents=True, exist_ok=True)
    return out / LOCK_SUFFIX


@contextlib.contextmanager
def lock_output_folder(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``out_dir`` (a lock file beside it) for the block.

    Raises
    ------
    OutputFolderInUseError
        Another process holds the lock.
    """
    import fcntl

    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(out)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                other = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another"
                raise OutputFolderInUseError(
                    f"--out {out}: folder in use by another smaby-geo run (process {other}); "
                    "wait for it to finish or choose another --out"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield out
    finally:
        os.close(fd)  # releases the lock


def clean_stale(out_dir: str | os.PathLike) -> list[Path]:
    """Remove what interrupted runs left: staging/old folders and hidden ``.*.part.*`` files.

    Call it only while holding ``lock_output_folder(out_dir)``.

    Returns
    -------
    list of Path
        What was removed.
    """
    out = Path(out_dir).absolute()
    removed: list[Path] = []
    if out.parent.is_dir():
        for p in out.parent.glob(f".{out.name}{STAGING_TAG}*"):
            if folders._remove_tree(p):
                removed.append(p)
        for p in out.parent.glob(f".{out.name}{OLD_TAG}*"):
            if not out.exists():  # killed between the two renames of the fallback swap
                os.rename(p, out)
                continue
            if folders._remove_tree(p):
                removed.append(p)
    if out.is_dir():
        for p in list(out.glob(f"{STAGING_TAG}*")):
            if folders._remove_tree(p):
                removed.append(p)
        root_dev = folders._device_of(out)
        for dirpath, dirnames, filenames in os.walk(out, followlinks=False):
            # never into another filesystem
            dirnames[:] = [
                d
                for d in dirnames
                if not os.path.ismount(os.path.join(dirpath, d))
                and folders._device_of(os.path.join(dirpath, d)) == root_dev
            ]
            for name in filenames:
                p = Path(dirpath) / name
                if fnmatch.fnmatchcase(name, ".*.part*") and p.is_file() and not p.is_symlink():
                    p.unlink(missing_ok=True)
                    removed.append(p)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def file_digests(
    folder: str | os.PathLike, names, known: dict[str, str] | None = None
) -> dict[str, str]:
    """sha256 of each named file in ``folder`` (a run's manifest of its complete set).

    Parameters
    ----------
    folder : path-like
    names : iterable of str or Path
        File names relative to ``folder``; the result keeps their order.
    known : dict, optional
        ``{name: sha256}`` already computed for some of these files (e.g. files carried over
        from the previous set after their digests were checked): reused, not read again.
    """
    known = known or {}
    out = {}
    for name in names:
        key = str(name)
        out[key] = known[key] if key in known else datasets.hash_file(Path(folder) / name)
    return out


@contextlib.contextmanager
def staged_output(
    out_dir: str | os.PathLike, *, min_free_bytes: int = MIN_FREE_BYTES
) -> Iterator[Path]:
    """Check, lock and clean ``out_dir``; yield a staging folder; swap it in on success.

    Everything the block writes into the yielded folder appears in ``out_dir`` at once when
    the block ends without an exception (files of ``out_dir`` with other names are kept). On
    an exception, or when the process is killed, ``out_dir`` keeps its previous content; the
    next run removes the staging folder.

    Raises
    ------
    OutputFolderError, OutputFolderInUseError
    """
    out = Path(out_dir).absolute()
    if out.is_symlink():
        out = out.resolve()
    check_output_folder(out, min_free_bytes=min_free_bytes)
    with lock_output_folder(out):
        clean_stale(out)
        # beside the folder only where a rename can reach it: not across a mount point
        beside = os.access(out.parent, os.W_OK | os.X_OK) and not (
            out.is_dir()
            and (os.path.ismount(out) or out.stat().st_dev != out.parent.stat().st_dev)
        )
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if beside:
            staging = out.parent / f".{out.name}{STAGING_TAG}{tag}"
        else:
            staging = out / f"{STAGING_TAG}{tag}"
        staging.mkdir(parents=True)
        if beside and out.is_dir():  # files written now take --out's group (setgid folder)
            st = out.stat()
            folders._chown_best(staging, st.st_uid, st.st_gid)
            with contextlib.suppress(OSError):
                os.chmod(staging, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
        try:
            yield staging
            _commit(staging, out, beside)
        finally:
            if staging.exists():
                folders._remove_tree(staging)


def _commit(staging: Path, out: Path, beside: bool) -> None:
    if not out.exists() and beside:
        os.rename(staging, out)
        return
    superseded = _superseded(staging, out)
    if beside:
        for entry in out.iterdir():
            if (
                not (staging / entry.name).exists()
                and not entry.name.startswith(STAGING_TAG)
                and entry.name not in superseded
            ):
                folders.link_tree(entry, staging / entry.name)
        folders.keep_folder_meta(out, staging)  # --out and its folders keep mode, owner and group
        if _exchange(staging, out):
            return  # staging now holds the previous set; the caller removes it
        old = out.parent / f".{out.name}{OLD_TAG}{uuid.uuid4().hex[:8]}"
        try:
            os.rename(out, old)
        except OSError:  # a mount point or a busy folder cannot move: file by file
            _move_entries(staging, out, superseded)
            return
        os.rename(staging, out)
        folders._remove_tree(old)
        return
    _move_entries(staging, out, superseded)


def _superseded(staging: Path, out: Path) -> set[str]:
    """Files of the previous run of the same job that this run did not write.

    The previous run of the same job has a ``run_*.json`` of the same name; its files go with
    it, so the folder never mixes the two runs.
    """
    gone: set[str] = set()
    for meta in staging.glob("*run_*.json"):
        previous = out / meta.name
        try:
            listed = json.loads(previous.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):  # no previous run, or not ours
            continue
        if not isinstance(listed, list | dict):  # a name list or {name: sha256} in ours
            continue
        gone |= {
            str(n) for n in listed if isinstance(n, str) and "/" not in n and n != meta.name
        }
    return {n for n in gone if not (staging / n).exists()}


def _move_entries(staging: Path, out: Path, superseded: set[str] | None = None) -> None:
    """Fallback commit: move each entry of ``staging`` into ``out`` (each one atomic).

    Then remove the previous run's files that this run did not write (``superseded``).
    """
    folders.keep_folder_meta(out, staging, root=False)  # a replaced folder keeps mode, owner, group
    entries = list(staging.iterdir())
    for entry in entries:  # every check before the first move: never half a set
        target = out / entry.name
        if os.path.lexists(target) and not target.is_symlink() and (
            os.path.ismount(target) or (target.is_dir() and folders.mounts_inside(target))
        ):
            raise folders._mount_error(out, target)
    for entry in entries:
        target = out / entry.name
        replaced = entry.is_dir() and target.is_dir() and not target.is_symlink()
        if replaced and not folders._remove_tree(target):
            raise folders._mount_error(out, target)
        os.replace(entry, target)
    for name in superseded or ():
        folders._remove_tree(out / name)
