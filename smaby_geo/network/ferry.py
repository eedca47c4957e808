"""Car ferries: the one rule every reader and every scenario edit uses (METHODS §1).

- ``ferry_terminals``: which nodes are terminals (where a crossing is boarded);
- ``ferry_times``: directed times of ferry links, the wait charged once per crossing;
- ``connect_ferry_ends``: a ferry end that touches no road is joined to the nearest road node
  or road-link point by a *connector* link; so are quay calls (sea junctions beside a road)
  and calls on a ferry line beside the end of a road cut off from every other;
- ``crossing_rows``: all links of one crossing (a crossing drawn as several segments);
- ``ferry_routes``: which boat (route) each ferry link belongs to, from its road number (or
  a user's ``same_boat_routes``: road numbers that are one boat, ``check_same_boat_routes``);
- ``expand_ferry_routes``: turn-aware waits as a graph transformation: boarding from a road
  or changing to another route waits, staying aboard the same route does not (route copies
  of nodes joined by transfer links).

The connector's maximum length and its speed are ``FerryModel.max_connector_m`` and
``FerryModel.connector_speed_kmh`` (defaults and their sources are documented there).

Longer than 500 lines because every rule about car ferries lives here, in one module that
every reader (N1000/N2000, NVDB, OSM) and every scenario edit uses (issue #12).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from smaby_geo.network.profile import FerryModel


def ferry_terminals(u: np.ndarray, v: np.ndarray, ferry: np.ndarray, n: int | None = None):
    """Boolean per node: a ferry terminal, i.e. it touches a non-ferry link or ends a ferry line.

    Nodes where only ferry links meet (two or more) lie out at sea: a crossing continues
    through them without a new wait. Connector links count as roads.

    Parameters
    ----------
    u, v : ndarray of int
        Link end nodes.
    ferry : ndarray of bool
        Car-ferry flag per link.
    n : int, optional
        Number of nodes (default: the largest node number + 1).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    ferry = np.asarray(ferry, dtype=bool)
    if n is None:
        n = int(max(u.max(), v.max())) + 1 if len(u) else 0
    road_nodes = np.zeros(n, dtype=bool)
    road_nodes[u[~ferry]] = True
    road_nodes[v[~ferry]] = True
    deg = np.bincount(np.concatenate([u[ferry], v[ferry]]), minlength=n)
    return road_nodes | (deg == 1)


def ferry_times(
    u: np.ndarray,
    v: np.ndarray,
    ferry: np.ndarray,
    length_m: np.ndarray,
    link_ids: np.ndarray,
    model: FerryModel,
    duration_s: np.ndarray | None = None,
    headway_override_min: np.ndarray | None = None,
    transfer: np.ndarray | None = None,
    headway_link_ids: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Directed times of the ferry links, with the wait charged once per crossing.

    Generalised data split one crossing into several links where the route bends or calls at
    sea (N1000: 65 such nodes); an OSM ``route=ferry`` way is split where it shares a node
    with another way. The wait is charged on boarding only: when a link is entered from a
    terminal (``ferry_terminals``); nodes joining ferry links only, out at sea, add no second
    wait. Where ``expand_ferry_routes`` gave a route its own copy of a node, the copy touches
    no road, so staying aboard adds no wait; the *transfer link* into the copy charges the
    route's wait instead (the smallest wait of the route's open links at the copy: the first
    boat), and leaving the copy is free.

    Parameters
    ----------
    u, v, ferry, length_m, link_ids : ndarray
        All links of the network (the terminal rule needs every link).
    model : FerryModel
        Crossing speed, waits and per-link headway overrides (by link id).
    duration_s : ndarray of float, optional
        Known crossing seconds per link (OSM ``duration``, NVDB minutes); NaN where unknown.
    headway_override_min : ndarray of float, optional
        Headway per link set by a scenario edit (NaN: use ``model``); ``inf`` closes it.
    transfer : ndarray of bool, optional
        Transfer links of ``expand_ferry_routes`` (drawn from the node to the route's copy).
    headway_link_ids : ndarray, optional
        Id to look up each link's headway by (``headway_ids``; default ``link_ids``).

    Returns
    -------
    dict of ndarrays over the ferry links, in their order: ``seconds_fw`` (u->v),
    ``seconds_bw`` (v->u), ``crossing_s``, ``wait_s`` (charged when boarding at a terminal),
    ``headway_min``. Closed links (no departures) have ``inf`` times.
    """
    ferry = np.asarray(ferry, dtype=bool)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    terminal = ferry_terminals(u, v, ferry)
    ids = np.asarray(link_ids if headway_link_ids is None else headway_link_ids)[ferry]
    dur = None if duration_s is None else np.asarray(duration_s, dtype=float)[ferry]
    headway = np.array(
        [model.headways_min.get(i, model.default_headway_min) for i in ids.tolist()], dtype=float
    )
    headway = np.where(np.isnan(headway), np.inf, headway)
    if headway_override_min is not None:
        over = np.asarray(headway_override_min, dtype=float)[ferry]
        headway = np.where(np.isnan(over), headway, over)
    crossing, wait = model.crossing_and_wait_from_headway(
        np.asarray(length_m, dtype=float)[ferry], headway, dur
    )
    closed = ~np.isfinite(wait)
    wait0 = np.where(closed, 0.0, wait)
    fw = crossing + np.where(terminal[u[ferry]], wait0, 0.0)
    bw = crossing + np.where(terminal[v[ferry]], wait0, 0.0)
    if transfer is not None and np.asarray(transfer, dtype=bool)[ferry].any():
        tr = np.asarray(transfer, dtype=bool)[ferry]
        fu, fv = u[ferry], v[ferry]
        n = int(max(u.max(), v.max())) + 1
        # the first boat's wait at each node: min over the open route links touching it
        w_open = np.where(closed | tr, np.inf, wait)
        best = np.full(n, np.inf)
        np.minimum.at(best, fu, w_open)
        np.minimum.at(best, fv, w_open)
        h_open = np.where(closed | tr, np.inf, headway)
        best_h = np.full(n, np.inf)
        np.minimum.at(best_h, fu, h_open)
        np.minimum.at(best_h, fv, h_open)
        tw = best[fv[tr]]
        crossing = np.where(tr, 0.0, crossing)
        wait = wait.copy()
        wait[tr] = tw
        headway = headway.copy()
        headway[tr] = best_h[fv[tr]]
        closed = closed & ~tr
        fw[tr] = tw  # into the copy: board the route
        bw[tr] = 0.0  # out of the copy: leave the boat
    return {
        "seconds_fw": np.where(closed, np.inf, fw),
        "seconds_bw": np.where(closed, np.inf, bw),
        "crossing_s": crossing,
        "wait_s": wait,
        "headway_min": headway,
    }


def ferry_link_seconds(
    u, v, ferry, length_m, link_ids, model, duration_s=None, transfer=None, headway_link_ids=None
):
    """Directed seconds of the ferry links (``ferry_times`` without the details).

    Pass ``transfer`` (``transfer_links``) and ``headway_link_ids`` (``headway_ids``) for a
    link table that ``expand_ferry_routes`` has expanded.

    Returns
    -------
    (seconds u->v, seconds v->u) for the ferry links, in their order.
    """
    t = ferry_times(
        u,
        v,
        ferry,
        length_m,
        link_ids,
        model,
        duration_s,
        transfer=transfer,
        headway_link_ids=headway_link_ids,
    )
    return t["seconds_fw"], t["seconds_bw"]


def crossing_rows(links: pd.DataFrame, row: int) -> np.ndarray:
    """All ferry links of the crossing ``row`` belongs to (joined at sea, not at terminals).

    N1000 also joins different routes at sea near a shared terminal (Fv549 to Våge leaves
    the E39 Halhjem line 1.6 km out): when the chosen link has a road number, only links with
    the same number belong to its crossing (with the same route, ``ferry_routes``, where
    ``expand_ferry_routes`` labelled them; its transfer links included). OSM pieces of one
    way (``osm_way``) stay together.
    """
    ferry = links["ferry"].to_numpy(dtype=bool)
    rn = links["road_number"].to_numpy(dtype=object)
    if ROUTE_COLUMN in links:  # expand_ferry_routes: the route's links and transfers
        rn = links[ROUTE_COLUMN].to_numpy(dtype=object)
    has_rn = rn[row] is not None and not pd.isna(rn[row])
    same = ferry & (rn == rn[row]) if has_rn else ferry
    u, v = links["u"].to_numpy(), links["v"].to_numpy()
    sea = ~ferry_terminals(u, v, ferry)
    rows, todo = {row}, [row]
    if "osm_way" in links and pd.notna(links["osm_way"].iloc[row]):
        way = links["osm_way"].to_numpy()
        for r2 in np.flatnonzero(ferry & (way == way[row])):
            if int(r2) not in rows:
                rows.add(int(r2))
                todo.append(int(r2))
    while todo:
        r = todo.pop()
        for node in (u[r], v[r]):
            if not sea[node]:
                continue
            for r2 in np.flatnonzero(same & ((u == node) | (v == node))):
                if int(r2) not in rows:
                    rows.add(int(r2))
                    todo.append(int(r2))
    return np.array(sorted(rows))


def _py(x):
    """A numpy scalar as a plain Python value (for JSON reports)."""
    return x.item() if isinstance(x, np.generic) else x


def new_link_ids(ids: np.ndarray, k: int, tag: str) -> list:
    """``k`` fresh link ids: integers above the largest integer id, else ``"<tag>-<i>"``."""
    if k == 0:
        return []
    if ids.dtype.kind in "iu" or (len(ids) and all(isinstance(i, int | np.integer) for i in ids)):
        start = int(np.max(ids)) + 1 if len(ids) else 0
        return list(range(start, start + k))
    taken = set(map(str, ids.tolist()))
    out: list[str] = []
    i = 0
    while len(out) < k:
        i += 1
        if f"{tag}-{i}" not in taken:
            out.append(f"{tag}-{i}")
    return out


def call_limit_m(model: FerryModel) -> float | None:
    """Longest connector to a call, quay or on a ferry line, metres (None: none is joined).

    The smaller of ``model.max_call_m`` and ``model.max_connector_m``.
    """
    if model.max_call_m is None:
        return None
    return float(min(model.max_call_m, model.max_connector_m))


def _quay_calls(
    junctions: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    ferry: np.ndarray,
    road_rows: np.ndarray,
    geometry: np.ndarray,
    node_xy: np.ndarray,
    tree,
    model: FerryModel,
) -> tuple[np.ndarray, list[dict]]:
    """Sea junctions that are calls at a quay (``connect_ferry_ends``).

    Returns an int array of shape (k, 3): the index into ``junctions``, the index of the
    nearest road link in ``tree`` (built on ``geometry[road_rows]``) and one ferry link row
    of the junction, for each junction whose nearest road point lies within
    ``call_limit_m(model)`` and nearer to it than to every other node of its ferry links;
    and a record of every junction (``x``, ``y``, ``nearest_road_m``, ``call``, ``why``).
    """
    none = np.empty((0, 3), dtype=np.int64)
    if len(junctions) == 0 or len(road_rows) == 0 or model.max_call_m is None:
        return none, []
    pts = shapely.points(node_xy[junctions])
    (pi, ti), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    order = np.argsort(pi)  # one road link per junction (all_matches=False)
    pi, ti, dist = pi[order], ti[order], dist[order]
    near = shapely.get_coordinates(
        shapely.line_interpolate_point(
            geometry[road_rows[ti]],
            shapely.line_locate_point(geometry[road_rows[ti]], pts[pi]),
        )
    )
    ferry_rows = np.flatnonzero(ferry)
    out = []
    limit = float(call_limit_m(model) or 0.0)  # not None: checked above
    records = []
    for p, t, d, q in zip(pi, ti, dist, near, strict=True):
        x = int(junctions[p])
        rec: dict[str, object] = {
            "x": round(float(node_xy[x, 0]), 1),
            "y": round(float(node_xy[x, 1]), 1),
            "nearest_road_m": round(float(d), 1),
            "call": False,
        }
        records.append(rec)
        if d > limit:
            rec["why"] = f"nearest road beyond {limit:,.0f} m"
            continue
        mine = ferry_rows[(u[ferry_rows] == x) | (v[ferry_rows] == x)]
        others = np.setdiff1d(np.concatenate([u[mine], v[mine]]), [x])
        d_other = np.hypot(node_xy[others, 0] - q[0], node_xy[others, 1] - q[1])
        if len(others) and d_other.min() <= d:
            # another node of these ferry links is nearer that road: a fork off its quay
            rec["why"] = (
                f"another node of its ferry links is nearer that road ({d_other.min():,.0f} m)"
            )
            continue
        rec["call"], rec["why"] = True, "the ferry's nearest approach to that road"
        out.append((int(p), int(t), int(mine[0])))
    return np.array(out, dtype=np.int64).reshape(-1, 3), records


def _split_pieces(
    links: pd.DataFrame, geometry: np.ndarray, splits: dict, piece_ids
) -> tuple[list[dict], list]:
    """The pieces of each link ``r`` in ``splits`` (``r -> [(metres along it, new node)]``).

    Each piece keeps the link's attributes, its length and any times that came with the
    data (``seconds_fw``/``seconds_bw``, a ferry's ``duration_s``) shared by length, and
    ``split_from`` its id; the first keeps the id, the others
    take ids from ``piece_ids``. Returns the rows and their geometries.
    """
    from shapely.ops import substring

    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    new_rows: list[dict] = []
    new_geoms: list = []
    for r, cuts in splits.items():
        cuts = sorted(cuts)
        line = geometry[r]
        total = float(line.length)
        bounds = [0.0] + [c[0] for c in cuts] + [total]
        nodes = [int(u[r])] + [c[1] for c in cuts] + [int(v[r])]
        base = links.iloc[r].to_dict()
        for j in range(len(bounds) - 1):
            row = dict(base)
            row["link_id"] = base["link_id"] if j == 0 else next(piece_ids)
            row["u"], row["v"] = nodes[j], nodes[j + 1]
            share = (bounds[j + 1] - bounds[j]) / total
            row["length_m"] = base["length_m"] * share
            for c in ("seconds_fw", "seconds_bw", "duration_s"):  # times from the data
                if c in row and row[c] is not None:
                    row[c] = row[c] * share
            row["split_from"] = base["link_id"]
            new_rows.append(row)
            new_geoms.append(substring(line, bounds[j], bounds[j + 1]))
    return new_rows, new_geoms


def _line_calls(
    links: pd.DataFrame, geometry: np.ndarray, node_xy: np.ndarray, model: FerryModel
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[dict]]:
    """Split a ferry line where it passes the end of a road cut off from every other.

    A road end (one road link, no ferry link) of a road component that is not the largest
    and touches no ferry link has no way off its island; where a ferry line passes within
    ``call_limit_m(model)`` of it, the data drew the boat's call there without a node
    (Mausund in Frøya: 279 m from the Fv6470 line). Not where a node of that ferry link lies
    about as near (within ``connector_node_snap_m`` more): that node is the call, for the
    ferry-end and quay-call rules. One call per cut-off road, at its end nearest a line.
    Run on the joined network (its connectors are roads, so a road that a ferry end was
    joined to is not cut off). The ferry link is split at its point nearest the road end;
    ``_join_line_calls`` joins the new node to that road end (not to whatever road is
    nearest: the line passes other shores without calling). Returns the links, geometry and
    node coordinates (unchanged when nothing is split) and a record per call ``{link_id,
    node, road_node, x, y, road_end_m}`` (node numbers of the returned coordinates; two
    roads at one point of a line share the node).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    limit = call_limit_m(model)
    ferry = links["ferry"].to_numpy(dtype=bool)
    if limit is None or not ferry.any() or ferry.all():
        return links, geometry, node_xy, []
    n = len(node_xy)
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    ru, rv = u[~ferry], v[~ferry]
    graph = coo_matrix((np.ones(len(ru)), (ru, rv)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    road_deg = np.bincount(np.concatenate([ru, rv]), minlength=n)
    on_ferry = np.zeros(n, dtype=bool)
    on_ferry[u[ferry]] = on_ferry[v[ferry]] = True
    size = np.bincount(label, weights=road_deg > 0, minlength=n_comp)  # road nodes
    cut_off = np.ones(n_comp, dtype=bool)
    cut_off[np.argmax(size)] = False
    cut_off[np.unique(label[on_ferry])] = False  # a component a ferry reaches is not cut off
    ends = np.flatnonzero((road_deg == 1) & ~on_ferry & cut_off[label])
    if len(ends) == 0:
        return links, geometry, node_xy, []
    ferry_rows = np.flatnonzero(ferry)
    tree = shapely.STRtree(geometry[ferry_rows])
    pts = shapely.points(node_xy[ends])
    (pi, fi), dist = tree.query_nearest(
        pts, max_distance=max(limit, 1e-6), return_distance=True, all_matches=False
    )  # shapely wants a positive distance; at limit 0 only a road end on the line is near
    rows_f = ferry_rows[fi]
    pos = shapely.line_locate_point(geometry[rows_f], pts[pi])
    own = np.minimum(
        np.hypot(*(node_xy[u[rows_f]] - node_xy[ends[pi]]).T),
        np.hypot(*(node_xy[v[rows_f]] - node_xy[ends[pi]]).T),
    )
    snap = model.connector_node_snap_m
    # not where a node of the line itself is about as near (the end and call rules decide)
    ok = own > dist + snap
    pi, rows_f, dist, pos = pi[ok], rows_f[ok], dist[ok], pos[ok]
    if len(pi) == 0:
        return links, geometry, node_xy, []
    # one call per cut-off road: at its end nearest a ferry line
    order = np.lexsort((dist, label[ends[pi]]))
    first = np.r_[True, np.diff(label[ends[pi[order]]]) != 0]
    splits: dict[int, list[tuple[float, int]]] = {}
    records: list[dict] = []
    new_xy: list[tuple[float, float]] = []
    for k in order[first]:
        r, at_m = int(rows_f[k]), float(pos[k])
        # two cut-off roads at one point of the line: one node, a connector to each
        node = next((nd for q, nd in splits.get(r, []) if abs(q - at_m) <= snap), None)
        at = shapely.line_interpolate_point(geometry[r], at_m)
        if node is None:
            node = n + len(new_xy)
            new_xy.append((at.x, at.y))
            splits.setdefault(r, []).append((at_m, node))
        records.append(
            {
                "link_id": _py(links["link_id"].iloc[r]),
                "node": node,
                "road_node": int(ends[pi[k]]),
                "x": round(at.x, 1),
                "y": round(at.y, 1),
                "road_end_m": round(float(dist[k]), 1),
            }
        )
    if not splits:
        return links, geometry, node_xy, []
    ids = links["link_id"].to_numpy()
    piece_ids = iter(new_link_ids(ids, sum(len(c) for c in splits.values()), "link"))
    rows, geoms = _split_pieces(links, geometry, splits, piece_ids)
    links, geometry = _replace_rows(links, geometry, list(splits), rows, geoms)
    return links, geometry, np.vstack([node_xy, np.array(new_xy)]), records


def connect_ferry_ends(
    links: pd.DataFrame,
    geometry: np.ndarray,
    node_xy: np.ndarray,
    model: FerryModel,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
    """Join every car-ferry end that touches no road to the nearest road node or link point.

    A ferry end is a node with exactly one ferry link and no other link. Its nearest point on
    any road (non-ferry) link is found; when that lies within ``model.max_connector_m`` a
    connector link joins them (the road link is split there unless the point is within
    ``model.connector_node_snap_m`` of one of its ends). Ends farther away are listed with
    the reason.

    A *sea junction* (two or more ferry links meet, no road) is a call at a quay, and joined
    the same way, when its nearest road point lies within ``model.max_call_m`` and nearer to
    it than to every other node of its ferry links (the ferry's nearest approach to that
    road). Other junctions are forks or bends at sea and stay as they are. Last, a road cut
    off from every other (no ferry reaches it) whose end lies within the same distance of a
    ferry line's interior, no node of that line as near, is a call on the line: the line is
    split there and joined to that road end (``_line_calls``).

    Parameters
    ----------
    links : DataFrame
        Link table with ``link_id``, ``u``, ``v``, ``ferry``, ``length_m``, ``road_number``,
        ``category`` (other columns are copied to split pieces; connectors get defaults).
    geometry : ndarray of shapely LineStrings
        Geometry of each link (EPSG:25833), drawn from ``u`` to ``v``.
    node_xy : ndarray, shape (n_nodes, 2)
        Node coordinates.
    model : FerryModel
        ``max_connector_m``, ``connector_node_snap_m``.

    Returns
    -------
    links, geometry, node_xy : the extended table (columns ``connector`` and ``split_from``
        added), its geometry and node coordinates. Split pieces keep the attributes of their
        link (times that came with the data are shared by length); the first keeps its id,
        the others (and connectors) get fresh ids.
    report : dict
        ``ferry_ends`` (ends touching no road), ``joined``, ``roads_split``,
        ``connector_m`` (min/median/max), ``unjoined``: a list of
        ``{link_id, x, y, nearest_road_m, reason}``; ``sea_junctions`` (junctions touching
        no road), ``calls_joined`` (of them) and ``calls``: every call joined, quay or line,
        ``{node, x, y, connector_m, road_number}`` (``node`` numbers the returned
        ``node_xy``); ``junctions``: every sea junction ``{x, y, nearest_road_m, call,
        why}``; ``line_calls``: each call on a ferry
        line ``{link_id, node, road_node, x, y, road_end_m}`` (listed in ``calls`` too, not
        counted in ``calls_joined``).
    """
    links = links.reset_index(drop=True).copy()
    geometry = np.asarray(geometry, dtype=object)
    node_xy = np.asarray(node_xy, dtype=float)
    if "connector" not in links:
        links["connector"] = False
    if "split_from" not in links:
        links["split_from"] = None
    n = len(node_xy)
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    ferry = links["ferry"].to_numpy(dtype=bool)
    fdeg = np.bincount(np.concatenate([u[ferry], v[ferry]]), minlength=n)
    road_node = np.zeros(n, dtype=bool)
    road_node[u[~ferry]] = True
    road_node[v[~ferry]] = True
    ends = np.flatnonzero((fdeg == 1) & ~road_node)
    junctions = np.flatnonzero((fdeg >= 2) & ~road_node)
    report: dict = {
        "ferry_ends": len(ends),
        "joined": 0,
        "roads_split": 0,
        "max_connector_m": model.max_connector_m,
        "connector_speed_kmh": model.connector_speed_kmh,
        "unjoined": [],
        "sea_junctions": len(junctions),
        "max_call_m": call_limit_m(model),
        "calls_joined": 0,
        "calls": [],
        "junctions": [],
        "line_calls": [],
    }
    if len(ends) == 0 and len(junctions) == 0:
        return _join_line_calls(links, geometry, node_xy, model, report)
    # the ferry link of each end
    ferry_rows = np.flatnonzero(ferry)
    end_link = {}
    for fi in ferry_rows:
        for node in (u[fi], v[fi]):
            if fdeg[node] == 1 and not road_node[node]:
                end_link[int(node)] = int(fi)
    road_rows = np.flatnonzero(~ferry)
    pts = shapely.points(node_xy[ends])
    ids = links["link_id"].to_numpy()
    if len(road_rows) == 0:
        for end in ends:
            report["unjoined"].append(
                {
                    "link_id": _py(ids[end_link[int(end)]]),
                    "x": float(node_xy[end, 0]),
                    "y": float(node_xy[end, 1]),
                    "nearest_road_m": float("inf"),
                    "reason": "the network has no road links",
                }
            )
        return links, geometry, node_xy, report
    tree = shapely.STRtree(geometry[road_rows])
    (pi, ti), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    order = np.argsort(pi)
    pi, ti, dist = pi[order], ti[order], dist[order]
    ok = dist <= model.max_connector_m
    for p, d in zip(pi[~ok], dist[~ok], strict=True):
        e = int(ends[p])
        report["unjoined"].append(
            {
                "link_id": _py(ids[end_link[e]]),
                "x": float(node_xy[e, 0]),
                "y": float(node_xy[e, 1]),
                "nearest_road_m": round(float(d), 1),
                "reason": f"nearest road is {d:,.0f} m away, beyond the connector limit of "
                f"{model.max_connector_m:,.0f} m (FerryModel.max_connector_m)",
            }
        )
    pi, ti, dist = pi[ok], ti[ok], dist[ok]
    rows = road_rows[ti]
    lines = geometry[rows]
    pos = shapely.line_locate_point(lines, pts[pi])
    # A road that lies nearer the far end of the ferry link than this end is across the
    # water (typically an island landing whose roads the data do not draw): not joined.
    near_xy = shapely.get_coordinates(shapely.line_interpolate_point(lines, pos))
    far = np.array(
        [
            int(
                v[end_link[int(ends[p])]]
                if u[end_link[int(ends[p])]] == ends[p]
                else u[end_link[int(ends[p])]]
            )
            for p in pi
        ],
        dtype=np.int64,
    )
    d_far = np.hypot(near_xy[:, 0] - node_xy[far, 0], near_xy[:, 1] - node_xy[far, 1])
    across = d_far < dist
    for p, d, df in zip(pi[across], dist[across], d_far[across], strict=True):
        e = int(ends[p])
        report["unjoined"].append(
            {
                "link_id": _py(ids[end_link[e]]),
                "x": float(node_xy[e, 0]),
                "y": float(node_xy[e, 1]),
                "nearest_road_m": round(float(d), 1),
                "reason": f"the nearest road ({d:,.0f} m away) lies nearer the far end of the "
                f"ferry link ({df:,.0f} m): across the water, so the landing has no road in "
                "the data",
            }
        )
    keep_k = ~across
    rows, lines, pos = rows[keep_k], lines[keep_k], pos[keep_k]
    # the ferry node and a ferry link of each connector to make: the ends, then the calls
    at_node = ends[pi[keep_k]]
    of_link = np.array([end_link[int(e)] for e in at_node], dtype=np.int64)
    n_ends = len(at_node)
    calls, report["junctions"] = _quay_calls(
        junctions, u, v, ferry, road_rows, geometry, node_xy, tree, model
    )
    if len(calls):
        c_rows = road_rows[calls[:, 1]]
        c_lines = geometry[c_rows]
        at_node = np.concatenate([at_node, junctions[calls[:, 0]]])
        of_link = np.concatenate([of_link, calls[:, 2]])
        rows = np.concatenate([rows, c_rows])
        lines = np.concatenate([lines, c_lines])
        c_pts = shapely.points(node_xy[junctions[calls[:, 0]]])
        pos = np.concatenate([pos, shapely.line_locate_point(c_lines, c_pts)])
    llen = shapely.length(lines)
    targets = np.empty(len(at_node), dtype=np.int64)
    new_xy: list[tuple[float, float]] = []
    splits: dict[int, list[tuple[float, int]]] = {}
    snap = model.connector_node_snap_m
    for k in range(len(at_node)):
        r = int(rows[k])
        if pos[k] <= snap:
            targets[k] = u[r]
        elif pos[k] >= llen[k] - snap:
            targets[k] = v[r]
        else:
            # several ends may land on one link at (nearly) the same point: share the node
            for s, nd in splits.get(r, []):
                if abs(s - pos[k]) <= snap:
                    targets[k] = nd
                    break
            else:
                p = shapely.line_interpolate_point(lines[k], pos[k])
                nd = n + len(new_xy)
                new_xy.append((p.x, p.y))
                splits.setdefault(r, []).append((float(pos[k]), nd))
                targets[k] = nd
    if new_xy:
        node_xy = np.vstack([node_xy, np.array(new_xy)])
    # split road links
    n_split_pieces = sum(len(s) for s in splits.values())
    piece_ids = iter(new_link_ids(ids, n_split_pieces + len(at_node), "link"))
    new_rows, new_geoms = _split_pieces(links, geometry, splits, piece_ids)
    drop = list(splits)
    report["roads_split"] = len(splits)
    # connectors
    connector_m = []
    for k in range(len(at_node)):
        e = int(at_node[k])
        row, geom = _connector_row(links, next(piece_ids), e, int(targets[k]), node_xy, of_link[k])
        new_rows.append(row)
        new_geoms.append(geom)
        connector_m.append(float(geom.length))
        if k >= n_ends:
            report["calls"].append(_call_record(e, node_xy, geom, links, int(rows[k])))
    report["joined"] = n_ends
    report["calls_joined"] = len(at_node) - n_ends
    if connector_m:
        report["connector_m"] = {
            "min": round(min(connector_m), 1),
            "median": round(float(np.median(connector_m)), 1),
            "max": round(max(connector_m), 1),
        }
    links, geometry = _replace_rows(links, geometry, drop, new_rows, new_geoms)
    return _join_line_calls(links, geometry, node_xy, model, report)


def _connector_row(
    links: pd.DataFrame, link_id, e: int, t: int, node_xy: np.ndarray, of_link: int
) -> tuple[dict, shapely.LineString]:
    """A connector link from ferry node ``e`` to road node ``t``, and its geometry.

    The connector is straight and takes the road category and number of ferry link row
    ``of_link``.
    """
    fr = links.iloc[int(of_link)]
    geom = shapely.linestrings([node_xy[e], node_xy[t]])
    row = dict.fromkeys(links.columns)
    row.update(
        {
            "link_id": link_id,
            "u": e,
            "v": t,
            "ferry": False,
            "connector": True,
            "length_m": float(geom.length),
            "category": fr["category"],
            "road_number": fr["road_number"],
            "split_from": None,
        }
    )
    return row, geom


def _call_record(e: int, node_xy: np.ndarray, geom, links: pd.DataFrame, road_row: int) -> dict:
    """``report["calls"]`` entry of a call at node ``e`` joined by ``geom`` to road row."""
    return {
        "node": e,
        "x": round(float(node_xy[e, 0]), 1),
        "y": round(float(node_xy[e, 1]), 1),
        "connector_m": round(float(geom.length), 1),
        "road_number": _py(links["road_number"].iloc[road_row]),
    }


def _replace_rows(
    links: pd.DataFrame, geometry: np.ndarray, drop, rows: list[dict], geoms: list
) -> tuple[pd.DataFrame, np.ndarray]:
    """``links`` without rows ``drop``, with ``rows`` appended (dtypes kept), and geometry."""
    if not rows:
        return links, geometry
    keep = np.ones(len(links), dtype=bool)
    keep[list(drop)] = False
    add = pd.DataFrame(rows, columns=links.columns)
    for c in links.columns:
        kind = links[c].dtype.kind
        if kind == "f":
            add[c] = add[c].astype(float)
        elif kind == "b":
            add[c] = add[c].fillna(False).astype(bool)
    out = pd.concat([links.loc[keep], add], ignore_index=True)
    for c in ("connector", "ferry"):
        out[c] = out[c].fillna(False).astype(bool)
    out["u"] = out["u"].astype(np.int64)
    out["v"] = out["v"].astype(np.int64)
    return out, np.concatenate([geometry[keep], np.array(geoms, dtype=object)])


def _join_line_calls(
    links: pd.DataFrame, geometry: np.ndarray, node_xy: np.ndarray, model: FerryModel, report
):
    """``_line_calls`` on the joined network, each call joined to its road end.

    The calls are listed in ``report["line_calls"]`` and, with the quay calls, in
    ``report["calls"]`` (the nodes ``expand_ferry_routes`` keeps on one boat's track).
    """
    links, geometry, node_xy, line_calls = _line_calls(links, geometry, node_xy, model)
    if not line_calls:
        return links, geometry, node_xy, report
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    ferry = links["ferry"].to_numpy(dtype=bool)
    ids = iter(new_link_ids(links["link_id"].to_numpy(), len(line_calls), "link"))
    rows, geoms = [], []
    for c in line_calls:
        e, t = c["node"], c["road_node"]
        of_link = np.flatnonzero(ferry & ((u == e) | (v == e)))[0]
        road_row = np.flatnonzero(~ferry & ((u == t) | (v == t)))[0]
        row, geom = _connector_row(links, next(ids), e, t, node_xy, of_link)
        rows.append(row)
        geoms.append(geom)
        report["calls"].append(_call_record(e, node_xy, geom, links, int(road_row)))
    report["line_calls"] = line_calls
    links, geometry = _replace_rows(links, geometry, [], rows, geoms)
    return links, geometry, node_xy, report


# --- ferry routes: turn-aware waits as a graph transformation --------------------------------

TRANSFER_COLUMN = "ferry_transfer"
_RV_FV = re.compile(r"^(Rv|Fv)(\d+)$")
SHARED_COLUMN = "ferry_shared_with"
ROUTE_COLUMN = "ferry_route"
HEADWAY_OF_COLUMN = "ferry_headway_of"
# A boat goes on along another route's track only where that turns by less than this: a
# larger turn is a U-turn (generalised N1000 lines turn by up to about 70 degrees where a
# feeder route merges into a line; 140-150 degrees only where the way on runs back).
MAX_SHARED_TURN_DEG = 90.0


def transfer_links(links: pd.DataFrame) -> np.ndarray:
    """Boolean per link: a transfer link of ``expand_ferry_routes`` (False where none)."""
    if TRANSFER_COLUMN not in links:
        return np.zeros(len(links), dtype=bool)
    return links[TRANSFER_COLUMN].fillna(False).to_numpy(dtype=bool)


def added_by_routes(links: pd.DataFrame) -> np.ndarray:
    """Boolean per link: a row ``expand_ferry_routes`` added, not a link of the data.

    Its transfer links and its copies of shared tracks.
    """
    out = transfer_links(links)
    if SHARED_COLUMN in links:
        out = out | links[SHARED_COLUMN].notna().to_numpy()
    return out


def headway_ids(links: pd.DataFrame) -> np.ndarray:
    """Link id whose headway each link takes (``FerryModel.headways_min``).

    Its own id; for a copy of a shared track (``expand_ferry_routes``) the id of its route's
    own link, since the copy is that route's boat; for a piece of a split link (a call on a
    ferry line, ``split_from``) the id of the link as the data gave it.
    """
    ids = links["link_id"].to_numpy(dtype=object).copy()
    if HEADWAY_OF_COLUMN in links:
        of = links[HEADWAY_OF_COLUMN].to_numpy(dtype=object)
        has = pd.notna(of)
        ids[has] = of[has]
    if "split_from" in links:
        src = links["split_from"].to_numpy(dtype=object)
        has = pd.notna(src)
        original = dict(zip(links["link_id"].to_numpy(dtype=object)[has], src[has], strict=True))
        ids = np.array([original.get(i, i) for i in ids], dtype=object)
    return ids


def _road_nodes(u: np.ndarray, v: np.ndarray, ferry: np.ndarray, n: int) -> np.ndarray:
    road = np.zeros(n, dtype=bool)
    road[u[~ferry]] = True
    road[v[~ferry]] = True
    return road


def check_same_boat_routes(
    same_boat_routes: Sequence[Sequence[str]] | None,
) -> tuple[tuple[str, ...], ...]:
    """Check a user's groups of road numbers that are one boat; return them as tuples.

    Only the form is checked here (whether each number has a ferry link is checked by
    ``ferry_routes``, which sees the links). A number repeated inside its group counts once.

    Parameters
    ----------
    same_boat_routes : sequence of sequences of str, or None
        E.g. ``[("Fv57", "Fv606")]``: each group names two or more road numbers (as the
        network writes them: ``"Fv57"``, ``"E39"``, ``"Rv13"``) whose ferry links are one
        boat calling at several quays. None or empty: no groups (every road number its own
        route).

    Returns
    -------
    tuple of tuples of str, in the order given (empty when there are none).

    Raises
    ------
    ValueError
        One line naming the input at fault and the fix: not a sequence of groups, a group that
        is a single string or holds a non-string or fewer than two numbers, or a number in two
        groups.
    """
    if same_boat_routes is None:
        return ()
    example = "e.g. same_boat_routes=[('Fv57', 'Fv606')]"
    if isinstance(same_boat_routes, str | bytes) or not isinstance(same_boat_routes, Sequence):
        raise ValueError(
            f"same_boat_routes={same_boat_routes!r} must be a list of groups of road numbers, "
            f"{example}"
        )
    groups: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for i, group in enumerate(same_boat_routes):
        if isinstance(group, str | bytes) or not isinstance(group, Sequence):
            raise ValueError(
                f"same_boat_routes group {i + 1} is {group!r}, not a list of road numbers; "
                f"write each group as a tuple of strings, {example}"
            )
        bad = [r for r in group if not isinstance(r, str) or not r.strip()]
        if bad:
            raise ValueError(
                f"same_boat_routes group {i + 1} {tuple(group)!r} holds {bad[0]!r}, not a road "
                f"number; give road numbers as strings as the network writes them, {example}"
            )
        g = tuple(dict.fromkeys(r.strip() for r in group))
        if len(g) < 2:
            raise ValueError(
                f"same_boat_routes group {i + 1} {tuple(group)!r} names fewer than two road "
                "numbers; a group says which two or more numbers are one boat, so add the "
                "others or drop the group"
            )
        for r in g:
            if r in seen:
                raise ValueError(
                    f"same_boat_routes: road number {r!r} is in group {seen[r] + 1} and group "
                    f"{i + 1}; a number belongs to one boat, so merge the two groups into one"
                )
            seen[r] = i
        groups.append(g)
    return tuple(groups)


def same_boat_route_name(group: Sequence[str]) -> str:
    """The route name of a same-boat group: its road numbers joined by ``+`` (``Fv57+Fv606``)."""
    return "+".join(group)


def ferry_routes(
    links: pd.DataFrame, same_boat_routes: Sequence[Sequence[str]] | None = None
) -> np.ndarray:
    """The route of every car-ferry link: links of one route are served by one boat.

    The rule (its source is the data): a numbered ferry link belongs to the route of its road
    number (N1000/N2000 ``vegkategori`` + ``vegnummer``, NVDB road number, OSM ``ref``), e.g.
    ``"Fv17"``. A riksveg and a fylkesveg of one number are one route, ``"Rv/Fv80"`` (where
    the network has ferry links of both): the
    2010 reform handed parts of riksveger to the counties under their old numbers, and N1000
    draws the Bodø-Værøy-Røst-Moskenes boat as Rv80 at sea with Fv80 spurs into its quays.
    An unnumbered link belongs to its OSM way (``osm_way``) where the reader kept
    it, else to the chain of unnumbered links joined at sea nodes (nodes touching only ferry
    links), named ``"unnumbered-<k>"``.

    N1000, NVDB and OSM ``ref`` carry no route ids, so where two road numbers are in fact one
    boat calling at several quays, only someone who knows the timetable can say so:
    ``same_boat_routes`` groups such numbers into one route, named by ``same_boat_route_name``
    (``"Fv57+Fv606"``). No groups are given by default (no source lists them).

    Parameters
    ----------
    links : DataFrame
        ``u``, ``v``, ``ferry``, ``road_number`` (``osm_way`` optional).
    same_boat_routes : sequence of sequences of str, optional
        Groups of road numbers that are one boat, e.g. ``[("Fv57", "Fv606")]``
        (``check_same_boat_routes``). A number of a joint ``Rv/Fv`` route brings the whole
        route into its group.

    Returns
    -------
    ndarray of object, one per link: the route name, None for links that are not ferries.

    Raises
    ------
    ValueError
        ``check_same_boat_routes``'s errors; a group's road number that no car-ferry link of
        ``links`` has; Rv and Fv of one number (one route) put in two groups.
    """
    groups = check_same_boat_routes(same_boat_routes)
    from scipy import sparse
    from scipy.sparse import csgraph

    ferry = links["ferry"].to_numpy(dtype=bool)
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    rn = links["road_number"].to_numpy(dtype=object)
    out = np.full(len(links), None, dtype=object)
    numbered = ferry & np.array([isinstance(r, str) and r != "" for r in rn], dtype=bool)
    names = set(rn[numbered].tolist())
    out[numbered] = [
        f"Rv/Fv{m.group(2)}"
        if (m := _RV_FV.match(r)) and {f"Rv{m.group(2)}", f"Fv{m.group(2)}"} <= names
        else r
        for r in rn[numbered]
    ]
    if groups:
        _group_routes(out, rn, numbered, names, groups)
    rest = ferry & ~numbered
    if "osm_way" in links:
        way = links["osm_way"].to_numpy()
        has_way = rest & pd.notna(way)
        out[has_way] = [f"osm way {int(w)}" for w in way[has_way]]
        rest &= ~has_way
    if rest.any():
        n = int(max(u.max(), v.max())) + 1
        sea = ~_road_nodes(u, v, ferry, n)
        rows = np.flatnonzero(rest)
        # links sharing a sea node are one chain: a bipartite graph of links and sea nodes
        k = len(rows)
        pairs = [(i, k + int(x)) for i, r in enumerate(rows) for x in (u[r], v[r]) if sea[x]]
        a = np.array([p[0] for p in pairs], dtype=np.int64)
        b = np.array([p[1] for p in pairs], dtype=np.int64)
        g = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(k + n, k + n))
        _, lab = csgraph.connected_components(g, directed=False)
        _, comp = np.unique(lab[:k], return_inverse=True)
        out[rows] = [f"unnumbered-{int(c) + 1}" for c in comp]
    return out


def _group_routes(
    out: np.ndarray,
    rn: np.ndarray,
    numbered: np.ndarray,
    names: set,
    groups: tuple[tuple[str, ...], ...],
) -> None:
    """Rename, in ``out``, the routes of each same-boat group to the group's route name."""
    for g in groups:
        for r in g:
            if r not in names:
                near = difflib.get_close_matches(r, sorted(names), n=3)
                hint = (
                    f" (ferry road numbers near it: {', '.join(near)})"
                    if near
                    else f" ({len(names)} numbered ferry routes here)"
                )
                raise ValueError(
                    f"same_boat_routes: no car-ferry link of this network has road number "
                    f"{r!r}{hint}; name each boat by the road numbers its ferry links carry "
                    "(RoadNetwork.links.road_number where ferry is True)"
                )
    route_of = dict(zip(rn[numbered].tolist(), out[numbered].tolist(), strict=True))
    group_of: dict[str, tuple[str, str]] = {}  # default route -> (group name, number given)
    for g in groups:
        name = same_boat_route_name(g)
        for r in g:
            k = route_of[r]
            if k in group_of and group_of[k][0] != name:
                raise ValueError(
                    f"same_boat_routes: {r!r} and {group_of[k][1]!r} are one route ({k}: a "
                    f"riksveg and a fylkesveg of one number) but stand in two groups, "
                    f"{group_of[k][0]} and {name}; merge the two groups into one"
                )
            group_of[k] = (name, r)
    out[numbered] = [group_of[k][0] if k in group_of else k for k in out[numbered].tolist()]


def _heading(geom, at_xy: np.ndarray, leaving: bool) -> np.ndarray:
    """Unit vector of travel along ``geom`` at its end nearest ``at_xy``."""
    c = shapely.get_coordinates(geom)
    if np.hypot(*(c[0] - at_xy)) > np.hypot(*(c[-1] - at_xy)):
        c = c[::-1]  # c[0] is now the end at at_xy
    # the first coordinate away from the node (generalised lines may repeat a point)
    k = 1
    while k < len(c) - 1 and np.hypot(*(c[k] - c[0])) == 0:
        k += 1
    d = c[k] - c[0] if leaving else c[0] - c[k]
    norm = np.hypot(*d)
    return d / norm if norm > 0 else d


def _turn_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(np.clip(np.dot(a, b), -1.0, 1.0))
    return float(np.degrees(np.arccos(cos)))


def _append_rows(links: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """``links`` with ``rows`` appended, keeping the float, bool and node-number dtypes."""
    add = pd.DataFrame(rows, columns=links.columns)
    for col in links.columns:
        kind = links[col].dtype.kind
        if kind == "f":
            add[col] = pd.to_numeric(add[col], errors="coerce").astype(float)
        elif kind == "b":
            add[col] = add[col].fillna(False).astype(bool)
    out = pd.concat([links, add], ignore_index=True)
    for col in ("ferry", TRANSFER_COLUMN):
        out[col] = out[col].fillna(False).astype(bool)
    for col in ("u", "v"):
        out[col] = out[col].astype(np.int64)
    return out


def expand_ferry_routes(
    links: pd.DataFrame,
    geometry: np.ndarray,
    node_xy: np.ndarray,
    same_boat_routes: Sequence[Sequence[str]] | None = None,
    call_nodes: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
    """Make ferry waits turn-aware: boarding or changing route waits, staying aboard does not.

    Routing is node-based, so the rule "boarding from a road, or switching to a different
    ferry route, charges that route's wait; staying aboard the same route does not" is built
    into the graph here, once, for every reader (METHODS §1). Routes are ``ferry_routes`` (with
    the user's ``same_boat_routes``).

    1. **Shared track.** A route with a single link at a sea node where other routes meet
       (N1000: Fv549 from Våge joins the E39 Halhjem–Sandvikvåg line 1.6 km off Halhjem)
       cannot end there: its boat goes on along another route's track. It is continued along
       the straightest way on (the smallest turn, from the link geometry, if under
       ``MAX_SHARED_TURN_DEG``) to the next terminal; the shared links are duplicated for it
       (``ferry_shared_with`` = the link id copied; the copy carries the route's road number
       and takes the headway of the route's own link, ``ferry_headway_of``).
    2. **Route copies.** At a sea node of degree three or more where two or more routes meet,
       every route gets its own copy of the node (same coordinates); at a terminal (a node
       touching a road) a route with two or more links there (a boat calling at an
       intermediate quay) gets a copy. The route's links are moved to its copy, so staying
       aboard passes the copy without a wait.
    3. **Transfer links** (``ferry_transfer``, zero length, car-ferry links so nothing snaps
       onto them) join each copy to its node: towards the copy they charge the route's wait
       (``ferry_times``), away from it nothing. Changing route at sea therefore costs the
       next route's wait, and a car boarding at an intermediate quay waits while one staying
       aboard does not.

    A sea node where only two links meet is a bend of one boat's track, even where the road
    number changes there (N1000 draws Rv13/Fv13 so): no wait. Such a bend that
    ``connect_ferry_ends`` joined to a road as a quay call (``call_nodes``) stays one track:
    its two links share one copy, so a car staying aboard still passes without a wait and one
    boarding there waits. Node numbers of the input are kept; copies are appended.

    Parameters
    ----------
    links : DataFrame
        Link table (``link_id``, ``u``, ``v``, ``ferry``, ``road_number``, ``length_m`` ...).
    geometry : ndarray of shapely LineStrings
        Link geometry, EPSG:25833.
    node_xy : ndarray, shape (n_nodes, 2)
    same_boat_routes : sequence of sequences of str, optional
        Groups of road numbers that are one boat (``ferry_routes``), e.g.
        ``[("Fv57", "Fv606")]``: a car staying aboard from one number's quay to the other's
        waits once. Default none: each road number is its own route.
    call_nodes : sequence of int, optional
        Sea junctions that ``connect_ferry_ends`` joined to a road (its report's ``calls``).

    Returns
    -------
    links, geometry, node_xy : extended (columns ``ferry_route``, ``ferry_transfer``,
        ``ferry_shared_with`` added).
    report : dict
        ``sea_forks`` and ``calls`` (node, x, y, routes), ``shared`` (route, node, link id
        copied, turn in degrees), counts ``copies`` and ``transfers``; with groups also
        ``same_boat_routes`` (the groups, as lists).
    """
    links = links.reset_index(drop=True).copy()
    geometry = np.asarray(geometry, dtype=object)
    node_xy = np.asarray(node_xy, dtype=float)
    report: dict = {"sea_forks": [], "calls": [], "shared": [], "copies": 0, "transfers": 0}
    if TRANSFER_COLUMN in links and links[TRANSFER_COLUMN].fillna(False).astype(bool).any():
        raise ValueError("expand_ferry_routes: the links are already expanded (ferry_transfer)")
    groups = check_same_boat_routes(same_boat_routes)
    if groups:
        report["same_boat_routes"] = [list(g) for g in groups]
    links[ROUTE_COLUMN] = ferry_routes(links, groups)
    links[TRANSFER_COLUMN] = False
    links[SHARED_COLUMN] = None
    links[HEADWAY_OF_COLUMN] = None
    n = len(node_xy)
    ferry = links["ferry"].to_numpy(dtype=bool)
    if not ferry.any():
        return links, geometry, node_xy, report
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    road = _road_nodes(u, v, ferry, n)
    route = links[ROUTE_COLUMN].to_numpy(dtype=object)
    ids = links["link_id"].to_numpy()
    inc: dict[int, list[int]] = {}
    for r in np.flatnonzero(ferry).tolist():
        inc.setdefault(int(u[r]), []).append(r)
        inc.setdefault(int(v[r]), []).append(r)

    def far(r: int, x: int) -> int:
        return int(v[r]) if int(u[r]) == x else int(u[r])

    # 1. shared track: (row copied, route) pairs; copies are new rows appended below
    dup: list[tuple[int, object, int]] = []  # (source row, route, the route's own row)
    done: set[tuple[int, object]] = set()
    for x in sorted(inc):
        rows = inc[x]
        if road[x] or len(rows) < 3:
            continue
        routes = pd.Series(route[rows]).value_counts()
        if len(routes) < 2:
            continue
        report["sea_forks"].append(
            {
                "node": x,
                "x": round(float(node_xy[x, 0]), 1),
                "y": round(float(node_xy[x, 1]), 1),
                "routes": {str(k): int(c) for k, c in routes.items()},
            }
        )
        for r in rows:
            if routes[route[r]] != 1:
                continue
            # follow the straightest way on until a terminal
            node, step = x, 0
            heading = _heading(geometry[r], node_xy[x], leaving=False)
            seen = {r}
            while step < 50:
                step += 1
                cand = [c for c in inc[node] if c not in seen and route[c] != route[r]]
                if not cand:
                    break
                turns = [
                    _turn_deg(heading, _heading(geometry[c], node_xy[node], leaving=True))
                    for c in cand
                ]
                c = cand[int(np.argmin(turns))]
                if min(turns) >= MAX_SHARED_TURN_DEG:
                    break  # only a U-turn goes on: the route's track ends here
                seen.add(c)
                if (c, route[r]) in done:
                    break
                done.add((c, route[r]))
                dup.append((c, route[r], r))
                report["shared"].append(
                    {
                        "route": str(route[r]),
                        "node": node,
                        "link_id": _py(ids[c]),
                        "shared_with": str(route[c]),
                        "turn_deg": round(min(turns), 1),
                    }
                )
                nxt = far(c, node)
                if road[nxt] or len(inc[nxt]) < 2:
                    break
                heading = _heading(geometry[c], node_xy[nxt], leaving=False)
                node = nxt
    new_rows: list[dict] = []
    new_geoms: list = []
    dup_ids = iter(new_link_ids(ids, len(dup), "ferry"))
    for c, rname, own in dup:
        row = links.iloc[c].to_dict()
        row.update(
            {
                HEADWAY_OF_COLUMN: _py(ids[own]),
                "link_id": next(dup_ids),
                "road_number": links["road_number"].iloc[own],
                **({"osm_way": links["osm_way"].iloc[own]} if "osm_way" in links else {}),
                ROUTE_COLUMN: rname,
                SHARED_COLUMN: _py(ids[c]),
            }
        )
        new_rows.append(row)
        new_geoms.append(geometry[c])
    if new_rows:
        links = _append_rows(links, new_rows)
        geometry = np.concatenate([geometry, np.array(new_geoms, dtype=object)])
        ferry = links["ferry"].to_numpy(dtype=bool)
        u = links["u"].to_numpy(dtype=np.int64)
        v = links["v"].to_numpy(dtype=np.int64)
        route = links[ROUTE_COLUMN].to_numpy(dtype=object)
        ids = links["link_id"].to_numpy()
    # 2. route copies
    inc = {}
    for r in np.flatnonzero(ferry).tolist():
        inc.setdefault(int(u[r]), []).append(r)
        inc.setdefault(int(v[r]), []).append(r)
    bends = {int(x) for x in (call_nodes or ()) if len(inc.get(int(x), ())) == 2}
    u_new, v_new = u.copy(), v.copy()
    copies: list[tuple[int, object, list[int]]] = []  # (node, route, rows)
    for x in sorted(inc):
        rows = inc[x]
        by_route: dict[object, list[int]] = {}
        for r in rows:
            by_route.setdefault(route[r], []).append(r)
        if road[x] and x in bends:
            split = {route[rows[0]]: rows}  # a bend joined as a call: one track, one copy
        elif road[x]:
            # a call: the route goes on to two or more other places (not parallel links)
            split = {k: rs for k, rs in by_route.items() if len({far(r, x) for r in rs}) >= 2}
            if split:
                report["calls"].append(
                    {
                        "node": x,
                        "x": round(float(node_xy[x, 0]), 1),
                        "y": round(float(node_xy[x, 1]), 1),
                        "routes": {str(k): len(rs) for k, rs in by_route.items()},
                    }
                )
        elif len(rows) >= 3 and len(by_route) >= 2:
            split = by_route
        else:
            split = {}
        for k, rs in split.items():
            copies.append((x, k, rs))
    new_xy: list[np.ndarray] = []
    transfer_rows: list[dict] = []
    transfer_geoms: list = []
    t_ids = iter(new_link_ids(ids, len(copies), "transfer"))
    for x, k, rs in copies:
        c = n + len(new_xy)
        new_xy.append(node_xy[x])
        for r in rs:
            if u_new[r] == x:
                u_new[r] = c
            if v_new[r] == x:
                v_new[r] = c
        base = links.iloc[rs[0]].to_dict()
        row = dict.fromkeys(links.columns)
        for col in ("category", "road_number", "time_basis", "tunnel", "bridge", "motorway"):
            if col in base:
                row[col] = base[col]
        row.update(
            {
                "link_id": next(t_ids),
                "u": x,
                "v": c,
                "ferry": True,
                "length_m": 0.0,
                "seconds_fw": 0.0,
                "seconds_bw": 0.0,
                "fw_open": True,
                "bw_open": True,
                ROUTE_COLUMN: k,
                TRANSFER_COLUMN: True,
            }
        )
        transfer_rows.append(row)
        transfer_geoms.append(shapely.linestrings([node_xy[x], node_xy[x]]))
    report["copies"] = len(copies)
    report["transfers"] = len(transfer_rows)
    if not copies:
        return links, geometry, node_xy, report
    links["u"] = u_new
    links["v"] = v_new
    links = _append_rows(links, transfer_rows)
    geometry = np.concatenate([geometry, np.array(transfer_geoms, dtype=object)])
    node_xy = np.vstack([node_xy, np.array(new_xy)])
    return links, geometry, node_xy, report
