"""The indicators' reach with the main job's access model, against an independent oracle.

The oracle inserts every point into a networkx graph as a real node: the nearest point of the
nearest link (shapely, brute force) splits that link into a chain of pieces (one way as the
link, each piece's time its share of the link's time), and the point hangs off its split node
by its access leg (distance x 1.3 / 30 km/h, METHODS §1). Trip times are plain Dijkstra on
that graph, so cells on the same link go along it and every cell may leave by either end.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from smaby_geo.analysis.centrality import time_weight
from smaby_geo.analysis.reach import reach_population
from smaby_geo.analysis.transport_performance import transport_performance
from smaby_geo.network.readers import network_from_lines

LEG_S_PER_M = 1.3 / (30 / 3.6)  # AccessModel defaults: detour 1.3, 30 km/h
Y0 = 7_000_000.0


def oracle_seconds(net, xy: np.ndarray, max_snap_m: float = 5000.0) -> np.ndarray:
    """Seconds between every pair of points (rows from, columns to) with points as nodes.

    A point reaches its own residents out to its link and back (twice its access leg).
    """
    lk = net.links
    geoms = lk.geometry.to_numpy()
    G = nx.DiGraph()

    def add(a, b, w):
        if np.isfinite(w) and (not G.has_edge(a, b) or G[a][b]["weight"] > w):
            G.add_edge(a, b, weight=float(w))

    on_link: dict[int, list[tuple[float, int]]] = {}
    connected = np.zeros(len(xy), dtype=bool)
    for i, (x, y) in enumerate(xy):
        p = Point(x, y)
        d = shapely.distance(geoms, p)
        li = int(np.argmin(d))
        if d[li] > max_snap_m:
            continue
        connected[i] = True
        f = float(shapely.line_locate_point(geoms[li], p, normalized=True))
        on_link.setdefault(li, []).append((f, i))
        add(("cell", i), ("at", i), d[li] * LEG_S_PER_M)
        add(("at", i), ("cell", i), d[li] * LEG_S_PER_M)
    for li in range(len(lk)):
        u, v = int(lk["u"].iloc[li]), int(lk["v"].iloc[li])
        fw, bw = float(lk["seconds_fw"].iloc[li]), float(lk["seconds_bw"].iloc[li])
        chain = [(0.0, u), *[(f, ("at", i)) for f, i in sorted(on_link.get(li, []))], (1.0, v)]
        for (fa, a), (fb, b) in itertools.pairwise(chain):
            add(a, b, fw * (fb - fa))
            add(b, a, bw * (fb - fa))
    out = np.full((len(xy), len(xy)), np.inf)
    for i in np.flatnonzero(connected):
        dist = nx.single_source_dijkstra_path_length(G, ("cell", i), weight="weight")
        for j in np.flatnonzero(connected):
            out[i, j] = dist.get(("cell", int(j)), np.inf)
        # its own residents: out to the link and back (reach_population's rule)
        out[i, i] = 2 * G[("cell", i)][("at", i)]["weight"]
    return out


def point_cells(xy: np.ndarray, pop) -> gpd.GeoDataFrame:
    size = 250.0
    return gpd.GeoDataFrame(
        {
            "population": np.asarray(pop, dtype=np.int64),
            "x_sw": np.floor(xy[:, 0] / size) * size,
            "y_sw": np.floor(xy[:, 1] / size) * size,
            "cell_size_m": int(size),
            "kommunenummer": "k",
        },
        index=pd.Index([f"c{i}" for i in range(len(xy))], name="cell_id"),
        geometry=[Point(p) for p in xy],
        crs="EPSG:25833",
    )


def long_link_network():
    """Q - A (5 min), A - B the long link (10 km, 10 min), B - R (0.5 min)."""
    g = gpd.GeoDataFrame(
        {"t": [5.0, 10.0, 0.5]},
        geometry=[
            LineString([(-5_000, Y0), (0, Y0)]),
            LineString([(0, Y0), (10_000, Y0)]),
            LineString([(10_000, Y0), (10_500, Y0)]),
        ],
        crs="EPSG:25833",
    )
    return network_from_lines(g, time_column="t", time_unit="min", attribution="test roads")


def test_a_cell_on_a_long_link_counts_with_both_ends_and_the_partial_link_time():
    net = long_link_network()
    # c0 3 km along A-B; c1 8 km along it; cQ at Q; cR at R; all 100 m off the road
    xy = np.array([[3_000, Y0 + 100], [8_000, Y0 + 100], [-5_000, Y0 + 100],
                   [10_500, Y0 + 100]], dtype=float)
    pop = [1, 10, 100, 1000]
    cells = point_cells(xy, pop)
    legs = 2 * 100 * LEG_S_PER_M
    # by hand from c0: R through B 7 + 0.5 min, Q through A 3 + 5 min, c1 directly 5 min
    # (the old rule put c0 at A with no partial time: Q at 5 min, R at 10.5, c1 at 10 via B)
    want = oracle_seconds(net, xy)
    np.testing.assert_allclose(want[0], np.array([0.0, 300.0, 480.0, 450.0]) + legs)
    limit = 8.25  # R (7.5 min + legs) is within, Q (8 min + legs) is not
    r = reach_population(net, cells, limit_min=limit,
                         weight=lambda m: time_weight(m, 30.0, limit))
    assert r["population_within"].iloc[0] == 1 + 10 + 1000
    for i in range(len(xy)):
        assert r["population_within"].iloc[i] == np.sum(np.array(pop)[want[i] <= limit * 60])
        w = np.sum(pop * time_weight(want[i] / 60, 30.0, limit))
        assert r["weighted_population"].iloc[i] == pytest.approx(w, rel=0.004)
    # the indicator itself: transport performance's accessibility is that reach
    tp = transport_performance(net, cells, limit_min=limit)
    assert tp["accessibility"].iloc[0] == 1011


def random_network(seed: int):
    """A random planar-ish network: nearest-neighbour links, some long, some one way."""
    rng = np.random.default_rng(seed)
    n = 18
    pts = rng.uniform(0, 30_000, size=(n, 2))
    g = nx.Graph()
    for i in range(n):
        d = np.hypot(*(pts - pts[i]).T)
        for j in np.argsort(d)[1:3]:
            g.add_edge(i, int(j))
    lines = [LineString([pts[a], pts[b]]) for a, b in g.edges]
    gdf = gpd.GeoDataFrame(
        {"speed": rng.uniform(30, 90, len(lines)), "oneway": rng.random(len(lines)) < 0.25},
        geometry=lines,
        crs="EPSG:25833",
    )
    net = network_from_lines(gdf, speed_column="speed", oneway_column="oneway")
    # cells: most beside random links (several per link), a few anywhere (some off-road)
    k = 70
    li = rng.integers(0, len(lines), k)
    along = shapely.line_interpolate_point(np.array(lines)[li], rng.random(k), normalized=True)
    xy = shapely.get_coordinates(along) + rng.normal(0, 300, size=(k, 2))
    xy[-8:] = rng.uniform(-8_000, 38_000, size=(8, 2))
    return net, xy, rng.integers(1, 100, k)


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_reach_equals_dijkstra_with_the_points_as_nodes(seed):
    net, xy, pop = random_network(seed)
    want = oracle_seconds(net, xy)
    assert np.isfinite(want).any() and np.isinf(want).any()
    # half the cells are origins, all are targets (the indicators' region + country)
    cells = point_cells(xy, pop)
    origins = cells.iloc[::2]
    finite = want[np.isfinite(want) & (want > 0)]
    for limit in (np.quantile(finite, 0.3) / 60, np.quantile(finite, 0.7) / 60):
        r = reach_population(net, origins, cells, limit_min=limit,
                             weight=lambda m, lim=limit: time_weight(m, 30.0, lim))
        got = r["population_within"].to_numpy()
        wgot = r["weighted_population"].to_numpy()
        for row, i in enumerate(range(0, len(xy), 2)):
            if not np.isfinite(want[i, i]):  # beyond the maximum snap distance
                assert np.isnan(got[row])
                continue
            assert got[row] == pop[want[i] <= limit * 60].sum(), (seed, i)
            w = np.sum(pop * time_weight(want[i] / 60, 30.0, limit))
            assert wgot[row] == pytest.approx(w, rel=0.004, abs=1e-9)


def test_no_road_connected_origin_gives_nan_not_an_error():
    net = long_link_network()
    xy = np.array([[3_000, Y0 + 100], [3_000, Y0 + 20_000]], dtype=float)
    cells = point_cells(xy, [5, 7])
    r = reach_population(net, cells.iloc[1:], cells)
    assert not r["road_connected"].iloc[0] and np.isnan(r["population_within"].iloc[0])
    assert r.attrs["unconnected_origins"] == 1
    assert r.attrs["unconnected_target_population"] == 7
