"""Where contraction time goes: build_ch's stages and the contraction options, one process.

On a synthetic road-like graph (``synthetic.py``, default 300k nodes), CPU seconds
(``time.process_time``, steadier than wall time on a shared machine) of:

- each stage of ``build_ch`` (fingerprint, renumbering, the numba contraction, the sweep
  layout, the CSR graphs), for the default options;
- the contraction with neighbour updates off (``update_neighbours=False``: only the lazy
  re-check at pop time) and with a smaller simulation witness limit, with the shortcuts each
  makes and the PHAST one-to-all time on the result (median of 9 sources).

Run: ``python benchmarks/ch_profile.py [--n 300000]``
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
from smaby_geo.routing import ch as chm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300_000)
    args = p.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    ip, ix, w, x, y = road_like_graph(args.n, seed=42)
    g = as_csr(ip, ix, w)
    tiny = as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])
    for upd in (True, False):  # load the kernels before timing
        chm.build_ch(tiny.indptr, tiny.indices, tiny.weights, update_neighbours=upd)
    stages: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.process_time()
            out = fn(*a, **k)
            stages[name] = stages.get(name, 0.0) + time.process_time() - t0
            return out

        return wrapper

    originals = {
        "fingerprint": (chm, "_csr_fingerprint"),
        "renumbering": (chm, "permute_csr"),
        "contraction kernel": (kern, "ch_contract"),
        "sweep layout": (chm, "sweep_layout"),
        "CSR graphs": (chm, "_csr"),
    }
    saved = {k: getattr(mod, attr) for k, (mod, attr) in originals.items()}
    for k, (mod, attr) in originals.items():
        setattr(mod, attr, timed(k, saved[k]))
    order = chm.spatial_order(x, y)
    t0 = time.process_time()
    chm.build_ch(g.indptr, g.indices, g.weights, order=order)
    total = time.process_time() - t0
    for k, (mod, attr) in originals.items():
        setattr(mod, attr, saved[k])
    print(f"graph: {g.n_nodes:,} nodes; build_ch {total:.2f} s CPU: " + ", ".join(
        f"{k} {v:.2f}" for k, v in stages.items()), flush=True)
    rng = np.random.default_rng(9)
    srcs = rng.integers(0, g.n_nodes, 9)
    for label, opts in (
        ("default (neighbour updates, witness limits 10/50)", {}),
        ("lazy updates only", {"update_neighbours": False}),
        ("simulation witness limit 2", {"witness_settled_simulate": 2}),
    ):
        t0 = time.process_time()
        ch = chm.build_ch(g.indptr, g.indices, g.weights, order=order, **opts)
        t = time.process_time() - t0
        net = routing.CSR(g.indptr, g.indices, g.weights)
        net.routing_index = ch
        routing.one_to_all(net, int(srcs[0]))
        q = []
        for s in srcs:
            t1 = time.perf_counter()
            routing.one_to_all(net, int(s))
            q.append(time.perf_counter() - t1)
        print(
            f"{label}: {t:.2f} s CPU, {ch.n_shortcuts:,} shortcuts, PHAST one-to-all "
            f"{np.median(q) * 1000:.1f} ms",
            flush=True,
        )
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
