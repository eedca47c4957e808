"""Point-to-point car trips between named places or coordinates."""

from __future__ import annotations

import numpy as np

from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.placenames import find_place
from smaby_geo.places.snapping import AccessModel, snap_points
from smaby_geo.routing.api import route

PLACE_ACCESS = AccessModel(max_snap_m=10_000.0)


def _xy(p) -> tuple[float, float]:
    if isinstance(p, str):
        return find_place(p)
    x, y = p
    return float(x), float(y)


def trip(
    network: RoadNetwork,
    origin: str | tuple[float, float],
    destination: str | tuple[float, float],
    access: AccessModel | None = None,
) -> dict:
    """Fastest car trip between two places, access legs included.

    Parameters
    ----------
    network : RoadNetwork
    origin, destination : str or (x, y)
        N1000 place name or EPSG:25833 coordinates in metres.
    access : AccessModel, optional
        Access-leg model. Default ``PLACE_ACCESS``: N1000 place-name points are label
        positions that can lie several km from the town's roads (Trondheim's is 5.6 km from
        the nearest N1000 node), so named places may snap up to 10 km.

    Returns
    -------
    dict
        ``minutes`` (inf if unreachable), ``km`` (network length plus straight access legs),
        ``ferry_links``, ``link_ids``, ``geometry`` (EPSG:25833 LineString).
    """
    (ox, oy), (dx, dy) = _xy(origin), _xy(destination)
    s = snap_points(network, [ox, dx], [oy, dy], access or PLACE_ACCESS)
    if not s.connected.all():
        return {
            "minutes": np.inf,
            "km": np.nan,
            "ferry_links": 0,
            "link_ids": [],
            "geometry": None,
            "note": "a place is farther than max_snap_m from the network",
        }
    r = route(network, int(s.node[0]), int(s.node[1]))
    seconds = r["seconds"] + s.leg_seconds[0] + s.leg_seconds[1]
    km = (r["length_m"] + s.distance_m.sum()) / 1000.0 if np.isfinite(r["seconds"]) else np.nan
    return {
        "minutes": seconds / 60.0,
        "km": km,
        "ferry_links": r["ferry_links"],
        "link_ids": r["link_ids"],
        "geometry": r["geometry"],
    }
