"""Reader benchmark: time and peak memory of reading large OSM PBF and NVDB-like files.

No full-resolution national file is shipped, so the script writes synthetic ones of the
real formats (seeded):

* an OSM PBF (``osmium.SimpleWriter``): a road grid of ``--osm-nodes`` nodes cut into ways
  of about ten nodes (mixed highway classes, ``maxspeed``, one-way streets, a few car
  ferries) plus as many nodes again in buildings and tagged points, which a reader must skip
  (roads are a minority of the nodes of a real extract);
* an NVDB "vegnett ruteplan" GeoPackage of ``--nvdb-links`` links with all 45 columns of the
  real schema (the column names of the shipped Oslo sample), of which the reader uses nine.

Each read runs in a fresh process, which reports its wall time and peak RSS (``VmHWM``),
the RSS peak after the imports (before the read), and a digest of the network it built. "before"
is the reader as it was before issue #16 (OSM: every node and way through Python with
``with_locations()``, one shapely line per piece; NVDB: the whole layer with every column,
``pyogrio.read_dataframe``); "after" is the current ``read_osm`` / ``read_nvdb``. The digests
must be equal.

Run: ``python benchmarks/readers.py [--osm-nodes 500000] [--nvdb-links 500000] [--repeats 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


# --- synthetic inputs -----------------------------------------------------------------------


def write_synthetic_pbf(path: Path, n_road_nodes: int, seed: int = 7) -> dict:
    """Write a road grid plus non-road content as an OSM PBF; return counts."""
    import osmium
    from osmium.osm.mutable import Node, Way

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_road_nodes)))
    lon0, lat0 = 10.0, 60.0
    dlon, dlat = 0.0018, 0.0009  # about 100 m at 60 N
    classes = ["residential", "unclassified", "tertiary", "secondary", "primary", "service"]
    n_extra = side * side  # as many non-road nodes again (buildings, points)
    ways = []
    wid = 1
    for axis in (0, 1):
        for line in range(side):
            hw = "trunk" if line % 50 == 0 else classes[line % len(classes)]
            tags = {"highway": hw}
            if line % 7 == 0:
                tags["maxspeed"] = str(30 + 10 * (line % 6))
            if line % 11 == 0:
                tags["oneway"] = "yes"
            if line % 13 == 0:
                tags["ref"] = f"Fv{line}"
            for start in range(0, side - 1, 10):
                stop = min(start + 10, side - 1)
                if axis == 0:
                    nodes = [line * side + j + 1 for j in range(start, stop + 1)]
                else:
                    nodes = [i * side + line + 1 for i in range(start, stop + 1)]
                if rng.random() < 0.002:
                    ferry = {"route": "ferry", "duration": "00:20"}
                    ways.append(Way(id=wid, nodes=nodes, tags=ferry))
                else:
                    ways.append(Way(id=wid, nodes=nodes, tags=tags))
                wid += 1
    n_build = n_extra // 5
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path)) as w:
        jit = rng.uniform(-0.2, 0.2, size=(side * side, 2))
        for k in range(side * side):
            i, j = divmod(k, side)
            w.add_node(
                Node(
                    id=k + 1,
                    location=(lon0 + (j + jit[k, 0]) * dlon, lat0 + (i + jit[k, 1]) * dlat),
                )
            )
        base = side * side + 1
        c = rng.uniform(0, side, size=(n_build, 2))
        for b in range(n_build):
            for q, (ox, oy) in enumerate(((0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1), (0.05, 0.15))):
                tags = {"amenity": "bench"} if q == 4 else {}
                w.add_node(
                    Node(
                        id=base + 5 * b + q,
                        location=(lon0 + (c[b, 0] + ox) * dlon, lat0 + (c[b, 1] + oy) * dlat),
                        tags=tags,
                    )
                )
        for way in ways:
            w.add_way(way)
        for b in range(n_build):
            ids = [base + 5 * b + q for q in range(4)]
            w.add_way(Way(id=wid + b, nodes=[*ids, ids[0]], tags={"building": "yes"}))
    return {
        "road_nodes": side * side,
        "other_nodes": 5 * n_build,
        "road_ways": len(ways),
        "other_ways": n_build,
        "mb": path.stat().st_size / 1e6,
    }


def write_synthetic_nvdb(path: Path, n_links: int, seed: int = 7) -> dict:
    """Write an NVDB ruteplan-like GeoPackage with the real schema's 45 columns."""
    import geopandas as gpd
    import pyogrio
    import shapely

    from smaby_geo.datasets import locate_dataset

    sample = pyogrio.read_dataframe(locate_dataset("nvdb_oslo_sample"), max_features=50)
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_links / 2))) + 1
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = 250000.0 + jj.ravel() * 100.0 + rng.uniform(-30, 30, side * side)
    y = 6650000.0 + ii.ravel() * 100.0 + rng.uniform(-30, 30, side * side)
    ids = np.arange(side * side).reshape(side, side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])[:n_links]
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])[:n_links]
    k = len(a)
    mid = np.column_stack([(x[a] + x[b]) / 2 + rng.uniform(-10, 10, k), (y[a] + y[b]) / 2])
    coords = np.stack([np.column_stack([x[a], y[a]]), mid, np.column_stack([x[b], y[b]])], 1)
    geom = shapely.linestrings(coords)
    length = shapely.length(geom)
    speed = rng.choice([30.0, 50.0, 60.0, 80.0], k)
    cols = {}
    for c in sample.columns:
        if c == "geometry":
            continue
        v = sample[c].to_numpy()
        cols[c] = np.resize(v, k)  # realistic values and types for the columns not set below
    cols.update(
        ROUTEID=np.arange(k).astype(str),
        FromNodeID=(a + 1_000_000).astype(str),
        ToNodeID=(b + 1_000_000).astype(str),
        ONEWAY=rng.choice(np.array(["B", "B", "B", "FT", "TF"]), k),
        FT_MINUTES=length / (speed / 3.6) / 60.0,
        TF_MINUTES=length / (speed / 3.6) / 60.0,
        METER_ORG=length,
        VEGTYPE=rng.choice(np.array(["E", "R", "F", "K", "P"]), k),
        VEGNUMMER=rng.integers(1, 999, k).astype(float),
    )
    gdf = gpd.GeoDataFrame(cols, geometry=geom, crs="EPSG:25833")
    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(gdf, path, layer="ruteplan", use_arrow=True)
    return {"links": k, "columns": len(cols), "mb": path.stat().st_size / 1e6}


# --- the readers as they were before issue #16 ------------------------------------------------


def read_osm_before(path):
    """``read_osm`` before issue #16 (all nodes and ways through Python).

    The per-node pass is the test suite's reference reader (``tests/test_readers.py``); the
    network is built from its links as the old reader did.
    """
    from smaby_geo import datasets
    from smaby_geo.network.readers._common import _check_profile, _finish_profiled

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from smaby_geo.network.readers.osm import _links_from_pieces
    from tests.test_readers import _reference_osm_links

    t0 = time.perf_counter()
    profile = _check_profile(None)
    df, geoms = _reference_osm_links(path, profile)
    links, geom, node_xy = _links_from_pieces(df, geoms)
    report = {
        "ways_read": df.attrs["ways_read"],
        "excluded": {},
        "nodes_without_location": df.attrs["nodes_without_location"],
    }
    return _finish_profiled(
        links,
        geom.to_numpy(),
        node_xy,
        profile=profile,
        builtup=None,
        source=f"OSM ({os.path.basename(path)})",
        attribution=datasets.OSM,
        report=report,
        keep="all",
        t0=t0,
    )


# --- one measured read, in a child process --------------------------------------------------


def _digest(net) -> str:
    import hashlib

    import shapely

    h = hashlib.sha256()
    lk = net.links
    for c in ("u", "v", "seconds_fw", "seconds_bw", "length_m"):
        h.update(np.ascontiguousarray(lk[c].to_numpy()).tobytes())
    h.update(np.ascontiguousarray(net.node_x).tobytes())
    h.update(np.ascontiguousarray(net.node_y).tobytes())
    h.update(b"".join(shapely.to_wkb(lk.geometry.to_numpy())))
    return h.hexdigest()[:16]


def _child(kind: str, which: str, path: str) -> None:
    import resource
    import warnings

    warnings.simplefilter("ignore")
    import pyogrio

    from smaby_geo.network.readers.nvdb import read_nvdb
    from smaby_geo.network.readers.osm import read_osm

    def rss_mb() -> float:
        # VmHWM: the peak of this process's own memory map. ru_maxrss is not used: Linux
        # carries it over fork + exec, so it would report the parent's peak.
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rss0 = rss_mb()
    t0 = time.perf_counter()
    if kind == "osm":
        net = read_osm_before(path) if which == "before" else read_osm(path)
    elif which == "before":
        net = read_nvdb(pyogrio.read_dataframe(path, fid_as_index=True))
    else:
        net = read_nvdb(path)
    dt = time.perf_counter() - t0
    out = {
        "seconds": dt,
        "peak_rss_mb": rss_mb(),
        "rss_after_imports_mb": rss0,
        "links": len(net.links),
        "nodes": net.n_nodes,
        "digest": _digest(net),
    }
    print(json.dumps(out))


def _measure(kind: str, which: str, path: Path) -> dict:
    r = subprocess.run(
        [sys.executable, __file__, "--child", kind, which, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def _written(path: Path, write, n: int) -> dict:
    """Write a synthetic file (or reuse it, with its recorded counts, from an earlier run)."""
    meta = path.with_suffix(path.suffix + ".json")
    if path.exists() and meta.exists():
        return json.loads(meta.read_text())
    info = write(path, n)
    meta.write_text(json.dumps(info))
    return info


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--osm-nodes", type=int, default=500_000)
    p.add_argument("--nvdb-links", type=int, default=500_000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--skip", nargs="*", default=[], choices=["osm", "nvdb"])
    p.add_argument(
        "--workdir",
        default=None,
        help="keep the synthetic files here and reuse them on the next run (default: a "
        "temporary folder)",
    )
    p.add_argument("--out", default=str(HERE / "results" / "readers.json"))
    args = p.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load {os.getloadavg()}",
        flush=True,
    )
    kept = {k: v for k, v in vars(args).items() if k not in ("out", "workdir")}  # no paths
    res: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "args": kept}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.workdir or tmp)
        d.mkdir(parents=True, exist_ok=True)
        jobs = []
        if "osm" not in args.skip:
            f = d / f"synthetic_{args.osm_nodes}.osm.pbf"
            t0 = time.perf_counter()
            info = _written(f, write_synthetic_pbf, args.osm_nodes)
            print(f"OSM PBF written in {time.perf_counter() - t0:.1f} s: {info}", flush=True)
            jobs.append(("osm", f, info))
        if "nvdb" not in args.skip:
            f = d / f"synthetic_ruteplan_{args.nvdb_links}.gpkg"
            t0 = time.perf_counter()
            info = _written(f, write_synthetic_nvdb, args.nvdb_links)
            dt = time.perf_counter() - t0
            print(f"NVDB GeoPackage written in {dt:.1f} s: {info}", flush=True)
            jobs.append(("nvdb", f, info))
        for kind, f, info in jobs:
            runs: dict[str, list] = {"before": [], "after": []}
            for _ in range(args.repeats):
                for which in ("before", "after"):  # alternate, so load changes hit both
                    runs[which].append(_measure(kind, which, f))
            summ = {}
            for which, rr in runs.items():
                summ[which] = {
                    "seconds_median": statistics.median(r["seconds"] for r in rr),
                    "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rr),
                    "rss_after_imports_mb": rr[0]["rss_after_imports_mb"],
                    "links": rr[0]["links"],
                    "nodes": rr[0]["nodes"],
                    "digest": rr[0]["digest"],
                }
            b, a = summ["before"], summ["after"]
            same = b["digest"] == a["digest"]
            print(
                f"{kind}: {a['links']:,} links, {a['nodes']:,} nodes; read before "
                f"{b['seconds_median']:.1f} s, after {a['seconds_median']:.1f} s "
                f"({b['seconds_median'] / a['seconds_median']:.1f}x faster); peak RSS before "
                f"{b['peak_rss_mb_max']:.0f} MB, after {a['peak_rss_mb_max']:.0f} MB (after "
                f"imports {a['rss_after_imports_mb']:.0f} MB); identical networks: {same}",
                flush=True,
            )
            res[kind] = {"input": info, **summ, "identical": same}
    res["load_at_end"] = os.getloadavg()
    print(f"load at end {os.getloadavg()}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
