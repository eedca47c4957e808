"""National many-to-all for the indicators: every cell to every cell within 90 minutes.

Compares ``smaby_geo.analysis.reach.reach_population`` (link-to-link: rows from both ends of
each origin link by the public ``routing.many_to_all`` with the limit as cutoff, reduced in a
numba kernel over histograms of trip times) with a peer written the plain way: scipy's
Dijkstra (``limit=``) from both ends of every origin link and an exact numpy origin x target
matrix per link (both ends of both links, partial link times, directly along a shared link),
on the national 1 km grid where the peer finishes in minutes. Both see the same
snapped cells; agreement is reported as the share of cells with identical counts and the
largest difference. Then ours alone on the national 250 m grid (the centrality input), and the
towns / hinterland stages. Each figure is the median of ``--repeats`` runs after a warm-up
(the peer runs once).

Run: ``python benchmarks/indicators.py`` (``--quick`` skips the peer).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import describe_machine

warnings.simplefilter("ignore")
LIMIT_MIN = 90.0


def timed(fn, repeats):
    out = fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def peer_scipy(net, cells, limit_s, block=256):
    """Exact population within ``limit_s`` of every cell: scipy Dijkstra + numpy.

    The main job's access model written the plain way: each cell leaves through both ends of
    its link (access leg + partial link time), each target is entered through both ends of
    its link, and cells on one link may go directly along it; one Dijkstra row per link end,
    an origin x target matrix per link.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from smaby_geo.places.snapping import snap_points

    n = net.n_nodes
    # keep the minimum of parallel edges (coo->csr would sum them: PITFALLS)
    src = np.repeat(np.arange(n), np.diff(net.indptr))
    order = np.lexsort((net.weights, net.indices, src))
    s, d, w = src[order], net.indices[order], net.weights[order]
    first = np.r_[True, (s[1:] != s[:-1]) | (d[1:] != d[:-1])]
    g = csr_matrix((w[first] + 1e-9, (s[first], d[first])), shape=(n, n))
    sn = snap_points(net, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy())
    ok = np.flatnonzero(sn.connected)
    link, frac, leg = sn.link[ok], sn.frac[ok], sn.leg_seconds[ok]
    ends, t_in, a_out = sn.nodes[ok], sn.in_seconds[ok], sn.out_seconds[ok]
    pop = cells["population"].to_numpy(float)[ok]
    fw_all = net.links["seconds_fw"].to_numpy(float)
    bw_all = net.links["seconds_bw"].to_numpy(float)
    out = np.full(len(cells), np.nan)
    links = np.unique(link)
    for b0 in range(0, len(links), block // 2):
        blk = links[b0 : b0 + block // 2]
        first_of = np.searchsorted(link, blk, sorter=np.argsort(link, kind="stable"))
        uv = ends[np.argsort(link, kind="stable")[first_of]]
        nodes = np.unique(uv)
        dist = dijkstra(g, indices=nodes, limit=limit_s)
        row = {int(v): dist[r] for r, v in enumerate(nodes)}
        for li, (u, v) in zip(blk, uv, strict=True):
            mine = np.flatnonzero(link == li)
            qu = np.minimum(row[u][ends[:, 0]] + t_in[:, 0], row[u][ends[:, 1]] + t_in[:, 1])
            qv = np.minimum(row[v][ends[:, 0]] + t_in[:, 0], row[v][ends[:, 1]] + t_in[:, 1])
            t = np.minimum(a_out[mine, :1] + qu, a_out[mine, 1:] + qv)
            same = np.flatnonzero(link == li)  # directly along the shared link
            df = frac[same][None, :] - frac[mine][:, None]
            with np.errstate(invalid="ignore"):
                along = np.where(df > 0, fw_all[li] * df, np.where(df < 0, -df * bw_all[li], 0.0))
            direct = leg[mine][:, None] + along + leg[same][None, :]
            t[:, same] = np.minimum(t[:, same], direct)
            out[ok[mine]] = (t <= limit_s) @ pop
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="skip the scipy peer")
    args = p.parse_args()
    from smaby_geo import load_network
    from smaby_geo.analysis.centrality import time_weight
    from smaby_geo.analysis.hinterlands import hinterlands
    from smaby_geo.analysis.reach import reach_population
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.population import read_kommuner, read_population_grid
    from smaby_geo.places.services import load_services
    from smaby_geo.places.towns import SMALL_TOWN_MIN_POPULATION, build_towns, read_builtup_areas

    machine = describe_machine()
    print("machine:", machine)
    net = load_network()
    kom = read_kommuner()
    c1 = read_population_grid("1km", kommuner=kom)
    c250 = read_population_grid("250m", kommuner=kom)
    rows = []

    t_ours1, r1 = timed(lambda: reach_population(net, c1, limit_min=LIMIT_MIN), args.repeats)
    rows.append(("1 km grid, 55,213 cells", "smaby_geo reach_population", t_ours1, ""))
    if not args.quick:
        t0 = time.perf_counter()
        want = peer_scipy(net, c1, LIMIT_MIN * 60)
        t_peer = time.perf_counter() - t0
        got = r1["population_within"].to_numpy()
        both = np.isfinite(got) & np.isfinite(want)
        same = float(np.mean(got[both] == want[both]))
        rel = float(np.max(np.abs(got[both] - want[both]) / np.maximum(want[both], 1)))
        note = f"identical counts {same:.1%} of cells; largest difference {rel:.2%}"
        rows.append(("1 km grid, 55,213 cells", "scipy dijkstra(limit) + numpy", t_peer,
                     f"1 run; ours {t_peer / t_ours1:.1f}x faster; {note}"))
    t250, _ = timed(
        lambda: reach_population(net, c250, limit_min=LIMIT_MIN, weight=time_weight),
        args.repeats,
    )
    rows.append(("250 m grid, 220,171 cells", "smaby_geo reach_population (+ time weights)",
                 t250, "the centrality input"))
    bu, names, sv = read_builtup_areas(), read_place_names(), load_services()
    t_towns, (towns, ct) = timed(
        lambda: build_towns(c250, bu, place_names=names, return_cells=True), args.repeats
    )
    rows.append(("250 m grid", "build_towns", t_towns, f"{len(towns)} towns"))
    t_h, _ = timed(lambda: hinterlands(net, c250, towns, ct, sv), args.repeats)
    n_centres = int((towns["population"] >= SMALL_TOWN_MIN_POPULATION).sum())
    rows.append(
        ("250 m grid", f"hinterlands ({n_centres} centres, 4 service types)", t_h, "")
    )

    lines = [
        "# Indicator benchmarks (`python benchmarks/indicators.py`)",
        "",
        f"Machine: {machine}. Medians of {args.repeats} runs after a warm-up.",
        "",
        "| data | step | median s | note |",
        "|---|---|---:|---|",
        *[f"| {a} | {b} | {t:.2f} | {n} |" for a, b, t, n in rows],
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "indicators.md"
    out.write_text(text + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    main()
