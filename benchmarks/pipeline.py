"""Main-job benchmark: the national run (220,171 cells x 4 service types), stage by stage.

Runs ``smaby-geo run`` in fresh processes (the first warms numba's cache) and prints the stage
timings of each, the median over runs and the peak memory (max RSS) of the process.

Run: ``python benchmarks/pipeline.py [--runs 3] [--grid 250m]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CODE = """
import json, resource, sys, time
from types import SimpleNamespace
t0 = time.perf_counter()
from smaby_geo.pipeline import run_main_job
args = SimpleNamespace(region=None, services="hospital,court,police,study_centre",
                       grid={grid!r}, out={out!r}, buffer_km=100.0, no_map=False,
                       include_unverified_hospitals=False)
import io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    run_main_job(args)
meta = json.load(open({out!r} + "/run_norway_{grid}.json"))
print(json.dumps({{"stages": meta["stage_seconds"], "total_s": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--grid", default="250m", choices=["250m", "1km"])
    args = p.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as out:
        for i in range(args.runs + 1):
            r = subprocess.run(
                [sys.executable, "-c", CODE.format(grid=args.grid, out=out)],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(r.stdout.strip().splitlines()[-1])
            label = "warm-up (fills numba cache if empty)" if i == 0 else f"run {i}"
            print(
                f"{label}: total {res['total_s']:.2f} s (process incl. imports), peak RSS "
                f"{res['peak_rss_mb']:.0f} MB; stages "
                + ", ".join(f"{k} {v:.2f}" for k, v in res["stages"].items())
            )
            if i:
                results.append(res)
    stages = results[0]["stages"].keys()
    print("\n| stage | median s |\n|---|---:|")
    for k in stages:
        print(f"| {k} | {np.median([r['stages'][k] for r in results]):.2f} |")
    print(f"| **whole process** | {np.median([r['total_s'] for r in results]):.2f} |")
    print(f"\npeak RSS (max over runs): {max(r['peak_rss_mb'] for r in results):.0f} MB")
    out = Path(__file__).parent / "results" / "pipeline.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"grid": args.grid, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
