"""Fill numba's on-disk cache for every kernel signature the jobs use (``make`` runs this).

The first ``smaby-geo run`` after an install would otherwise compile the kernels (about 20 s
idle, a minute on a loaded machine). The calls below go through the public API with the same
array types a ``RoadNetwork`` passes (int64 ``indptr``, int32 ``indices``, float64 seconds,
C-contiguous), so numba compiles exactly the specialisations the jobs later load from cache.

Run: ``python -m smaby_geo.routing.warm``
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from smaby_geo.routing import api


def _grid_graph(side: int = 6) -> api.CSR:
    """A small two-way grid with varied weights (seconds)."""
    n = side * side
    src_list: list[int] = []
    dst_list: list[int] = []
    for r in range(side):
        for c in range(side):
            v = r * side + c
            if c + 1 < side:
                src_list += [v, v + 1]
                dst_list += [v + 1, v]
            if r + 1 < side:
                src_list += [v, v + side]
                dst_list += [v + side, v]
    src, dst = np.array(src_list), np.array(dst_list)
    w = 10.0 + (src * 7 + dst * 3) % 11
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return api.as_csr(indptr, dst[order], w[order])


def warm_up() -> dict[str, float]:
    """Call every kernel once per signature the package uses; return seconds per step.

    Returns
    -------
    dict
        Wall seconds of each step (compiling on an empty cache, loading on a full one).
    """
    times: dict[str, float] = {}

    def step(name, fn):
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0

    g = _grid_graph()
    fac = np.array([0, 7, 20])
    off = np.array([0.0, 5.0, 1.5])
    for direction in ("from", "to"):
        step(f"dijkstra {direction}", lambda d=direction: api.one_to_all(g, 3, direction=d))
    step("dijkstra with predecessors", lambda: api.one_to_all(g, 3, predecessors=True))
    step("nearest facility", lambda: api.nearest_facility(g, fac, offsets=off, cutoff_s=60.0))
    step("k nearest", lambda: api.nearest_facility(g, fac, offsets=off, k=2))
    step("many to all", lambda: api.many_to_all(g, fac, cutoff_s=100.0))
    step("matrix", lambda: api.od_matrix_nodes(g, fac, [1, 2, 30], source_offsets=off))
    ch_graph = api.CSR(g.indptr, g.indices, g.weights)
    step("contraction", lambda: api.prepare(ch_graph))
    for direction in ("from", "to"):
        step(
            f"PHAST nearest {direction}",
            lambda d=direction: api.nearest_facility(ch_graph, fac, offsets=off, direction=d),
        )
        step(
            f"batched PHAST {direction}",
            lambda d=direction: api.many_to_all(ch_graph, fac, direction=d),
        )
    step("PHAST one to all", lambda: api.one_to_all(ch_graph, 3))
    step("CH matrix", lambda: api.od_matrix_nodes(ch_graph, fac, [1, 2, 30]))
    return times


def main(warm: Callable[[], dict[str, float]] = warm_up) -> None:
    """Run ``warm`` and print what warming cost (compiling, or loading an already full cache)."""
    t0 = time.perf_counter()
    times = warm()
    slowest = max(times, key=times.__getitem__)
    print(
        f"numba kernels ready in {time.perf_counter() - t0:.1f} s "
        f"({len(times)} steps; slowest: {slowest} {max(times.values()):.1f} s)"
    )


if __name__ == "__main__":
    main()
