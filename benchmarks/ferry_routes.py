"""Turn-aware ferry waits (issue #12 item 2): every sea fork and intermediate call, and what
the rule changes nationally.

    python benchmarks/ferry_routes.py
    python benchmarks/ferry_routes.py --same-boat Fv57,Fv606 [--same-boat Fv809,Fv7300 ...]

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

With ``--same-boat A,B`` (repeatable: one group of road numbers each) the default network is
compared instead with one read with ``same_boat_routes=[(A, B), ...]`` (the numbers one
boat, one wait: ``smaby_geo.network.ferry.ferry_routes``), both through the same main job,
and the report goes to ``benchmarks/results/ferry_routes_same_boat_<groups>.md``: how many
people's times change and where. A group is the user's claim about the timetable: the
script checks nothing about it beyond the road numbers' existence.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import (
    changed_times_table,
    main_job_on_each,
    nearest_kommune,
    unreachable_table,
    write_report,
)

from smaby_geo.analysis.trips import explain_trip
from smaby_geo.network.core import build_network
from smaby_geo.network.ferry import SHARED_COLUMN, transfer_links
from smaby_geo.network.linktimes import compute_link_times
from smaby_geo.network.readers import load_network

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


def changed_times(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Markdown lines: whose times change from the main-job cells ``a`` to ``b``, and where.

    Per service the people (and cells) whose time changes by more than 0.01 min, shorter and
    longer, the people-weighted median change and its extremes; then the hospital changes
    by kommune.
    """
    assert (a.index == b.index).all()
    with np.errstate(invalid="ignore"):  # inf - inf where a cell is unreachable in both
        return _changed_times(a, b)


def _changed_times(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    pop = b["population"].to_numpy(float)
    out = changed_times_table(a, b, SERVICES)
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
    return out


def parse_groups(values: list[str] | None) -> list[tuple[str, ...]]:
    """``--same-boat`` values (``"Fv57,Fv606"``) as groups of road numbers."""
    return [tuple(r.strip() for r in v.split(",") if r.strip()) for v in values or []]


def same_boat(groups: list[tuple[str, ...]]) -> int:
    """Compare the default network with one whose ``groups`` are one boat each; report."""
    from smaby_geo.network.ferry import same_boat_route_name

    t0 = time.perf_counter()
    net = load_network()
    grouped = load_network(same_boat_routes=groups)  # its errors name a bad group
    t_load = time.perf_counter() - t0
    names = [same_boat_route_name(g) for g in groups]
    res = main_job_on_each({"road numbers": net, "same boat": grouped})
    a, b = res["road numbers"].cells, res["same boat"].cells
    kommuner = res["same boat"].kommuner
    fr0, fr = net.report["ferry_routes"], grouped.report["ferry_routes"]
    out: list[str] = [f"# Same-boat ferry routes: {', '.join(names)}", ""]
    out.append(
        "**An example of the `same_boat_routes` lever, not a default.** Each group below is a "
        "claim that its road numbers are one boat calling at several quays; this run does not "
        "check it against a timetable (none is at hand offline), and the shipped default "
        "keeps every road number its own route."
    )
    out += [
        "",
        "`python benchmarks/ferry_routes.py "
        + " ".join(f"--same-boat {','.join(g)}" for g in groups)
        + "`: the national N1000 network, default profile, read twice, without and with "
        f"`same_boat_routes={[tuple(g) for g in groups]!r}`; both run the main job (250 m "
        f"grid, every service type, plain Dijkstra) in one process. Machine "
        f"{platform.machine()}, Python {platform.python_version()}; both reads {t_load:.1f} s.",
        "",
        "## What the grouping changes in the network",
        "",
        "| | road numbers (default) | same boat |",
        "|---|---:|---:|",
        f"| sea forks | {len(fr0['sea_forks'])} | {len(fr['sea_forks'])} |",
        f"| intermediate calls | {len(fr0['calls'])} | {len(fr['calls'])} |",
        f"| shared tracks | {len(fr0['shared'])} | {len(fr['shared'])} |",
        f"| route copies of nodes | {fr0['copies']} | {fr['copies']} |",
        "",
    ]
    # the forks and calls of the grouped numbers, before and after (node ids are kept)
    numbers = {r for g in groups for r in g}
    out += [
        "| node | nearest kommune | kind | routes (links), default | routes (links), same boat |",
        "|---:|---|---|---|---|",
    ]
    for key, kind in (("sea_forks", "sea fork"), ("calls", "call")):
        after = {f["node"]: f for f in fr[key]}
        for f in fr0[key]:
            if not numbers & {str(k) for k in f["routes"]}:
                continue

            def fmt(routes):
                return ", ".join(f"{k} ({c})" for k, c in routes.items())

            now = f"{fmt(after[f['node']]['routes'])}" if f["node"] in after else "not one now"
            out.append(
                f"| {f['node']} | {nearest_kommune(kommuner, f['x'], f['y'])} | {kind} | "
                f"{fmt(f['routes'])} | {now} |"
            )
        before = {f["node"] for f in fr0[key]}
        for f in fr[key]:
            if f["node"] not in before:
                routes = ", ".join(f"{k} ({c})" for k, c in f["routes"].items())
                out.append(
                    f"| {f['node']} | {nearest_kommune(kommuner, f['x'], f['y'])} | {kind} | "
                    f"not one before | {routes} |"
                )
    out.append("")
    gone = [s for s in fr0["shared"] if s["route"] in {r for g in groups for r in g}]
    for s in gone:
        if not any(t["route"] == s["route"] for t in fr["shared"]):
            out.append(
                f"- no longer a shared track: {s['route']} along link {s['link_id']} of "
                f"{s['shared_with']} (node {s['node']})"
            )
    out += unreachable_table(a, b, ("road numbers", "same boat"), SERVICES)
    out += changed_times(a, b)
    slug = "_".join("-".join(g) for g in groups)
    write_report([*out, ""], RESULTS.with_name(f"ferry_routes_same_boat_{slug}.md"))
    print(f"{time.perf_counter() - t0:.0f} s in all")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--same-boat",
        action="append",
        metavar="A,B",
        help="road numbers that are one boat, comma-separated (repeat for more groups): "
        "compare the default network with one grouping them",
    )
    args = ap.parse_args(argv)
    if args.same_boat:
        try:
            return same_boat(parse_groups(args.same_boat))
        except ValueError as exc:
            print(f"--same-boat: {exc}", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    net = load_network()
    fr = net.report["ferry_routes"]
    old = old_rule(net)
    t_load = time.perf_counter() - t0
    res = main_job_on_each({"old rule": old, "turn-aware": net})
    kommuner = res["turn-aware"].kommuner
    a, b = res["old rule"].cells, res["turn-aware"].cells
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
                f"{nearest_kommune(kommuner, f['x'], f['y'])} | {routes} |"
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
    out += unreachable_table(a, b, ("old rule", "turn-aware"), SERVICES)
    out += changed_times(a, b)
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
