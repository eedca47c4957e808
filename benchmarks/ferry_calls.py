"""Quays that N1000 draws as sea junctions of car-ferry links (``FerryModel.max_call_m``):
every junction, the landing offsets that set the limit, and what joining the calls changes.

    python benchmarks/ferry_calls.py

The national N1000 network is read twice with the default profile: without quay calls
(``FerryModel(max_call_m=None)``, ferry ends joined as before) and with them (the default).
Both run the main job (250 m grid, every service type, plain Dijkstra) in the same process,
and a few town pairs are routed on both.

Prints and writes ``benchmarks/results/ferry_calls.md``: how far the ferry ends that touch no
road lie from one (the quantiles that justify the 1 km limit), every sea junction with its
nearest road and whether it is taken for a call (and why not), unreachable people per service
before and after, whose times change and by how much, the islands reached, the town pairs,
and the rows of the calibration table (``calibrate_speeds.py``'s row times) that change.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import (
    calibration_rows_changed,
    changed_times_table,
    describe_machine,
    kommune_changes_table,
    main_job_on_each,
    nearest_kommune,
    unreachable_table,
    weighted_median,
    write_report,
)

from smaby_geo.analysis.trips import trip
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers import read_kartverket

RESULTS = Path(__file__).resolve().parent / "results" / "ferry_calls.md"
SERVICES = ("hospital", "court", "police", "study_centre")
PAIRS = [("Våge", "Leirvik"), ("Rissa", "Trondheim"), ("Sykkylven", "Ålesund")]
NAMES = ("no calls", "calls")


def main() -> int:
    t0 = time.perf_counter()
    base = CarProfile()
    nets = {
        NAMES[0]: read_kartverket(profile=base.with_ferry(max_call_m=None)),
        NAMES[1]: read_kartverket(profile=base),
    }
    t_load = time.perf_counter() - t0
    net = nets[NAMES[1]]
    fc = net.report["ferry_connectors"]
    res = main_job_on_each(nets)
    kommuner = res[NAMES[1]].kommuner
    a, b = res[NAMES[0]].cells, res[NAMES[1]].cells
    pop = b["population"].to_numpy(float)
    out = ["# Quays drawn as sea junctions of car-ferry links, joined as calls", ""]
    out.append(
        f"N1000 national, default profile; machine {describe_machine()}; both reads "
        f"{t_load:.1f} s. Sea junctions (two or more car-ferry links meet, no road): "
        f"{fc['sea_junctions']}; joined as calls {fc['calls_joined']} "
        f"(limit {fc['max_call_m']:,.0f} m). Calls on a ferry line (a road cut off from every "
        f"other ends that near the line's interior): {len(fc['line_calls'])}"
        + "".join(
            f"; link {c['link_id']} at ({c['x']:,.0f}, {c['y']:,.0f}), {c['road_end_m']:,.0f} m "
            f"from the road end ({nearest_kommune(kommuner, c['x'], c['y'])})"
            for c in fc["line_calls"]
        )
        + "."
    )
    # how far the data's own landings lie from a road: ferry ends that touch no road
    lk = net.links
    call_nodes = {c["node"] for c in fc["calls"]}
    con = lk[lk["connector"].to_numpy(bool)]
    end_m = con.loc[~con["u"].isin(call_nodes), "length_m"].to_numpy(float)
    end_m = np.concatenate([end_m, [e["nearest_road_m"] for e in fc["unjoined"]]])
    q = np.percentile(end_m, [25, 50, 75, 90, 95])
    out += [
        "",
        "## How far the ferry ends that touch no road lie from one",
        "",
        f"{len(end_m)} ends (each is a landing): quartiles {q[0]:,.0f} / {q[1]:,.0f} / "
        f"{q[2]:,.0f} m, 90 % within {q[3]:,.0f} m, 95 % within {q[4]:,.0f} m.",
    ]
    out += ["", "## Every sea junction", ""]
    out.append("| x | y | nearest kommune | nearest road (m) | call | why |")
    out.append("|---:|---:|---|---:|---|---|")
    for j in sorted(fc["junctions"], key=lambda j: j["nearest_road_m"]):
        out.append(
            f"| {j['x']:.0f} | {j['y']:.0f} | {nearest_kommune(kommuner, j['x'], j['y'])} | "
            f"{j['nearest_road_m']:,.0f} | {'yes' if j['call'] else 'no'} | {j['why']} |"
        )
    why: dict[str, int] = {}
    for j in fc["junctions"]:
        key = "call" if j["call"] else j["why"].split(" (")[0]
        why[key] = why.get(key, 0) + 1
    out += ["", "By outcome: " + "; ".join(f"{k}: {n}" for k, n in why.items()) + "."]
    out += unreachable_table(a, b, NAMES, SERVICES)
    out += changed_times_table(a, b, SERVICES)
    c = "hospital_minutes"
    ta, tb = a[c].to_numpy(float), b[c].to_numpy(float)
    newly = ~np.isfinite(ta) & np.isfinite(tb) & (pop > 0)
    df = b.loc[newly, ["kommunenavn"]].assign(people=pop[newly], minutes=tb[newly])
    out += ["", "## Reached now: hospital minutes of the people on the islands reached", ""]
    out += ["| kommune | people | median minutes |", "|---|---:|---:|"]
    for k, g in sorted(df.groupby("kommunenavn"), key=lambda kg: -kg[1]["people"].sum()):
        med = weighted_median(g["minutes"].to_numpy(), g["people"].to_numpy())
        out.append(f"| {k} | {int(g['people'].sum()):,} | {med:.0f} |")
    out += kommune_changes_table(a, b)
    out += ["", "## Town pairs (`smaby-geo route`)", ""]
    out += [f"| from | to | {NAMES[0]} | {NAMES[1]} |", "|---|---|---:|---:|"]
    for o, d in PAIRS:
        ra, rb = (trip(n, o, d) for n in nets.values())
        out.append(
            f"| {o} | {d} | {ra.minutes:.0f} min, {ra.km:.0f} km, {ra.ferry_links} ferry links "
            f"| {rb.minutes:.0f} min, {rb.km:.0f} km, {rb.ferry_links} ferry links |"
        )
    out += calibration_rows_changed(nets)
    out += ["", f"Total time {time.perf_counter() - t0:.0f} s."]
    write_report(out, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
