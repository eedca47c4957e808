"""Many-to-all benchmark: batched PHAST against scipy, and the national many-to-all.

Targets of issue #16, measured in one run on one machine (ratios, medians):

1. synthetic road-like graph (``synthetic.py``, default 1M nodes, shuffled ids):
   - contraction time and peak memory of a fresh process, against pandana's CH build in the
     same run (when the ``bench`` extra is installed);
   - PHAST one-to-all against scipy ``dijkstra(indices=s)``;
   - many-to-all from ``--sources`` sources to every node: batched PHAST (k sources per
     sweep, rows produced in blocks of ``--block-rows``, as ``map_many_to_all`` does) against
     one PHAST per source and against scipy ``dijkstra(indices=...)`` on the same sources.
     scipy runs on ``--scipy-sources`` of them (its per-source cost is constant), half before
     and half after smaby_geo's runs so that both see the load of the run, and is scaled to
     all of them; the scale is printed. Like is compared with like: rows in node order
     (``columns="nodes"``, what scipy returns) and rows in the sweep's column order
     (``columns="sweep"``, no gather; said so in the output) are both timed, and each side's
     rows are then reduced to the population within 60 minutes of each source (random
     persons per node; the sweep-order rows against ``pop[column_nodes]``, permuted once),
     which is timed and reported with and without the reduction.
2. N1000: many-to-all within 90 minutes from the network node of every populated 250 m cell
   (the input of centrality and transport-performance indicators), batched PHAST vs Dijkstra.

Every smaby_geo result is checked against scipy on the sources both computed.

Run: ``python benchmarks/manytoall.py [--n 1000000] [--sources 1000] [--batch 16]
[--skip national,contraction] [--ch-cache FILE]``; ``--ch-cache`` keeps the synthetic
graph's hierarchy in FILE between runs (loaded and checked against the graph when it is
there; the contraction itself is measured in a fresh process unless ``contraction`` is
skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import road_like_graph  # noqa: E402

from smaby_geo import routing  # noqa: E402
from smaby_geo.routing import as_csr  # noqa: E402
from smaby_geo.routing.api import map_many_to_all  # noqa: E402

PREP_CODE = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from synthetic import road_like_graph
from smaby_geo.routing import as_csr
from smaby_geo.routing.ch import spatial_order, build_ch
ip, ix, w, x, y = road_like_graph({n}, seed=42)
g = as_csr(ip, ix, w)
tiny = as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])
build_ch(tiny.indptr, tiny.indices, tiny.weights)  # load the kernel before timing
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ch = build_ch(g.indptr, g.indices, g.weights, order=spatial_order(x, y))
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"contract_s": t, "peak_rss_mb": peak / 1024, "rss_before_mb": before / 1024,
                  "shortcuts": ch.n_shortcuts}}))
"""

PANDANA_CODE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {here!r})
import numpy as np, pandas as pd, pandana
from synthetic import road_like_graph
ip, ix, w, x, y = road_like_graph({n}, seed=42)
src = np.repeat(np.arange(len(ip) - 1), np.diff(ip))
t0 = time.perf_counter()
pandana.Network(pd.Series(x), pd.Series(y), pd.Series(src), pd.Series(ix),
                pd.DataFrame({{"w": w}}), twoway=False)
t = time.perf_counter() - t0
print(json.dumps({{"contract_s": t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def fresh_process(code: str) -> dict | None:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode:
        print(r.stderr.strip().splitlines()[-1] if r.stderr else "failed")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_time(fn, repeats: int):
    ts, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def max_diff(a, b) -> float:
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return float("inf")
    return float(np.abs(a[fa] - b[fa]).max()) if fa.any() else 0.0


LIMIT_S = 3600.0  # the reduction: persons within 60 minutes of each source


def _within(rows, pop):
    """Persons (``pop`` in the rows' column order) within ``LIMIT_S`` of each row's source."""
    return (rows <= LIMIT_S).astype(np.float64) @ pop


def _blocks(g, S, block: int, batch: int, columns: str, pop) -> tuple[float, float, list]:
    """Seconds producing many-to-all rows block by block, seconds reducing them, results."""
    t_rows = t_red = 0.0
    out = []
    pop_cols = None
    for s0 in range(0, len(S), block):
        t0 = time.perf_counter()
        got = routing.many_to_all(g, S[s0 : s0 + block], batch=batch, columns=columns)
        t1 = time.perf_counter()
        if columns == "sweep":
            rows, cols = got
            if pop_cols is None:
                pop_cols = pop[cols]  # permuted once
            out.append(_within(rows, pop_cols))
        else:
            rows = got
            out.append(_within(rows, pop))
        t_rows += t1 - t0
        t_red += time.perf_counter() - t1
        del rows, got
    return t_rows, t_red, out


def _scipy(A, S, pop) -> tuple[float, float, np.ndarray, list]:
    """scipy rows for ``S`` (node order), their reduction, and the rows of the first source."""
    t0 = time.perf_counter()
    ref = dijkstra(A, indices=S)
    t1 = time.perf_counter()
    red = _within(ref, pop)
    return t1 - t0, time.perf_counter() - t1, ref, red


def synthetic(args, res: dict) -> None:
    n_target = args.n
    print(f"\n## synthetic graph, {n_target:,} target nodes", flush=True)
    if "contraction" not in args.skip:
        prep = fresh_process(PREP_CODE.format(here=str(HERE), n=n_target))
        res["contraction_fresh_process"] = prep
        print(f"smaby_geo contraction (fresh process): {prep}", flush=True)
        if not args.no_pandana:
            pd_ = fresh_process(PANDANA_CODE.format(here=str(HERE), n=n_target))
            res["pandana_contraction_fresh_process"] = pd_
            print(f"pandana CH build (fresh process): {pd_}", flush=True)
            if prep and pd_:
                print(
                    f"  contraction time ratio smaby_geo/pandana: "
                    f"{prep['contract_s'] / pd_['contract_s']:.2f}",
                    flush=True,
                )
    ip, ix, w, x, y = road_like_graph(n_target, seed=42)
    g = as_csr(ip, ix, w)
    n = g.n_nodes
    A = csr_matrix((np.where(w == 0, 1e-300, w), g.indices, g.indptr), shape=(n, n))
    ch_graph = routing.CSR(g.indptr, g.indices, g.weights)
    cache = Path(args.ch_cache) if args.ch_cache else None
    if cache is not None and cache.exists():
        ch_graph.routing_index = routing.ch.ContractionHierarchy.load(
            cache, g.indptr, g.indices, g.weights
        )
        print(f"hierarchy loaded from {cache.name}", flush=True)
    else:
        ch_graph.routing_index = routing.build_ch(
            g.indptr, g.indices, g.weights, order=routing.ch.spatial_order(x, y)
        )
        if cache is not None:
            ch_graph.routing_index.save(cache)
    rng = np.random.default_rng(2026)
    S = rng.integers(0, n, args.sources)
    pop = rng.integers(0, 20, n).astype(np.float64)  # persons per node, for the reduction
    src1 = int(S[0])
    routing.one_to_all(ch_graph, src1)  # compile / load kernels
    routing.many_to_all(ch_graph, S[:2], batch=args.batch)
    routing.many_to_all(ch_graph, S[:2], batch=args.batch, columns="sweep")
    R = args.repeats
    # alternate the two tools so that both see the same load; medians of R runs each
    ts_sc, ts_ph = [], []
    for _ in range(R):
        t, ref1 = median_time(lambda: dijkstra(A, indices=src1), 1)
        ts_sc.append(t)
        t, d1 = median_time(lambda: routing.one_to_all(ch_graph, src1), 1)
        ts_ph.append(t)
    t_sc, t_ph = float(np.median(ts_sc)), float(np.median(ts_ph))
    res["one_to_all"] = {
        "scipy_s": t_sc,
        "phast_s": t_ph,
        "ratio": t_sc / t_ph,
        "max_diff_s": max_diff(d1, ref1),
    }
    print(
        f"one-to-all: scipy {t_sc:.4f} s, PHAST {t_ph:.4f} s -> {t_sc / t_ph:.1f}x "
        f"(max diff {max_diff(d1, ref1):.2g} s)",
        flush=True,
    )
    k = args.scipy_sources
    k1 = (k + 1) // 2
    # scipy: half of its sources before smaby_geo's runs, half after (the load changes)
    t_a, r_a, ref, red_a = _scipy(A, S[:k1], pop)
    block = args.block_rows
    t_node, red_node_s, red_node = _blocks(ch_graph, S, block, args.batch, "nodes", pop)
    t_sweep, red_sweep_s, red_sweep = _blocks(ch_graph, S, block, args.batch, "sweep", pop)
    t_single, _, _ = _blocks(ch_graph, S, block, 1, "nodes", pop)
    t_b, r_b, _, red_b = _scipy(A, S[k1:k], pop)
    t_sc_k, red_sc_k = t_a + t_b, r_a + r_b
    scale = len(S) / k
    t_sc_all, red_sc_all = t_sc_k * scale, red_sc_k * scale
    chk, cols = routing.many_to_all(ch_graph, S[:k1], batch=args.batch, columns="sweep")
    chk_nodes = np.empty_like(chk)
    chk_nodes[:, cols] = chk
    diff = max_diff(chk_nodes, ref)
    del ref, chk, chk_nodes
    red_node, red_sweep = np.concatenate(red_node), np.concatenate(red_sweep)
    red_sc = np.concatenate([red_a, red_b])
    # a time within rounding of the limit may fall either side of it: count such sources
    same_red = bool(np.array_equal(red_node, red_sweep))
    n_red_diff = int(np.count_nonzero(red_node[:k] != red_sc))
    m = {
        "sources": len(S),
        "n_nodes": n,
        "batch": args.batch,
        "block_rows": block,
        "scipy_measured_sources": k,
        "scipy_measured_s": t_sc_k,
        "scipy_scaled_s": t_sc_all,
        "scipy_reduction_scaled_s": red_sc_all,
        "batched_phast_node_order_s": t_node,
        "batched_phast_sweep_order_s": t_sweep,
        "reduction_node_order_s": red_node_s,
        "reduction_sweep_order_s": red_sweep_s,
        "phast_one_per_source_s": t_single,
        "ratio_rows_node_order_vs_scipy": t_sc_all / t_node,
        "ratio_rows_sweep_order_vs_scipy_node_order": t_sc_all / t_sweep,
        "ratio_with_reduction_node_order": (t_sc_all + red_sc_all) / (t_node + red_node_s),
        "ratio_with_reduction_sweep_order": (t_sc_all + red_sc_all) / (t_sweep + red_sweep_s),
        "ratio_vs_unbatched": t_single / t_node,
        "max_diff_s": diff,
        "reductions_node_vs_sweep_equal": same_red,
        "reductions_differing_from_scipy": n_red_diff,
    }
    res["many_to_all"] = m
    print(
        f"many-to-all {len(S)} sources x {n:,} nodes (rows in blocks of {block}):\n"
        f"  scipy dijkstra(indices=...), rows in node order: {t_sc_k:.2f} s for {k} sources "
        f"({k1} before, {k - k1} after) -> {t_sc_all:.1f} s scaled x{scale:g}; its "
        f"reduction {red_sc_all:.1f} s scaled\n"
        f"  PHAST one per source (k=1), node order: {t_single:.2f} s\n"
        f"  batched PHAST (k={args.batch}), rows in node order (gathered): {t_node:.2f} s -> "
        f"{t_sc_all / t_node:.1f}x scipy; with the reduction on both sides "
        f"{m['ratio_with_reduction_node_order']:.1f}x\n"
        f"  batched PHAST (k={args.batch}), rows in sweep order (columns='sweep', no gather; "
        f"scipy's rows are in node order): {t_sweep:.2f} s -> {t_sc_all / t_sweep:.1f}x "
        f"scipy; with the reduction on both sides (ours against pop[column_nodes]) "
        f"{m['ratio_with_reduction_sweep_order']:.1f}x\n"
        f"  reductions: node order {red_node_s:.2f} s, sweep order {red_sweep_s:.2f} s; "
        f"equal: {same_red}; sources whose count differs from scipy's: {n_red_diff} of {k}; "
        f"max diff {diff:.2g} s",
        flush=True,
    )


def national(args, res: dict) -> None:
    import warnings

    from smaby_geo import load_network
    from smaby_geo.places.population import read_population_grid
    from smaby_geo.places.snapping import AccessModel, snap_points

    warnings.simplefilter("ignore")
    net = load_network()
    cells = read_population_grid("250m")
    t0 = time.perf_counter()
    sn = snap_points(net, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy(), AccessModel())
    t_snap = time.perf_counter() - t0
    nodes = np.unique(sn.node[sn.connected])
    routing.prepare(net)
    routing.many_to_all(net, nodes[:2], cutoff_s=5400.0, method="ch")
    routing.many_to_all(net, nodes[:2], cutoff_s=5400.0, method="dijkstra")
    ts_b, ts_d = [], []
    out_b = out_d = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out_b = map_many_to_all(
            net, nodes, _reachable, cutoff_s=5400.0, block_rows=1024, method="ch"
        )
        ts_b.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out_d = map_many_to_all(
            net, nodes, _reachable, cutoff_s=5400.0, block_rows=1024, method="dijkstra"
        )
        ts_d.append(time.perf_counter() - t0)
    same = bool(np.array_equal(np.concatenate(out_b), np.concatenate(out_d)))
    res["national_n1000"] = {
        "populated_cells": len(cells),
        "connected_cells": int(sn.connected.sum()),
        "origin_nodes": len(nodes),
        "snap_s": t_snap,
        "batched_phast_median_s": float(np.median(ts_b)),
        "dijkstra_median_s": float(np.median(ts_d)),
        "reachable_counts_equal": same,
    }
    print(
        f"\n## N1000 national: {len(cells):,} populated cells on {len(nodes):,} distinct "
        f"nodes; snapping {t_snap:.2f} s; many-to-all within 90 min: batched PHAST "
        f"{np.median(ts_b):.2f} s, Dijkstra {np.median(ts_d):.2f} s (medians of "
        f"{args.repeats}); equal: {same}",
        flush=True,
    )


def _reachable(_, rows):
    return np.isfinite(rows).sum(axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--scipy-sources", type=int, default=50)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--block-rows", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-pandana", action="store_true")
    p.add_argument(
        "--skip", default="", help="comma-separated: synthetic,national,contraction"
    )
    p.add_argument("--ch-cache", default="", help="keep the synthetic hierarchy in this file")
    p.add_argument("--out", default=str(HERE / "results" / "manytoall.json"))
    args = p.parse_args()
    import numba

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    machine = (
        f"{cpu}, {platform.machine()}, {os.cpu_count()} cores, numba threads "
        f"{numba.get_num_threads()}, Python {platform.python_version()}"
    )
    print(f"machine: {machine}; load average at start {os.getloadavg()}", flush=True)
    res: dict = {
        "machine": machine,
        "load_at_start": os.getloadavg(),
        "args": {
            k: (Path(v).name if k == "ch_cache" and v else v)  # no machine paths
            for k, v in vars(args).items()
            if k != "out"
        },
    }
    if "national" not in args.skip:
        national(args, res)
    if "synthetic" not in args.skip:
        synthetic(args, res)
    res["load_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(f"\nwrote {Path(args.out).name}; load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
