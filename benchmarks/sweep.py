"""Sweep benchmark: rank N national scenarios in one process and on a 2-worker LocalCluster.

Scenarios are generated as YAML files (one ``upgrade`` of a long national road each, to
90 km/h), read back with ``read_scenario`` as ``smaby-geo sweep`` reads them, and ranked by
people brought within 60 minutes of a hospital. The base is computed once; the same
``sweep`` then runs without and with a Dask client. The rankings must be identical; the
speed-up is single-process wall time / cluster wall time (cluster start-up reported apart).

Run: ``python benchmarks/sweep.py [--scenarios 50] [--grid 250m] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, default=50)
    p.add_argument("--grid", default="250m", choices=["250m", "1km"])
    p.add_argument("--region", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(HERE / "results" / "sweep.json"))
    args = p.parse_args()
    warnings.simplefilter("ignore")
    from dask.distributed import Client, LocalCluster

    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.pipeline import run_travel_times
    from smaby_geo.sweep import sweep

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()}")
    t0 = time.perf_counter()
    base = run_travel_times(region=args.region, service_types=("hospital",), grid=args.grid)
    t_base = time.perf_counter() - t0
    links = base["network"].links
    roads = (
        links[~links["ferry"] & links["road_number"].notna()]
        .groupby("road_number")["length_m"]
        .sum()
        .sort_values(ascending=False)
        .index[: args.scenarios]
    )
    with tempfile.TemporaryDirectory() as d:
        files = []
        for r in roads:
            f = Path(d) / f"upgrade_{r}.yaml"
            f.write_text(
                f"name: upgrade_{r}\ndescription: {r} to 90 km/h\n"
                f"edits:\n  - upgrade: {{road: {r}, speed_kmh: 90}}\n",
                encoding="utf-8",
            )
            files.append(f)
        scen = [read_scenario(f) for f in files]
    kw = {"within_min": 60.0}
    t0 = time.perf_counter()
    local = sweep(base["network"], base["cells"], base["services"], scen, **kw)
    t_local = time.perf_counter() - t0
    print(f"{len(scen)} scenarios, one process: {t_local:.1f} s", flush=True)
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        remote = sweep(base["network"], base["cells"], base["services"], scen, client=client, **kw)
        t_cluster = time.perf_counter() - t0
    cols = [c for c in local.columns if c != "seconds"]
    same = local[cols].equals(remote[cols])
    print(
        f"{args.workers}-worker LocalCluster: {t_cluster:.1f} s (+{t_start:.1f} s start-up) -> "
        f"{t_local / t_cluster:.2f}x; rankings identical: {same}; load {os.getloadavg()}"
    )
    with pd.option_context("display.width", 140):
        print(local[["rank", "scenario", "brought_within", "net_within"]].head(10))
    res = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "base_s": t_base,
        "scenarios": len(scen),
        "one_process_s": t_local,
        "cluster_s": t_cluster,
        "cluster_start_s": t_start,
        "speed_up": t_local / t_cluster,
        "identical": bool(same),
        "load_at_end": os.getloadavg(),
        "top": local.head(10).drop(columns=["description"]).to_dict("records"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
