"""Seeded synthetic road-like graph generator for the routing benchmark.

Nodes sit on a jittered square grid (about 100 m spacing). Each grid street is kept with a
probability that gives about 2.5 directed edges per node (like Norwegian road graphs, where
most nodes have degree 2-3), every ``arterial_every``-th row and column is an arterial kept
whole at 80 km/h, every ``motorway_every``-th a motorway at 110 km/h, local streets 40 km/h.
Only the largest connected part is kept. Node ids are shuffled (seeded), as in data read
from files, so the benefit of a cache-friendly renumbering is part of what is measured.

Run as a script, it measures read -> contract -> query for one size (``--size 1M`` or ``4M``,
or ``--n``): the graph is generated and saved as an ``.npz`` of CSR arrays, then a fresh
process reads it back (``np.load`` + ``as_csr`` validation), contracts it (``build_ch`` with
the Z-order of the coordinates, as ``prepare`` does for a RoadNetwork) and answers queries
(PHAST one-to-all, nearest of 50 facilities for every node, batched PHAST many-to-all from 64
sources), printing seconds and the process's peak RSS after each stage:

``python benchmarks/synthetic.py --size 4M [--out results/synthetic_4m.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

SIZES = {"300k": 300_000, "1M": 1_000_000, "4M": 4_000_000}


def road_like_graph(
    n_target: int = 1_000_000,
    *,
    seed: int = 42,
    keep_local: float = 0.62,
    arterial_every: int = 20,
    motorway_every: int = 100,
    shuffle: bool = True,
):
    """Return ``(indptr, indices, weights_s, x_m, y_m)`` of a symmetric road-like graph."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_target / 0.97)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = (jj * 100.0 + rng.uniform(-30, 30, ii.shape)).ravel()
    y = (ii * 100.0 + rng.uniform(-30, 30, ii.shape)).ravel()
    ids = np.arange(side * side).reshape(side, side)
    edges = []
    for axis in (0, 1):
        a = ids[:, :-1] if axis == 1 else ids[:-1, :]
        b = ids[:, 1:] if axis == 1 else ids[1:, :]
        line = (ii[:, :-1] if axis == 1 else jj[:-1, :]).ravel()
        a, b = a.ravel(), b.ravel()
        motorway = line % motorway_every == 0
        arterial = (line % arterial_every == 0) & ~motorway
        keep = motorway | arterial | (rng.random(a.shape[0]) < keep_local)
        speed = np.where(motorway, 110.0, np.where(arterial, 80.0, 40.0))
        edges.append((a[keep], b[keep], speed[keep]))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    speed = np.concatenate([e[2] for e in edges])
    length = np.hypot(x[a] - x[b], y[a] - y[b]) * rng.uniform(1.0, 1.2, a.shape[0])
    w = length / (speed / 3.6)
    n_all = side * side
    g = sparse.coo_matrix((np.ones_like(w), (a, b)), shape=(n_all, n_all))
    _, lab = csgraph.connected_components(g, directed=False)
    big = np.bincount(lab).argmax()
    keep_nodes = np.flatnonzero(lab == big)
    new = np.full(n_all, -1, dtype=np.int64)
    order = rng.permutation(len(keep_nodes)) if shuffle else np.arange(len(keep_nodes))
    new[keep_nodes] = order
    ok = (new[a] >= 0) & (new[b] >= 0)
    a, b, w = new[a[ok]], new[b[ok]], w[ok]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w])
    n = len(keep_nodes)
    o = np.lexsort((dst, src))
    src, dst, ww = src[o], dst[o], ww[o]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    xs = np.empty(n)
    ys = np.empty(n)
    xs[new[keep_nodes]] = x[keep_nodes]
    ys[new[keep_nodes]] = y[keep_nodes]
    return indptr, dst.astype(np.int32), ww, xs, ys


MEASURE_CODE = """
import json, resource, sys, time
import numpy as np
from smaby_geo import routing
from smaby_geo.routing import as_csr
from smaby_geo.routing.ch import build_ch, spatial_order

def rss():  # peak RSS of this process (VmHWM; ru_maxrss would include the parent's peak)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

tiny = as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])  # load the kernels before timing
routing.prepare(tiny); routing.one_to_all(tiny, 0); routing.many_to_all(tiny, [0, 1])
routing.nearest_facility(tiny, [0])
out = {{"rss_after_imports_mb": rss()}}
t0 = time.perf_counter()
z = np.load({path!r})
g = as_csr(z["indptr"], z["indices"], z["weights"])
x, y = z["x"], z["y"]
out["read_s"] = time.perf_counter() - t0
out["rss_after_read_mb"] = rss()
t0 = time.perf_counter()
ch = build_ch(g.indptr, g.indices, g.weights, order=spatial_order(x, y))
out["contract_s"] = time.perf_counter() - t0
out["shortcuts"] = ch.n_shortcuts
out["rss_after_contract_mb"] = rss()
net = routing.CSR(g.indptr, g.indices, g.weights)
net.routing_index = ch
rng = np.random.default_rng(7)
n = g.n_nodes
ts = []
for s in rng.integers(0, n, 5):
    t0 = time.perf_counter(); routing.one_to_all(net, int(s)); ts.append(time.perf_counter() - t0)
out["one_to_all_median_s"] = float(np.median(ts))
fac = rng.integers(0, n, 50)
t0 = time.perf_counter(); routing.nearest_facility(net, fac)
out["nearest_of_50_s"] = time.perf_counter() - t0
src = rng.integers(0, n, 64)
t0 = time.perf_counter(); rows = routing.many_to_all(net, src)
out["many_to_all_64_s"] = time.perf_counter() - t0
del rows
out["peak_rss_mb"] = rss()
print(json.dumps(out))
"""


def main() -> None:
    p = argparse.ArgumentParser(description="read -> contract -> query on a synthetic graph")
    p.add_argument("--size", choices=sorted(SIZES), default="1M")
    p.add_argument("--n", type=int, default=None, help="target node count (overrides --size)")
    p.add_argument("--out", default=None, help="JSON file for the figures")
    args = p.parse_args()
    n_target = args.n or SIZES[args.size]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()}",
        flush=True,
    )
    t0 = time.perf_counter()
    indptr, indices, weights, x, y = road_like_graph(n_target)
    t_gen = time.perf_counter() - t0
    res: dict = {"n_target": n_target, "nodes": len(indptr) - 1, "edges": len(indices),
                 "generate_s": t_gen, "load_at_start": os.getloadavg()}
    print(f"graph: {res['nodes']:,} nodes, {res['edges']:,} directed edges (generated in "
          f"{t_gen:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "graph.npz")
        np.savez(path, indptr=indptr, indices=indices, weights=weights, x=x, y=y)
        res["file_mb"] = os.path.getsize(path) / 2**20
        del indptr, indices, weights, x, y
        r = subprocess.run(
            [sys.executable, "-c", MEASURE_CODE.format(path=path)], capture_output=True, text=True
        )
    if r.returncode:
        print(r.stderr.strip()[-2000:])
        raise SystemExit(1)
    res.update(json.loads(r.stdout.strip().splitlines()[-1]))
    res["load_at_end"] = os.getloadavg()
    print(
        f"fresh process: read {res['read_s']:.2f} s (file {res['file_mb']:.0f} MB, RSS "
        f"{res['rss_after_read_mb']:.0f} MB) -> contract {res['contract_s']:.1f} s "
        f"({res['shortcuts']:,} shortcuts, peak RSS {res['rss_after_contract_mb']:.0f} MB) -> "
        f"one-to-all {res['one_to_all_median_s']:.3f} s (median of 5), nearest of 50 "
        f"{res['nearest_of_50_s']:.3f} s, many-to-all 64 sources {res['many_to_all_64_s']:.2f} s"
        f"; peak RSS {res['peak_rss_mb']:.0f} MB; load average at end {res['load_at_end']}",
        flush=True,
    )
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
