"""Point-to-point car trips between named places or coordinates, and their legs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from smaby_geo._compat import LegacyMapping
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.ferry import transfer_links
from smaby_geo.places._tables import looks_like_lonlat
from smaby_geo.places.centres import town_point
from smaby_geo.places.placenames import find_place
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    link_geometries,
    same_link_seconds,
    snap_points,
)
from smaby_geo.routing.api import one_to_all

# Kept for old imports: named places use the same access model as every other point
# (METHODS §1, 5 km to the nearest link); the 10 km allowance for node snapping is retired.
PLACE_ACCESS = AccessModel()


def _xy(p) -> tuple[float, float]:
    if isinstance(p, str):
        return town_point(*find_place(p))
    x, y = p
    x, y = float(x), float(y)
    if looks_like_lonlat(x, y):
        raise ValueError(
            f"point ({x:g}, {y:g}) looks like longitude/latitude: trip takes EPSG:25833 metres "
            "(convert with pyproj: Transformer.from_crs(4326, 25833, always_xy=True)) or a "
            "place name"
        )
    return x, y


def _best_path(network: RoadNetwork, s: Snapped) -> dict:
    """Fastest path from snapped point 0 to snapped point 1 of ``s`` (exact)."""
    best: dict[str, Any] = {"seconds": np.inf, "edges": [], "ends": None}
    direct = float(same_link_seconds(network, s, [0], s, [1])[0])
    for a in (0, 1):
        if not np.isfinite(s.out_seconds[0, a]):
            continue
        dist, pred = one_to_all(network, int(s.nodes[0, a]), predecessors=True)
        for b in (0, 1):
            t = s.out_seconds[0, a] + dist[s.nodes[1, b]] + s.in_seconds[1, b]
            if t < best["seconds"]:
                edges: list[int] = []
                v = int(s.nodes[1, b])
                while pred[v] >= 0:
                    edges.append(int(pred[v]))
                    v = int(network.edge_source[pred[v]])
                best = {"seconds": float(t), "edges": edges[::-1], "ends": (a, b)}
    if direct <= best["seconds"]:
        best = {"seconds": direct, "edges": [], "ends": None}
    return best


def _ferry_split(network: RoadNetwork, rows: np.ndarray, seconds: np.ndarray):
    """Crossing and wait seconds of ferry edges (wait = edge time - crossing time)."""
    from smaby_geo.network.profile import CarProfile

    lk = network.links.iloc[rows]
    if "crossing_s" in lk.columns and lk["crossing_s"].notna().all():
        crossing = lk["crossing_s"].to_numpy(float)
    else:
        profile = getattr(network, "profile", None) or CarProfile()
        crossing, _ = profile.ferry.crossing_and_wait(
            lk["length_m"].to_numpy(float), lk["link_id"].to_numpy()
        )
    crossing = np.minimum(crossing, seconds)
    return crossing, seconds - crossing


def _legs(network: RoadNetwork, s: Snapped, path: dict, access: AccessModel) -> pd.DataFrame:
    lk = network.links
    length = lk["length_m"].to_numpy(float)
    rows: list[dict] = []

    def access_leg(i: int, what: str) -> None:
        rows.append(
            {
                "leg": what,
                "category": None,
                "road_number": None,
                "km": s.distance_m[i] * access.detour_factor / 1000.0,
                "minutes": s.leg_seconds[i] / 60.0,
                "crossing_minutes": np.nan,
                "wait_minutes": np.nan,
            }
        )

    def road(row: int, km: float, sec: float, what: str = "road") -> None:
        rows.append(
            {
                "leg": what,
                "category": lk["category"].iloc[row],
                "road_number": lk["road_number"].iloc[row],
                "km": km,
                "minutes": sec / 60.0,
                "crossing_minutes": np.nan,
                "wait_minutes": np.nan,
            }
        )

    access_leg(0, "access (origin to road)")
    if path["ends"] is None:
        li = int(s.link[0])
        share = abs(s.frac[1] - s.frac[0])
        sec = path["seconds"] - s.leg_seconds[0] - s.leg_seconds[1]
        road(li, length[li] * share / 1000.0, sec)
    else:
        a, b = path["ends"]
        li = int(s.link[0])
        share = s.frac[0] if a == 0 else 1.0 - s.frac[0]
        road(li, length[li] * share / 1000.0, s.out_seconds[0, a] - s.leg_seconds[0])
        e = np.asarray(path["edges"], dtype=np.int64)
        if len(e):
            er = network.edge_link[e]
            sec = network.weights[e]
            ferry = lk["ferry"].to_numpy(bool)[er]
            if ferry.any():
                cross, wait = _ferry_split(network, er[ferry], sec[ferry])
            # a transfer link (boarding another ferry route, smaby_geo.network.ferry) is
            # the wait of the crossing that follows it
            transfer = transfer_links(lk)[er]
            fi, pending = 0, 0.0
            for row, t, f, tr in zip(er, sec, ferry, transfer, strict=True):
                if tr:
                    pending += float(t)
                    fi += 1
                elif f:
                    rows.append(
                        {
                            "leg": "car ferry",
                            "category": lk["category"].iloc[row],
                            "road_number": lk["road_number"].iloc[row],
                            "km": length[row] / 1000.0,
                            "minutes": (t + pending) / 60.0,
                            "crossing_minutes": cross[fi] / 60.0,
                            "wait_minutes": (wait[fi] + pending) / 60.0,
                        }
                    )
                    fi += 1
                    pending = 0.0
                else:
                    road(int(row), length[row] / 1000.0, float(t))
        li = int(s.link[1])
        share = s.frac[1] if b == 0 else 1.0 - s.frac[1]
        road(li, length[li] * share / 1000.0, s.in_seconds[1, b] - s.leg_seconds[1])
    access_leg(1, "access (road to destination)")
    legs = pd.DataFrame(rows)
    # merge consecutive road legs of the same category and road number
    key = legs["leg"] + "|" + legs["category"].astype(str) + "|" + legs["road_number"].astype(str)
    block = (key != key.shift()) | (legs["leg"] != "road")
    legs["block"] = block.cumsum()
    agg = legs.groupby("block", sort=True).agg(
        leg=("leg", "first"),
        category=("category", "first"),
        road_number=("road_number", "first"),
        km=("km", "sum"),
        minutes=("minutes", "sum"),
        crossing_minutes=("crossing_minutes", "first"),
        wait_minutes=("wait_minutes", "first"),
    )
    agg = agg[(agg["leg"] != "road") | (agg["km"] > 0) | (agg["minutes"] > 0)]
    return agg.reset_index(drop=True)


def _geometry(network: RoadNetwork, s: Snapped, path: dict, pts) -> shapely.LineString:
    geoms = link_geometries(network)
    parts = [np.array([[pts[0][0], pts[0][1]]])]
    if path["ends"] is None:
        g = geoms[s.link[0]]
        parts.append(shapely.get_coordinates(substring(g, s.frac[0], s.frac[1], normalized=True)))
    else:
        a, b = path["ends"]
        g = geoms[s.link[0]]
        parts.append(
            shapely.get_coordinates(substring(g, s.frac[0], float(a == 1), normalized=True))
        )
        for e in path["edges"]:
            c = shapely.get_coordinates(geoms[network.edge_link[e]])
            sx, sy = network.node_x[network.edge_source[e]], network.node_y[network.edge_source[e]]
            if np.hypot(*(c[0] - (sx, sy))) > np.hypot(*(c[-1] - (sx, sy))):
                c = c[::-1]
            parts.append(c)
        g = geoms[s.link[1]]
        parts.append(
            shapely.get_coordinates(substring(g, float(b == 1), s.frac[1], normalized=True))
        )
    parts.append(np.array([[pts[1][0], pts[1][1]]]))
    return shapely.linestrings(np.vstack(parts))


@dataclass(frozen=True, eq=False)
class Trip(LegacyMapping):
    """The fastest car trip between two places (``trip``), access legs included.

    Attributes
    ----------
    minutes : float
        Door-to-door minutes; ``inf`` when there is no route.
    km : float
        Kilometres: network length plus the straight access legs; NaN when there is no route.
    ferry_links : int
        Number of car-ferry links on the trip.
    link_ids : list
        ``link_id`` of each link in order (a link used at both ends is listed once).
    geometry : shapely.LineString or None
        The trip in EPSG:25833 metres, from the origin point to the destination point.
    snap_m : list of float
        Metres from the origin and from the destination to the link each attaches to.
    note : str or None
        Why there is no route; None when there is one.
    legs : DataFrame or None
        The legs table (``explain_trip``) when asked for with ``legs=True``.
    """

    minutes: float
    km: float
    ferry_links: int
    link_ids: list = field(default_factory=list)
    geometry: object | None = None
    snap_m: list[float] = field(default_factory=list)
    note: str | None = None
    legs: pd.DataFrame | None = None

    @property
    def reachable(self) -> bool:
        """Whether there is a road or car-ferry route."""
        return bool(np.isfinite(self.minutes))


def trip(
    network: RoadNetwork,
    origin: str | tuple[float, float],
    destination: str | tuple[float, float],
    access: AccessModel | None = None,
    *,
    legs: bool = False,
) -> Trip:
    """Fastest car trip between two places, access legs included (exact shortest path).

    Each end attaches to the nearest point of the nearest drivable link (METHODS §1); the
    trip may leave through either end of that link, or run directly along it when both ends
    share the link.

    Parameters
    ----------
    network : RoadNetwork
    origin, destination : str or (x, y)
        N1000 place name or EPSG:25833 coordinates in metres. A name stands for the town's
        populated centre near its label point (``places.centres.town_point``: label points
        are placed for the map, Trondheim's lies in the fjord).
    access : AccessModel, optional
        Access-leg model, default ``AccessModel()`` (5 km maximum snap distance, as for
        every other point).
    legs : bool, default False
        Also return the legs table (``explain_trip``) as ``legs``.

    Returns
    -------
    Trip
        ``minutes`` (inf if unreachable), ``km`` (network length plus straight access legs),
        ``ferry_links``, ``link_ids``, ``geometry`` (EPSG:25833 LineString), ``snap_m``
        (metres from each end to its link), ``note`` when unreachable and ``legs`` when
        asked for.
    """
    access = access or AccessModel()
    (ox, oy), (dx, dy) = _xy(origin), _xy(destination)
    s = snap_points(network, [ox, dx], [oy, dy], access)
    snap_m = s.distance_m.tolist()
    if not s.connected.all():
        return Trip(
            minutes=np.inf,
            km=np.nan,
            ferry_links=0,
            snap_m=snap_m,
            note=f"a place is farther than {access.max_snap_m:.0f} m from a road",
        )
    path = _best_path(network, s)
    if not np.isfinite(path["seconds"]):
        return Trip(
            minutes=np.inf,
            km=np.nan,
            ferry_links=0,
            snap_m=snap_m,
            note="no road or car-ferry route between the two places",
        )
    lk = network.links
    rows = network.edge_link[np.asarray(path["edges"], dtype=np.int64)]
    rows_all = [int(s.link[0]), *rows.tolist(), int(s.link[1])]
    if path["ends"] is None:
        rows_all = [int(s.link[0])]
        km = lk["length_m"].iloc[rows_all[0]] * abs(s.frac[1] - s.frac[0])
    else:
        a, b = path["ends"]
        ln = lk["length_m"].to_numpy(float)
        km = (
            ln[s.link[0]] * (s.frac[0] if a == 0 else 1 - s.frac[0])
            + ln[rows].sum()
            + ln[s.link[1]] * (s.frac[1] if b == 0 else 1 - s.frac[1])
        )
    km = (km + s.distance_m.sum()) / 1000.0
    ids = lk["link_id"].to_numpy()[rows_all]
    ids = [int(i) if isinstance(i, np.integer) else i for i in ids]
    # consecutive repeats (the same link at both ends) are one link
    ids = [i for j, i in enumerate(ids) if j == 0 or i != ids[j - 1]]
    return Trip(
        minutes=path["seconds"] / 60.0,
        km=float(km),
        ferry_links=int((lk["ferry"].to_numpy(bool) & ~transfer_links(lk))[rows].sum()),
        link_ids=ids,
        geometry=_geometry(network, s, path, ((ox, oy), (dx, dy))),
        snap_m=snap_m,
        legs=_legs(network, s, path, access) if legs else None,
    )


def explain_trip(
    network: RoadNetwork,
    origin: str | tuple[float, float],
    destination: str | tuple[float, float],
    access: AccessModel | None = None,
) -> pd.DataFrame:
    """The legs of the fastest trip, so a surprising figure can be checked.

    Parameters
    ----------
    network, origin, destination, access
        As for ``trip``.

    Returns
    -------
    DataFrame
        One row per leg, in order: ``leg`` (``access (origin to road)``, ``road``,
        ``car ferry``, ``access (road to destination)``), ``category`` and ``road_number`` of
        road and ferry legs (consecutive links of one road merged), ``km``, ``minutes``, and
        for each ferry ``crossing_minutes`` and ``wait_minutes``. Access legs give the
        straight-line distance times the detour factor. Minutes sum to the trip's minutes.
        Empty when there is no route.
    """
    r = trip(network, origin, destination, access, legs=True)
    if r.legs is None:
        return pd.DataFrame(
            columns=[
                "leg",
                "category",
                "road_number",
                "km",
                "minutes",
                "crossing_minutes",
                "wait_minutes",
            ]
        )
    return r.legs
