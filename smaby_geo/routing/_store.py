"""Atomic ``.npz`` writing for routing indexes (no dependency on higher layers)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def save_npz(path: str | os.PathLike, arrays: dict) -> Path:
    """Write ``arrays`` to ``path`` via a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part.npz", dir=path.parent)
    os.close(fd)
    try:
        # allow_pickle=True is numpy's default, named so every ** key is typed as an array
        np.savez(tmp, allow_pickle=True, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
