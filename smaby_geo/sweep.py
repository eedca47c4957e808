"""Scenario sweeps: rank many corridor/service scenarios by what they bring, on Dask.

Each scenario is evaluated exactly as ``smaby-geo scenario`` evaluates it (``apply_scenario``,
``apply_service_edits``, ``compare`` against the same base table), so the figures equal the
single-process ones. Scenarios are independent: with a ``dask.distributed`` client (a
``LocalCluster`` or a scheduler address) the base network, cells and services are scattered
once to every worker and each task evaluates a chunk of scenarios there with numba on one
thread (the parallelism is across scenarios).
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from smaby_geo._errors import InputError, one_line
from smaby_geo.network.core import RoadNetwork

if TYPE_CHECKING:
    from dask.distributed import Client

#: Environment of the worker processes of ``local_client``: one thread per worker for numba's
#: parallel kernels and for BLAS/OpenMP, since the parallelism is one scenario per worker (a
#: worker process per core, ``threads_per_worker=1``).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: glibc malloc settings the nanny sets before it starts a worker (``distributed.nanny.
#: pre-spawn-environ``). Dask's own default, ``MALLOC_TRIM_THRESHOLD_=65536``, also freezes
#: glibc's mmap threshold at 128 KiB, so every numpy temporary of a national scenario (a few
#: hundred kB each) is mapped and unmapped again: measured here, 4-5x the system CPU time of a
#: plain process (``benchmarks/sweep.py``). These values are the ones glibc's own dynamic
#: thresholds settle at on 64-bit (mmap 32 MiB, trim twice that).
WORKER_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": 33554432, "MALLOC_TRIM_THRESHOLD_": 67108864}


def local_client(n_workers: int, *, silence_logs: int = logging.ERROR):
    """Start a ``LocalCluster`` tuned for sweeps and return a client to it.

    One worker process per core is the standard layout for work that holds the GIL: each
    worker runs one thread (``threads_per_worker=1``) and numba on one thread
    (``WORKER_ENV``); glibc's malloc keeps its usual thresholds (``WORKER_MALLOC_ENV``); the
    workers' statistical profiler (a stack sample every 10 ms) is off.

    Parameters
    ----------
    n_workers : int
        Worker processes (>= 1), normally the number of cores.
    silence_logs : int
        Log level of the cluster's loggers.

    Returns
    -------
    dask.distributed.Client
        Closing it (``client.close()`` or a ``with`` block) also closes the cluster.

    Notes
    -----
    Dask passes the malloc variables to a worker through this process's environment
    (``distributed.nanny.pre-spawn-environ``), where a value left by an earlier cluster would
    win; they are set while the workers start and this process's environment is then put
    back as it was.
    """
    import dask
    from dask.distributed import Client

    if not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    pre = dict(dask.config.get("distributed.nanny.pre-spawn-environ")) | WORKER_MALLOC_ENV
    # Dask lets a variable already in os.environ win over its config, and its nannies leave
    # their values there (an earlier cluster in this process leaves MALLOC_TRIM_THRESHOLD_=
    # 65536): set ours while the cluster starts, then put the environment back.
    saved = {k: os.environ.get(k) for k in WORKER_MALLOC_ENV}
    os.environ.update({k: str(v) for k, v in WORKER_MALLOC_ENV.items()})
    try:
        with dask.config.set(
            {
                "distributed.nanny.pre-spawn-environ": pre,
                "distributed.worker.profile.enabled": False,
            }
        ):
            # Client() with no address starts the LocalCluster itself and closes it on close()
            return Client(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port, no clash with another cluster
                silence_logs=silence_logs,
                env=WORKER_ENV,
                set_as_default=False,
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def max_local_workers() -> int:
    """Most workers of a local cluster (``sweep --workers``): the CPU cores this process may use.

    ``os.sched_getaffinity`` where the platform has it (a container or ``taskset`` limit
    counts), else ``os.cpu_count()``. Each worker is a process holding its own copy of the
    base network and table and evaluating one scenario at a time on one core, so more
    workers than cores only add memory.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def check_workers(n_workers: int, *, cli: bool = False) -> int:
    """Return ``n_workers`` (local worker processes) if an integer 0 to ``max_local_workers()``.

    ``cli``: name ``--workers``/``--scheduler`` (``smaby-geo sweep``) in the message, not the
    parameters ``n_workers=``/``scheduler=`` (``sweep_scenarios``).

    Raises
    ------
    InputError
        Not an integer, negative, or more than this machine's cores, naming it and the fix.
    """
    most = max_local_workers()
    integer = isinstance(n_workers, int) and not isinstance(n_workers, bool)
    if not (integer and 0 <= n_workers <= most):
        given = f"--workers {n_workers}" if cli else f"n_workers={n_workers!r}"
        other = "--scheduler" if cli else "its address as scheduler= (or a client=)"
        raise InputError(
            f"{given}: give 0 (run in this process) to {most} (the CPU cores "
            "this process may use: each worker is a process with its own copy of the base, so more "
            f"workers than cores only add memory); for more, start a Dask cluster and give {other}"
        )
    return n_workers


def connect_scheduler(address: str) -> Client:
    """Connect to the Dask scheduler at ``address`` (``--scheduler``, e.g. ``tcp://host:8786``).

    Raises
    ------
    InputError
        The scheduler cannot be reached in Dask's connect time-out
        (``distributed.comm.timeouts.connect``) or the address is not one, naming
        ``--scheduler`` and the fix.
    """
    from dask.distributed import Client

    try:
        return Client(address)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            f"--scheduler {address}: cannot connect ({one_line(str(exc)).rstrip('.')}); check "
            "the address (tcp://host:8786) and that the scheduler is running there, or leave "
            "out --scheduler to run in this process"
        ) from None


def evaluate_scenario(
    base: RoadNetwork,
    base_table,
    services,
    scenario,
    *,
    service: str,
    within_min: float,
) -> dict:
    """People brought within ``within_min`` of ``service`` by one scenario (and more figures).

    Parameters
    ----------
    base : RoadNetwork
        Base network (with link geometry).
    base_table : GeoDataFrame
        ``travel_times`` of the base for the origins (grid cells), type ``service`` included.
    services : GeoDataFrame
        Base service layer.
    scenario : Scenario
        ``read_scenario`` output.
    service : str
        Service type ranked on.
    within_min : float
        Threshold, minutes (inclusive, as everywhere in the package).

    Returns
    -------
    dict
        ``scenario``, ``description``, ``edits``, ``brought_within`` (people whose time went
        from above to at most the threshold), ``pushed_outside``, ``net_within`` (the
        difference), ``population_faster``, ``person_minutes_saved``, ``mean_change_minutes``
        and ``seconds`` (wall time of the evaluation); when an edit does not apply to the
        base (e.g. a ferry outside the region) only ``error`` says why.
    """
    from smaby_geo.analysis.scenarios import check_opened_sites, compare
    from smaby_geo.network.scenario import apply_scenario, apply_service_edits

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            net = apply_scenario(base, scenario)
            check_opened_sites(net, scenario)  # a site no road reaches: an error, not a no-op
            sv1 = apply_service_edits(services, scenario)
        except ValueError as exc:  # an edit that does not apply here: reported, ranked last
            return {
                "scenario": scenario.name,
                "description": scenario.description,
                "edits": len(scenario.edits),
                "error": str(exc),
                "seconds": time.perf_counter() - t0,
            }
        cmp = compare(
            base,
            net,
            base_table,
            services,
            sv1,
            service_types=[service],
            thresholds_min=(within_min,),
            base_table=base_table,
            regions=False,
        )
    thr = cmp.thresholds.iloc[0]
    summ = cmp.summary.iloc[0]
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "edits": len(scenario.edits),
        "brought_within": int(thr["newly_within"]),
        "pushed_outside": int(thr["newly_outside"]),
        "net_within": int(thr["newly_within"]) - int(thr["newly_outside"]),
        "population_faster": int(summ["population_faster"]),
        "person_minutes_saved": float(summ["person_minutes_saved"]),
        "mean_change_minutes": float(summ["mean_change_minutes"]),
        "error": "",
        "seconds": time.perf_counter() - t0,
    }


def rank(rows: list[dict]) -> pd.DataFrame:
    """Order evaluations by net people brought within, then person-minutes saved, then name.

    Scenarios that could not be applied (``error``) come last.
    """
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["error"] = df["error"].fillna("")
    df = df.sort_values(
        ["net_within", "person_minutes_saved", "scenario"],
        ascending=[False, False, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def _evaluate_chunk(
    base: RoadNetwork,
    base_table,
    services,
    scenarios: list,
    *,
    service: str,
    within_min: float,
    numba_threads: int | None = None,
) -> list[dict]:
    """Evaluate a chunk of scenarios one after another; the unit of work of ``sweep``.

    The same function runs in this process (``client=None``, the whole list as one chunk) and
    as one Dask task per chunk, so both paths compute with the same code. Each row also
    carries ``cpu_seconds`` (process CPU time of its evaluation) and ``pid`` for the timing
    record of ``sweep``.

    Parameters
    ----------
    numba_threads : int, optional
        Threads for numba's parallel kernels in this task (``numba.set_num_threads``, which
        applies to the calling thread). Dask tasks pass 1: the parallelism is one scenario
        per worker thread, and a worker whose kernels also start a thread per core only makes
        the workers fight for the same cores. None leaves numba's setting as it is.
    """
    if numba_threads is not None:
        import numba

        most = int(cast(Any, numba.config).NUMBA_NUM_THREADS)  # size of numba's thread pool
        numba.set_num_threads(max(1, min(int(numba_threads), most)))
    rows = []
    pid = os.getpid()
    for sc in scenarios:
        c0 = time.process_time()
        row = evaluate_scenario(
            base, base_table, services, sc, service=service, within_min=within_min
        )
        row["cpu_seconds"] = time.process_time() - c0
        row["pid"] = pid
        rows.append(row)
    return rows


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _default_chunk_size(n_scenarios: int, n_threads: int) -> int:
    """About 4 chunks per worker thread: few tasks to schedule, still balanced at the end."""
    return max(1, -(-n_scenarios // max(1, 4 * n_threads)))


def sweep(
    base: RoadNetwork,
    base_table,
    services,
    scenarios: list,
    *,
    service: str = "hospital",
    within_min: float = 60.0,
    client=None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Evaluate and rank scenarios against one base, locally or on a Dask cluster.

    Parameters
    ----------
    base, base_table, services
        As in ``evaluate_scenario``.
    scenarios : list of Scenario
    service : str, default "hospital"
    within_min : float, default 60
        Threshold in minutes.
    client : dask.distributed.Client, optional
        Run the scenarios on this cluster. The base network, base table and services are
        sent to every worker once (``client.scatter(..., broadcast=True)``); each task then
        carries only its chunk of scenarios (a few kB) and evaluates them with numba's
        parallel kernels on one thread (the parallelism is across scenarios). Without a
        client the scenarios run one after another in this process with the same function.
        The figures are the same either way.
    chunk_size : int, optional
        Scenarios per Dask task; default about four tasks per worker thread (fewer round
        trips, still balanced at the end). Ignored without ``client``.

    Returns
    -------
    DataFrame
        ``rank`` then the columns of ``evaluate_scenario``, best first. ``attrs["timing"]``
        holds one row per scenario: ``scenario``, ``seconds`` (wall), ``cpu_seconds``
        (process CPU time of the evaluation) and ``pid`` (the process that ran it), for
        accounting of parallel efficiency.
    """
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenario names must be unique in a sweep; repeated: {dup}")
    if service not in base_table.attrs.get("service_types", [service]):
        raise ValueError(f"the base table has no {service!r} times")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    kw: dict[str, Any] = {"service": service, "within_min": float(within_min)}
    if client is None:
        rows = _evaluate_chunk(base, base_table, services, list(scenarios), **kw)
    else:
        n_threads = sum(client.nthreads().values()) or 1
        size = chunk_size or _default_chunk_size(len(scenarios), n_threads)
        # hash=False: tokenizing the GeoDataFrames for a content key costs seconds of CPU in
        # this process (measured 2.4 s for the national 1 km base); a sweep sends them once.
        b, t, sv = client.scatter([base, base_table, services], broadcast=True, hash=False)
        futs = [
            client.submit(_evaluate_chunk, b, t, sv, chunk, pure=False, numba_threads=1, **kw)
            for chunk in _chunks(list(scenarios), size)
        ]
        rows = [r for part in client.gather(futs) for r in part]
    timing = pd.DataFrame(
        [{k: r.pop(k) for k in ("cpu_seconds", "pid")} | {"scenario": r["scenario"]} for r in rows]
    )
    out = rank(rows)
    if len(timing):
        timing = timing.merge(out[["scenario", "seconds"]], on="scenario", how="left")
        out.attrs["timing"] = timing[["scenario", "seconds", "cpu_seconds", "pid"]]
    return out


def sweep_scenarios(
    files: Sequence[str | os.PathLike],
    *,
    region: str | None = None,
    grid: str = "250m",
    service: str = "hospital",
    within_min: float = 60.0,
    buffer_km: float | None = None,
    scheduler: str | None = None,
    n_workers: int = 0,
    client: Client | None = None,
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """``smaby-geo sweep``: read scenario files, compute the base once, rank the scenarios.

    Parameters
    ----------
    files : list of path-like
        Scenario YAML files; every file is read (and its errors reported with the file
        named) before any computing starts.
    region, grid, buffer_km
        As in ``run_travel_times``.
    service : str
        Service type ranked on.
    within_min : float
        Threshold, minutes: finite and > 0 (``--within``), else ``ValueError``.
    scheduler : str, optional
        Address of a running Dask scheduler (e.g. ``tcp://10.0.0.5:8786``).
    n_workers : int
        Without ``scheduler``/``client``: start a ``LocalCluster`` with this many worker
        processes (``local_client``: one thread each); 0 runs in this process. At most
        ``max_local_workers()`` (``check_workers``).
    client : dask.distributed.Client, optional
        An existing client (takes precedence over ``scheduler`` and ``n_workers``).
    out : path-like, optional
        Folder to write ``sweep_ranking.csv`` into (atomically).

    Returns
    -------
    DataFrame
        The ranking (``sweep``), with ``attrs`` ``service``, ``within_min`` and ``region``.
    """
    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.pipeline import run_travel_times

    number = isinstance(within_min, int | float)
    if not (number and math.isfinite(within_min) and within_min > 0):
        shown = f"{within_min:g}" if number else repr(within_min)
        raise ValueError(
            f"--within {shown}: --within must be a finite number of minutes > 0, e.g. --within 60"
        )
    if scheduler is None and client is None:  # the workers of a cluster of your own are its own
        check_workers(n_workers)
    scenarios = []
    for f in files:
        try:
            scenarios.append(read_scenario(f))
        except (ValueError, KeyError, OSError) as exc:
            msg = str(exc)
            raise ValueError(msg if str(f) in msg else f"scenario file {f}: {msg}") from exc
    own = None  # connect first: a wrong --scheduler is found before the base is computed
    if client is None and (scheduler or n_workers):
        client = own = connect_scheduler(scheduler) if scheduler else local_client(n_workers)
    try:
        res = run_travel_times(
            region=region, service_types=(service,), grid=grid, buffer_km=buffer_km
        )
        table = sweep(
            res.network,
            res.cells,
            res.services,
            scenarios,
            service=service,
            within_min=within_min,
            client=client,
        )
    finally:
        if own is not None:
            own.close()
    table.attrs.update(service=service, within_min=within_min, region=res.region_name)
    if out is not None:
        from smaby_geo.outputs.io import write_csv

        write_csv(table, Path(out) / "sweep_ranking.csv", index=False)
    return table


def print_ranking(table: pd.DataFrame, *, service: str, within_min: float) -> None:
    """Print the ranking as a Markdown table (person-minutes rounded, no "-0" for no change)."""
    print(
        f"Scenarios ranked by people brought within {within_min:g} min of a "
        f"{service.replace('_', ' ')} (net of people pushed outside):"
    )
    print("| rank | scenario | brought within | pushed outside | net | person-min saved |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in table.itertuples(index=False):
        if r.error:
            print(f"| {r.rank} | {r.scenario} | not applied: {r.error} | | | |")
            continue
        print(
            f"| {r.rank} | {r.scenario} | {int(r.brought_within):,} | {int(r.pushed_outside):,} "
            f"| {int(r.net_within):,} | {round(r.person_minutes_saved, 0) + 0.0:,.0f} |"
        )
