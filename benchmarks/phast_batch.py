"""Where batched PHAST's time goes: the sweep against the write-back of rows.

On a synthetic road-like graph (``synthetic.py``), single-threaded CPU time
(``time.process_time``, steadier than wall time on a shared machine) of:

- one batched sweep carrying k sources (upward searches + downward sweep, rank order);
- k separate PHAST sweeps (``phast_to_all``, gathered into original order) on the same sources;
- ``phast_batched`` for 4k sources (sweeps + rows written back in original node order);
- ``phast_many`` for the same 4k sources (one PHAST per source, original order).

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/phast_batch.py [--n 300000] [--k 16]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import road_like_graph

from smaby_geo import routing
from smaby_geo.routing import _kernels as kern
from smaby_geo.routing import as_csr


def cpu(fn) -> float:
    fn()  # compile / warm caches
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300_000)
    p.add_argument("--k", type=int, default=16)
    args = p.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()}")
    ip, ix, w, x, y = road_like_graph(args.n, seed=42)
    g = as_csr(ip, ix, w)
    ch = routing.build_ch(g.indptr, g.indices, g.weights, order=routing.ch.spatial_order(x, y))
    (sp, si, sw), (wp, wi, ww) = ch.graphs("from")
    n, k = g.n_nodes, args.k
    rng = np.random.default_rng(1)
    S = np.ascontiguousarray(ch.new_id[rng.integers(0, n, 4 * k)])
    nid = np.ascontiguousarray(ch.new_id)
    D = np.empty(n * k)
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    touched = np.empty(n, np.int32)
    slot = np.full(n, -1, np.int64)
    side = np.empty(1024 * k)
    cap = max(si.shape[0], wi.shape[0]) + 2
    hk, hv, hl = np.empty(cap), np.empty(cap, np.int32), np.empty(cap, np.int32)
    one = cpu(
        lambda: kern._phast_batch_into(
            sp, si, sw, wp, wi, ww, S[:k], D, dist, done, touched, hk, hv, hl, slot, side
        )
    )
    single = cpu(
        lambda: [
            kern.phast_to_all(sp, si, sw, wp, wi, ww, int(S[i]), 0.0, np.inf, nid)
            for i in range(k)
        ]
    )
    batched = cpu(lambda: kern.phast_batched(sp, si, sw, wp, wi, ww, S, nid, np.inf, k, 1))
    many = cpu(lambda: kern.phast_many(sp, si, sw, wp, wi, ww, S, np.inf, nid))
    print(f"graph: {n:,} nodes; k = {k}; CPU seconds, one thread")
    print(
        f"one batched sweep ({k} sources): {one:.3f}; {k} single PHAST sweeps: {single:.3f} "
        f"-> sweep {single / one:.2f}x faster batched"
    )
    print(
        f"phast_batched, {4 * k} sources incl. write-back in original order: {batched:.3f} "
        f"(sweeps ~{4 * one:.3f}, write-back ~{batched - 4 * one:.3f}); phast_many (one "
        f"PHAST per source, gathered into original order): {many:.3f}"
    )


if __name__ == "__main__":
    main()
