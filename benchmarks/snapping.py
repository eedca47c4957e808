"""Snapping benchmark: all 220,171 populated 250 m cells to the national N1000 network.

    python benchmarks/snapping.py [--repeat 3]

Compares, in the same run and on the same points, ``snap_points`` (exact nearest point on the
nearest drivable link, numba grid search, ``places/_nearest.py``) with shapely's
``STRtree.query_nearest`` over the same link geometries (the peer; the same answer) and with
the old nearest-*node* snap (scipy cKDTree; a different, worse answer, shown for its cost and
its distances). Prints medians of ``--repeat`` runs after one warm-up, the ratio to the peer,
and the median snap distance of each.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import shapely

from smaby_geo.network.readers import load_network
from smaby_geo.places import snapping
from smaby_geo.places.population import read_population_grid


def _time(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up (numba compile or cache load, index build)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    net = load_network()
    cells = read_population_grid("250m")
    x, y = cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()
    access = snapping.AccessModel()
    t_index0 = time.perf_counter()
    index = snapping._tree(net, access)
    t_index = time.perf_counter() - t_index0
    t_ours, s = _time(lambda: snapping.snap_points(net, x, y, access), args.repeat)
    pts = shapely.points(x, y)
    tree = shapely.STRtree(index.geoms)
    t_peer, (pair, d_peer) = _time(
        lambda: tree.query_nearest(
            pts, max_distance=access.max_snap_m, return_distance=True, all_matches=False
        ),
        args.repeat,
    )
    t_node, (_, d_node) = _time(lambda: net.nearest_nodes(x, y), args.repeat)
    ref = np.full(len(x), np.inf)
    ref[pair[0]] = d_peer
    same = np.array_equal(np.isfinite(ref), s.connected) and np.allclose(
        ref[s.connected], s.distance_m[s.connected], atol=1e-6
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {len(x):,} points, {len(index.rows):,} target links, "
        f"{len(index.geom):,} segments"
    )
    print(f"index build (once per network): {t_index:.2f} s\n")
    print("| method | median s | vs STRtree | median snap distance (m) |")
    print("|---|---:|---:|---:|")
    ok = s.connected
    print(
        f"| snap_points (links, numba grid) | {t_ours:.3f} | {t_peer / t_ours:.1f}x faster | "
        f"{np.median(s.distance_m[ok]):.0f} |"
    )
    print(
        f"| shapely STRtree.query_nearest (links) | {t_peer:.3f} | 1.0x | "
        f"{np.median(d_peer):.0f} |"
    )
    print(
        f"| nearest node (scipy cKDTree; the old rule) | {t_node:.3f} | "
        f"{t_peer / t_node:.1f}x faster | {np.median(d_node):.0f} |"
    )
    print(f"\nsnap_points equals the STRtree distances for every point: {same}")


if __name__ == "__main__":
    main()
