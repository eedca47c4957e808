"""Join points to the road network with an access leg (METHODS §1, access legs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smaby_geo.network.core import RoadNetwork


@dataclass(frozen=True)
class AccessModel:
    """How a point reaches its nearest network node.

    Parameters
    ----------
    detour_factor : float
        Straight-line distance multiplier, default 1.3 (METHODS §1).
    speed_kmh : float
        Speed on the access leg, default 30 km/h (METHODS §1).
    max_snap_m : float
        Points farther than this from any node are not road-connected, default 5000 m
        (METHODS §1); they are reported, never attached.
    """

    detour_factor: float = 1.3
    speed_kmh: float = 30.0
    max_snap_m: float = 5000.0

    def __post_init__(self) -> None:
        for name in ("detour_factor", "speed_kmh", "max_snap_m"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"AccessModel.{name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class Snapped:
    """Result of snapping points to a network.

    Attributes
    ----------
    node : int64 (k,) nearest node (-1 where not connected).
    distance_m : float64 (k,) straight-line distance to it.
    leg_seconds : float64 (k,) access-leg time (inf where not connected).
    connected : bool (k,) within ``max_snap_m``.
    """

    node: np.ndarray
    distance_m: np.ndarray
    leg_seconds: np.ndarray
    connected: np.ndarray


def snap_points(
    network: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    access: AccessModel | None = None,
) -> Snapped:
    """Snap points (EPSG:25833 metres) to their nearest node with an access-leg time.

    Parameters
    ----------
    network : RoadNetwork
    x, y : array of float
        Coordinates in EPSG:25833 metres.
    access : AccessModel, optional
        Detour factor, speed and maximum snap distance; default ``AccessModel()``.

    Returns
    -------
    Snapped
        leg seconds = distance x detour_factor / speed.
    """
    access = access or AccessModel()
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size == 0:
        e = np.empty(0)
        return Snapped(np.empty(0, np.int64), e, e, np.empty(0, bool))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("points to snap have NaN or infinite coordinates")
    node, dist = network.nearest_nodes(x, y)
    ok = dist <= access.max_snap_m
    leg = np.where(ok, dist * access.detour_factor / (access.speed_kmh / 3.6), np.inf)
    return Snapped(np.where(ok, node, -1), dist, leg, ok)
