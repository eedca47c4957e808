"""Corridor scenarios: edits of a road network (and of service layers) -> a new network.

Edits (METHODS §5):

- ``Upgrade``: set or multiply the speed of links chosen by road number (``"E6"``, ``"Rv3"``,
  ``"Fv30"``), by link ids, or by an area (a polygon, or a line with a buffer);
- ``NewLink``: a bridge or tunnel between two points (EPSG:25833 coordinates or N1000 place
  names resolved by the caller), length from its straight geometry;
- ``ReplaceFerry``: a ferry link (by id or the one nearest a point) becomes a fixed link, so
  its waiting time goes too;
- ``FerryHeadway``: a new headway (and so a new wait) on a ferry link;
- ``CloseLink``: road links closed in both directions (a ferry closes by ``headway_min=inf``);
- ``CloseFacility`` / ``OpenFacility``: edits of a service layer (``apply_service_edits``).

``apply_scenario`` never mutates the base network; it copies the link table, edits it and
rebuilds the CSR arrays (0.05 s for N1000). Node numbers and coordinates of the base are kept,
so node-level results of the base (snapping, cached trees) stay valid for the scenario.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo.network.core import NETWORK_CRS, RoadNetwork, build_network
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers import ferry_link_seconds, ferry_terminals

_ROAD = re.compile(r"^\s*(E|RV|FV|KV|PV)\s*\.?\s*(\d+)\s*$", re.IGNORECASE)
_PREFIX = {"E": "E", "RV": "Rv", "FV": "Fv", "KV": "Kv", "PV": "Pv"}


def parse_road_number(text: str) -> str:
    """Normalise a Norwegian road number: ``"rv 3"`` -> ``"Rv3"``, ``"E 39"`` -> ``"E39"``.

    Raises
    ------
    ValueError
        When the text is not E/Rv/Fv/Kv/Pv followed by a number.
    """
    m = _ROAD.match(str(text))
    if not m:
        raise ValueError(f"road number {text!r} not understood; write e.g. 'E6', 'Rv3' or 'Fv30'")
    return f"{_PREFIX[m.group(1).upper()]}{int(m.group(2))}"


@dataclass(frozen=True)
class Upgrade:
    """New speed on chosen road links (ferries are left alone).

    Attributes
    ----------
    road : str, optional
        Road number (``"Rv3"``).
    link_ids : tuple, optional
    area : shapely geometry, optional
        Polygon, or a line buffered by ``buffer_m``.
    buffer_m : float
        Buffer of a line ``area``, default 200 m.
    speed_kmh : float, optional
        New speed.
    factor : float, optional
        Multiply the current speed instead.
    keep_faster : bool, default True
        Links already faster than the new speed keep their time (an upgrade of Rv3 to
        90 km/h leaves its 100 km/h motorway sections alone); False sets the speed exactly.
    """

    road: str | None = None
    link_ids: tuple = ()
    area: object = None
    buffer_m: float = 200.0
    speed_kmh: float | None = None
    factor: float | None = None
    keep_faster: bool = True


@dataclass(frozen=True)
class NewLink:
    """A bridge or tunnel between two points, both within ``max_snap_m`` of the network."""

    start: tuple[float, float]
    end: tuple[float, float]
    speed_kmh: float = 80.0
    kind: str = "bridge"
    max_snap_m: float = 2000.0


@dataclass(frozen=True)
class ReplaceFerry:
    """A ferry crossing replaced by a fixed link, its waiting time removed.

    The crossing is chosen by one of its links (``link_id``) or the ferry link nearest
    ``near``; all links of that crossing (split segments joined at sea) are replaced.
    """

    link_id: object = None
    near: tuple[float, float] | None = None
    speed_kmh: float = 80.0
    kind: str = "bridge"


@dataclass(frozen=True)
class FerryHeadway:
    """New headway in minutes (``inf`` = no departures) on a ferry link."""

    headway_min: float
    link_id: object = None
    near: tuple[float, float] | None = None


@dataclass(frozen=True)
class CloseLink:
    """Road links (by ``link_ids``) closed in both directions; ferries are left alone."""

    link_ids: tuple = ()


@dataclass(frozen=True)
class CloseFacility:
    """Remove a site from a service layer (by ``service_id`` or exact ``name``)."""

    service_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class OpenFacility:
    """Add a site to a service layer at (x, y) EPSG:25833."""

    name: str
    service_type: str
    x: float
    y: float


@dataclass
class Scenario:
    """A named list of edits."""

    name: str
    edits: list = field(default_factory=list)
    description: str = ""

    @property
    def network_edits(self) -> list:
        """Edits that change the road network."""
        return [
            e
            for e in self.edits
            if isinstance(e, Upgrade | NewLink | ReplaceFerry | FerryHeadway | CloseLink)
        ]

    @property
    def service_edits(self) -> list:
        """Edits that change service layers."""
        return [e for e in self.edits if isinstance(e, CloseFacility | OpenFacility)]


def _closest(value, options, n=5):
    return difflib.get_close_matches(str(value), [str(o) for o in options], n=n, cutoff=0.3)


def _select_links(links: pd.DataFrame, e: Upgrade) -> np.ndarray:
    sel = np.zeros(len(links), dtype=bool)
    if e.road:
        rn = parse_road_number(e.road)
        hit = (links["road_number"] == rn).to_numpy()
        if not hit.any():
            known = links["road_number"].dropna().unique()
            raise ValueError(f"no links carry road number {rn!r}; closest: {_closest(rn, known)}")
        sel |= hit
    if e.link_ids:
        ids = links["link_id"].to_numpy()
        missing = [i for i in e.link_ids if i not in set(ids.tolist())]
        if missing:
            raise ValueError(
                f"unknown link ids {missing}; closest: "
                f"{[int(ids[np.argmin(np.abs(ids - m))]) for m in missing]}"
            )
        sel |= np.isin(ids, list(e.link_ids))
    if e.area is not None:
        area = e.area
        if shapely.get_type_id(area) in (1, 5):  # (multi)line
            area = shapely.buffer(area, e.buffer_m)
        sel |= links.geometry.intersects(area).to_numpy()
    if not sel.any():
        raise ValueError("upgrade selects no links: give road=, link_ids= or area=")
    return sel & ~links["ferry"].to_numpy(dtype=bool)


def _ferry_row(links: pd.DataFrame, link_id, near) -> int:
    ferry = links["ferry"].to_numpy(dtype=bool)
    if link_id is not None:
        ids = links["link_id"].to_numpy()
        rows = np.flatnonzero(ids == link_id)
        if len(rows) == 0 or not ferry[rows[0]]:
            fid = ids[ferry]
            raise ValueError(
                f"link {link_id!r} is not a ferry link; nearest ferry ids: "
                f"{sorted(fid, key=lambda x: abs(x - link_id))[:5]}"
            )
        return int(rows[0])
    if near is None:
        raise ValueError("give link_id= or near=(x, y) to choose a ferry link")
    pt = shapely.Point(near)
    fr = links.loc[ferry]
    return int(np.flatnonzero(ferry)[np.argmin(fr.geometry.distance(pt).to_numpy())])


def _crossing_rows(links: pd.DataFrame, row: int) -> np.ndarray:
    """All ferry links of the crossing ``row`` belongs to (joined at sea, not at terminals).

    N1000 also joins different routes at sea near a shared terminal (Fv549 to Våge leaves
    the E39 Halhjem line 1.6 km out): when the chosen link has a road number, only links with
    the same number belong to its crossing.
    """
    ferry = links["ferry"].to_numpy(dtype=bool)
    rn = links["road_number"].to_numpy(dtype=object)
    same = ferry & (rn == rn[row]) if rn[row] is not None and not pd.isna(rn[row]) else ferry
    u, v = links["u"].to_numpy(), links["v"].to_numpy()
    sea = ~ferry_terminals(u, v, ferry)
    rows, todo = {row}, [row]
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


def apply_scenario(
    net: RoadNetwork, scenario: Scenario, profile: CarProfile | None = None
) -> RoadNetwork:
    """Return a new network with the scenario's network edits applied (base untouched).

    Parameters
    ----------
    net : RoadNetwork
        Base network with link geometry (Kartverket/OSM readers).
    scenario : Scenario
    profile : CarProfile, optional
        The profile the base was built with (default ``CarProfile()``); after ferry edits all
        ferry links are recomputed with its ferry model, the new headways and the new
        terminals (a node where a replaced crossing now lands becomes one).

    Returns
    -------
    RoadNetwork
        ``report["scenario"]`` lists the links each edit touched.

    Raises
    ------
    ValueError
        Unknown road numbers or link ids (with the closest matches), a new link whose ends are
        farther than ``max_snap_m`` from the network, bad speeds.
    """
    profile = profile or CarProfile()
    links = net.links.copy()
    node_x, node_y = net.node_x.copy(), net.node_y.copy()
    touched: list[dict] = []
    new_rows = []
    headways = dict(profile.ferry.headways_min)
    for e in scenario.network_edits:
        if isinstance(e, Upgrade):
            sel = _select_links(links, e)
            if (e.speed_kmh is None) == (e.factor is None):
                raise ValueError("Upgrade needs exactly one of speed_kmh or factor")
            val = e.speed_kmh if e.speed_kmh is not None else e.factor
            if not (val and val > 0):
                raise ValueError(f"Upgrade speed/factor must be > 0, got {val}")
            for col in ("seconds_fw", "seconds_bw"):
                cur = links.loc[sel, col].to_numpy(float)
                if e.factor is not None:
                    new = cur / e.factor
                else:
                    length = links.loc[sel, "length_m"].to_numpy(float) * profile.length_factor
                    new = np.where(np.isfinite(cur), length / (e.speed_kmh / 3.6), np.inf)
                links.loc[sel, col] = np.minimum(cur, new) if e.keep_faster else new
            if "speed_kmh" in links:
                links.loc[sel, "speed_kmh"] = (
                    e.speed_kmh
                    if e.speed_kmh is not None
                    else links.loc[sel, "speed_kmh"] * e.factor
                )
            touched.append({"edit": "upgrade", "links": links.loc[sel, "link_id"].tolist()})
        elif isinstance(e, CloseLink):
            if not e.link_ids:
                raise ValueError("close_link needs link_ids: the road links to close")
            sel = _select_links(links, Upgrade(link_ids=tuple(e.link_ids)))
            if not sel.any():
                raise ValueError(
                    f"close_link: links {list(e.link_ids)} are ferry links; close a ferry "
                    "with ferry_headway: {headway_min: .inf}"
                )
            links.loc[sel, ["seconds_fw", "seconds_bw"]] = np.inf
            touched.append({"edit": "close_link", "links": links.loc[sel, "link_id"].tolist()})
        elif isinstance(e, ReplaceFerry):
            rows = _crossing_rows(links, _ferry_row(links, e.link_id, e.near))
            t = links["length_m"].to_numpy(float)[rows] / (e.speed_kmh / 3.6)
            for col in ("seconds_fw", "seconds_bw"):
                links.iloc[rows, links.columns.get_loc(col)] = t
            links.iloc[rows, links.columns.get_loc("ferry")] = False
            touched.append(
                {
                    "edit": "replace_ferry",
                    "kind": e.kind,
                    "links": links["link_id"].iloc[rows].tolist(),
                }
            )
        elif isinstance(e, FerryHeadway):
            rows = _crossing_rows(links, _ferry_row(links, e.link_id, e.near))
            ids = links["link_id"].to_numpy()[rows]
            headways.update(dict.fromkeys(ids.tolist(), e.headway_min))
            touched.append({"edit": "ferry_headway", "links": ids.tolist()})
        elif isinstance(e, NewLink):
            if not (e.speed_kmh > 0):
                raise ValueError(f"NewLink speed must be > 0, got {e.speed_kmh}")
            ends = []
            for pt, what in ((e.start, "start"), (e.end, "end")):
                nd, dist = net.nearest_nodes([pt[0]], [pt[1]])
                if dist[0] > e.max_snap_m:
                    raise ValueError(
                        f"new link {what} {tuple(pt)} is {dist[0]:.0f} m from the network "
                        f"(max {e.max_snap_m:.0f} m); move it or raise max_snap_m"
                    )
                ends.append(int(nd[0]))
            geom = shapely.LineString(
                [(node_x[ends[0]], node_y[ends[0]]), (node_x[ends[1]], node_y[ends[1]])]
            )
            t = geom.length / (e.speed_kmh / 3.6)
            lid = f"new-{len(new_rows) + 1}"
            new_rows.append(
                {
                    "link_id": lid,
                    "u": ends[0],
                    "v": ends[1],
                    "seconds_fw": t,
                    "seconds_bw": t,
                    "length_m": geom.length,
                    "category": e.kind,
                    "road_number": None,
                    "ferry": False,
                    "geometry": geom,
                }
            )
            touched.append({"edit": "new_link", "links": [lid], "kind": e.kind})
    if any(isinstance(e, ReplaceFerry | FerryHeadway) for e in scenario.network_edits):
        # Recompute every remaining ferry link: a replaced crossing can turn a sea node into
        # a terminal (a branch route now boards there), and headways change waits.
        ferry = links["ferry"].to_numpy(dtype=bool)
        if ferry.any():
            fw, bw = ferry_link_seconds(
                links["u"].to_numpy(),
                links["v"].to_numpy(),
                ferry,
                links["length_m"].to_numpy(float),
                links["link_id"].to_numpy(),
                replace(profile.ferry, headways_min=headways),
            )
            links.loc[ferry, "seconds_fw"] = fw
            links.loc[ferry, "seconds_bw"] = bw
    if new_rows:
        add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=NETWORK_CRS)
        links = pd.concat([links, add], ignore_index=True)
        links = gpd.GeoDataFrame(links, geometry="geometry", crs=NETWORK_CRS)
    report = {
        k: v
        for k, v in net.report.items()
        if k not in ("build_seconds", "self_loops_removed", "duplicate_edges_removed")
    }
    report["scenario"] = {"name": scenario.name, "edits": touched}
    return build_network(
        links,
        node_x,
        node_y,
        source=f"{net.source} + {scenario.name}",
        attribution=net.attribution,
        report=report,
    )


def apply_service_edits(services: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Return a copy of ``services`` with the scenario's facility closures and openings.

    Raises
    ------
    ValueError
        A closure naming no site (with close matches).
    """
    out = services.copy()
    for e in scenario.service_edits:
        if isinstance(e, CloseFacility):
            key, val = ("service_id", e.service_id) if e.service_id else ("name", e.name)
            hit = out[key] == val
            if not hit.any():
                raise ValueError(
                    f"close_facility: no site with {key} {val!r}; close matches: "
                    f"{_closest(val, out[key].dropna().unique())}"
                )
            out = out[~hit]
        else:
            n = int((out["service_type"] == e.service_type).sum()) + 1
            row = gpd.GeoDataFrame(
                {
                    "service_id": [f"{e.service_type}-new{n}"],
                    "service_type": [e.service_type],
                    "subtype": ["scenario"],
                    "name": [e.name],
                    "location_method": ["scenario"],
                    "source": ["scenario"],
                },
                geometry=[shapely.Point(e.x, e.y)],
                crs=NETWORK_CRS,
            )
            out = pd.concat([out, row], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=NETWORK_CRS)
    out.attrs.update(services.attrs)
    return out
