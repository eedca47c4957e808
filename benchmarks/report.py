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


def markdown_table(df, floatfmt: str = ".1f") -> str:
    """A DataFrame as a markdown table (floats with ``floatfmt``), without the index."""
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| "
        + " | ".join(format(v, floatfmt) if isinstance(v, float) else str(v) for v in row)
        + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def describe_machine() -> str:
    """The machine line of a report: architecture, cores, numba threads, Python, load now."""
    import platform

    import numba

    return (
        f"{platform.machine()}, {os.cpu_count()} cores (numba {numba.get_num_threads()} "
        f"threads), Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
