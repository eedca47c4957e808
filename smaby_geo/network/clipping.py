"""How far the times on a network clipped around a region can be trusted.

``run_travel_times(region=..., buffer_km=...)`` clips the network and the services to the
region plus a buffer (``network.core.clip_network``); this module gives the time up to which
the clipped network's answers are the whole network's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from smaby_geo.network.core import RoadNetwork


def exact_within_min(network: RoadNetwork, buffer_km: float) -> float:
    """Minutes up to which times on a network clipped ``buffer_km`` around a region are exact.

    A route that leaves the clip covers at least ``buffer_km`` in a straight line, and no
    link is faster than the network's top speed (its largest ``length_m / seconds``; a
    link's length is at least the straight line between its ends), so it takes at least
    ``buffer_km / top speed``: any time up to that found on the clip is the true shortest
    time, and a longer one may be overstated (or missing) by the clip.

    Parameters
    ----------
    network : RoadNetwork
        The network before clipping.
    buffer_km : float
        The clip's distance beyond the region, km.

    Returns
    -------
    float
        Minutes (0 when some link takes no time).
    """
    links = network.links
    secs = np.concatenate(
        [links["seconds_fw"].to_numpy(float), links["seconds_bw"].to_numpy(float)]
    )
    length = np.concatenate([links["length_m"].to_numpy(float)] * 2)
    ok = np.isfinite(secs) & (length > 0)  # a link of no length moves nobody anywhere
    if not ok.any():  # no link can be driven: no time is found, none overstated
        return buffer_km * 1000.0 / 60.0  # at 1 m/s, a finite bound for the metadata
    if (secs[ok] <= 0).any():
        return 0.0
    top_m_per_s = float(np.max(length[ok] / secs[ok]))
    return buffer_km * 1000.0 / top_m_per_s / 60.0
