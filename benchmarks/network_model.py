"""The N1000 travel-time model with and without ferry connectors and urban speeds.

Reads the national N1000 network four ways in one run (old model: ferry ends left as dead
ends and rural speeds everywhere; + ferry connectors; + urban speeds, all three at METHODS §1's
prior speeds; and the calibrated default profile), prints
each network's summary, the car times of town pairs that issue #12 names, and the cost of
re-timing the network for a new profile (``RoadNetwork.with_profile``) against reading it.

Run: python benchmarks/network_model.py  (writes benchmarks/results/network_model.md)
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

from smaby_geo import CarProfile
from smaby_geo.analysis.trips import trip
from smaby_geo.console import format_hmm
from smaby_geo.network import read_kartverket
from smaby_geo.network.profile import prior_profile

PAIRS = [
    ("Sykkylven", "Ålesund"),
    ("Rissa", "Trondheim"),
    ("Tynset", "Hamar"),
    ("Lillehammer", "Gjøvik"),
    ("Oslo", "Bergen"),
    ("Bodø", "Svolvær"),
    ("Bergen", "Stavanger"),
    ("Molde", "Kristiansund"),
]
VARIANTS = [
    (
        "dead-end ferries, rural prior speeds",
        {"connect_ferries": False, "builtup": None, "profile": prior_profile()},
    ),
    ("+ ferry connectors", {"connect_ferries": True, "builtup": None, "profile": prior_profile()}),
    ("+ urban prior speeds", {"profile": prior_profile()}),
    ("calibrated speeds (default)", {}),
]


def main() -> None:
    out = [
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    ]
    nets = {}
    for name, kw in VARIANTS:
        t0 = time.perf_counter()
        nets[name] = read_kartverket(**kw)
        out.append(f"\n## {name}  (read + build {time.perf_counter() - t0:.2f} s)\n")
        out.append("```\n" + nets[name].describe() + "\n```")
    out.append("\n| from | to | " + " | ".join(n for n, _ in VARIANTS) + " |")
    out.append("|---|---|" + "---:|" * len(VARIANTS))
    for a, b in PAIRS:
        cells = []
        for name, _ in VARIANTS:
            r = trip(nets[name], a, b)
            hm, km = format_hmm(r["minutes"]), r["km"]
            cells.append(f"{hm} ({km:.0f} km, {r['ferry_links']} ferry links)")
        out.append(f"| {a} | {b} | " + " | ".join(cells) + " |")
    net = nets[VARIANTS[-1][0]]
    p = CarProfile(category_speeds_kmh={"E": 85.0, "R": 80.0, "F": 70.0, "K": 50.0, "P": 40.0})
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        net.with_profile(p)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    read_kartverket()
    read_s = time.perf_counter() - t0
    out.append(
        f"\nRe-timing N1000 for a new profile (`with_profile`, median of 20): "
        f"{statistics.median(times):.3f} s; reading and building it again: {read_s:.2f} s "
        f"({read_s / statistics.median(times):.0f} x)."
    )
    text = "\n".join(out)
    print(text)
    res = Path(__file__).resolve().parent / "results" / "network_model.md"
    res.write_text("# N1000 network model (benchmarks/network_model.py)\n\n" + text + "\n")


if __name__ == "__main__":
    main()
