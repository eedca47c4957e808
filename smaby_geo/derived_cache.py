"""Derived data kept between runs in the data home, named by a fingerprint of its inputs.

As the prepared routing networks (``routing/ch_<fingerprint>.npz``), each entry is a file
``<data home>/<kind>/<name>_<fingerprint>.<ext>`` whose fingerprint is the sha256 of
everything it is derived from: the bytes of the input files, the parameters, a format version
and the versions of the libraries that compute and store it. Changed inputs give another name,
so a stale entry is never read. The plain sha256 of each entry's bytes (hex, as ``sha256sum``
prints it) is kept in ``<entry>.sha256`` (``datasets.checksum_sidecar_path``) and checked before
the entry is read; an entry whose sidecar does not hold that digest (a truncated or edited
entry, a missing or foreign sidecar, or one of the tagged form ``fingerprint`` gives, which
this module wrote before) is computed again and replaced, never read. Of each ``name`` only the
``KEEP_ENTRIES`` most recently used entries are kept: saving a new one removes the older ones
(reading an entry marks it used). Entries are written to a temporary file and renamed into
place; a folder that cannot be written only costs the saving (and says so once per process,
``warn_cache_unwritable``), and an entry that cannot be read is computed again and replaced.
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

    Each part is tagged with its kind (``file:``, ``bytes:``, ``repr:``) and ended by a NUL
    byte, so that no two different lists of parts give the same stream; the result is
    therefore a cache key, not the sha256 of any one file (``datasets.hash_file`` is that).

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
        The plain sha256 of the bytes saved goes beside it (``<entry>.sha256``, as
        ``sha256sum`` prints it); an entry whose bytes do not match it (truncated, edited,
        a missing or foreign sidecar) is computed again and replaced.

    Returns
    -------
    The value (loaded or computed).
    """
    if path.is_file():
        try:
            if datasets.hash_file(path) != _sidecar(path).read_text().strip():
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
        _save_entry(value, path, save)
        prune(path)
    except OSError as exc:  # read-only or full data home: not saved, and said once
        warn_cache_unwritable(path.parent, exc)
    except Exception:  # a value it cannot store: not saved
        pass
    return value


_warned_folders: set[str] = set()


def warn_cache_unwritable(folder: Path, exc: OSError) -> None:
    """Warn, once per process, that derived data cannot be kept: later runs compute it again.

    Parameters
    ----------
    folder : Path
        The cache folder that could not be written (in the data home).
    exc : OSError
        Why (permission denied, read-only or full disk).
    """
    datasets.warn_unwritable_once(
        _warned_folders,
        datasets.data_home(),
        folder,
        exc,
        "keep derived data (prepared networks, population cells, maps)",
        "every run computes them again",
        stacklevel=3,
    )


def _save_entry(value: Any, path: Path, save: Callable[[Any, Path], object]) -> None:
    """``save`` ``value`` to ``path`` and its sha256 beside it, each renamed into place.

    Its own temporary files rather than ``outputs.io.atomic_path``: that is a higher layer
    (outputs), and an entry is two files. The sidecar is renamed first, so a process killed
    between the two renames leaves a sidecar that does not match the entry: computed again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
    os.close(fd)
    side_tmp = tmp + ".sha256"
    try:
        save(value, Path(tmp))
        os.chmod(tmp, 0o644)  # readable by everyone sharing the data home, as a download
        Path(side_tmp).write_text(datasets.hash_file(tmp) + "\n")
        os.replace(side_tmp, _sidecar(path))
        os.replace(tmp, path)
    finally:
        for t in (tmp, side_tmp):
            if os.path.exists(t):
                os.unlink(t)


def _sidecar(path: Path) -> Path:
    return datasets.checksum_sidecar_path(path)


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
