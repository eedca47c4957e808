"""Fill numba's on-disk cache for the kernels a job uses, snapping included (``make`` runs this).

``smaby_geo.routing.warm`` compiles the routing kernels; snapping points to links
(``places._nearest``, a parallel kernel) lives a layer above and was left for the first run to
compile, about 2 s of a national run. This module warms both: the snapping step goes through
``snap_points`` on a small network built the way every reader builds one, so numba compiles
exactly the specialisation the jobs later load from cache.

Run: ``python -m smaby_geo.places.warm``
"""

from __future__ import annotations

import time

import numpy as np


def _small_network():
    """A four-link road (two-way, 1 km links) in EPSG:25833."""
    import geopandas as gpd
    import shapely

    from smaby_geo.network.readers import network_from_lines

    x = np.arange(0.0, 5_000.0, 1_000.0)
    lines = gpd.GeoDataFrame(
        {"minutes": np.full(4, 1.0)},
        geometry=[shapely.LineString([(x[i], 0.0), (x[i + 1], 0.0)]) for i in range(4)],
        crs="EPSG:25833",
    )
    return network_from_lines(
        lines, time_column="minutes", time_unit="min", attribution="warm-up roads"
    )


def warm_up() -> dict[str, float]:
    """Compile (or load) every kernel signature of routing and snapping; seconds per step.

    Returns
    -------
    dict
        Wall seconds of each step (compiling on an empty cache, loading on a full one).
    """
    from smaby_geo.places.snapping import snap_points
    from smaby_geo.routing.warm import warm_up as warm_routing

    times = warm_routing()
    t0 = time.perf_counter()
    snap_points(_small_network(), np.array([500.0, 2_500.0]), np.array([30.0, -40.0]))
    times["snapping"] = time.perf_counter() - t0
    return times


def main() -> None:
    """Print what warming routing and snapping cost (``routing.warm.main`` with this warm-up)."""
    from smaby_geo.routing.warm import main as report

    report(warm_up)


if __name__ == "__main__":
    main()
