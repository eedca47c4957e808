"""What ``smaby-geo run``, ``scenario`` and ``route --explain`` print on the console.

The jobs (``pipeline.main_job``, ``scenario_job.scenario_job``) compute, write files and
return what they did; the functions here turn that into text. ``run_main_job`` and
``run_scenario_job`` do both, as the command line does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from smaby_geo.analysis.traveltimes import weighted_quantile
from smaby_geo.pipeline import MainJob, main_job
from smaby_geo.scenario_job import ScenarioJob, scenario_job

#: Decimals of the minutes and person-minutes the scenario tables print (0.01 min = 0.6 s).
PRINTED_DECIMALS = 2


def print_footer(
    written: list[Path], stage_seconds: dict[str, float], seconds: float, attribution: str
) -> None:
    """Print the files written, the stage timings (s) and the data attribution."""
    print("\nOutputs:")
    for w in written:
        print(f"  {w}")
    print(
        "\nStage timings (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stage_seconds.items())
        + f"; total {seconds:.2f}"
    )
    print(f"Data: {attribution}")


def format_hmm(minutes: float) -> str:
    """Minutes as ``h:mm``, rounded to the minute; ``-`` when not finite (unreachable)."""
    if not minutes < float("inf"):
        return "-"
    m = round(minutes)
    return f"{m // 60}:{m % 60:02d}"


def _kmh(km: float, minutes: float) -> str:
    """Average speed of ``km`` in ``minutes``, one decimal; ``-`` for no time."""
    return f"{km * 60.0 / minutes:.1f}" if minutes > 0 else "-"


def legs_table(trip) -> list[str]:
    """Markdown rows of ``route --explain``: the legs of ``trip`` (a ``Trip`` with ``legs``).

    Each leg with its road, km, minutes and average km/h (of the crossing alone for a ferry,
    whose wait is shown beside it), then the trip's total.
    """
    out = [
        "| leg | road | km | minutes | km/h | ferry crossing + wait |",
        "|---|---|---:|---:|---:|---|",
    ]
    for g in trip.legs.itertuples():
        road = " ".join(str(x) for x in (g.category, g.road_number) if isinstance(x, str))
        is_ferry = g.leg == "car ferry"
        ferry = f"{g.crossing_minutes:.1f} + {g.wait_minutes:.1f} min" if is_ferry else ""
        kmh = _kmh(g.km, g.crossing_minutes if is_ferry else g.minutes)
        out.append(f"| {g.leg} | {road} | {g.km:.1f} | {g.minutes:.1f} | {kmh} | {ferry} |")
    total = _kmh(trip.km, trip.minutes)
    out.append(f"| total | | {trip.km:.1f} | {trip.minutes:.1f} | {total} | |")
    return out


def minutes_table(cells, service_types) -> list[str]:
    """Markdown rows: population-weighted median, P90 and shares within 30 and 60 minutes.

    Parameters
    ----------
    cells : DataFrame
        A ``travel_times`` table (``population``, ``<t>_minutes``; ``inf`` = no route).
    service_types : sequence of str

    Returns
    -------
    list of str
        The header, the separator and one row per type.
    """
    pop = int(cells["population"].sum())
    rows = [
        "| service | median | P90 | within 30 | within 60 | unreachable people |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in service_types:
        m = cells[f"{t}_minutes"].to_numpy(dtype=float)
        p = cells["population"].to_numpy(dtype=float)
        ok = np.isfinite(m)
        if not ok.any():
            rows.append(f"| {t} | - | - | - | - | {pop:,} |")
            continue
        rows.append(
            f"| {t} | {weighted_quantile(m[ok], p[ok], 0.5):.0f} | "
            f"{weighted_quantile(m[ok], p[ok], 0.9):.0f} | {p[ok & (m <= 30)].sum() / pop:.1%} | "
            f"{p[ok & (m <= 60)].sum() / pop:.1%} | {int(p[~ok].sum()):,} |"
        )
    return rows


def round_for_print(table: pd.DataFrame, decimals: int = PRINTED_DECIMALS) -> pd.DataFrame:
    """A copy of ``table`` with its float columns rounded to ``decimals`` places, -0 as 0.

    Sums over many cells leave rounding noise where nothing changed (a no-op scenario's mean
    change came out as 6e-16 minutes, its person-minutes saved as -3e-12): printed as such, it
    reads as a change. ``inf`` and NaN stay as they are.
    """
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    return out


def print_main_job(job: MainJob) -> None:
    """Print what ``main_job`` computed: the run, the table of minutes, access, outputs."""
    res, meta, services = job.result, job.meta, job.service_types
    cells, net = res.cells, res.network
    pop = int(cells["population"].sum())
    print(
        f"smaby-geo run: {res.region_name}, {len(cells):,} grid cells ({job.grid}), "
        f"{pop:,} people"
    )
    print(net.describe())
    left_out = meta["service_sites_left_out"]
    gone = f" ({len(left_out)} left out, too far from the network: see run_*.json)"
    nearest = meta.get("service_sites_nearest", {})
    print(
        "Service sites used: "
        + ", ".join(
            f"{k} {v}" + (f" ({nearest[k]} nearest for someone here)" if k in nearest else "")
            for k, v in meta["service_sites"].items()
        )
        + (gone if left_out else "")
    )
    print(f"Note: {cells.attrs['note']}")
    clip = meta.get("clip")
    where = (
        f"within the region and its {clip['buffer_km']:g} km buffer" if clip else "on the network"
    )
    for t in services:
        if meta["service_sites"].get(t, 0) == 0:
            print(
                f"Warning: no {t} site {where}: all {pop:,} people are counted unreachable "
                f"(check the services file{' or --buffer-km' if clip else ''})"
            )
    if clip:
        cols = [f"{t}_minutes" for t in services if f"{t}_minutes" in cells]
        over = (cells[cols] > clip["exact_within_min"]).any(axis=1) if cols else None
        n_over = int(cells.loc[over, "population"].sum()) if over is not None else 0
        if n_over:
            print(
                f"Note: --buffer-km {clip['buffer_km']:g} clips the network; times up to "
                f"{clip['exact_within_min']:.0f} min are exact, and {n_over:,} people have a "
                "longer time to some service, which the clip may overstate (leave out "
                "--buffer-km for exact times)"
            )
    print("\nPopulation-weighted minutes to the nearest site:")
    for row in minutes_table(cells, services):
        print(row)
    acc = meta["access"]
    print(
        f"\nAccess legs: points attach to the nearest drivable link; median snap distance "
        f"{acc['median_snap_m']:,.0f} m over cells ({acc['median_snap_m_people']:,.0f} m "
        "population-weighted)"
    )
    off = acc["off_main_network_people"]
    print(f"People off the main network: {off:,}" + (", by reason:" if off else ""))
    for r, n in sorted(acc["by_reason"].items(), key=lambda kv: -kv[1]):
        print(f"  {n:>8,}  {r}")
    for t, n in acc["unreachable_people"].items():
        why = "; ".join(
            f"{k} {v:,}"
            for k, v in sorted(acc["unreachable_by_reason"][t].items(), key=lambda kv: -kv[1])
        )
        print(f"Unreachable for {t}: {n:,} people ({why or 'none'})")
    if acc["fragments"]:
        print("Largest cut-off parts (people, kommuner, reason):")
        for f in acc["fragments"][:10]:
            print(f"  {f['people']:>7,}  {', '.join(f['kommuner'])}: {f['reason']}")
        print(
            f"  ({len(acc['fragments'])} in all; every one in run_{job.slug}.json under 'access')"
        )
    print_footer(job.written, job.stage_seconds, job.seconds, cells.attrs["attribution"])


def print_scenario_job(job: ScenarioJob) -> None:
    """Print what ``scenario_job`` computed: the edits, the tables, regions and benefit."""
    sc, cmp = job.scenario, job.comparison
    print(f"Scenario {sc.name}: {sc.description}")
    print(f"Edits: {job.scenario_network.report['scenario']['edits']}")
    print(round_for_print(cmp.summary).to_string(index=False))
    print(round_for_print(cmp.thresholds).to_string(index=False))
    if cmp.benefit is not None:
        n = len(cmp.regions) if cmp.regions is not None else 0
        print(
            f"Kommuner changing BA region: {n}; rule-of-half benefit "
            f"{cmp.benefit.person_minutes_per_day:,.0f} person-minutes/day"
        )
    print_footer(job.written, job.stage_seconds, job.seconds, job.meta["attribution"])


def run_main_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo run``: compute and write (``pipeline.main_job``), then print; 0."""
    print_main_job(main_job(args))
    return 0


def run_scenario_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo scenario FILE``: compute and write (``scenario_job``), then print; 0."""
    print_scenario_job(scenario_job(args))
    return 0
