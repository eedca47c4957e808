"""The summary and description of a RoadNetwork: its size and what its build did.

``RoadNetwork.summary()`` and ``RoadNetwork.describe()`` call these; the figures come from the
network's arrays and its build report (``net.report``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smaby_geo.network.ferry import added_by_routes

if TYPE_CHECKING:
    from smaby_geo.network.core import RoadNetwork


def summarize_network(net: RoadNetwork) -> dict:
    """Headline figures of ``net``: nodes, edges, km by category, ferry links, components.

    Also what the build did (``net.report``): links excluded, self-loops and duplicate
    edges removed, ferry connectors, urban speeds and roadside densities; lengths in km.
    """
    lk = net.links[~added_by_routes(net.links)]  # the data's links, not the routes' additions
    km = (lk["length_m"].groupby(lk["category"].fillna("?")).sum() / 1000.0).round(1)
    comps = net.components()
    return {
        "source": net.source,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "links": len(lk),
        "km_total": round(float(lk["length_m"].sum()) / 1000.0, 1),
        "km_by_category": km.to_dict(),
        "ferry_links": int(lk["ferry"].sum()),
        "components": len(comps),
        "largest_component_share": round(float(comps["share_nodes"].iloc[0]), 4),
        "build_seconds": net.report.get("build_seconds"),
        "excluded_links": net.report.get("excluded", {}),
        "self_loops_removed": net.report.get("self_loops_removed", 0),
        "duplicate_edges_removed": net.report.get("duplicate_edges_removed", 0),
        "ferry_connectors": net.report.get("ferry_connectors"),
        "dead_ends_joined": net.report.get("dead_ends_joined"),
        "urban": net.report.get("urban"),
        "roadside": net.report.get("roadside"),
        "ferry_routes": net.report.get("ferry_routes"),
    }


def describe_network(net: RoadNetwork) -> str:
    """``summarize_network(net)`` as readable text, one figure or build step per line."""
    s = summarize_network(net)
    lines = [
        f"RoadNetwork from {s['source']}",
        f"  nodes {s['nodes']:,}  directed edges {s['edges']:,}  links {s['links']:,}",
        f"  km total {s['km_total']:,.1f} (link geometry length, one way)",
        "  km by category: " + ", ".join(f"{k} {v:,.1f}" for k, v in s["km_by_category"].items()),
        f"  car-ferry links {s['ferry_links']}",
        f"  strongly connected components {s['components']} "
        f"(largest holds {s['largest_component_share']:.1%} of nodes)",
    ]
    if s["excluded_links"]:
        lines.append(
            "  links excluded: " + ", ".join(f"{k} {v}" for k, v in s["excluded_links"].items())
        )
    lines.append(
        f"  self-loops removed {s['self_loops_removed']}, duplicate parallel edges removed "
        f"{s['duplicate_edges_removed']} (the fastest kept)"
    )
    dj = s["dead_ends_joined"]
    if dj is not None:
        rules: dict[str, int] = {}
        for j in dj["joins"]:
            rules[j["rule"]] = rules.get(j["rule"], 0) + 1
        lines.append(
            f"  dead ends joined {dj['joined']} of {dj['dead_ends']:,} (junctions the data drew "
            f"but did not split; {dj['links_split']} links split)"
            + "".join(f"; {r}: {c}" for r, c in rules.items())
        )
    fc = s["ferry_connectors"]
    if fc is not None:
        cm = fc.get("connector_m")
        lines.append(
            f"  car-ferry ends touching no road {fc['ferry_ends']}: joined {fc['joined']} "
            f"by connectors"
            + (
                f" ({cm['min']:,.0f}-{cm['max']:,.0f} m, median {cm['median']:,.0f} m)"
                if cm
                else ""
            )
            + f", {fc['roads_split']} road links split, not joined {len(fc['unjoined'])}"
        )
        for e in fc["unjoined"]:
            lines.append(f"    not joined: ferry link {e['link_id']}: {e['reason']}")
        if fc.get("sea_junctions") and fc.get("max_call_m") is not None:
            lines.append(
                f"  sea junctions of car-ferry links touching no road {fc['sea_junctions']}: "
                f"{fc['calls_joined']} joined as quay calls (the ferry's nearest approach to a "
                f"road within {fc['max_call_m']:,.0f} m, FerryModel.max_call_m), the rest are "
                "forks and bends at sea"
            )
        for c in fc.get("line_calls", []):
            lines.append(
                f"    call on ferry link {c['link_id']}: the line passes {c['road_end_m']:,.0f} m "
                "from the end of a road cut off from every other; split there and joined"
            )
    fr = s["ferry_routes"]
    if fr:
        lines.append(
            f"  ferry routes: {len(fr['sea_forks'])} sea forks, {len(fr['calls'])} intermediate "
            f"calls, {len(fr['shared'])} shared tracks; {fr['copies']} route copies of nodes and "
            f"{fr['transfers']} transfer links added (counted in nodes and edges above, not in "
            "links or km)"
        )
        if fr.get("same_boat_routes"):
            lines.append(
                "  same boat (given by the user, one route and one wait each): "
                + ", ".join(" + ".join(g) for g in fr["same_boat_routes"])
            )
    ub = s["urban"]
    if ub is not None and "off" in ub:
        lines.append(f"  urban speeds: off ({ub['off']})")
    elif ub is not None:
        lines.append(
            f"  urban speeds: {ub['km_inside']:,.1f} km of links inside {ub['areas']:,} "
            f"built-up areas ({ub['source']}; {ub.get('empty_rows_skipped', 0):,} rows "
            "without geometry skipped)"
        )
    rs = s["roadside"]
    rho0 = getattr(net.profile, "roadside_density_scale_residents_per_km", None)
    if rho0 and rs is not None and "source" in rs:
        lines.append(
            f"  roadside settlement: residents within {rs['distance_m']:.0f} m of each link "
            f"from {rs['source']}, density scale {rho0:,.0f} residents per km"
        )
    if s["build_seconds"] is not None:
        lines.append(f"  build time {s['build_seconds']:.2f} s")
    if net.attribution:
        lines.append(f"  data: {net.attribution}")
    return "\n".join(lines)
