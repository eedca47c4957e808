"""Scenario sweeps: rank many corridor/service scenarios by what they bring, on Dask.

Each scenario is evaluated exactly as ``smaby-geo scenario`` evaluates it (``apply_scenario``,
``apply_service_edits``, ``compare`` against the same base table), so the figures equal the
single-process ones. Scenarios are independent: with a ``dask.distributed`` client (a
``LocalCluster`` or a scheduler address) the base network, cells and services are scattered
once to every worker and one task per scenario runs there.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smaby_geo.network.core import RoadNetwork


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
    from smaby_geo.analysis.scenarios import compare
    from smaby_geo.network.scenario import apply_scenario, apply_service_edits

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            net = apply_scenario(base, scenario)
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
    thr = cmp["thresholds"].iloc[0]
    summ = cmp["summary"].iloc[0]
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


def sweep(
    base: RoadNetwork,
    base_table,
    services,
    scenarios: list,
    *,
    service: str = "hospital",
    within_min: float = 60.0,
    client=None,
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
        Run one task per scenario on this cluster; the base is scattered to every worker
        once. Without it, scenarios run one after another in this process. The figures are
        the same either way.

    Returns
    -------
    DataFrame
        ``rank`` then the columns of ``evaluate_scenario``, best first.
    """
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenario names must be unique in a sweep; repeated: {dup}")
    if service not in base_table.attrs.get("service_types", [service]):
        raise ValueError(f"the base table has no {service!r} times")
    kw: dict[str, Any] = {"service": service, "within_min": float(within_min)}
    if client is None:
        rows = [evaluate_scenario(base, base_table, services, s, **kw) for s in scenarios]
    else:
        b, t, sv = client.scatter([base, base_table, services], broadcast=True)
        futs = [client.submit(evaluate_scenario, b, t, sv, s, pure=False, **kw) for s in scenarios]
        rows = client.gather(futs)
    return rank(rows)


def sweep_scenarios(
    files,
    *,
    region: str | None = None,
    grid: str = "250m",
    service: str = "hospital",
    within_min: float = 60.0,
    buffer_km: float = 100.0,
    scheduler: str | None = None,
    n_workers: int = 0,
    client=None,
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
        Threshold, minutes.
    scheduler : str, optional
        Address of a running Dask scheduler (e.g. ``tcp://10.0.0.5:8786``).
    n_workers : int
        Without ``scheduler``/``client``: start a ``LocalCluster`` with this many worker
        processes (one thread each); 0 runs in this process.
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

    scenarios = []
    for f in files:
        try:
            scenarios.append(read_scenario(f))
        except (ValueError, KeyError, OSError) as exc:
            msg = str(exc)
            raise ValueError(msg if str(f) in msg else f"scenario file {f}: {msg}") from exc
    if n_workers < 0:
        raise ValueError(f"--workers must be >= 0, got {n_workers}")
    res = run_travel_times(
        region=region, service_types=(service,), grid=grid, buffer_km=buffer_km
    )
    own = None
    if client is None and (scheduler or n_workers):
        from dask.distributed import Client, LocalCluster

        if scheduler:
            client = own = Client(scheduler)
        else:
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = own = Client(cluster)
    try:
        table = sweep(
            res["network"],
            res["cells"],
            res["services"],
            scenarios,
            service=service,
            within_min=within_min,
            client=client,
        )
    finally:
        if own is not None:
            own_cluster = getattr(own, "cluster", None)
            own.close()
            if own_cluster is not None:
                own_cluster.close()
    table.attrs.update(service=service, within_min=within_min, region=res["region_name"])
    if out is not None:
        from smaby_geo.outputs.io import write_csv

        write_csv(table, Path(out) / "sweep_ranking.csv", index=False)
    return table


def print_ranking(table: pd.DataFrame, *, service: str, within_min: float) -> None:
    """Print the ranking as a Markdown table."""
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
            f"| {int(r.net_within):,} | {r.person_minutes_saved:,.0f} |"
        )
