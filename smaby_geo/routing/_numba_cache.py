"""Recover from a damaged numba cache instead of failing every command.

numba's ``cache=True`` keeps compiled kernels in ``__pycache__`` (``*.nbi`` index and
``*.nbc`` data files). When one of them is truncated or corrupted (a killed process, a full
disk, a copy of the folder), numba raises while unpickling it, and every command fails
until the files are deleted by hand. ``install`` wraps numba's cache loading: a file that
cannot be read is removed and the kernel is compiled again (about 3 s), with a warning.
"""

from __future__ import annotations

import glob
import os
import warnings

_INSTALLED = False


def install() -> None:
    """Make numba treat an unreadable cache entry as a cache miss (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from numba.core import caching

    original = caching.Cache._load_overload

    def _load_overload(self, sig, target_context):
        try:
            return original(self, sig, target_context)
        except Exception as exc:  # pickle/EOF/OS errors of a damaged file
            discard_cache_files(self._cache_file)
            name = getattr(self._py_func, "__qualname__", self._name)
            warnings.warn(
                f"numba cache of {name} could not be read ({type(exc).__name__}); "
                "removed it and compiling again",
                RuntimeWarning,
                stacklevel=2,
            )
            return None

    caching.Cache._load_overload = _load_overload  # type: ignore[method-assign]
    _INSTALLED = True


def discard_cache_files(cache_file) -> list[str]:
    """Delete the index and data files of one numba cache entry; return what was removed."""
    index = cache_file._index_path
    base = index[: -len(".nbi")]
    removed = []
    for path in [index, *glob.glob(glob.escape(base) + ".*.nbc")]:
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


install()
