"""Main-job benchmark: the national run (220,171 cells x 4 service types), stage by stage.

Measures, each in fresh processes on one machine in one run:

- **fresh install**: an empty numba cache and an empty prepared-network cache. First the run
  as a newcomer without the warm-up step would see it (everything compiles), then the
  ``make`` warm-up step (``python -m smaby_geo.places.warm``) on another empty cache,
  followed by the first run after it;
- **warm runs**: ``--runs`` more runs (medians of each stage, the whole process including
  imports, peak RSS), and the size of the national hospital map;
- **Innlandet ``--catchments``**: the whole command, as a user types it, ``--catchment-runs``
  times after one run that fills the caches (``--skip-catchments`` leaves it out).

Every run is a fresh process; besides its wall time the benchmark records its CPU time (user +
system, from ``getrusage`` of the child, its own children included: the main job writes the
GeoPackage in a forked process), which depends far less on other jobs sharing the machine, and
the load average before it. "whole process" is timed inside the process from before its
imports to the end of the job; "process start to exit" is the same process as the benchmark
sees it, interpreter start and teardown included.

Run: ``python benchmarks/pipeline.py [--runs 3] [--catchment-runs 3] [--grid 250m]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CODE = """
import json, resource, sys, time
from types import SimpleNamespace
t0 = time.perf_counter()
from smaby_geo.pipeline import run_main_job
args = SimpleNamespace(region=None, services="hospital,court,police,study_centre",
                       grid={grid!r}, out={out!r}, buffer_km=100.0, no_map=False,
                       include_unverified_hospitals=False, no_gpkg=False, engine="auto")
import io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    run_main_job(args)
meta = json.load(open({out!r} + "/run_norway_{grid}.json"))
print(json.dumps({{"stages": meta["stage_seconds"], "total_s": time.perf_counter() - t0,
                  "routing": meta.get("routing"),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_job(grid: str, out: str, env: dict) -> dict:
    load = os.getloadavg()[0]
    cpu0, t0 = _child_cpu_s(), time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", CODE.format(grid=grid, out=out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall, cpu = time.perf_counter() - t0, _child_cpu_s() - cpu0
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return {**res, "process_wall_s": wall, "cpu_s": cpu, "load_1min": load}


def run_command(args: list[str], env: dict) -> dict:
    """Wall and CPU seconds (user + system) of one command in a fresh process."""
    load = os.getloadavg()[0]
    cpu0, t0 = _child_cpu_s(), time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": _child_cpu_s() - cpu0,
        "load_1min": load,
    }


def show(label: str, res: dict) -> None:
    print(
        f"{label}: total {res['total_s']:.2f} s (process incl. imports; start to exit "
        f"{res['process_wall_s']:.2f} s; CPU {res['cpu_s']:.2f} s; load "
        f"{res['load_1min']:.1f}), peak RSS "
        f"{res['peak_rss_mb']:.0f} MB; stages "
        + ", ".join(f"{k} {v:.2f}" for k, v in res["stages"].items()),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--grid", default="250m", choices=["250m", "1km"])
    p.add_argument("--skip-fresh", action="store_true")
    p.add_argument("--skip-catchments", action="store_true")
    p.add_argument(
        "--skip-cold", action="store_true", help="no fresh-install run without the warm-up step"
    )
    p.add_argument("--catchment-runs", type=int, default=3)
    p.add_argument("--skip-national", action="store_true", help="only the Innlandet command")
    p.add_argument("--json", default=str(Path(__file__).parent / "results" / "pipeline.json"))
    args = p.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()}"
    )
    out_json: dict = {"grid": args.grid, "load_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out")
        if not args.skip_fresh and not args.skip_national:
            env = dict(
                os.environ,
                NUMBA_CACHE_DIR=str(Path(tmp) / "numba_cold"),
                SMABY_GEO_CACHE_DIR=str(Path(tmp) / "routing_cold"),
            )
            cold = None
            if not args.skip_cold:
                cold = run_job(args.grid, out, env)
                show("fresh install, no warm-up step (everything compiles)", cold)
            env = dict(
                os.environ,
                NUMBA_CACHE_DIR=str(Path(tmp) / "numba_fresh"),
                SMABY_GEO_CACHE_DIR=str(Path(tmp) / "routing_fresh"),
            )
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "smaby_geo.places.warm"], env=env, check=True)
            warm_step = time.perf_counter() - t0
            print(f"make warm-up step: {warm_step:.1f} s", flush=True)
            first = run_job(args.grid, out, env)
            show("first run after install + warm-up step", first)
            out_json.update(cold_no_warm_step=cold, warm_step_s=warm_step, first_run=first)
        env = dict(os.environ, SMABY_GEO_CACHE_DIR=str(Path(tmp) / "routing"))
        if not args.skip_national:
            run_job(args.grid, out, env)  # fills the caches of this run's environment
            results = []
            for i in range(args.runs):
                res = run_job(args.grid, out, env)
                show(f"warm run {i + 1}", res)
                results.append(res)
            map_mb = (Path(out) / f"map_hospital_norway_{args.grid}.html").stat().st_size / 1e6
            sizes = {f.name: f.stat().st_size for f in Path(out).iterdir()}
            stages = results[0]["stages"].keys()
            print("\n| stage | median s |\n|---|---:|")
            for k in stages:
                print(f"| {k} | {np.median([r['stages'][k] for r in results]):.2f} |")
            whole = float(np.median([r["total_s"] for r in results]))
            exit_s = float(np.median([r["process_wall_s"] for r in results]))
            cpu = float(np.median([r["cpu_s"] for r in results]))
            load = float(np.median([r["load_1min"] for r in results]))
            print(f"| **whole process** | {whole:.2f} |")
            print(f"| process start to exit | {exit_s:.2f} |")
            print(f"| whole process, CPU (user + system) | {cpu:.2f} |")
            print(f"| load average (1 min) before the runs | {load:.1f} |")
            print(f"\npeak RSS (max over runs): {max(r['peak_rss_mb'] for r in results):.0f} MB")
            print(f"national hospital map: {map_mb:.2f} MB; routing: {results[0]['routing']}")
            if not args.skip_fresh:
                print(
                    f"first run after install / warm run: {first['total_s'] / whole:.2f}"
                    + (
                        f" (without the warm-up step: {cold['total_s'] / whole:.2f})"
                        if cold
                        else ""
                    )
                )
            out_json.update(runs=results, map_mb=map_mb, output_bytes=sizes)
            out_json.update(
                whole_median_s=whole, process_exit_median_s=exit_s, cpu_median_s=cpu
            )
            out_json["outputs_median_s"] = float(
                np.median([r["stages"]["outputs"] for r in results])
            )
        if not args.skip_catchments:
            cmd = [
                sys.executable,
                "-m",
                "smaby_geo.cli",
                "run",
                "--region",
                "Innlandet",
                "--catchments",
                "--out",
                str(Path(tmp) / "innlandet"),
            ]
            run_command(cmd, env)  # fills the prepared-network cache of the clipped network
            runs = []
            for i in range(args.catchment_runs):
                r = run_command(cmd, env)
                print(
                    f"Innlandet --catchments run {i + 1}: {r['wall_s']:.1f} s (CPU "
                    f"{r['cpu_s']:.1f} s; load {r['load_1min']:.1f})",
                    flush=True,
                )
                runs.append(r)
            t_c = float(np.median([r["wall_s"] for r in runs]))
            c_c = float(np.median([r["cpu_s"] for r in runs]))
            html = sorted((Path(tmp) / "innlandet").glob("*.html"))
            print(
                f"\nInnlandet --catchments, whole command: median {t_c:.1f} s, CPU {c_c:.1f} s "
                f"(of {len(runs)}); maps: "
                + ", ".join(f"{h.name} {h.stat().st_size / 1e6:.2f} MB" for h in html)
            )
            out_json["innlandet_catchments_s"] = t_c
            out_json["innlandet_catchments_cpu_s"] = c_c
            out_json["innlandet_catchments_runs"] = runs
            out_json["innlandet_maps_mb"] = {h.name: h.stat().st_size / 1e6 for h in html}
    out_json["load_at_end"] = os.getloadavg()
    dst = Path(args.json)
    dst.parent.mkdir(exist_ok=True)
    dst.write_text(json.dumps(out_json, indent=2))


if __name__ == "__main__":
    main()
