"""Dead ends the data drew onto another link (``smaby_geo.network.noding``): every join, and
what joining them changes nationally.

    python benchmarks/dead_ends.py

The national N1000 network is read twice with the default profile: as the lines are
(``join_dead_ends_m=None``) and with the dead ends joined (the default). Both run the main
job (250 m grid, every service type, plain Dijkstra) in the same process, and a few town
pairs are routed on both.

Prints and writes ``benchmarks/results/dead_ends.md``: every join with its rule and nearest
kommune, unreachable people per service before and after, how many people's times change
and by how much, the kommuner most affected, the town pairs, and the rows of the calibration
table (``calibrate_speeds.py``'s row times, default profile) that the joins change.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import load_calibration_inputs
from report import (
    changed_times_table,
    describe_machine,
    nearest_kommune,
    unreachable_table,
    weighted_median,
    write_report,
)

from smaby_geo.analysis.calibration import CalibrationSet
from smaby_geo.analysis.trips import trip
from smaby_geo.network.readers import read_kartverket
from smaby_geo.pipeline import run_travel_times

RESULTS = Path(__file__).resolve().parent / "results" / "dead_ends.md"
SERVICES = ("hospital", "court", "police", "study_centre")
# (from, to, label of the destination): a place name, or a site's EPSG:25833 point
PAIRS = [
    ("Rissa", "Trondheim", "Trondheim"),
    (
        "Kristiansand",
        (87459.2, 6468491.6),
        "Sørlandet sykehus Kristiansand (services/hospitals.csv)",
    ),
    ("Kristiansand", "Mandal", "Mandal"),
    ("Jørpeland", "Stavanger", "Stavanger"),
]


def main() -> int:
    t0 = time.perf_counter()
    nets = {
        "as drawn": read_kartverket(join_dead_ends_m=None),
        "joined": read_kartverket(),
    }
    t_load = time.perf_counter() - t0
    res = {name: run_travel_times(n, engine="dijkstra") for name, n in nets.items()}
    kommuner = res["joined"].kommuner
    a, b = res["as drawn"].cells, res["joined"].cells
    assert (a.index == b.index).all()
    pop = b["population"].to_numpy(float)
    rep = nets["joined"].report["dead_ends_joined"]
    out = ["# Dead ends joined where the data drew them onto another link", ""]
    out.append(
        f"N1000 national, default profile; machine {describe_machine()}; both reads "
        f"{t_load:.1f} s. Dead ends (road ends touching no other link end): "
        f"{rep['dead_ends']:,}; joined {rep['joined']}; links split {rep['links_split']}."
    )
    out += ["", "## Joins", ""]
    out.append("| x | y | nearest kommune | road | onto | gap (m) | rule |")
    out.append("|---:|---:|---|---|---|---:|---|")
    for j in rep["joins"]:
        out.append(
            f"| {j['x']:.0f} | {j['y']:.0f} | {nearest_kommune(kommuner, j['x'], j['y'])} | "
            f"{j['road'] or '(none)'} | {j['onto_road'] or '(none)'} | {j['gap_m']:.1f} | "
            f"{j['rule']} |"
        )
    out += unreachable_table(a, b, ("as drawn", "joined"), SERVICES)
    with np.errstate(invalid="ignore"):  # inf - inf where a cell is unreachable in both
        out += changed_times_table(a, b, SERVICES)
    c = "hospital_minutes"
    ta, tb = a[c].to_numpy(float), b[c].to_numpy(float)
    both = np.isfinite(ta) & np.isfinite(tb)
    ch = both & (np.abs(tb - ta) > 0.01) & (pop > 0)
    df = b.loc[ch, ["kommunenavn"]].assign(people=pop[ch], change=(tb - ta)[ch])
    out += ["", "## Hospital minutes: the 12 kommuner with the most people changed", ""]
    out += ["| kommune | people changed | median change (min) |", "|---|---:|---:|"]
    for k, g in sorted(df.groupby("kommunenavn"), key=lambda kg: -kg[1]["people"].sum())[:12]:
        med = weighted_median(g["change"].to_numpy(), g["people"].to_numpy())
        out.append(f"| {k} | {int(g['people'].sum()):,} | {med:+.1f} |")
    out += ["", "## Town pairs (`smaby-geo route`)", ""]
    out += ["| from | to | as drawn | joined |", "|---|---|---:|---:|"]
    for o, d, label in PAIRS:
        ra, rb = (trip(n, o, d) for n in nets.values())
        out.append(
            f"| {o} | {label} | {ra.minutes:.0f} min, {ra.km:.0f} km | "
            f"{rb.minutes:.0f} min, {rb.km:.0f} km |"
        )
    inp = load_calibration_inputs()
    cals = {
        name: CalibrationSet(n, inp.rows, inp.centres, origin="cells", cells=inp.cells)
        for name, n in nets.items()
    }  # each snapped to its own network
    mins = {name: cals[name].model_minutes(n) for name, n in nets.items()}
    cal = cals["joined"]
    rows = cal.rows
    names = [
        f"{k} {n}"
        for k, n in zip(rows["from_kommunenummer"], rows["from_kommunenavn"], strict=True)
    ]
    out += ["", "## Calibration rows changed (model minutes, default profile, origin cells)", ""]
    out += ["| kommune | TØI | as drawn | joined |", "|---|---:|---:|---:|"]
    for i in np.flatnonzero(np.abs(mins["joined"] - mins["as drawn"]) > 0.01):
        out.append(
            f"| {names[i]} | {cal.reference[i]:.1f} | {mins['as drawn'][i]:.1f} | "
            f"{mins['joined'][i]:.1f} |"
        )
    out += ["", f"Total time {time.perf_counter() - t0:.0f} s."]
    write_report(out, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
