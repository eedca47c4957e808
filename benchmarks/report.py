"""Write a benchmark's markdown report: printed, and saved under ``results/``."""

from __future__ import annotations

import os
from pathlib import Path


def write_report(lines: list[str], out: str | os.PathLike) -> None:
    """Print the report's lines and write them to ``out`` (its folder is made)."""
    text = "\n".join(lines)
    print(text)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"written {path}")
