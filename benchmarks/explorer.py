"""Edit-to-result latency of the scenario explorer (``smaby-geo serve``).

For each case the base is computed once (as the server does at start), then 50 random edits
(road speed, road closure, ferry headway, ferry -> bridge, new link, facility closed or
opened; seeded) are each sent to a fresh scenario through the HTTP API the page uses:
``POST /api/edits`` and then ``GET /api/cells`` for the difference layer. The time from the
request to the cell values is the latency reported (median and 95th percentile).

Cases: Innlandet (one service type, hospital) and Norway (four types), both with the
labour-market region comparison and the rule-of-half benefit (the default), and Norway
without them (``--no-regions``). For the first seven edits (one of each kind) the figures are
also computed the way ``smaby-geo scenario`` computes them, timed, and checked to be the same.

Run: ``python benchmarks/explorer.py [--edits 50] [--seed 1]``; writes
``benchmarks/results/explorer.md``. Targets (issue 17): <= 1 s median for a county, <= 3 s
nationally.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def random_edits(ex, n: int, rng: np.random.Generator) -> list[dict]:
    links = ex.network.links
    region_cells = ex.base
    road = links[~links["ferry"].to_numpy(bool)]
    ferry = links[links["ferry"].to_numpy(bool)]
    sv = ex.services[ex.services["service_type"].isin(ex.types)]
    x, y = ex.network.node_x, ex.network.node_y
    kinds = [
        "upgrade",
        "close_link",
        "ferry_headway",
        "replace_ferry",
        "new_link",
        "close_facility",
        "open_facility",
    ]
    out = []
    while len(out) < n:
        k = kinds[len(out) % len(kinds)]
        if k == "upgrade":
            lid = int(rng.choice(road["link_id"].to_numpy()))
            out.append(
                {
                    k: {
                        "link_ids": [lid],
                        "speed_kmh": float(rng.choice([60, 90, 110])),
                        "keep_faster": False,
                    }
                }
            )
        elif k == "close_link":
            out.append({k: {"link_ids": [int(rng.choice(road["link_id"].to_numpy()))]}})
        elif k in ("ferry_headway", "replace_ferry") and len(ferry):
            lid = int(rng.choice(ferry["link_id"].to_numpy()))
            out.append(
                {k: {"link_id": lid, "headway_min": float(rng.choice([15, 30, 120]))}}
                if k == "ferry_headway"
                else {k: {"link_id": lid, "speed_kmh": 80}}
            )
        elif k == "new_link":
            i = int(rng.integers(len(x)))
            d = np.hypot(x - x[i], y - y[i])
            cand = np.flatnonzero((d > 2000) & (d < 8000))
            if len(cand) == 0:
                continue
            j = int(rng.choice(cand))
            out.append(
                {
                    k: {
                        "start": [float(x[i]), float(y[i])],
                        "end": [float(x[j]), float(y[j])],
                        "speed_kmh": 80,
                        "kind": "bridge",
                    }
                }
            )
        elif k == "close_facility" and len(sv):
            out.append({k: {"service_id": str(rng.choice(sv["service_id"].to_numpy()))}})
        elif k == "open_facility":
            c = region_cells.iloc[int(rng.integers(len(region_cells)))].geometry.centroid
            out.append(
                {
                    k: {
                        "name": "benchmark site",
                        "service_type": ex.types[0],
                        "x": float(c.x),
                        "y": float(c.y),
                    }
                }
            )
    return out


def same_figures(web: dict, lib: dict, regions: bool) -> bool:
    """The explorer's tables equal the library's (counts exactly, minutes to 1e-9)."""
    import pandas as pd

    for name in ("thresholds", "catchments", "summary", "kommuner"):
        try:
            pd.testing.assert_frame_equal(web[name], lib[name], check_exact=False, rtol=1e-9)
        except AssertionError:
            return False
    if not regions:
        return True
    a, b = web["benefit"]["person_minutes_per_day"], lib["benefit"]["person_minutes_per_day"]
    return abs(a - b) <= 1e-9 * abs(b) + 1e-6 and web["regions"].equals(lib["regions"])


def run_case(label: str, region, types, regions: bool, n: int, seed: int, n_peer: int = 7) -> dict:
    from fastapi.testclient import TestClient

    from smaby_geo.analysis.scenarios import compare
    from smaby_geo.explorer import Explorer, create_app
    from smaby_geo.explorer.session import read_scenario_text, scenario_yaml
    from smaby_geo.network.scenario import apply_scenario, apply_service_edits

    t0 = time.perf_counter()
    ex = Explorer.from_region(region, tuple(types), regions=regions)
    base_s = time.perf_counter() - t0
    client = TestClient(create_app(ex))
    rng = np.random.default_rng(seed)
    edits = random_edits(ex, n, rng)
    # warm-up (numba dispatch, first import of the compare path), not counted
    client.post("/api/edits", content=json.dumps(edits[0]))
    client.post("/api/reset")
    lat, full, server, failed, webs = [], [], [], 0, []
    for e in edits:
        ex.edits, ex.history, ex.result = [], [], None  # a fresh one-edit scenario each time
        t = time.perf_counter()
        r = client.post("/api/edits", content=json.dumps(e))
        if r.status_code != 200:
            failed += 1
            continue
        client.get("/api/cells", params={"type": types[0]})
        lat.append(time.perf_counter() - t)
        full_st = client.get("/api/regions").json()["result"]
        full.append(time.perf_counter() - t)
        server.append(r.json()["result"]["seconds"] + (full_st["seconds_regions"] or 0.0))
        if len(webs) < n_peer:
            webs.append((e, dict(ex.result)))
    lat = np.array(lat)
    # peer: the same edits evaluated the way `smaby-geo scenario` does after its base run
    # (compare with the base table reused, the base half of the region comparison redone);
    # the explorer's figures must equal these
    peer, identical = [], 0
    for e, web in webs:
        sc, _ = read_scenario_text(scenario_yaml("peer", "", [e]))
        t = time.perf_counter()
        try:
            net1 = apply_scenario(ex.network, sc)
            sv1 = apply_service_edits(ex.services, sc)
        except ValueError:
            continue
        lib = compare(
            ex.network,
            net1,
            ex.base,
            ex.services,
            sv1,
            service_types=list(types),
            base_table=ex.base,
            kommuner=ex.kommuner,
            regions=regions,
        )
        peer.append(time.perf_counter() - t)
        identical += same_figures(web, lib, regions)
    row = {
        "case": label,
        "cells": len(ex.base),
        "types": len(types),
        "regions": regions,
        "base_s": base_s,
        "edits": len(lat),
        "refused": failed,
        "median_s": float(np.median(lat)),
        "p95_s": float(np.percentile(lat, 95)),
        "full_median_s": float(np.median(full)),
        "full_p95_s": float(np.percentile(full, 95)),
        "compare_median_s": float(np.median(server)),
        "peer_edits": len(peer),
        "identical": identical,
        "peer_median_s": float(np.median(peer)) if peer else float("nan"),
    }
    print(row, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", default="innlandet,norway,norway-noregions")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "explorer.md"))
    a = ap.parse_args()
    four = ["hospital", "court", "police", "study_centre"]
    cases = {
        "innlandet": ("Innlandet, hospital", "Innlandet", ["hospital"], True),
        "norway": ("Norway, 4 types", None, four, True),
        "norway-noregions": ("Norway, 4 types, --no-regions", None, four, False),
    }
    rows = [run_case(*cases[c], a.edits, a.seed) for c in a.cases.split(",")]
    load = os.getloadavg()
    lines = [
        "# Scenario explorer: edit-to-result latency",
        "",
        f"`python benchmarks/explorer.py --edits {a.edits} --seed {a.seed}`; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(the machine was shared with other jobs: figures are upper bounds).",
        "",
        "Difference layer = `POST /api/edits` (validate, apply, compare the cells) + "
        "`GET /api/cells`; all figures = that + `GET /api/regions` (BA regions and the "
        "rule-of-half benefit); one random edit on a fresh scenario each time, 250 m grid. "
        "The explorer re-uses the base's snapping and searches (`smaby_geo.explorer.cells`, "
        "`smaby_geo.explorer.incremental`, `smaby_geo.routing.dynamic`). "
        "CLI path = the first 7 edits (one of each kind) "
        "through `apply_scenario` + `compare` as `smaby-geo scenario` calls it after its base "
        "run (base table reused, base half of the region comparison redone each time); ratio "
        "= CLI path / explorer all-figures latency; same figures = edits whose thresholds, "
        "catchments, summary and kommune tables (to 1e-9), regions and benefit (to 1e-9 "
        "relative) in the explorer equal the CLI path's.",
        "",
        "| case | cells | types | regions + benefit | base (s) | edits | refused "
        "| difference layer median (s) | p95 (s) | all figures median (s) | p95 (s) "
        "| CLI-path compare median (s) | ratio | same figures |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['cells']:,} | {r['types']} | {'yes' if r['regions'] else 'no'} "
            f"| {r['base_s']:.1f} | {r['edits']} | {r['refused']} | {r['median_s']:.2f} "
            f"| {r['p95_s']:.2f} | {r['full_median_s']:.2f} | {r['full_p95_s']:.2f} "
            f"| {r['peer_median_s']:.2f} | {r['peer_median_s'] / r['full_median_s']:.1f}x "
            f"| {r['identical']}/{r['peer_edits']} |"
        )
    lines += ["", "Targets (issue 17): <= 1 s median for a county, <= 3 s nationally.", ""]
    Path(a.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
