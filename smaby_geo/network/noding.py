"""Junctions the line data drew but did not split: a road that ends on another road.

A road network read from lines joins two links only where their ends meet. Kartverket's
N1000 is noded at junctions almost everywhere, but not quite: in a few places a road ends on
an interior vertex of another link (the junction is drawn, the other link is not split
there), or stops a few metres short of the rest of its own numbered road. Read as they are,
such roads are dead ends, and the people on them detour or reach nothing (Utsira's road and
one in Gulen were cut off from the main network this way). :func:`join_dead_ends` splits the
other link at the junction the data drew and joins the dead end to it (by a straight
connector across the gap, if any), under two rules with their reasons:

1. **The data's own junction.** A dead end within ``tolerance_m`` (the reader's tolerance
   for endpoints that share a node, 0.5 m) of another link: the cartographer put the road's
   end on that link, so they meet. Lines that cross without a shared vertex (bridges,
   tunnels) are not affected: neither ends there.
2. **A gap in one numbered road.** A dead end within ``same_road_gap_m`` (default
   :data:`SAME_ROAD_GAP_M`, 50 m) of a link carrying the same road number. 50 m is 0.05 mm
   on the 1:1,000,000 map N1000 is made for, far below what that scale can draw, so a gap
   that small is no gap on the map the data describe. Dead ends farther from their own road
   (the next in N1000 lies 110 m away) are left as they are.

Ferry links are neither joined nor split here (``smaby_geo.network.ferry`` joins ferry ends).
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from shapely.ops import substring

from smaby_geo.network._validate import endpoints
from smaby_geo.network.readers._common import node_points

#: Largest gap (metres) joined between a dead end and a link of its own road number: 0.05 mm
#: at N1000's 1:1,000,000 scale (Kartverket, N1000 product specification: the data set is
#: made for maps at that scale), below what the map can draw.
SAME_ROAD_GAP_M = 50.0

RULE_VERTEX = "ends on the link (the data's own junction)"
RULE_SAME_ROAD = "gap in one numbered road"


def _check_distance(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of metres >= 0, got {value!r}")
    return value


def join_dead_ends(
    geoms: np.ndarray,
    road_numbers: np.ndarray,
    ferry: np.ndarray,
    *,
    tolerance_m: float = 0.5,
    same_road_gap_m: float = SAME_ROAD_GAP_M,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Split links where a dead-end road meets them and join the dead end there.

    Parameters
    ----------
    geoms : ndarray of shapely LineStrings
        The links, EPSG:25833 (metres), before they are turned into nodes.
    road_numbers : ndarray of object
        Road number of each link (``"Fv38"``; None or "" where it has none).
    ferry : ndarray of bool
        Car-ferry links (neither joined nor split).
    tolerance_m : float, default 0.5
        Endpoints closer than this share a node (the reader's ``tolerance_m``); a dead end
        this close to another link meets it there (rule 1 of the module docstring).
    same_road_gap_m : float, default ``SAME_ROAD_GAP_M`` (50 m)
        Largest gap joined between a dead end and a link of its own road number (rule 2).

    Returns
    -------
    source : ndarray of int64
        For each output line, the row of ``geoms`` it comes from (a split link gives one row
        per piece, in order along the link; rows keep their input order).
    lines : ndarray of shapely LineStrings
        The output lines: the links, split into pieces where a dead end meets them, and
        after each link a straight connector from each of its joined dead ends to the
        junction where the gap is more than ``tolerance_m`` (at most ``same_road_gap_m``;
        it carries the dead end's road, so its row in ``source`` is the dead end's link).
    connector : ndarray of bool
        True for those connectors.
    report : dict
        ``dead_ends`` (road ends touching no other link end), ``joined`` (how many were
        joined), ``links_split``, and ``joins``: one ``{x, y, gap_m, road, onto_road,
        rule}`` per joined dead end (coordinates of the junction, EPSG:25833).
    """
    tolerance_m = _check_distance("tolerance_m", tolerance_m)
    same_road_gap_m = _check_distance("same_road_gap_m", same_road_gap_m)
    geoms = np.asarray(geoms, dtype=object)
    road_numbers = np.asarray(road_numbers, dtype=object)
    ferry = np.asarray(ferry, dtype=bool)
    k = len(geoms)
    report: dict = {
        "dead_ends": 0,
        "joined": 0,
        "links_split": 0,
        "same_road_gap_m": same_road_gap_m,
        "joins": [],
    }
    source = np.arange(k, dtype=np.int64)
    if k == 0:
        return source, geoms.copy(), np.zeros(k, dtype=bool), report
    first, last = endpoints(geoms)
    labels, _ = node_points(np.vstack([first, last]), tolerance_m)
    count = np.bincount(labels)
    # endpoint j: line j % k, its first (j < k) or last end
    dead = np.flatnonzero((count[labels] == 1) & ~np.concatenate([ferry, ferry]))
    report["dead_ends"] = len(dead)
    road_rows = np.flatnonzero(~ferry)
    if len(dead) == 0 or len(road_rows) == 0:
        return source, geoms.copy(), np.zeros(k, dtype=bool), report
    xy = np.vstack([first, last])
    pts = shapely.points(xy[dead])
    tree = shapely.STRtree(geoms[road_rows])
    reach = max(tolerance_m, same_road_gap_m)
    pi, ti = tree.query(pts, predicate="dwithin", distance=reach)
    best: dict[int, tuple[float, int]] = {}
    for p, t in zip(pi.tolist(), ti.tolist(), strict=True):
        j = int(dead[p])
        own, target = j % k, int(road_rows[t])
        if target == own:
            continue
        d = float(shapely.distance(pts[p], geoms[target]))
        rn_own, rn_t = road_numbers[own], road_numbers[target]
        same = isinstance(rn_own, str) and rn_own != "" and rn_own == rn_t
        qualifies = d <= tolerance_m or (same and d <= same_road_gap_m)
        if qualifies and (j not in best or d < best[j][0]):
            best[j] = (d, target)
    if not best:
        return source, geoms.copy(), np.zeros(k, dtype=bool), report
    # where each joined dead end meets its target: a cut in the target's interior, or one of
    # the target's ends (no cut)
    cuts: dict[int, list[float]] = {}
    meets: dict[int, tuple[int, float]] = {}  # dead endpoint -> (target, position on it)
    for j, (_, target) in sorted(best.items()):
        line = geoms[target]
        pos = float(shapely.line_locate_point(line, shapely.points(xy[j])))
        length = float(line.length)
        pos = 0.0 if pos <= tolerance_m else length if pos >= length - tolerance_m else pos
        if pos in (0.0, length):
            # two dead ends facing each other: join them once
            facing = target if pos == 0.0 else target + k
            if facing in meets and meets[facing][0] == j % k:
                continue
        elif same_cut := [c for c in cuts.get(target, []) if abs(c - pos) <= tolerance_m]:
            pos = same_cut[0]
        else:
            cuts.setdefault(target, []).append(pos)
        meets[j] = (target, pos)
    # the junction point of each joined dead end
    at: dict[int, np.ndarray] = {}
    for j, (target, pos) in meets.items():
        line = geoms[target]
        at[j] = (
            shapely.get_coordinates(line)[0 if pos == 0.0 else -1]
            if pos in (0.0, float(line.length))
            else shapely.get_coordinates(shapely.line_interpolate_point(line, pos))[0]
        )
    # the output lines, in input order: each link (or its pieces), then a connector from each
    # of its joined dead ends to the junction where the gap is more than the tolerance
    out_src: list[int] = []
    out_lines: list = []
    out_con: list[bool] = []
    for r in range(k):
        line = geoms[r]
        if r in cuts:
            bounds = [0.0, *sorted(cuts[r]), float(line.length)]
            for lo, hi in itertools.pairwise(bounds):
                out_src.append(r)
                out_lines.append(substring(line, lo, hi))
                out_con.append(False)
        else:
            out_src.append(r)
            out_lines.append(line)
            out_con.append(False)
        for j in (r, r + k):
            if j in meets and float(np.hypot(*(xy[j] - at[j]))) > tolerance_m:
                out_src.append(r)
                out_lines.append(shapely.linestrings([xy[j], at[j]]))
                out_con.append(True)
    for j, (target, _) in meets.items():
        d, _ = best[j]
        rn_own, rn_t = road_numbers[j % k], road_numbers[target]
        report["joins"].append(
            {
                "x": round(float(at[j][0]), 1),
                "y": round(float(at[j][1]), 1),
                "gap_m": round(d, 1),
                "road": rn_own if isinstance(rn_own, str) else None,
                "onto_road": rn_t if isinstance(rn_t, str) else None,
                "rule": RULE_VERTEX if d <= tolerance_m else RULE_SAME_ROAD,
            }
        )
    report["joined"] = len(meets)
    report["links_split"] = len(cuts)
    return (
        np.array(out_src, dtype=np.int64),
        np.array(out_lines, dtype=object),
        np.array(out_con, dtype=bool),
        report,
    )
