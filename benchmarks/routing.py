"""Routing benchmark: smaby_geo against scipy, networkx, python-igraph and pandana.

Same graphs, same run, same machine. Graphs: the national Kartverket N1000 network and a
seeded synthetic 1M-node road-like graph (``synthetic.py``, shuffled node ids). Queries:

- one-to-all from one source; one-to-all with a cutoff;
- 100-to-all (full rows);
- a 1000 x 50 matrix;
- nearest of 50 facilities for every node (time *to* the nearest).

Each cell is the median of ``--repeats`` runs after one warm-up; ratios are scipy's median
divided by the tool's (> 1 = faster than scipy). smaby_geo is shown twice: plain numba Dijkstra
and with its contraction hierarchy (CH, preprocessing reported separately). Every smaby_geo
result is checked against scipy in the same run. Also reported: numba JIT compile time (empty
cache), cold start with a warm cache, and the peak RSS of a process that builds the CH.

Run: ``python benchmarks/routing.py`` (``--quick`` for a 100k-node synthetic graph).
Peers come from the ``bench`` extra: ``pip install -e '.[bench]'``.
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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import road_like_graph  # noqa: E402

from smaby_geo import routing  # noqa: E402
from smaby_geo.routing import as_csr  # noqa: E402


def timed(fn, repeats: int):
    fn()  # warm-up (JIT, caches)
    ts = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def max_diff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return float("inf")
    return float(np.max(np.abs(a[fa] - b[fa]))) if fa.any() else 0.0


def scipy_matrix(g):
    w = np.where(g.weights == 0, 1e-300, g.weights)
    return csr_matrix((w, g.indices, g.indptr), shape=(g.n_nodes, g.n_nodes))


def load_graph(name: str, quick: bool):
    if name == "n1000":
        from smaby_geo import load_network

        net = load_network()
        return as_csr(net.indptr, net.indices, net.weights), net.node_x, net.node_y
    n = 100_000 if quick else 1_000_000
    ip, ix, w, x, y = road_like_graph(n, seed=42)
    return as_csr(ip, ix, w), x, y


def subprocess_measure(code: str, env_extra: dict) -> dict:
    env = dict(os.environ, **env_extra)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


JIT_CODE = """
import json, time, resource
t0 = time.perf_counter()
import numpy as np
from smaby_geo import routing
from smaby_geo.routing import as_csr
t_import = time.perf_counter() - t0
g = as_csr([0, 1, 2, 2], [1, 2], [1.0, 2.0])
t1 = time.perf_counter()
routing.one_to_all(g, 0); routing.nearest_facility(g, [0]); routing.nearest_facility(g, [0], k=2)
routing.od_matrix_nodes(g, [0], [1]); routing.many_to_all(g, [0])
routing.prepare(g); routing.one_to_all(g, 0); routing.od_matrix_nodes(g, [0], [1])
routing.many_to_all(g, [0])
t_first = time.perf_counter() - t1
print(json.dumps({"import_s": t_import, "first_calls_s": t_first}))
"""

PREP_CODE = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from synthetic import road_like_graph
from smaby_geo import routing
from smaby_geo.routing import as_csr
from smaby_geo.routing.ch import spatial_order, build_ch
ip, ix, w, x, y = road_like_graph({n}, seed=42)
g = as_csr(ip, ix, w)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ch = build_ch(g.indptr, g.indices, g.weights, order=spatial_order(x, y))
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"preprocess_s": t, "peak_rss_mb": peak / 1024, "rss_before_mb": before / 1024,
                  "shortcuts": ch.n_shortcuts}}))
"""


def run_graph(name: str, args, rows: list, checks: list, extra: dict) -> None:
    g, x, y = load_graph(name, args.quick)
    n = g.n_nodes
    rng = np.random.default_rng(2026)
    A = scipy_matrix(g)
    AT = A.T.tocsr()
    src1 = int(rng.integers(n))
    S100 = rng.integers(0, n, 100)
    S1000 = rng.integers(0, n, 1000)
    T50 = rng.integers(0, n, 50)
    F50 = rng.integers(0, n, 50)
    cutoff = 1800.0 if name == "n1000" else 600.0
    R = args.repeats
    print(f"\n## {name}: {n:,} nodes, {g.indices.shape[0]:,} directed edges", flush=True)

    ch_graph = routing.CSR(g.indptr, g.indices, g.weights)
    t0 = time.perf_counter()
    order = routing.ch.spatial_order(x, y)
    ch = routing.build_ch(g.indptr, g.indices, g.weights, order=order)
    ch_graph.routing_index = ch
    prep = time.perf_counter() - t0
    extra[f"{name}_ch_preprocess_s"] = prep
    extra[f"{name}_ch_shortcuts"] = ch.n_shortcuts
    print(f"CH preprocessing {prep:.1f} s, {ch.n_shortcuts:,} shortcuts", flush=True)

    def add(query, tool, secs, note=""):
        rows.append({"graph": name, "query": query, "tool": tool, "median_s": secs, "note": note})
        print(f"  {query:22s} {tool:22s} {secs:9.4f} s {note}", flush=True)

    # --- one-to-all
    t, ref = timed(lambda: dijkstra(A, indices=src1), R)
    add("one-to-all", "scipy", t)
    t, d = timed(lambda: routing.one_to_all(g, src1), R)
    add("one-to-all", "smaby_geo dijkstra", t)
    checks.append((name, "one-to-all dijkstra", max_diff(d, ref)))
    t, d = timed(lambda: routing.one_to_all(ch_graph, src1), R)
    add("one-to-all", "smaby_geo CH (PHAST)", t)
    checks.append((name, "one-to-all PHAST", max_diff(d, ref)))
    # --- cutoff
    t, ref = timed(lambda: dijkstra(A, indices=src1, limit=cutoff), R)
    add("one-to-all cutoff", "scipy", t, f"limit {cutoff:.0f} s")
    t, d = timed(lambda: routing.one_to_all(g, src1, cutoff_s=cutoff), R)
    add("one-to-all cutoff", "smaby_geo dijkstra", t)
    checks.append((name, "cutoff dijkstra", max_diff(d, ref)))
    # --- 100-to-all
    t, ref = timed(lambda: dijkstra(A, indices=S100), max(1, R // 2))
    add("100-to-all", "scipy", t)
    t, d = timed(lambda: routing.many_to_all(g, S100), max(1, R // 2))
    add("100-to-all", "smaby_geo dijkstra", t, "prange")
    checks.append((name, "100-to-all dijkstra", max_diff(d, ref)))
    t, d = timed(lambda: routing.many_to_all(ch_graph, S100), max(1, R // 2))
    add("100-to-all", "smaby_geo CH (PHAST)", t, "prange")
    checks.append((name, "100-to-all PHAST", max_diff(d, ref)))
    del ref, d
    # --- 1000 x 50 matrix; scipy's best strategy is 50 searches on the reverse graph
    t, ref = timed(lambda: dijkstra(AT, indices=T50).T[S1000], max(1, R // 2))
    add("1000x50 matrix", "scipy", t, "50 reverse searches")
    t, m = timed(lambda: routing.od_matrix_nodes(g, S1000, T50), max(1, R // 2))
    add("1000x50 matrix", "smaby_geo dijkstra", t, "50 reverse searches, prange")
    checks.append((name, "matrix dijkstra", max_diff(m, ref)))
    t, m = timed(lambda: routing.od_matrix_nodes(ch_graph, S1000, T50), R)
    add("1000x50 matrix", "smaby_geo CH (buckets)", t)
    checks.append((name, "matrix CH", max_diff(m, ref)))
    # --- nearest of 50 for all nodes (time to the nearest facility)
    t, ref = timed(lambda: dijkstra(AT, indices=F50, min_only=True), R)
    add("nearest-of-50 all nodes", "scipy", t, "min_only=True")
    t, d = timed(lambda: routing.nearest_facility(g, F50), R)
    add("nearest-of-50 all nodes", "smaby_geo dijkstra", t, "multi-source")
    checks.append((name, "nearest dijkstra", max_diff(d[0], ref)))
    t, d = timed(lambda: routing.nearest_facility(ch_graph, F50), R)
    add("nearest-of-50 all nodes", "smaby_geo CH (PHAST)", t, "multi-source")
    checks.append((name, "nearest PHAST", max_diff(d[0], ref)))

    src_e = np.repeat(np.arange(n), np.diff(g.indptr))
    if not args.no_igraph:
        try:
            import igraph as ig

            G = ig.Graph(n=n, edges=np.column_stack([src_e, g.indices]).tolist(), directed=True)
            G.es["w"] = g.weights.tolist()
            t, _ = timed(lambda: G.distances(source=[src1], weights="w"), R)
            add("one-to-all", "igraph", t)
            # igraph refuses duplicate targets: the distinct sources (duplicates are free)
            uS = np.unique(S1000).tolist()
            t, _ = timed(
                lambda: G.distances(source=T50.tolist(), target=uS, weights="w", mode="in"), 1
            )
            add("1000x50 matrix", "igraph", t, "50 reverse searches, 1 run")
        except ImportError:
            print("  igraph not installed (pip install -e '.[bench]')")
    if not args.no_networkx:
        import networkx as nx

        G = nx.DiGraph()
        G.add_weighted_edges_from(
            zip(src_e.tolist(), g.indices.tolist(), g.weights.tolist(), strict=True)
        )
        t, _ = timed(lambda: nx.single_source_dijkstra_path_length(G, src1), 1)
        add("one-to-all", "networkx", t, "1 run")
        t, _ = timed(lambda: nx.single_source_dijkstra_path_length(G, src1, cutoff=cutoff), 1)
        add("one-to-all cutoff", "networkx", t, "1 run")
        del G
    if not args.no_pandana:
        try:
            import warnings

            import pandana
            import pandas as pd

            warnings.simplefilter("ignore")  # pandana warns once per unreachable pair

            t0 = time.perf_counter()
            pn = pandana.Network(
                pd.Series(x),
                pd.Series(y),
                pd.Series(src_e),
                pd.Series(g.indices),
                pd.DataFrame({"w": g.weights}),
                twoway=False,
            )
            pprep = time.perf_counter() - t0
            add("preprocessing", "pandana", pprep, "CH build")
            add("preprocessing", "smaby_geo CH", prep, "CH build incl. ordering")
            o = np.repeat(S1000, 50)
            dd = np.tile(T50, 1000)
            t, pm = timed(lambda: pn.shortest_path_lengths(o, dd, imp_name="w"), 1)
            add("1000x50 matrix", "pandana", t, "50,000 pairs, 1 run")
            pm = np.asarray(pm, float).reshape(1000, 50)
            pm[pm >= PANDANA_UNREACHABLE] = np.inf
            checks.append(
                (
                    name,
                    "pandana matrix (reduced precision)",
                    max_diff(pm, ref_matrix(g, S1000, T50)),
                )
            )
            pn.set_pois("f", 1e7, 1, pd.Series(x[F50]), pd.Series(y[F50]))
            t, _ = timed(lambda: pn.nearest_pois(1e7, "f", num_pois=1, imp_name="w"), 1)
            add("nearest-of-50 all nodes", "pandana", t, "nearest_pois, maxdist 1e7 s, 1 run")
        except ImportError:
            print("  pandana not installed (pip install -e '.[bench]')")


# pandana stores unreachable as 4294967.295 (PITFALLS): mapped to inf for the comparison
PANDANA_UNREACHABLE = 4_294_967.0


def ref_matrix(g, S, T):
    return routing.od_matrix_nodes(g, S, T, method="dijkstra")


def national_cells(rows: list) -> None:
    """Every 250 m cell to the nearest of each of 4 service types (the national workload)."""
    from smaby_geo import load_network
    from smaby_geo.analysis.traveltimes import travel_times
    from smaby_geo.places.population import read_population_grid
    from smaby_geo.places.services import load_services

    net = load_network()
    cells = read_population_grid("250m")
    svc = load_services()
    import warnings

    warnings.simplefilter("ignore")
    t, _ = timed(lambda: travel_times(net, cells, svc), 5)
    rows.append(
        {
            "graph": "n1000",
            "query": "220,171 cells x nearest of 4 types",
            "tool": "smaby_geo dijkstra",
            "median_s": t,
            "note": "snapping included",
        }
    )
    routing.prepare(net)
    t2, _ = timed(lambda: travel_times(net, cells, svc), 5)
    rows.append(
        {
            "graph": "n1000",
            "query": "220,171 cells x nearest of 4 types",
            "tool": "smaby_geo CH (PHAST)",
            "median_s": t2,
            "note": "snapping included",
        }
    )
    print(f"\nnational cells -> nearest of 4 types: dijkstra {t:.3f} s, CH {t2:.3f} s")


def table(rows: list) -> str:
    out = [
        "| graph | query | tool | median s | speed-up vs scipy | note |",
        "|---|---|---|---:|---:|---|",
    ]
    base = {(r["graph"], r["query"]): r["median_s"] for r in rows if r["tool"] == "scipy"}
    for r in rows:
        b = base.get((r["graph"], r["query"]))
        ratio = f"{b / r['median_s']:.2f}x" if b else "-"
        out.append(
            f"| {r['graph']} | {r['query']} | {r['tool']} | {r['median_s']:.4f} | "
            f"{ratio} | {r['note']} |"
        )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", default="n1000,synthetic")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="100k-node synthetic graph")
    p.add_argument("--no-networkx", action="store_true")
    p.add_argument("--no-igraph", action="store_true")
    p.add_argument("--no-pandana", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "routing.json"))
    args = p.parse_args()
    import numba

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, numba threads "
        f"{numba.get_num_threads()}, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print(f"machine: {machine}")
    extra: dict = {}
    with tempfile.TemporaryDirectory() as cache:
        extra["jit_cold"] = subprocess_measure(JIT_CODE, {"NUMBA_CACHE_DIR": cache})
        extra["jit_warm_cache"] = subprocess_measure(JIT_CODE, {"NUMBA_CACHE_DIR": cache})
    print(
        f"numba compile (empty cache): {extra['jit_cold']}; "
        f"cold start with cache: {extra['jit_warm_cache']}"
    )
    n_syn = 100_000 if args.quick else 1_000_000
    extra["synthetic_preprocess_subprocess"] = subprocess_measure(
        PREP_CODE.format(here=str(HERE), n=n_syn), {}
    )
    print(f"CH preprocessing in a fresh process: {extra['synthetic_preprocess_subprocess']}")
    rows: list = []
    checks: list = []
    for name in args.graphs.split(","):
        run_graph(name.strip(), args, rows, checks, extra)
    if "n1000" in args.graphs:
        national_cells(rows)
    print("\n" + table(rows))
    print("\nExactness vs scipy (max abs difference, seconds):")
    for g, q, d in checks:
        print(f"  {g:10s} {q:36s} {d:.3g}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "machine": machine,
                "rows": rows,
                "checks": checks,
                "extra": extra,
                "args": vars(args),
            },
            indent=2,
        )
    )
    print(f"\nwrote {Path(args.out).name}")


if __name__ == "__main__":
    main()
