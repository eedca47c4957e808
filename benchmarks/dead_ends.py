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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import (
    calibration_rows_changed,
    changed_times_table,
    describe_machine,
    kommune_changes_table,
    main_job_on_each,
    nearest_kommune,
    unreachable_table,
    write_report,
)

from smaby_geo.analysis.trips import trip
from smaby_geo.network.readers import read_kartverket

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
    res = main_job_on_each(nets)
    kommuner = res["joined"].kommuner
    a, b = res["as drawn"].cells, res["joined"].cells
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
    out += changed_times_table(a, b, SERVICES)
    out += kommune_changes_table(a, b)
    out += ["", "## Town pairs (`smaby-geo route`)", ""]
    out += ["| from | to | as drawn | joined |", "|---|---|---:|---:|"]
    for o, d, label in PAIRS:
        ra, rb = (trip(n, o, d) for n in nets.values())
        out.append(
            f"| {o} | {label} | {ra.minutes:.0f} min, {ra.km:.0f} km | "
            f"{rb.minutes:.0f} min, {rb.km:.0f} km |"
        )
    out += calibration_rows_changed(nets)
    out += ["", f"Total time {time.perf_counter() - t0:.0f} s."]
    write_report(out, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
