"""Sweep benchmark: rank N national scenarios in one process and on a 2-worker LocalCluster.

Scenarios are generated as YAML files (one ``upgrade`` of a long national road each, to
90 km/h), read back with ``read_scenario`` as ``smaby-geo sweep`` reads them, and ranked by
people brought within 60 minutes of a hospital. The base is computed once; the same
``sweep`` then runs without and with a Dask client (both call the same chunk function), in
alternation, ``--repeats`` times each. The rankings must be identical.

Reported:

* wall times (median of the repeats) and the speed-up one process / cluster. The cluster's
  start-up and the workers' one-off warm-up (imports, numba kernels loaded from the cache,
  the scattered base) are measured apart and also given with the end-to-end ratio;
* CPU accounting, which does not depend on what else runs on the machine: the CPU seconds of
  the single-process sweep, the CPU seconds of each worker process and of the client/
  scheduler process during the cluster sweep, and the per-scenario CPU time on both sides.
  From these: the overhead of distribution (cluster CPU / single CPU), the load balance
  (busiest worker / mean), and the speed-up the cluster gives when each worker has a core
  to itself (single CPU seconds / busiest worker's CPU seconds);
* the load average before and after, and each process's share of a core (CPU / wall), which
  shows how much of the machine the run actually got.

With ``--end-to-end`` it times instead what a user waits for: the whole ``smaby-geo sweep``
command in fresh processes (imports, the base, the cluster's start-up, the sweep, the ranking
written with ``--out``), ``--workers 0`` against ``--workers N`` in alternation, and checks
that the two rankings are identical.

Run: ``python benchmarks/sweep.py [--scenarios 50] [--grid 1km] [--workers 2] [--repeats 3]
[--end-to-end]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def _uptime() -> str:
    try:
        out = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
        return out.stdout.strip()
    except OSError:
        return f"load {os.getloadavg()}"


def _proc_cpu() -> float:
    """CPU seconds (user + system) of this process so far, all threads."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def _scenario_files(folder: Path, n: int, links: pd.DataFrame) -> list[Path]:
    """One YAML file per long national road (``upgrade`` to 90 km/h), the n longest roads."""
    roads = (
        links[~links["ferry"] & links["road_number"].notna()]
        .groupby("road_number")["length_m"]
        .sum()
        .sort_values(ascending=False)
        .index[:n]
    )
    files = []
    for r in roads:
        f = folder / f"upgrade_{r}.yaml"
        f.write_text(
            f"name: upgrade_{r}\ndescription: {r} to 90 km/h\n"
            f"edits:\n  - upgrade: {{road: {r}, speed_kmh: 90}}\n",
            encoding="utf-8",
        )
        files.append(f)
    return files


def end_to_end(args: argparse.Namespace) -> None:
    """Whole ``smaby-geo sweep`` commands in fresh processes, one process against a cluster."""
    import smaby_geo

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; smaby_geo from {Path(smaby_geo.__file__).parent}"
    )
    print(f"at start: {_uptime()}", flush=True)
    load_start = os.getloadavg()
    times: dict[int, list[float]] = {0: [], args.workers: []}
    with tempfile.TemporaryDirectory() as d:
        from smaby_geo.pipeline import run_travel_times

        base = run_travel_times(region=args.region, service_types=("hospital",), grid=args.grid)
        files = _scenario_files(Path(d), args.scenarios, base.network.links)
        del base
        region = ["--region", args.region] if args.region else []
        for rep in range(args.repeats):
            for w in (0, args.workers):
                out = Path(d) / f"out_{w}_{rep}"
                cmd = [
                    sys.executable,
                    "-m",
                    "smaby_geo.cli",
                    "sweep",
                    *map(str, files),
                    "--grid",
                    args.grid,
                    "--workers",
                    str(w),
                    "--out",
                    str(out),
                    *region,
                ]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times[w].append(time.perf_counter() - t0)
                print(
                    f"repeat {rep + 1}, --workers {w}: {times[w][-1]:.1f} s "
                    f"(load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
        ranks = {
            w: pd.read_csv(Path(d) / f"out_{w}_0" / "sweep_ranking.csv").drop(columns="seconds")
            for w in times
        }
        same = ranks[0].equals(ranks[args.workers])
    med = {w: statistics.median(v) for w, v in times.items()}
    print(
        f"\n{args.scenarios} scenarios, whole command, medians of {args.repeats}: one process "
        f"{med[0]:.1f} s, {args.workers} workers {med[args.workers]:.1f} s -> "
        f"{med[0] / med[args.workers]:.2f}x; rankings identical: {same}"
    )
    print(f"at end: {_uptime()}")
    res = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "whole_command_s": {str(w): v for w, v in times.items()},
        "median_s": {str(w): v for w, v in med.items()},
        "speed_up": med[0] / med[args.workers],
        "identical": bool(same),
        "load_at_start": load_start,
        "load_at_end": os.getloadavg(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, default=50)
    p.add_argument("--grid", default="1km", choices=["250m", "1km"])
    p.add_argument("--region", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--end-to-end", action="store_true", help="time the whole CLI command")
    p.add_argument("--out", default=str(HERE / "results" / "sweep.json"))
    args = p.parse_args()
    if args.end_to_end:
        end_to_end(args)
        return
    warnings.simplefilter("ignore")
    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.pipeline import run_travel_times
    from smaby_geo.sweep import evaluate_scenario, local_client, sweep

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"at start: {_uptime()}", flush=True)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    base = run_travel_times(region=args.region, service_types=("hospital",), grid=args.grid)
    t_base = time.perf_counter() - t0
    net, cells, services = base["network"], base["cells"], base["services"]
    with tempfile.TemporaryDirectory() as d:
        files = _scenario_files(Path(d), args.scenarios, net.links)
        scen = [read_scenario(f) for f in files]
    kw = {"within_min": 60.0}
    print(f"base ({len(cells):,} cells, {net.n_nodes:,} nodes): {t_base:.1f} s", flush=True)
    # warm this process as the workers are warmed below: one evaluation, not timed
    evaluate_scenario(net, cells, services, scen[0], service="hospital", within_min=60.0)

    t0 = time.perf_counter()
    client = local_client(args.workers)
    t_start = time.perf_counter() - t0
    workers = sorted(client.nthreads())
    # one-off warm-up of every worker: imports, kernels from numba's cache, the scattered base
    t0 = time.perf_counter()
    b, t, sv = client.scatter([net, cells, services], broadcast=True, hash=False)
    warm = [
        client.submit(
            evaluate_scenario,
            b,
            t,
            sv,
            scen[0],
            service="hospital",
            within_min=60.0,
            workers=[w],
            pure=False,
            allow_other_workers=False,
        )
        for w in workers
    ]
    client.gather(warm)
    del warm
    t_warm = time.perf_counter() - t0

    def worker_cpu() -> dict[int, float]:
        return client.run(lambda: (os.getpid(), _proc_cpu()))

    single, clus, runs = [], [], []
    local = remote = None
    for rep in range(args.repeats):
        c0, t0 = _proc_cpu(), time.perf_counter()
        local = sweep(net, cells, services, scen, **kw)
        t_local, c_local = time.perf_counter() - t0, _proc_cpu() - c0
        w0 = worker_cpu()
        c0, t0 = _proc_cpu(), time.perf_counter()
        remote = sweep(net, cells, services, scen, client=client, chunk_size=args.chunk_size, **kw)
        t_cluster, c_main = time.perf_counter() - t0, _proc_cpu() - c0
        w1 = worker_cpu()
        c_workers = {w1[a][0]: w1[a][1] - w0[a][1] for a in w1}
        tim_l, tim_r = local.attrs["timing"], remote.attrs["timing"]
        task_cpu = tim_r.groupby("pid")["cpu_seconds"].sum()
        run = {
            "one_process_s": t_local,
            "one_process_cpu_s": c_local,
            "one_process_task_cpu_s": float(tim_l["cpu_seconds"].sum()),
            "cluster_s": t_cluster,
            "cluster_client_scheduler_cpu_s": c_main,
            "cluster_worker_cpu_s": {str(k): v for k, v in c_workers.items()},
            "cluster_task_cpu_s_per_worker": {str(k): float(v) for k, v in task_cpu.items()},
            "scenarios_per_worker": {
                str(k): int(v) for k, v in tim_r.groupby("pid")["scenario"].count().items()
            },
            "load": os.getloadavg(),
        }
        runs.append(run)
        single.append(t_local)
        clus.append(t_cluster)
        busiest = max(c_workers.values())
        print(
            f"repeat {rep + 1}: one process {t_local:.1f} s wall, {c_local:.1f} s CPU "
            f"({c_local / t_local:.2f} of a core) | cluster {t_cluster:.1f} s wall; worker CPU "
            + ", ".join(f"{v:.1f}" for v in c_workers.values())
            + f" s ({sum(c_workers.values()) / t_cluster:.2f} cores), client+scheduler "
            f"{c_main:.1f} s | ratio {t_local / t_cluster:.2f}x; if each worker had a core: "
            f"{c_local / busiest:.2f}x | load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    client.close()
    assert local is not None
    assert remote is not None
    cols = [c for c in local.columns if c != "seconds"]
    same = local[cols].equals(remote[cols])
    med_l, med_c = statistics.median(single), statistics.median(clus)
    cpu_single = statistics.median(r["one_process_cpu_s"] for r in runs)
    cpu_cluster = statistics.median(
        sum(r["cluster_worker_cpu_s"].values()) + r["cluster_client_scheduler_cpu_s"] for r in runs
    )
    busiest = statistics.median(max(r["cluster_worker_cpu_s"].values()) for r in runs)
    mean_w = statistics.median(
        sum(r["cluster_worker_cpu_s"].values()) / len(r["cluster_worker_cpu_s"]) for r in runs
    )
    print(
        f"\n{len(scen)} scenarios, medians of {args.repeats}: one process {med_l:.1f} s, "
        f"{args.workers}-worker LocalCluster {med_c:.1f} s -> {med_l / med_c:.2f}x "
        f"(cluster start-up {t_start:.1f} s and worker warm-up {t_warm:.1f} s apart; counting "
        f"them once: {med_l / (med_c + t_start + t_warm):.2f}x); rankings identical: {same}"
    )
    # On an idle machine with one core per worker the cluster's wall time is at least the
    # busiest worker's CPU time, and at least all its CPU (client/scheduler included) shared
    # over the cores; the single process needs its CPU time.
    bound = max(busiest, cpu_cluster / max(args.workers, os.cpu_count() or 1))
    print(
        f"CPU accounting (medians): one process {cpu_single:.1f} s; cluster {cpu_cluster:.1f} s "
        f"in all (workers + client/scheduler) = {cpu_cluster / cpu_single:.2f}x the single CPU; "
        f"busiest worker {busiest:.1f} s vs mean {mean_w:.1f} s; speed-up with a free core per "
        f"worker = single CPU / busiest worker CPU = {cpu_single / busiest:.2f}x; counting the "
        f"client/scheduler too (single CPU / max(busiest, all cluster CPU / cores)) = "
        f"{cpu_single / bound:.2f}x"
    )
    print(f"at end: {_uptime()}")
    with pd.option_context("display.width", 140):
        print(local[["rank", "scenario", "brought_within", "net_within"]].head(10))
    res = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "base_s": t_base,
        "scenarios": len(scen),
        "one_process_s_median": med_l,
        "cluster_s_median": med_c,
        "cluster_start_s": t_start,
        "worker_warm_up_s": t_warm,
        "speed_up": med_l / med_c,
        "speed_up_with_start_up": med_l / (med_c + t_start + t_warm),
        "cpu_one_process_s_median": cpu_single,
        "cpu_cluster_s_median": cpu_cluster,
        "cpu_busiest_worker_s_median": busiest,
        "speed_up_free_cores": cpu_single / busiest,
        "speed_up_free_cores_incl_client": cpu_single / bound,
        "identical": bool(same),
        "load_at_start": load_start,
        "load_at_end": os.getloadavg(),
        "runs": runs,
        "top": local.head(10).drop(columns=["description"]).to_dict("records"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
