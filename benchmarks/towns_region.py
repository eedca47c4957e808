"""``smaby-geo towns --region``: the centres' figures count every resident of the country.

A region run passes every cell of the country to ``hinterlands`` with ``region=`` marking the
region's cells, so each centre's ``population_within_<T>`` (and the other reach and exclusive
figures) are the national run's. Before, only the region's cells were passed and a centre on
the region's border counted the region's residents alone. This script, per region:

* times the two calls in the same process, interleaved (medians of ``--repeats`` runs after
  a warm-up): ``hinterlands(every cell, region=mask)`` (now) against ``hinterlands(the
  region's cells)`` (before);
* checks ``population_within_<T>`` of every centre against a peer written the plain way:
  scipy's Dijkstra to the centre's node over the reverse network, plus both access legs,
  counting every cell of the country (the same snapped cells);
* checks that every column named as in the national call holds the national value;
* reports how far the old call fell short for the centres the region run lists.

Run: ``python benchmarks/towns_region.py`` (``--regions Tynset Hamar``); writes
``results/towns_region.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import describe_machine

warnings.simplefilter("ignore")


def peer_within(net, cells, centres, limits_min, access):
    """Population of ``cells`` within each limit of each centre: scipy Dijkstra + numpy."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from smaby_geo.places.snapping import snap_points
    from smaby_geo.places.towns import town_centres

    n = net.n_nodes
    # keep the minimum of parallel edges (coo->csr would sum them), then reverse: the rows
    # are the times from every node to the centre
    src = np.repeat(np.arange(n), np.diff(net.indptr))
    order = np.lexsort((net.weights, net.indices, src))
    s, d, w = src[order], net.indices[order], net.weights[order]
    first = np.r_[True, (s[1:] != s[:-1]) | (d[1:] != d[:-1])]
    rev = csr_matrix((w[first] + 1e-9, (d[first], s[first])), shape=(n, n))
    pts = town_centres(centres)
    sc = snap_points(net, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), access)
    so = snap_points(net, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy(), access)
    ok = so.connected
    node, leg = so.node[ok], so.leg_seconds[ok]
    pop = cells["population"].to_numpy(float)[ok]
    dist = dijkstra(rev, directed=True, indices=sc.node)
    out = np.zeros((len(centres), len(limits_min)))
    for r in range(len(centres)):
        t = dist[r, node] + leg + sc.leg_seconds[r]
        for j, lim in enumerate(limits_min):
            out[r, j] = pop[t <= lim * 60.0].sum()
    return np.round(out).astype(np.int64)


def timed_pair(fns, repeats):
    """Medians of ``repeats`` interleaved runs of each function, after one warm-up each."""
    outs = [fn() for fn in fns]
    ts: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            ts[i].append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in ts], outs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--regions", nargs="+", default=["Tynset", "Hamar"])
    args = p.parse_args()
    from smaby_geo import load_network
    from smaby_geo.analysis.hinterlands import HINTERLAND_LIMITS_MIN, hinterlands
    from smaby_geo.job_setup import land_or_none
    from smaby_geo.pipeline import select_region
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.population import read_kommuner, read_population_grid
    from smaby_geo.places.services import load_services
    from smaby_geo.places.snapping import AccessModel
    from smaby_geo.places.towns import build_towns, read_builtup_areas

    machine = describe_machine()
    print("machine:", machine)
    net = load_network()
    kom = read_kommuner()
    cells = read_population_grid("250m", kommuner=kom)
    towns, cell_town = build_towns(
        cells, read_builtup_areas(), place_names=read_place_names(), return_cells=True
    )
    cell_town = cell_town.reindex(cells.index)
    sv, land = load_services(), land_or_none()
    national = hinterlands(net, cells, towns, cell_town, sv, land=land).towns
    cols = [f"population_within_{t:g}" for t in HINTERLAND_LIMITS_MIN]
    peer = peer_within(net, cells, towns.loc[national.index], HINTERLAND_LIMITS_MIN,
                       AccessModel())
    peer_same = float(np.mean(peer == national[cols].to_numpy()))
    rows, checks = [], []
    for region in args.regions:
        sel = select_region(kom, region)
        mask = cells["kommunenummer"].isin(sel["kommunenummer"]).to_numpy()
        (t_new, t_old), (new, old) = timed_pair(
            [
                lambda m=mask: hinterlands(net, cells, towns, cell_town, sv, region=m,
                                           land=land).towns,
                lambda m=mask: hinterlands(net, cells[m], towns, cell_town[m], sv,
                                           land=land).towns,
            ],
            args.repeats,
        )
        n_cells = f"{int(mask.sum()):,} of {len(cells):,} cells"
        rows.append((region, n_cells, "hinterlands(every cell, region=mask) (now)", t_new,
                     f"{t_new / t_old:.2f}x the time of the old call"))
        rows.append((region, n_cells, "hinterlands(the region's cells) (before)", t_old, ""))
        shared = [c for c in national.columns if c in new.columns]
        same_national = new[shared].equals(national[shared])
        same_peer = float(np.mean(new[cols].to_numpy() == peer))
        # the centres the run lists serve the region (its exclusive hinterland) or lie in it
        listed = new["region_exclusive_population"] > 0
        listed |= new["kommunenummer"].isin(sel["kommunenummer"]).to_numpy()
        short = old.loc[listed, "population_within_60"] / new.loc[listed, "population_within_60"]
        checks.append(
            f"- {region}: every column named as in the national call equal to it: "
            f"{same_national}; population_within_<T> equal to the scipy peer for "
            f"{same_peer:.1%} of centres x limits; the old call counted "
            f"{short.min():.1%}-{short.max():.1%} of the national population_within_60 of the "
            f"{int(listed.sum())} centres serving or in the region ("
            + ", ".join(
                f"{n} {o:,} of {w:,}"
                for n, o, w in zip(
                    new.loc[listed, "name"],
                    old.loc[listed, "population_within_60"],
                    new.loc[listed, "population_within_60"],
                    strict=True,
                )
            )
            + ")"
        )
    lines = [
        "# Region runs of the towns job "
        f"(`python benchmarks/towns_region.py --repeats {args.repeats}`)",
        "",
        f"Machine: {machine}. Medians of {args.repeats} interleaved runs after a warm-up.",
        "",
        f"National call: population_within_<T> equal to the scipy peer (every cell of the "
        f"country, both access legs) for {peer_same:.1%} of {len(national)} centres x "
        f"{len(cols)} limits.",
        "",
        "| region | cells | call | median s | note |",
        "|---|---|---|---:|---|",
        *[f"| {a} | {b} | {c} | {t:.2f} | {n} |" for a, b, c, t, n in rows],
        "",
        *checks,
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "towns_region.md"
    out.write_text(text + "\n", encoding="utf-8")
    print("wrote", out)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
