"""The engine behind the rule-of-half benefit's kommune times: contraction hierarchy or Dijkstra.

``analysis.scenarios`` computes the kommune-to-kommune minutes of the base and of every
scenario with plain Dijkstra (``REGION_SEARCH_METHOD``), also when the base carries a
contraction hierarchy: a scenario network has none, and a hierarchy's shortcuts add the same
links' seconds in another order, so base times from it differ from Dijkstra's by float
rounding and every pair a scenario leaves alone added noise to the benefit. This script
measures, on the national network and 250 m cells, how many kommune pairs differ between the
two engines and by how much, and what Dijkstra costs against the hierarchy (``kommune_times``
with each, interleaved, ``--repeats`` times each; median wall seconds).

Run: ``python benchmarks/region_engine.py [--repeats 3]``; writes
``benchmarks/results/region_engine.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import describe_machine, write_report

warnings.simplefilter("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "region_engine.md")
    )
    a = ap.parse_args()
    from smaby_geo.pipeline import run_travel_times
    from smaby_geo.places.centres import kommune_times

    machine = describe_machine()
    run = run_travel_times(service_types=("hospital",))
    net, cells = run.network, run.cells
    assert net.routing_index is not None, "the base should carry a contraction hierarchy"
    kommune_times(net, cells, method="dijkstra")  # compile / load the kernels first
    seconds: dict[str, list[float]] = {"auto": [], "dijkstra": []}
    times = {}
    for _ in range(a.repeats):
        for m in seconds:
            t0 = time.perf_counter()
            times[m], _ = kommune_times(net, cells, method=m)
            seconds[m].append(time.perf_counter() - t0)
    ch, dj = times["auto"].to_numpy(), times["dijkstra"].to_numpy()
    both = np.isfinite(ch) & np.isfinite(dj)
    assert np.array_equal(np.isfinite(ch), np.isfinite(dj))
    diff = np.abs(ch - dj)[both]
    med = {m: statistics.median(v) for m, v in seconds.items()}
    lines = [
        "# Kommune times for the rule-of-half benefit: hierarchy or Dijkstra",
        "",
        f"`python benchmarks/region_engine.py --repeats {a.repeats}`; {machine}.",
        "",
        f"National network ({net.n_nodes:,} nodes), {len(cells):,} populated 250 m cells, "
        f"{len(times['auto'])} kommuner (2 x {len(times['auto'])} reverse searches).",
        "",
        "| engine | kommune_times median (s) | runs (s) |",
        "|---|---:|---|",
        *(
            f"| {'contraction hierarchy (PHAST)' if m == 'auto' else 'Dijkstra'} | {med[m]:.2f} "
            f"| {', '.join(f'{s:.2f}' for s in v)} |"
            for m, v in seconds.items()
        ),
        "",
        f"Dijkstra / hierarchy: {med['dijkstra'] / med['auto']:.1f}x.",
        "",
        f"Kommune pairs (diagonal = internal times included) whose minutes differ between the "
        f"engines: {int((diff > 0).sum()):,} of {diff.size:,}; largest difference "
        f"{diff.max():.2e} min. With one engine on base and scenario (Dijkstra, "
        "`analysis.scenarios.REGION_SEARCH_METHOD`) a pair the scenario leaves alone adds "
        "exactly 0 to the benefit.",
    ]
    write_report(lines, a.out)


if __name__ == "__main__":
    main()
