"""Analysis benchmarks on the national data: catchments, rasters, regions and scenarios.

Targets from the issues: national catchments for all four service types on the 250 m grid
< 10 s warm and the national raster < 5 s (#5); national delineation with modelled flows
< 30 s warm, travel-time matrix included (#6); a scenario of up to 10 edited links
re-evaluated for every 250 m cell and four service types < 10 s warm, base results reused (#7).
Each figure is the median of ``--repeats`` runs after a warm-up.

Run: ``python benchmarks/analysis.py``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def timed(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    from smaby_geo import load_network
    from smaby_geo.analysis.catchments import catchments
    from smaby_geo.analysis.regions import delineate_regions
    from smaby_geo.analysis.scenarios import compare, read_scenario
    from smaby_geo.analysis.traveltimes import travel_times
    from smaby_geo.network.scenario import apply_scenario
    from smaby_geo.outputs.rasters import minutes_raster, write_geotiff
    from smaby_geo.places.population import read_kommuner, read_population_grid
    from smaby_geo.places.services import SERVICE_TYPES, load_services

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    net = load_network()
    kom = read_kommuner()
    cells = read_population_grid("250m", kommuner=kom)
    svc = load_services()
    table = travel_times(net, cells, svc)
    rows = []
    t = timed(lambda: [catchments(table, s, svc) for s in SERVICE_TYPES], args.repeats)
    rows.append(("catchments, 4 types, 220,171 cells (#5, < 10 s)", t))
    with tempfile.TemporaryDirectory() as d:
        t = timed(
            lambda: write_geotiff(
                minutes_raster(table, "hospital_minutes"), Path(d) / "h.tif", tags={}
            ),
            args.repeats,
        )
    rows.append(("national 250 m raster incl. GeoTIFF write (#5, < 5 s)", t))
    for m in ("ba", "lma", "time"):
        t = timed(lambda m=m: delineate_regions(net, cells, kom, method=m), args.repeats)
        rows.append((f"regions '{m}', 357 kommuner, times + gravity flows (#6, < 30 s)", t))
    here = Path(__file__).resolve().parents[1] / "scenarios"
    for name in ("e39_hordfast", "rv3_upgrade"):
        sc = read_scenario(here / f"{name}.yaml")

        def run(sc=sc):
            scen = apply_scenario(net, sc)
            return compare(net, scen, cells, svc, base_table=table, kommuner=kom)

        t = timed(run, args.repeats)
        n_links = sum(len(e["links"]) for e in apply_scenario(net, sc).report["scenario"]["edits"])
        rows.append(
            (f"scenario {name} ({n_links} links), all cells x 4 types + regions (#7, < 10 s)", t)
        )
    print("\n| workload | median s |\n|---|---:|")
    for label, t in rows:
        print(f"| {label} | {t:.2f} |")


if __name__ == "__main__":
    main()
