"""What the roadside term costs the national network read, warm and cold.

    python benchmarks/roadside_cost.py [--repeats 7] [--source n1000]

Reads the national network ``--repeats`` times in each of three ways, interleaved, in one
process: with a profile whose roadside term is off (``population="default"`` then leaves the
densities unmeasured, ``smaby_geo.network.roadside``; the default profile since the quay
calls of 27 Nov 2026), with the profile fitted with the term on (``ROADSIDE_FIT``: the
densities read from the data home's cache) and with ``population=None`` (no densities at
all). It reports the medians of wall and CPU time (``time.process_time``, which other jobs on
the machine disturb far less) and their differences: what a warm main job (``smaby-geo run``
reads the network once) would pay for the term. It also times the densities computed from scratch
(``roadside_residents_per_km`` on the grid file: what the first read with the term on pays
once; a read with the term off never pays it).

Writes ``benchmarks/results/roadside_cost.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_report

from smaby_geo import datasets
from smaby_geo.analysis.calibration import set_parameters
from smaby_geo.network import CarProfile
from smaby_geo.network.profile import ROADSIDE_FIT, prior_profile
from smaby_geo.network.readers import read_kartverket
from smaby_geo.network.roadside import read_grid_cells, roadside_residents_per_km

RESULTS = Path(__file__).resolve().parent / "results" / "roadside_cost.md"


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--source", default="n1000", choices=["n1000", "n2000"])
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    kw = {"dataset": f"{args.source}_roads"}
    off = CarProfile(roadside_density_scale_residents_per_km=None)
    on = set_parameters(prior_profile(), dict(ROADSIDE_FIT))
    net = read_kartverket(**kw, profile=on)  # the term on: fills the densities' cache
    arms = {
        "off": {"profile": off},
        "on": {"profile": on},
        "none": {"population": None},
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    for _ in range(args.repeats):
        for name, extra in arms.items():
            _, w, c = _timed(lambda extra=extra: read_kartverket(**kw, **extra))
            times[name].append((w, c))
    geoms = net.links.geometry.to_numpy()
    grid = datasets.locate_dataset("popgrid_250m")
    (_, w_read, c_read) = _timed(lambda: read_grid_cells(grid))
    x, y, pop = read_grid_cells(grid)
    _, w_q, c_q = _timed(lambda: roadside_residents_per_km(geoms, x, y, pop))

    def med(name: str, i: int) -> float:
        return statistics.median(t[i] for t in times[name])

    load = os.getloadavg()[0]
    lines = [
        "# Cost of the roadside densities in the network read",
        "",
        f"Command: `python benchmarks/roadside_cost.py --repeats {args.repeats} --source "
        f"{args.source}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1 min) at the end {load:.1f}; "
        f"{len(geoms):,} links.",
        "",
        "| national network read (median of the runs) | wall s | CPU s |",
        "|---|---:|---:|",
        f"| term off, the default (densities not measured) | {med('off', 0):.3f} | "
        f"{med('off', 1):.3f} |",
        f"| term on, `ROADSIDE_FIT` (densities from the cache) | {med('on', 0):.3f} | "
        f"{med('on', 1):.3f} |",
        f"| `population=None` (no densities) | {med('none', 0):.3f} | {med('none', 1):.3f} |",
        f"| term on minus term off | {med('on', 0) - med('off', 0):+.3f} | "
        f"{med('on', 1) - med('off', 1):+.3f} |",
        f"| term off minus `population=None` | {med('off', 0) - med('none', 0):+.3f} | "
        f"{med('off', 1) - med('none', 1):+.3f} |",
        "",
        "Computed from scratch (the first read with the term on only; then cached): grid read "
        f"{w_read:.2f} s wall ({c_read:.2f} s CPU), densities {w_q:.2f} s wall ({c_q:.2f} s "
        "CPU).",
        "",
    ]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
