"""Derived data kept between runs in the data home, named by a fingerprint of its inputs.

As the prepared routing networks (``routing/ch_<fingerprint>.npz``), each entry is a file
``<data home>/<kind>/<name>_<fingerprint>.<ext>`` whose fingerprint is the sha256 of
everything it is derived from: the bytes of the input files, the parameters, a format version
and the versions of the libraries that compute and store it. Changed inputs give another name,
so a stale entry is never read; the sha256 of each entry's bytes is kept beside it
(``<entry>.sha256``) and checked before the entry is read. Of each ``name`` only the
``KEEP_ENTRIES`` most recently used entries are kept: saving a new one removes the older ones
(reading an entry marks it used). Entries are written to a temporary file and renamed into
place; a folder that cannot be written only costs the saving, and an entry that cannot be
read is computed again and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smaby_geo import datasets

FINGERPRINT_CHARS = 32
#: Entries kept per name (e.g. a few data sets or profiles used in turn); older ones are removed.
KEEP_ENTRIES = 4


def fingerprint(*parts: Any) -> str:
    """sha256 (hex) of ``parts``: bytes as they are, ``Path`` as the file's bytes, else ``repr``.

    Parameters
    ----------
    *parts
        ``bytes``, ``pathlib.Path`` (a file, read whole) or any value with a stable ``repr``
        (str, int, float, tuples of them).
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            h.update(b"file:")
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        elif isinstance(part, bytes | bytearray | memoryview):
            h.update(b"bytes:")
            h.update(part)
        else:
            h.update(b"repr:")
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def cache_folder(kind: str) -> Path:
    """``<data home>/<kind>`` (``datasets.data_home()``; ``$SMABY_GEO_CACHE_DIR`` when set)."""
    return datasets.data_home() / kind


def entry_path(kind: str, name: str, key: str, ext: str) -> Path:
    """The cache file of ``name`` with fingerprint ``key`` (its first 32 hex digits)."""
    return cache_folder(kind) / f"{name}_{key[:FINGERPRINT_CHARS]}.{ext}"


def cached(
    path: Path,
    compute: Callable[[], Any],
    load: Callable[[Path], Any],
    save: Callable[[Any, Path], object],
) -> Any:
    """Return ``load(path)``; when absent or unreadable, ``compute()`` and try to ``save`` it.

    Parameters
    ----------
    path : Path
        The entry (``entry_path``).
    compute : callable
        () -> value.
    load : callable
        Path -> value; any exception counts as a missing entry.
    save : callable
        (value, Path) -> None; writes into a temporary file that is renamed to ``path``.
        The sha256 of the bytes saved goes beside it (``<entry>.sha256``); an entry whose
        bytes no longer match (truncated, edited) is computed again and replaced.

    Returns
    -------
    The value (loaded or computed).
    """
    if path.is_file():
        try:
            if _digest_file(path) != _sidecar(path).read_text().strip():
                raise ValueError("damaged entry")  # its bytes are not the bytes saved
            value = load(path)
        except Exception:  # damaged or from an incompatible library: compute again
            pass
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # used now: the pruning keeps the most recently used
            return value
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
        os.close(fd)
        try:
            save(value, Path(tmp))
            os.chmod(tmp, 0o644)  # readable by everyone sharing the data home, as a download
            side_tmp = Path(tmp + ".sha256")
            side_tmp.write_text(_digest_file(Path(tmp)))
            os.replace(side_tmp, _sidecar(path))
            os.replace(tmp, path)
        finally:
            for t in (tmp, tmp + ".sha256"):
                if os.path.exists(t):
                    os.unlink(t)
        prune(path)
    except Exception:  # read-only or full data home, a value it cannot store: not saved
        pass
    return value


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _digest_file(path: Path) -> str:
    return fingerprint(path)


def prune(path: Path, keep: int = KEEP_ENTRIES) -> list[Path]:
    """Remove all but the ``keep`` most recently used entries of ``path``'s name.

    Parameters
    ----------
    path : Path
        An entry (``entry_path``); its siblings ``<name>_<32 hex digits>.<ext>`` are the
        other entries of the same name. ``path`` itself is never removed.
    keep : int, default ``KEEP_ENTRIES``

    Returns
    -------
    list of Path
        The entries removed.
    """
    name, _, rest = path.name.rpartition("_")
    ext = rest.partition(".")[2]
    pattern = re.compile(rf"{re.escape(name)}_[0-9a-f]{{{FINGERPRINT_CHARS}}}\.{re.escape(ext)}")
    entries = []
    for p in path.parent.iterdir():
        if pattern.fullmatch(p.name):
            with contextlib.suppress(OSError):  # removed meanwhile
                entries.append((p.stat().st_mtime, p))
    entries.sort(reverse=True)
    removed = []
    for _, p in entries[max(int(keep), 1) :]:
        if p != path:
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
            with contextlib.suppress(OSError):
                _sidecar(p).unlink()
    return removed
