"""Where batched PHAST's time goes: the sweep against the gather of rows into node order.

On a synthetic road-like graph (``synthetic.py``), single-threaded CPU time
(``time.process_time``, steadier than wall time on a shared machine) of:

- one batched sweep carrying k sources (upward searches + downward sweep writing the k rows
  in sweep order);
- k separate PHAST sweeps (``phast_to_all``, gathered into original order) on the same sources;
- ``phast_batched`` for 4k sources, rows in sweep order and in original node order (each row
  gathered after its sweep);
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
    n_read = int(wi.max()) + 1
    D = np.empty(n_read * k)
    rows = np.empty((k, n))
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    touched = np.empty(n, np.int32)
    slot = np.full(n, -1, np.int64)
    side = np.empty(1024 * k)
    cap = max(si.shape[0], wi.shape[0]) + 2
    hk, hv, hl = np.empty(cap), np.empty(cap, np.int32), np.empty(cap, np.int32)
    one = cpu(
        lambda: kern._phast_batch_rows(
            sp, si, sw, wp, wi, ww, S[:k], D, n_read, dist, done, touched, hk, hv, hl, slot,
            side, rows, 0, np.inf,
        )
    )
    single = cpu(
        lambda: [
            kern.phast_to_all(sp, si, sw, wp, wi, ww, int(S[i]), 0.0, np.inf, nid)
            for i in range(k)
        ]
    )
    work = np.empty((1, n_read * k))
    out = np.empty((len(S), n))
    sweep = cpu(
        lambda: kern.phast_batched(sp, si, sw, wp, wi, ww, S, nid, np.inf, k, work, out, False)
    )
    batched = cpu(
        lambda: kern.phast_batched(sp, si, sw, wp, wi, ww, S, nid, np.inf, k, work, out, True)
    )
    many = cpu(lambda: kern.phast_many(sp, si, sw, wp, wi, ww, S, np.inf, nid))
    print(f"graph: {n:,} nodes; k = {k}; CPU seconds, one thread")
    print(
        f"one batched sweep ({k} sources): {one:.3f}; {k} single PHAST sweeps: {single:.3f} "
        f"-> sweep {single / one:.2f}x faster batched"
    )
    print(
        f"phast_batched, {4 * k} sources: rows in sweep order {sweep:.3f}, in original node "
        f"order {batched:.3f} (gather ~{batched - sweep:.3f}); phast_many (one PHAST per "
        f"source, gathered into original order): {many:.3f}"
    )


if __name__ == "__main__":
    main()
