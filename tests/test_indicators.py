"""Many-to-all reach, the centrality index and transport performance.

Hand-made: the grid and road of ``test_towns`` (node k to node j in 10 |k - j| minutes).
Property: ``reach_population`` against a brute-force origin x target matrix on a random
network (Dijkstra with the cells inserted as nodes, ``tests.test_indicators_access``).
Real data: the centrality classes cover every kommune of a county.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from smaby_geo.analysis.centrality import (
    Centrality,
    assign_classes,
    centrality,
    centrality_scores,
    class_thresholds,
    time_weight,
)
from smaby_geo.analysis.reach import reach_population
from smaby_geo.analysis.transport_performance import (
    proximity_population,
    summarise_transport_performance,
    transport_performance,
)
from smaby_geo.network.readers import network_from_lines
from tests.test_indicators_access import oracle_seconds
from tests.test_towns import OFF_ROAD, POP, hand_cells, hand_network


@pytest.fixture(scope="module")
def net():
    return hand_network()


def test_transport_performance_by_hand(net):
    cells = hand_cells()
    tp = transport_performance(net, cells)
    total = sum(POP) + OFF_ROAD[2]
    # node k reaches nodes j with 10 |k - j| <= 90 minutes (the limit is inclusive)
    for k in range(11):
        reach = sum(POP[j] for j in range(11) if abs(k - j) <= 9)
        assert tp["accessibility"].iloc[k] == reach
    # every cell lies within 120 km of every other (the off-road one 70.7 km from node 0)
    assert (tp["proximity"] == total).all()
    assert tp["transport_performance"].iloc[0] == pytest.approx(100 * (sum(POP) - 80) / total)
    assert tp["transport_performance"].iloc[10] == pytest.approx(100 * (sum(POP) - 6000) / total)
    # the off-road cell is not road-connected: NaN, never a made-up value
    assert not tp["road_connected"].iloc[11]
    assert np.isnan(tp["accessibility"].iloc[11])
    s = summarise_transport_performance(tp).set_index("kommunenummer")
    assert s["population"].sum() == total
    assert s.loc["k3", "unconnected_population"] == OFF_ROAD[2]
    k1 = tp.iloc[:4]
    w = k1["population"].to_numpy(float)
    acc = np.average(k1["accessibility"], weights=w)
    assert s.loc["k1", "accessibility"] == pytest.approx(acc)
    assert s.loc["k1", "transport_performance"] == pytest.approx(100 * acc / total)


def test_limit_is_a_parameter(net):
    cells = hand_cells()
    r = reach_population(net, cells, limit_min=25)
    # node 5 reaches nodes 3..7 within 25 minutes
    assert r["population_within"].iloc[5] == sum(POP[3:8])


def test_proximity_matches_brute_force():
    rng = np.random.default_rng(3)
    n = 300
    cells = pd.DataFrame(
        {
            "x_sw": rng.integers(0, 60, n) * 1000.0,
            "y_sw": rng.integers(0, 60, n) * 1000.0,
            "cell_size_m": 1000,
            "population": rng.integers(1, 500, n),
        }
    ).drop_duplicates(["x_sw", "y_sw"])
    got = proximity_population(cells, radius_km=20)
    x, y = cells["x_sw"].to_numpy(), cells["y_sw"].to_numpy()
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    want = ((d <= 20_000) * cells["population"].to_numpy()[None, :]).sum(axis=1)
    np.testing.assert_array_equal(got, want)


def _random_network(seed: int):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 40_000, size=(60, 2))
    g = nx.Graph()
    for i in range(60):
        d = np.hypot(*(pts - pts[i]).T)
        for j in np.argsort(d)[1:4]:
            g.add_edge(i, int(j))
    lines = [LineString([pts[a], pts[b]]) for a, b in g.edges]
    speed = rng.uniform(30, 90, len(lines))
    gdf = gpd.GeoDataFrame({"speed": speed}, geometry=lines, crs="EPSG:25833")
    return network_from_lines(gdf, speed_column="speed"), rng


@pytest.mark.parametrize("seed", [1, 2])
def test_reach_matches_brute_force_matrix(seed):
    net, rng = _random_network(seed)
    k = 150
    xy = rng.uniform(0, 40_000, size=(k, 2))
    cells = gpd.GeoDataFrame(
        {"population": rng.integers(1, 100, k)},
        geometry=[Point(p) for p in xy],
        crs="EPSG:25833",
    )
    limit = 20.0
    r = reach_population(net, cells, limit_min=limit, weight=lambda m: time_weight(m, 10, limit))
    # brute force: Dijkstra with every cell inserted into its link as a node (both ends,
    # partial link times, access legs; tests.test_indicators_access)
    t_all = oracle_seconds(net, xy)
    pop = cells["population"].to_numpy(float)
    checked = 0
    for i in range(k):
        if not np.isfinite(t_all[i, i]):
            assert np.isnan(r["population_within"].iloc[i])
            continue
        t = t_all[i]
        got = r["population_within"].iloc[i]
        assert got == pop[t <= limit * 60].sum()  # exact: the limit is never rounded
        want_w = (pop * time_weight(t / 60.0, 10, limit)).sum()
        assert r["weighted_population"].iloc[i] == pytest.approx(want_w, rel=0.012)
        checked += 1
    assert checked >= 100


def test_centrality_is_monotone_in_reachable_population(net):
    base = hand_cells()
    w0 = reach_population(net, base, weight=time_weight)["weighted_population"]
    grown = hand_cells([*POP[:9], POP[9] + 5000, POP[10]])  # node 9: 90 min from node 0
    w1 = reach_population(net, grown, weight=time_weight)["weighted_population"]
    far = hand_cells([*POP[:10], POP[10] + 5000])  # node 10: 100 min from node 0
    w2 = reach_population(net, far, weight=time_weight)["weighted_population"]
    assert w1.iloc[0] > w0.iloc[0]
    assert w2.iloc[0] == w0.iloc[0]  # beyond the 90-minute limit nothing counts
    mins = pd.DataFrame({"hospital_minutes": np.full(12, 30.0)}, index=base.index)
    ref = float(w1.max())
    s0 = centrality_scores(w0, mins, reference_population=ref)["score"]
    s1 = centrality_scores(w1, mins, reference_population=ref)["score"]
    ok = np.isfinite(s0.to_numpy())
    assert (s1[ok] >= s0[ok]).all() and s1.iloc[0] > s0.iloc[0]
    # nearer services raise the score too
    s_near = centrality_scores(
        w0, mins.assign(hospital_minutes=5.0), reference_population=ref
    )["score"]
    assert (s_near[ok] > s0[ok]).all()


def test_centrality_parts_and_weights():
    assert time_weight([0, 30, 60, 90, 91, np.inf]).tolist() == [1.0, 0.5, 0.25, 0.125, 0, 0]
    mins = pd.DataFrame({"a_minutes": [0.0, np.inf], "b_minutes": [30.0, 0.0]})
    s = centrality_scores([np.e - 1, 0.0], mins, reference_population=np.e - 1)
    assert s["jobs_part"].tolist() == pytest.approx([1.0, 0.0])
    assert s["services_part"].tolist() == pytest.approx([0.75, 0.5])
    assert s["score"].tolist() == pytest.approx([2 / 3 + 0.25, 1 / 6])


def test_classes_cover_every_value():
    v = np.array([1000, 990, 700, 420, 300.0, np.nan])
    b = class_thresholds(v)
    assert len(b) == 5 and b[0] < 1000 and b[-1] > 300
    cls = assign_classes(v, b)
    # steps of (1000 - 300) / 6 from 1000: 883.3, 766.7, 650, 533.3, 416.7
    np.testing.assert_allclose(b, [1000 - 700 / 6 * k for k in range(1, 6)])
    assert cls.tolist() == [1, 1, 3, 5, 6, 0]


def test_centrality_on_the_hand_grid(net):
    cells = hand_cells()
    sv = gpd.GeoDataFrame(
        {"service_id": ["h"], "service_type": ["hospital"], "name": ["H"]},
        geometry=[Point(50_000, 7_000_000)],
        crs="EPSG:25833",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = centrality(net, cells, sv)
    assert isinstance(c, Centrality)
    with pytest.warns(DeprecationWarning, match="attributes"):
        assert c["areas"] is c.areas  # the old dict read works for one release
    areas = c.areas.set_index("kommunenummer")
    assert set(areas.index) == {"k1", "k2", "k3"}
    assert areas["centrality_class"].between(1, 6).all()
    assert areas["centrality_index"].max() == pytest.approx(1000.0)
    assert areas["population"].sum() == cells["population"].sum()
    assert areas.loc["k3", "unconnected_population"] == OFF_ROAD[2]
    # k2 holds town B and the hospital: the most central
    assert areas["centrality_index"].idxmax() == "k2"
    # the kommune score is the population-weighted mean of its connected cells
    cc = c.cells
    k1 = cc[cc["kommunenummer"] == "k1"]
    assert areas.loc["k1", "score"] == pytest.approx(
        np.average(k1["score"], weights=k1["population"])
    )


def test_bad_parameters_are_named(net):
    cells = hand_cells()
    with pytest.raises(ValueError, match="limit_min"):
        reach_population(net, cells, limit_min=0)
    with pytest.raises(ValueError, match="time_bin_s"):
        reach_population(net, cells, time_bin_s=0)
    with pytest.raises(ValueError, match="weight"):
        reach_population(net, cells, weight=lambda m: -m)
    with pytest.raises(ValueError, match="half_life_min"):
        time_weight([1.0], half_life_min=0)
    with pytest.raises(ValueError, match="radius_km"):
        proximity_population(cells, radius_km=-1)


def test_centrality_classes_cover_every_kommune_of_a_county(n1000):
    """Real data: Finnmark's kommuner, network clipped 100 km around it."""
    from smaby_geo.network.core import clip_network
    from smaby_geo.pipeline import select_region
    from smaby_geo.places.population import read_kommuner, read_population_grid
    from smaby_geo.places.services import load_services

    kom = read_kommuner()
    sel = select_region(kom, "Finnmark")
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    net = clip_network(n1000, sel.geometry.union_all().buffer(100_000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = centrality(net, cells, load_services())
    areas = c.areas
    assert set(areas["kommunenummer"]) == set(sel["kommunenummer"])
    assert areas["centrality_class"].between(1, 6).all()
    assert areas["population"].sum() == cells["population"].sum()
    assert areas["centrality_index"].max() == pytest.approx(1000.0)
