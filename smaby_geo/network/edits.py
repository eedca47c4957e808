"""Corridor scenarios: edits of a road network (and of service layers) -> a new network.

Edits (METHODS §5):

- ``Upgrade``: set or multiply the speed of links chosen by road number (``"E6"``, ``"Rv3"``,
  ``"Fv30"``), by link ids, or by an area (a polygon, or a line with a buffer);
- ``NewLink``: a bridge or tunnel between two points (EPSG:25833 coordinates or N1000 place
  names resolved by the caller), length from its straight geometry;
- ``ReplaceFerry``: a ferry crossing (by one of its link ids or the one nearest a point)
  becomes a fixed link, so its waiting time goes too;
- ``FerryHeadway``: a new headway (and so a new wait) on a ferry crossing;
- ``CloseFacility`` / ``OpenFacility``: edits of a service layer (``apply_service_edits``).

Each edit checks its values when it is made: a value that makes no sense (a speed of 0 or
``inf``, a negative headway, a new link between identical points, a scalar where a list of
link ids is needed, text where a number is needed) raises ``ValueError`` naming the edit.

``apply_scenario`` never mutates the base network; it copies the link table, edits it and
rebuilds the CSR arrays (0.05 s for N1000). It uses the network's own profile
(``net.profile``) and recomputes only the links an edit changes, with the ferry rule every
reader uses (``smaby_geo.network.ferry``). Node numbers and coordinates of the base are kept
(new links join existing nodes), so node-level results of the base stay valid.

Longer than 500 lines because each edit's dataclass, its value checks and its apply step
are kept side by side so that a new kind of edit is added in one place.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo._compat import renamed_kwargs
from smaby_geo.network.core import _BUILD_COUNTS, NETWORK_CRS, RoadNetwork, build_network
from smaby_geo.network.ferry import added_by_routes, crossing_rows, ferry_terminals
from smaby_geo.network.linktimes import compute_link_times
from smaby_geo.network.profile import LEGAL_MAX_SPEED_KMH, CarProfile

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


# --- named defaults -----------------------------------------------------------------------

# The farthest a ``near`` point may lie from the ferry link it picks (metres). A point given
# for a crossing is within a few hundred metres of its line (the terminals or the fjord it
# crosses); 2 km, the same as ``NewLink.max_snap_m``, leaves room for a rough click while a
# point in the wrong fjord, a typo in a coordinate or lon/lat given as metres is refused
# instead of silently editing another crossing. ``max_snap_m`` on the edit overrides it.
FERRY_NEAR_MAX_M = 2000.0

# The documented kinds of a new or replacing fixed link (a ferry is edited with
# ``ferry_headway``, never created by ``new_link`` or ``replace_ferry``).
FIXED_LINK_KINDS = ("bridge", "tunnel", "road")


# --- value checks -------------------------------------------------------------------------


def _number(
    edit: str,
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    strict: bool = True,
    allow_inf: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as float, or raise ValueError naming ``edit`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{edit}: {name} must be a number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        more = " (or inf)" if allow_inf else ""
        raise ValueError(f"{edit}: {name} must be a finite number{more}, got {value!r}")
    if v < minimum or (strict and v == minimum):
        raise ValueError(f"{edit}: {name} must be {'>' if strict else '>='} {minimum:g}, got {v:g}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{edit}: {name} must be at most {maximum:g}, got {v:g}")
    return v


def _speed(edit: str, value: object) -> float:
    # No road in Norway may be driven faster than the legal maximum (110 km/h, motorveg).
    return _number(edit, "speed_kmh", value, maximum=LEGAL_MAX_SPEED_KMH)


MAX_COORDINATE_M = 1e8
"""Largest |x| or |y| an edit's point may have, metres: EPSG:25833 coordinates of any place on
Earth stay within about 2e7 m (half the equator), so a larger one is a mistake (and a far larger
one, e.g. 1e308, overflows the distance to the network)."""


def _point(edit: str, name: str, value: object) -> tuple[float, float]:
    if (
        isinstance(value, str)
        or not isinstance(value, list | tuple | np.ndarray)
        or len(value) != 2
    ):
        raise ValueError(
            f"{edit}: {name} must be a point (x, y) in EPSG:25833 metres, got {value!r}"
        )
    return (_coord(edit, name, value[0]), _coord(edit, name, value[1]))


def _coord(edit: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{edit}: {name} coordinates must be numbers, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{edit}: {name} coordinates must be finite, got {value!r}")
    if abs(float(value)) > MAX_COORDINATE_M:
        raise ValueError(
            f"{edit}: {name} coordinate {value!r} lies farther from the origin than any place on "
            f"Earth (|x|, |y| <= {MAX_COORDINATE_M:.0e} m); give EPSG:25833 metres, e.g. "
            "(290000, 6900000)"
        )
    return float(value)


def _text(edit: str, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{edit}: {name} must be a non-empty text, got {value!r}")


def _kind(edit: str, value: object) -> None:
    _text(edit, "kind", value)
    if value not in FIXED_LINK_KINDS:
        raise ValueError(
            f"{edit}: kind must be one of {list(FIXED_LINK_KINDS)}, got {value!r} (a ferry is "
            "edited with ferry_headway)"
        )


def _link_id(edit: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool | list | tuple | dict | set | float) and not (
        isinstance(value, float) and value.is_integer()
    ):
        raise ValueError(f"{edit}: link_id must be one link id (e.g. 14257), got {value!r}")


def _link_ids(edit: str, ids: object) -> tuple:
    """A list of link ids as a tuple; a scalar or text is refused (``link_ids: 14257``)."""
    if ids is None:
        ids = ()
    if isinstance(ids, str | bytes | int | float | np.integer | np.floating):
        raise ValueError(f"{edit}: link_ids must be a list of link ids (e.g. [14257]), got {ids!r}")
    try:
        out: tuple = tuple(ids)  # type: ignore[arg-type]  # any iterable; TypeError below
    except TypeError:
        raise ValueError(
            f"{edit}: link_ids must be a list of link ids (e.g. [14257]), got {ids!r}"
        ) from None
    for i in out:
        _link_id(edit, i)
    return out


# --- edits --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upgrade:
    """New speed on chosen road links (ferries are left alone).

    Attributes
    ----------
    road : str, optional
        Road number (``"Rv3"``).
    link_ids : tuple, optional
        Link ids (a list or tuple; pieces of a link split by a ferry connector follow it).
    area : shapely geometry or WKT text, optional
        Polygon, or a line buffered by ``buffer_m``.
    buffer_m : float
        Buffer of a line ``area``, default 200 m.
    speed_kmh : float, optional
        New speed, at most the legal maximum of 110 km/h. On N1000 links it applies outside
        built-up areas; the part inside keeps its urban speed (capped at the new speed).
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

    def __post_init__(self) -> None:
        e = "upgrade"
        _text(e, "road", self.road, optional=True)
        if self.road is not None:
            parse_road_number(self.road)
        ids = _link_ids(e, self.link_ids)
        object.__setattr__(self, "link_ids", ids)
        area = self.area
        if isinstance(area, str):
            try:
                area = shapely.from_wkt(area)
            except Exception as exc:  # shapely raises GEOSException subclasses
                raise ValueError(f"{e}: area is not valid WKT ({exc})") from None
            object.__setattr__(self, "area", area)
        if area is not None:
            if not isinstance(area, shapely.Geometry) or area.is_empty:
                raise ValueError(f"{e}: area must be a polygon or line (WKT), got {area!r}")
            if shapely.get_type_id(area) not in (1, 3, 5, 6):
                raise ValueError(f"{e}: area must be a polygon or a line, got a {area.geom_type}")
        _number(e, "buffer_m", self.buffer_m, strict=False)
        if not (self.road or ids or area is not None):
            raise ValueError(f"{e}: choose links with road=, link_ids= or area=")
        if (self.speed_kmh is None) == (self.factor is None):
            raise ValueError(f"{e}: give exactly one of speed_kmh or factor")
        if self.speed_kmh is not None:
            _speed(e, self.speed_kmh)
        if self.factor is not None:
            _number(e, "factor", self.factor)
        if not isinstance(self.keep_faster, bool):
            raise ValueError(f"{e}: keep_faster must be true or false, got {self.keep_faster!r}")


@dataclass(frozen=True)
class NewLink:
    """A bridge or tunnel between two points, both within ``max_snap_m`` of the network."""

    start: tuple[float, float]
    end: tuple[float, float]
    speed_kmh: float = 80.0
    kind: str = "bridge"
    max_snap_m: float = 2000.0

    def __post_init__(self) -> None:
        e = "new_link"
        start, end = _point(e, "start", self.start), _point(e, "end", self.end)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        if start == end:
            raise ValueError(f"{e}: start and end are the same point {start}; a link needs two")
        _speed(e, self.speed_kmh)
        _kind(e, self.kind)
        _number(e, "max_snap_m", self.max_snap_m)


@dataclass(frozen=True)
class ReplaceFerry:
    """A ferry crossing replaced by a fixed link, its waiting time removed.

    The crossing is chosen by one of its links (``link_id``) or the ferry link nearest
    ``near``; all links of that crossing (split segments joined at sea) are replaced. A
    ``near`` point farther than ``max_snap_m`` (default ``FERRY_NEAR_MAX_M``, 2 km) from every
    ferry link is refused. ``kind`` is one of ``FIXED_LINK_KINDS``.
    """

    link_id: object = None
    near: tuple[float, float] | None = None
    speed_kmh: float = 80.0
    kind: str = "bridge"
    max_snap_m: float = FERRY_NEAR_MAX_M

    def __post_init__(self) -> None:
        e = "replace_ferry"
        _link_id(e, self.link_id)
        if self.near is not None:
            object.__setattr__(self, "near", _point(e, "near", self.near))
        if self.link_id is None and self.near is None:
            raise ValueError(f"{e}: give link_id= or near=(x, y) to choose a ferry link")
        _speed(e, self.speed_kmh)
        _kind(e, self.kind)
        _number(e, "max_snap_m", self.max_snap_m)


@dataclass(frozen=True)
class FerryHeadway:
    """New headway in minutes (``inf`` = no departures) on a ferry crossing.

    The crossing is chosen as in ``ReplaceFerry`` (``link_id``, or ``near`` within
    ``max_snap_m``, default ``FERRY_NEAR_MAX_M``).
    """

    headway_min: float
    link_id: object = None
    near: tuple[float, float] | None = None
    max_snap_m: float = FERRY_NEAR_MAX_M

    def __post_init__(self) -> None:
        e = "ferry_headway"
        _number(e, "headway_min", self.headway_min, allow_inf=True)
        _link_id(e, self.link_id)
        _number(e, "max_snap_m", self.max_snap_m)
        if self.near is not None:
            object.__setattr__(self, "near", _point(e, "near", self.near))
        if self.link_id is None and self.near is None:
            raise ValueError(f"{e}: give link_id= or near=(x, y) to choose a ferry link")


@dataclass(frozen=True)
class CloseLink:
    """Road links (by ``link_ids``) closed in both directions.

    A ferry is closed with ``FerryHeadway(headway_min=inf)`` instead.
    """

    link_ids: tuple = ()

    def __post_init__(self) -> None:
        ids = _link_ids("close_link", self.link_ids)
        if not ids:
            raise ValueError("close_link needs link_ids: the road links to close")
        object.__setattr__(self, "link_ids", ids)


@dataclass(frozen=True)
class CloseFacility:
    """Remove a site from a service layer (by ``service_id`` or exact ``name``)."""

    service_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        e = "close_facility"
        _text(e, "service_id", self.service_id, optional=True)
        _text(e, "name", self.name, optional=True)
        if self.service_id is None and self.name is None:
            raise ValueError(f"{e}: give service_id= or name=")


@dataclass(frozen=True)
class OpenFacility:
    """Add a site to a service layer at (x, y) EPSG:25833."""

    name: str
    service_type: str
    x: float
    y: float

    def __post_init__(self) -> None:
        e = "open_facility"
        _text(e, "name", self.name)
        _text(e, "service_type", self.service_type)
        _coord(e, "x", self.x)
        _coord(e, "y", self.y)


NETWORK_EDITS = (Upgrade, NewLink, ReplaceFerry, FerryHeadway, CloseLink)
_EDIT_NAMES = {
    Upgrade: "upgrade",
    NewLink: "new_link",
    ReplaceFerry: "replace_ferry",
    FerryHeadway: "ferry_headway",
    CloseLink: "close_link",
    CloseFacility: "close_facility",
    OpenFacility: "open_facility",
}
SERVICE_EDITS = (CloseFacility, OpenFacility)


@dataclass
class Scenario:
    """A named list of edits.

    ``source`` (the file it was read from) and ``edit_lines`` (the line of each edit in it),
    when given, prefix the errors of applying an edit: ``"<file>, line <n> (<edit>): ..."``.
    """

    name: str
    edits: list = field(default_factory=list)
    description: str = ""
    source: str = field(default="", compare=False, repr=False)
    edit_lines: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        bad = [e for e in self.edits if not isinstance(e, NETWORK_EDITS + SERVICE_EDITS)]
        if bad:
            raise ValueError(
                f"scenario {self.name!r}: not an edit: {bad[0]!r} (use Upgrade, NewLink, "
                "ReplaceFerry, FerryHeadway, CloseFacility or OpenFacility)"
            )

    def where(self, edit: object) -> str:
        """``"<file>, line <n>: "`` of an edit read from a file, else ``""``."""
        if not self.source:
            return ""
        for e, line in zip(self.edits, self.edit_lines, strict=False):
            if e is edit:
                return f"{self.source}, line {line}: "
        return f"{self.source}: "

    def describe_edits(self) -> list[dict]:
        """Each edit as a plain dict (its type and given values), in the scenario's order."""
        out = []
        for e in self.edits:
            d = {"edit": _EDIT_NAMES[type(e)]}
            for k, v in vars(e).items():
                if v is None or (k == "link_ids" and not v):
                    continue
                if isinstance(v, shapely.Geometry):
                    v = v.wkt
                elif isinstance(v, tuple):
                    v = list(v)
                d[k] = v
            out.append(d)
        return out

    @property
    def network_edits(self) -> list:
        """Edits that change the road network."""
        return [e for e in self.edits if isinstance(e, NETWORK_EDITS)]

    @property
    def service_edits(self) -> list:
        """Edits that change service layers."""
        return [e for e in self.edits if isinstance(e, SERVICE_EDITS)]


# --- applying edits -----------------------------------------------------------------------


def _closest(value, options, n=5):
    return difflib.get_close_matches(str(value), [str(o) for o in options], n=n, cutoff=0.3)


def _select_links(links: pd.DataFrame, e: Upgrade, edit: str = "upgrade") -> np.ndarray:
    sel = np.zeros(len(links), dtype=bool)
    if e.road:
        rn = parse_road_number(e.road)
        hit = (links["road_number"] == rn).to_numpy()
        if not hit.any():
            known = links["road_number"].dropna().unique()
            raise ValueError(
                f"{edit}: no links carry road number {rn!r}; closest: {_closest(rn, known)}"
            )
        sel |= hit
    if e.link_ids:
        ids = links["link_id"].to_numpy()
        parent = links["split_from"].to_numpy() if "split_from" in links else ids
        known = set(ids.tolist()) | {p for p in parent.tolist() if p is not None}
        missing = [i for i in e.link_ids if i not in known]
        if missing:
            raise ValueError(
                f"{edit}: unknown link ids {missing}; closest: "
                f"{[_closest(m, list(known), n=1) for m in missing]}"
            )
        want = list(e.link_ids)
        sel |= np.isin(ids, want) | np.isin(parent, want)
    if e.area is not None:
        area = e.area
        if shapely.get_type_id(area) in (1, 5):  # (multi)line
            area = shapely.buffer(area, e.buffer_m)
        if not isinstance(links, gpd.GeoDataFrame):
            raise ValueError(f"{edit}: area= needs a network whose links have geometry")
        sel |= links.geometry.intersects(area).to_numpy()
    sel &= ~links["ferry"].to_numpy(dtype=bool)
    if not sel.any():
        raise ValueError(
            f"{edit}: the chosen road, link ids or area select no road links (ferries are "
            "edited with replace_ferry or ferry_headway; ferry_headway with headway_min: .inf "
            "closes one)"
        )
    return sel


def _data_link_ids(links: pd.DataFrame, rows: np.ndarray) -> list:
    """Link ids of ``rows`` that are links of the data (not ferry route transfers/copies)."""
    rows = np.asarray(rows)
    return links["link_id"].iloc[rows[~added_by_routes(links)[rows]]].tolist()


def _ferry_row(
    links: pd.DataFrame, link_id, near, edit: str, max_m: float = FERRY_NEAR_MAX_M
) -> int:
    ferry = links["ferry"].to_numpy(dtype=bool)
    if not ferry.any():
        raise ValueError(f"{edit}: the network has no ferry links")
    if link_id is not None:
        ids = links["link_id"].to_numpy()
        rows = np.flatnonzero(ids == link_id)
        if len(rows) == 0 or not ferry[rows[0]]:
            fid = ids[ferry].tolist()
            raise ValueError(
                f"{edit}: link {link_id!r} is not a ferry link; nearest ferry ids: "
                f"{_closest(link_id, fid)}"
            )
        return int(rows[0])
    pt = shapely.Point(near)
    ferry = ferry & ~added_by_routes(links)  # a link of the data, not a route transfer/copy
    fr = links.loc[ferry]
    dist = fr.geometry.distance(pt).to_numpy()
    best = int(np.argmin(dist))
    if not dist[best] <= max_m:
        raise ValueError(
            f"{edit}: near {tuple(near)} is {dist[best] / 1000:,.1f} km from the nearest ferry "
            f"link (max {max_m:,.0f} m); give a point on the crossing in EPSG:25833 metres, "
            "its link_id, or raise max_snap_m"
        )
    return int(np.flatnonzero(ferry)[best])


def _ensure_columns(links: pd.DataFrame) -> pd.DataFrame:
    if "time_basis" not in links:
        links["time_basis"] = "given"
    for c, default in (
        ("speed_kmh", np.nan),
        ("headway_override_min", np.nan),
        ("crossing_s", np.nan),
        ("wait_s", np.nan),
        ("headway_min", np.nan),
    ):
        if c not in links:
            links[c] = default
    if "scenario_edit" not in links:
        links["scenario_edit"] = None
    return links


@renamed_kwargs(net="network")
def apply_scenario(
    network: RoadNetwork, scenario: Scenario, profile: CarProfile | None = None
) -> RoadNetwork:
    """Return a new network with the scenario's network edits applied (base untouched).

    Parameters
    ----------
    network : RoadNetwork
        Base network with link geometry (Kartverket/OSM/NVDB readers).
    scenario : Scenario
    profile : CarProfile, optional
        Default: the network's own profile (``network.profile``), else ``CarProfile()``. Used for
        the length factor and urban speeds of upgraded links and for re-timing the ferry links
        an edit touches (a new headway; a crossing next to a replaced one whose sea node
        becomes a terminal). No other link is recomputed.

    Returns
    -------
    RoadNetwork
        ``report["scenario"]`` lists the links each edit touched; ``links["scenario_edit"]``
        names the edit of each touched link. Edited links get ``time_basis == "given"``, so
        ``with_profile`` keeps their edited times.

    Raises
    ------
    ValueError
        Unknown road numbers or link ids (with the closest matches), a new link whose ends are
        farther than ``max_snap_m`` from the network or snap to one node, a ``near`` point
        farther than the edit's ``max_snap_m`` (default ``FERRY_NEAR_MAX_M``) from every ferry
        link, a scenario that is not a ``Scenario``. For a scenario read from a file
        (``Scenario.source``) the message starts with the file and the edit's line.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"apply_scenario needs a Scenario, got {type(scenario).__name__}")
    current: list = [None]  # the edit being applied, to name its file and line on an error
    try:
        return _apply_network_edits(network, scenario, profile, current)
    except ValueError as exc:
        where = scenario.where(current[0])
        if not where:
            raise
        raise ValueError(f"{where}{exc}") from None


def _apply_network_edits(
    network: RoadNetwork, scenario: Scenario, profile: CarProfile | None, current: list
) -> RoadNetwork:
    profile = profile or network.profile or CarProfile()
    if not isinstance(profile, CarProfile):
        raise ValueError(f"profile must be a CarProfile, got {type(profile).__name__}")
    links = _ensure_columns(network.links.copy())
    node_x, node_y = network.node_x.copy(), network.node_y.copy()
    touched: list[dict] = []
    new_rows: list[dict] = []
    retime = np.zeros(len(links), dtype=bool)  # ferry links to re-time at the end
    col = links.columns.get_loc
    for e in scenario.network_edits:
        current[0] = e
        if isinstance(e, Upgrade):
            sel = _select_links(links, e)
            length = links["length_m"].to_numpy(float)[sel]
            lf = np.where(
                links["time_basis"].to_numpy(dtype=object)[sel] == "category",
                profile.length_factor,
                1.0,
            )
            for c in ("seconds_fw", "seconds_bw"):
                cur = links[c].to_numpy(float)[sel]
                if e.factor is not None:
                    new = cur / e.factor
                else:
                    assert e.speed_kmh is not None  # Upgrade holds exactly one of the two
                    new = _upgraded_seconds(links.loc[sel], length * lf, e.speed_kmh, profile)
                    new = np.where(np.isfinite(cur), new, np.inf)
                links.iloc[np.flatnonzero(sel), col(c)] = (
                    np.minimum(cur, new) if e.keep_faster else new
                )
            t = links["seconds_fw"].to_numpy(float)[sel]
            t = np.where(np.isfinite(t), t, links["seconds_bw"].to_numpy(float)[sel])
            with np.errstate(invalid="ignore", divide="ignore"):
                links.iloc[np.flatnonzero(sel), col("speed_kmh")] = length * lf / t * 3.6
            links.iloc[np.flatnonzero(sel), col("time_basis")] = "given"
            links.iloc[np.flatnonzero(sel), col("scenario_edit")] = "upgrade"
            touched.append({"edit": "upgrade", "links": links.loc[sel, "link_id"].tolist()})
        elif isinstance(e, CloseLink):
            sel = _select_links(links, Upgrade(link_ids=e.link_ids, factor=1.0), "close_link")
            for c in ("seconds_fw", "seconds_bw"):
                links.iloc[np.flatnonzero(sel), col(c)] = np.inf
            links.iloc[np.flatnonzero(sel), col("time_basis")] = "given"
            links.iloc[np.flatnonzero(sel), col("scenario_edit")] = "close_link"
            touched.append({"edit": "close_link", "links": links.loc[sel, "link_id"].tolist()})
        elif isinstance(e, ReplaceFerry):
            row = _ferry_row(links, e.link_id, e.near, "replace_ferry", e.max_snap_m)
            rows = crossing_rows(links, row)
            t = links["length_m"].to_numpy(float)[rows] / (e.speed_kmh / 3.6)
            for c in ("seconds_fw", "seconds_bw"):
                links.iloc[rows, col(c)] = t
            links.iloc[rows, col("ferry")] = False
            links.iloc[rows, col("time_basis")] = "given"
            links.iloc[rows, col("speed_kmh")] = e.speed_kmh
            for c in ("crossing_s", "wait_s", "headway_min"):
                links.iloc[rows, col(c)] = np.nan
            links.iloc[rows, col("scenario_edit")] = "replace_ferry"
            # a sea node of the replaced crossing may now be a terminal of another crossing
            nodes = np.unique(links[["u", "v"]].to_numpy()[rows])
            retime |= links["u"].isin(nodes).to_numpy() | links["v"].isin(nodes).to_numpy()
            touched.append(
                {
                    "edit": "replace_ferry",
                    "kind": e.kind,
                    "links": _data_link_ids(links, rows),
                }
            )
        elif isinstance(e, FerryHeadway):
            row = _ferry_row(links, e.link_id, e.near, "ferry_headway", e.max_snap_m)
            rows = crossing_rows(links, row)
            links.iloc[rows, col("headway_override_min")] = e.headway_min
            links.iloc[rows, col("scenario_edit")] = "ferry_headway"
            retime[rows] = True
            touched.append({"edit": "ferry_headway", "links": _data_link_ids(links, rows)})
        elif isinstance(e, NewLink):
            ends = []
            for pt, what in ((e.start, "start"), (e.end, "end")):
                nd, dist = network.nearest_nodes([pt[0]], [pt[1]])
                if dist[0] > e.max_snap_m:
                    raise ValueError(
                        f"new_link: {what} {tuple(pt)} is {dist[0]:.0f} m from the network "
                        f"(max {e.max_snap_m:.0f} m); move it or raise max_snap_m"
                    )
                ends.append(int(nd[0]))
            if ends[0] == ends[1]:
                raise ValueError(
                    f"new_link: start {e.start} and end {e.end} both join the network at node "
                    f"{ends[0]}, so the link would change nothing; move an end"
                )
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
                    "time_basis": "given",
                    "fw_open": True,
                    "bw_open": True,
                    "speed_kmh": e.speed_kmh,
                    "scenario_edit": "new_link",
                    "geometry": geom,
                }
            )
            touched.append({"edit": "new_link", "links": [lid], "kind": e.kind})
    retime &= links["ferry"].to_numpy(dtype=bool) & (links["time_basis"] == "ferry").to_numpy()
    if retime.any():
        links = compute_link_times(links, profile, only=retime)
    if new_rows:
        add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=NETWORK_CRS)
        links = pd.concat([links, add], ignore_index=True)
        links = gpd.GeoDataFrame(links, geometry="geometry", crs=NETWORK_CRS)
    report = {k: v for k, v in network.report.items() if k not in _BUILD_COUNTS}
    # service edits are listed too (with their given values), so every record of the run
    # (console, run.json, report) shows the whole scenario
    described = scenario.describe_edits()
    touched += [
        d for d, e in zip(described, scenario.edits, strict=True) if isinstance(e, SERVICE_EDITS)
    ]
    report["scenario"] = {"name": scenario.name, "edits": touched}
    return build_network(
        links,
        node_x,
        node_y,
        source=f"{network.source} + {scenario.name}",
        attribution=network.attribution,
        report=report,
        profile=profile,
    )


def _upgraded_seconds(
    sel: pd.DataFrame, length_m: np.ndarray, speed_kmh: float, profile: CarProfile
) -> np.ndarray:
    """Seconds of upgraded links at ``speed_kmh``.

    The new speed applies outside built-up areas; inside them a link keeps its urban speed,
    capped at the new speed.
    """
    frac = (
        np.nan_to_num(sel["urban_fraction"].to_numpy(dtype=float))
        if "urban_fraction" in sel
        else np.zeros(len(sel))
    )
    is_cat = (sel["time_basis"].to_numpy(dtype=object) == "category") & (frac > 0)
    urban = np.full(len(sel), speed_kmh)
    if is_cat.any():
        m = sel["motorway"].to_numpy(dtype=object) if "motorway" in sel else np.full(len(sel), None)
        u = profile.n1000_speeds(sel["category"].to_numpy(dtype=object), m, urban=True)
        urban = np.where(is_cat, np.minimum(u, speed_kmh), speed_kmh)
    frac = np.where(is_cat, frac, 0.0)
    return length_m * ((1 - frac) / (speed_kmh / 3.6) + frac / (urban / 3.6))


def apply_service_edits(services: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Return a copy of ``services`` with the scenario's facility closures and openings.

    Raises
    ------
    ValueError
        A closure naming no site (with close matches); an opening whose name a site of the
        layer already has (at that point of the edit order: closing a site first and opening
        one under its name moves it). Prefixed with the file and line of the edit when the
        scenario was read from a file.
    """
    out = services.copy()
    for e in scenario.service_edits:
        where = scenario.where(e)
        if isinstance(e, CloseFacility):
            key, val = ("service_id", e.service_id) if e.service_id else ("name", e.name)
            hit = out[key] == val
            if not hit.any():
                raise ValueError(
                    f"{where}close_facility: no site with {key} {val!r}; close matches: "
                    f"{_closest(val, out[key].dropna().unique())}"
                )
            out = out[~hit]
        else:
            if (out["name"] == e.name).any():
                raise ValueError(
                    f"{where}open_facility: a site named {e.name!r} is already in the service "
                    "layer; give the new site another name (or close the old one first)"
                )
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


__all__ = [
    "CloseFacility",
    "FerryHeadway",
    "NewLink",
    "OpenFacility",
    "ReplaceFerry",
    "Scenario",
    "Upgrade",
    "apply_scenario",
    "apply_service_edits",
    "ferry_terminals",
    "parse_road_number",
]
