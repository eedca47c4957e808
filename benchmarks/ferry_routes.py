"""Turn-aware ferry waits (issue #12 item 2): every sea fork and intermediate call, and what
the rule changes nationally.

    python benchmarks/ferry_routes.py

The national N1000 network is read once with the default profile
(``smaby_geo.network.ferry.expand_ferry_routes``: boarding from a road or changing ferry
route waits, staying aboard does not). The old rule (wait on boarding from a node that
touches a road; nodes joining ferry links only never wait) is rebuilt from the same link
table by folding every route copy back onto its node and dropping the transfer links and the
shared-track copies, then re-timing with the same profile. Both networks run the main job
(250 m grid, every service type, plain Dijkstra) in the same process.

Prints and writes ``benchmarks/results/ferry_routes.md``: every sea fork and intermediate
call with its routes and nearest kommune, every shared track, unreachable people per service
before and after, and how many people's hospital time changes and by how much.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_report

from smaby_geo.analysis.trips import explain_trip
from smaby_geo.network.core import build_network
from smaby_geo.network.ferry import SHARED_COLUMN, transfer_links
from smaby_geo.network.linktimes import compute_link_times
from smaby_geo.network.readers import load_network
from smaby_geo.pipeline import run_travel_times

RESULTS = Path(__file__).resolve().parent / "results" / "ferry_routes.md"
SERVICES = ("hospital", "court", "police", "study_centre")


def old_rule(net):
    """The network as the old node rule saw it: copies folded back, transfers and shared
    copies dropped, times recomputed with the same profile."""
    lk = net.links
    tr = transfer_links(lk)
    shared = np.zeros(len(lk), bool)
    if SHARED_COLUMN in lk:
        shared = lk[SHARED_COLUMN].notna().to_numpy()
    orig = np.arange(net.n_nodes)
    orig[lk["v"].to_numpy()[tr]] = lk["u"].to_numpy()[tr]
    old = lk.loc[~tr & ~shared].copy()
    old["u"] = orig[old["u"].to_numpy()]
    old["v"] = orig[old["v"].to_numpy()]
    old = compute_link_times(old.reset_index(drop=True), net.profile)
    return build_network(
        old,
        net.node_x,
        net.node_y,
        source=net.source + ", old ferry rule",
        attribution=net.attribution,
        profile=net.profile,
    )


def _kommune_of(kommuner, x, y) -> str:
    p = shapely.Point(x, y)
    d = kommuner.distance(p)
    return str(kommuner["kommunenavn"].iloc[int(np.argmin(d.to_numpy()))])


def main() -> int:
    t0 = time.perf_counter()
    net = load_network()
    fr = net.report["ferry_routes"]
    old = old_rule(net)
    t_load = time.perf_counter() - t0
    res = {}
    for name, n in (("old rule", old), ("turn-aware", net)):
        t = time.perf_counter()
        res[name] = run_travel_times(n, engine="dijkstra")
        print(f"{name}: main job {time.perf_counter() - t:.1f} s", flush=True)
    kommuner = res["turn-aware"].kommuner
    a, b = res["old rule"].cells, res["turn-aware"].cells
    assert (a.index == b.index).all()
    pop = b["population"].to_numpy(float)
    out: list[str] = ["# Turn-aware ferry waits (issue #12 item 2)", ""]
    out.append(
        f"N1000 national, default profile; machine {platform.machine()}, Python "
        f"{platform.python_version()}; read + old-rule rebuild {t_load:.1f} s."
    )
    for key, title in (
        ("sea_forks", "Sea forks (three or more ferry links of two or more routes at a sea node)"),
        ("calls", "Intermediate calls (a route with two or more links at a quay with a road)"),
    ):
        out += ["", f"## {title}", ""]
        out.append("| node | x | y | nearest kommune | routes (links) |")
        out.append("|---:|---:|---:|---|---|")
        for f in fr[key]:
            routes = ", ".join(f"{k} ({c})" for k, c in f["routes"].items())
            out.append(
                f"| {f['node']} | {f['x']:.0f} | {f['y']:.0f} | "
                f"{_kommune_of(kommuner, f['x'], f['y'])} | {routes} |"
            )
    out += ["", "## Shared tracks (a route ending at a sea fork goes on along another's)", ""]
    out.append("| route | at node | goes on along link | of route | turn (deg) |")
    out.append("|---|---:|---:|---|---:|")
    for s in fr["shared"]:
        out.append(
            f"| {s['route']} | {s['node']} | {s['link_id']} | {s['shared_with']} | "
            f"{s['turn_deg']:.1f} |"
        )
    out.append("")
    out.append(f"Route copies {fr['copies']}, transfer links {fr['transfers']}.")
    out += ["", "## Unreachable people", ""]
    out += ["| service | old rule | turn-aware |", "|---|---:|---:|"]
    for s in SERVICES:
        c = f"{s}_minutes"
        ua = int(pop[~np.isfinite(a[c].to_numpy(float))].sum())
        ub = int(pop[~np.isfinite(b[c].to_numpy(float))].sum())
        out.append(f"| {s} | {ua:,} | {ub:,} |")
    out += ["", "## Changed times (people whose time changes by more than 0.01 min)", ""]
    out.append("| service | people | cells | shorter | longer | median change (min) | "
               "max change (min) | min change (min) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in SERVICES:
        c = f"{s}_minutes"
        ta, tb = a[c].to_numpy(float), b[c].to_numpy(float)
        both = np.isfinite(ta) & np.isfinite(tb)
        d = np.where(both, tb - ta, 0.0)
        ch = both & (np.abs(d) > 0.01) & (pop > 0)
        if not ch.any():
            out.append(f"| {s} | 0 | 0 | 0 | 0 | | | |")
            continue
        # people-weighted median of the change
        o = np.argsort(d[ch])
        w = np.cumsum(pop[ch][o])
        med = d[ch][o][np.searchsorted(w, w[-1] / 2)]
        out.append(
            f"| {s} | {int(pop[ch].sum()):,} | {int(ch.sum()):,} | "
            f"{int(pop[ch & (d < 0)].sum()):,} | {int(pop[ch & (d > 0)].sum()):,} | "
            f"{med:+.1f} | {d[ch].max():+.1f} | {d[ch].min():+.1f} |"
        )
    c = "hospital_minutes"
    ta, tb = a[c].to_numpy(float), b[c].to_numpy(float)
    both = np.isfinite(ta) & np.isfinite(tb)
    ch = both & (np.abs(tb - ta) > 0.01) & (pop > 0)
    by_k = (
        pd.DataFrame(
            {
                "kommune": b["kommunenavn"].to_numpy()[ch],
                "people": pop[ch],
                "change": (tb - ta)[ch],
            }
        )
        .groupby("kommune")
        .agg(people=("people", "sum"), max_change=("change", "max"), min_change=("change", "min"))
        .sort_values("people", ascending=False)
    )
    out += ["", "## Hospital time changes by kommune", ""]
    out.append("| kommune | people | largest increase (min) | largest decrease (min) |")
    out.append("|---|---:|---:|---:|")
    for k, r in by_k.iterrows():
        out.append(
            f"| {k} | {int(r['people']):,} | {r['max_change']:+.1f} | {r['min_change']:+.1f} |"
        )
    out += ["", "## Våge -> Leirvik, legs", ""]
    for name, n in (("old rule", old), ("turn-aware", net)):
        legs = explain_trip(n, "Våge", "Leirvik")
        fl = legs[legs["leg"] == "car ferry"]
        out.append(
            f"- {name}: {legs['minutes'].sum():.1f} min; ferry legs "
            + "; ".join(
                f"{r.road_number} {r.km:.1f} km {r.crossing_minutes:.1f} + "
                f"{r.wait_minutes:.1f} min wait"
                for r in fl.itertuples()
            )
        )
    write_report([*out, ""], RESULTS)
    print(f"{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
