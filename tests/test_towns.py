"""Towns and hinterlands on a hand-made grid where every figure can be computed by hand.

The road runs east along y = 7,000,000 from x = 0 to 100 km with a node every 10 km and
10 minutes per 10 km link, so node k to node j takes 10 |k - j| minutes. Each 1 km grid cell
sits exactly on a node (no access leg). Town A (6,000 residents, a small town) is at node 0,
town B (20,000, a town) at node 5; one cell lies 50 km off the road (not road-connected).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from smaby_geo.analysis.hinterlands import (
    Hinterlands,
    hinterlands,
    hosted_services,
    summarise_hinterlands,
)
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.network.readers import network_from_lines
from smaby_geo.places.towns import (
    build_towns,
    classify_population,
    merge_touching,
    town_centres,
)

Y0 = 7_000_000.0
POP = [6000, 100, 200, 300, 400, 20000, 500, 50, 60, 70, 80]
OFF_ROAD = (50_000.0, Y0 + 50_000.0, 10)  # x, y, residents: 50 km from any road
KOMMUNE = ["k1"] * 4 + ["k2"] * 4 + ["k3"] * 3


def hand_network():
    xs = np.arange(0, 110_000, 10_000.0)
    g = gpd.GeoDataFrame(
        {"t": np.full(10, 10.0)},
        geometry=[LineString([(xs[i], Y0), (xs[i + 1], Y0)]) for i in range(10)],
        crs="EPSG:25833",
    )
    return network_from_lines(g, time_column="t", time_unit="min", attribution="test roads")


def hand_cells(pop=None):
    pop = list(POP if pop is None else pop)
    xs = [k * 10_000.0 for k in range(11)] + [OFF_ROAD[0]]
    ys = [Y0] * 11 + [OFF_ROAD[1]]
    pops = [*pop, OFF_ROAD[2]]
    kom = [*KOMMUNE, "k3"]
    cells = gpd.GeoDataFrame(
        {
            "population": np.array(pops, dtype=np.int64),
            "x_sw": np.array(xs) - 500.0,
            "y_sw": np.array(ys) - 500.0,
            "cell_size_m": 1000,
            "kommunenummer": kom,
            "kommunenavn": kom,
            "fylkesnavn": "F",
        },
        index=pd.Index([f"c{i}" for i in range(12)], name="cell_id"),
        geometry=[Point(x, y) for x, y in zip(xs, ys, strict=True)],
        crs="EPSG:25833",
    )
    cells.attrs["attribution"] = "test grid"
    return cells


def hand_builtup():
    # squares around towns A (node 0) and B (node 5)
    return gpd.GeoDataFrame(
        geometry=[box(-400, Y0 - 400, 400, Y0 + 400), box(49_600, Y0 - 400, 50_400, Y0 + 400)],
        crs="EPSG:25833",
    )


def hand_names():
    return gpd.GeoDataFrame(
        {
            "name": ["Aby", "Bby", "Bgiella", "Krok-", "elva"],
            "place_type": ["by", "by", "by", "tettsted", "tettsted"],
        },
        geometry=[
            Point(0, Y0 + 1000),
            Point(50_000, Y0 + 1500),
            Point(50_100, Y0 - 500),  # a parallel name printed under Bby
            Point(30_000, Y0 + 900),
            Point(30_100, Y0 - 300),  # "Krok-" / "elva": one name over two lines
        ],
        crs="EPSG:25833",
    )


@pytest.fixture(scope="module")
def built():
    cells = hand_cells()
    towns, cell_town = build_towns(
        cells, hand_builtup(), place_names=hand_names(), return_cells=True
    )
    return cells, towns, cell_town


def test_classes_follow_named_thresholds():
    got = classify_population([199, 200, 4999, 5000, 14_999, 15_000, 49_999, 50_000])
    assert got.tolist() == [
        "",
        "village",
        "village",
        "small_town",
        "small_town",
        "town",
        "town",
        "large_city",
    ]
    with pytest.raises(ValueError, match="thresholds"):
        classify_population([1], small_town_min_population=20_000)


def test_towns_from_polygons_and_grid_clusters(built):
    _, towns, cell_town = built
    by_name = towns.set_index("name")
    assert by_name.loc["Aby", "town_class"] == "small_town"
    assert by_name.loc["Aby", "population"] == 6000
    assert by_name.loc["Aby", "source"] == "n1000_builtup"
    # Bgiella is printed under Bby: the town keeps the primary name
    assert by_name.loc["Bby", "town_class"] == "town"
    assert by_name.loc["Bby", "population"] == 20000
    # dense cells (>= 300 per km²) outside every polygon become grid-cluster villages
    clusters = towns[towns["source"] == "grid_cluster"].set_index("population")
    assert sorted(clusters.index) == [300, 400, 500]
    assert clusters.loc[300, "name"] == "Krokelva"
    assert (clusters["town_class"] == "village").all()
    assert towns.loc[cell_town["c3"], "population"] == 300
    # the 50-200 resident cells are in no town
    assert (cell_town[["c1", "c2", "c7", "c8", "c9", "c10", "c11"]] == -1).all()


def test_town_population_is_conserved(built):
    cells, towns, cell_town = built
    outside = cells.loc[cell_town == -1, "population"].sum()
    assert towns["population"].sum() + outside == cells["population"].sum()
    per_town = cells.groupby(cell_town)["population"].sum().drop(-1, errors="ignore")
    assert (per_town.sort_index().to_numpy() == towns["population"].sort_index().to_numpy()).all()


def test_merge_touching_joins_overlapping_outlines():
    g = gpd.GeoDataFrame(
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(100, 0, 110, 10)],
        crs="EPSG:25833",
    )
    m = merge_touching(g)
    assert sorted(m["parts"]) == [1, 2]


def test_hinterlands_is_a_result_type_and_dict_reads_still_work(hint):
    assert isinstance(hint, Hinterlands)
    with pytest.warns(DeprecationWarning, match="attributes"):
        assert hint["cells"] is hint.cells and hint["towns"] is hint.towns


@pytest.fixture(scope="module")
def hint(built):
    cells, towns, cell_town = built
    services = gpd.GeoDataFrame(
        {"service_id": ["h1"], "service_type": ["hospital"], "name": ["B <hospital>"]},
        geometry=[Point(50_000, Y0)],
        crs="EPSG:25833",
    )
    return hinterlands(hand_network(), cells, towns, cell_town, services)


def test_nearest_town_and_minutes_by_hand(hint):
    c = hint.cells
    # node k: 10k minutes to A (node 0), 10|k-5| to B (node 5); ties would go to the first
    expect_town = ["Aby"] * 3 + ["Bby"] * 8
    expect_min = [min(10 * k, 10 * abs(k - 5)) for k in range(11)]
    assert c["nearest_town"].iloc[:11].tolist() == expect_town
    np.testing.assert_allclose(c["minutes_to_town"].iloc[:11], expect_min)
    # the off-road cell is not road-connected: no town, infinite minutes, never attached
    assert not c["road_connected"].iloc[11]
    assert c["nearest_town_id"].iloc[11] == -1
    assert np.isinf(c["minutes_to_town"].iloc[11])
    # rural = outside every centre (villages included)
    assert c["rural"].tolist() == [False] + [True] * 4 + [False] + [True] * 6
    # whether the nearest town offers the service
    assert c["town_has_hospital"].iloc[:11].tolist() == [False] * 3 + [True] * 8


def test_gross_reach_and_exclusive_hinterlands_by_hand(hint):
    t = hint.towns.set_index("name")
    a, b = t.loc["Aby"], t.loc["Bby"]
    # A: nodes within 15 / 30 / 45 / 60 minutes
    assert a["population_within_15"] == 6000 + 100
    assert a["population_within_30"] == 6000 + 100 + 200 + 300
    assert a["population_within_45"] == 7000
    assert a["population_within_60"] == 7000 + 20000 + 500
    # ... of which nearer to B: nodes 3, 4 (30, 40 min) and 5, 6 (60 min)
    assert a["nearer_other_30"] == 300
    assert a["nearer_other_60"] == 300 + 400 + 20000 + 500
    assert a["rural_within_30"] == 100 + 200 + 300
    # exclusive: A is nearest among all centres for nodes 0-2; B, the only town, for all
    assert a["exclusive_population"] == 6300
    assert a["exclusive_rural_population"] == 300
    total_connected = sum(POP)
    assert b["exclusive_population"] == total_connected
    assert b["exclusive_rural_population"] == total_connected - 26000
    # services: B hosts the hospital, A's nearest is 50 minutes away
    assert b["hospital_sites"] == 1 and a["hospital_sites"] == 0
    assert a["hospital_nearest_minutes"] == pytest.approx(50.0, abs=0.1)
    assert a["hospital_nearest_name"] == "B <hospital>"


def test_population_conserved_in_every_partition(hint, built):
    cells = built[0]
    total = cells["population"].sum()
    c = hint.cells
    t = hint.towns
    unreachable = hint.cells.attrs["unreachable_population"]
    assert unreachable == OFF_ROAD[2]
    # by nearest centre
    assert c.groupby("nearest_town_id")["population"].sum().sum() == total
    assert c.loc[c["nearest_town_id"] >= 0, "population"].sum() + unreachable == total
    # by exclusive hinterland at the top level (towns compete with towns only)
    top = t[t["exclusive_level"] == "town"]["exclusive_population"].sum()
    assert top + c.attrs["unreachable_by_level"]["2"] == total
    # by kommune and by any grouping
    k = summarise_hinterlands(c)
    assert k["population"].sum() == total
    assert k.set_index("kommunenummer")["population"].to_dict() == {
        "k1": 6600,
        "k2": 20950,
        "k3": 220,
    }
    g = summarise_hinterlands(c, "region", groups=pd.Series("R", index=c.index[:5]))
    assert g["population"].sum() == total
    assert set(g["region"]) == {"R", "unknown"}


def test_a_region_counts_every_resident_in_the_centres_figures(hint, built):
    """With ``region`` the cell table holds the region's cells, but a centre's reach and
    exclusive figures still count every cell passed: a region's run must not shrink them to
    the region's residents. Region: kommune k3 (nodes 8-10, 80-100 min from A, and the
    off-road cell)."""
    cells, towns, cell_town = built
    region = (cells["kommunenummer"] == "k3").to_numpy()
    services = gpd.GeoDataFrame(
        {"service_id": ["h1"], "service_type": ["hospital"], "name": ["B <hospital>"]},
        geometry=[Point(50_000, Y0)],
        crs="EPSG:25833",
    )
    h = hinterlands(hand_network(), cells, towns, cell_town, services, region=region)
    t = h.towns.set_index("name")
    a, b = t.loc["Aby"], t.loc["Bby"]
    # by hand, as without a region: no k3 resident is within 60 min of A
    assert a["population_within_15"] == 6000 + 100
    assert a["population_within_60"] == 7000 + 20000 + 500
    assert a["nearer_other_60"] == 300 + 400 + 20000 + 500
    assert a["rural_within_30"] == 100 + 200 + 300
    assert a["exclusive_population"] == 6300
    assert b["exclusive_population"] == sum(POP)
    # every column of the run without a region, unchanged
    shared = [c for c in h.towns.columns if not c.startswith("region_")]
    pd.testing.assert_frame_equal(h.towns[shared], hint.towns)
    # the region's own figures: nodes 8-10 (60 + 70 + 80 residents) go to B, the off-road
    # cell (10) to no centre; these partition the region's population at each level
    assert a["region_exclusive_population"] == 0
    assert b["region_exclusive_population"] == 210
    assert b["region_exclusive_rural_population"] == 210
    assert h.towns.attrs["region_unreachable_population"] == OFF_ROAD[2]
    assert h.towns.attrs["region_unreachable_by_level"] == {"1": 10.0, "2": 10.0}
    assert h.towns.attrs["unreachable_population"] == OFF_ROAD[2]
    # the cell table: the region's cells, each as in the run without a region
    assert h.cells.index.tolist() == ["c8", "c9", "c10", "c11"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(h.cells), pd.DataFrame(hint.cells.loc[h.cells.index])
    )
    assert h.cells.attrs["unreachable_population"] == OFF_ROAD[2]
    assert h.cells.attrs["unreachable_by_level"] == {"1": 10.0, "2": 10.0}
    # a region leaving out the off-road cell: nobody of it is unreachable
    k1 = (cells["kommunenummer"] == "k1").to_numpy()
    h1 = hinterlands(hand_network(), cells, towns, cell_town, region=pd.Series(k1, cells.index))
    assert h1.cells.attrs["unreachable_population"] == 0
    assert h1.towns.attrs["unreachable_population"] == OFF_ROAD[2]
    t1 = h1.towns.set_index("name")
    # k1 = nodes 0-3: A is nearest for nodes 0-2 (6,300), B for node 3 (300) and, at the
    # town level, for all of them (6,600)
    assert t1.loc["Aby", "region_exclusive_population"] == 6300
    assert t1.loc["Bby", "region_exclusive_population"] == 6600
    assert t1.loc["Aby", "population_within_60"] == 27500
    # its map marks each centre with the region's figure, the residents of the areas drawn
    from smaby_geo.outputs.indicator_maps import map_hinterlands

    html = map_hinterlands(h1.cells, h1.towns, title="t").get_root().render()
    assert "Bby (town, 20,000 residents); exclusive rural in the region: 600" in html
    assert "exclusive rural: " not in html  # not B's 1,760 of every cell, over k1's areas
    # a region that is not one bool per cell names the fix
    with pytest.raises(ValueError, match="one bool per cell"):
        hinterlands(hand_network(), cells, towns, cell_town, region=k1[:3])
    with pytest.raises(ValueError, match="one bool per cell"):
        hinterlands(hand_network(), cells, towns, cell_town, region=np.flatnonzero(k1))


def test_summary_shares_by_hand(hint):
    k = summarise_hinterlands(hint.cells).set_index("kommunenummer")
    # k1: rural cells nodes 1-3 (10, 20, 20 min) -> all within 30
    assert k.loc["k1", "rural_share_within_30"] == 1.0
    # k3: nodes 8-10 at 30, 40, 50 minutes (60, 70, 80 residents) + 10 unreachable
    assert k.loc["k3", "unreachable_rural_population"] == 10
    assert k.loc["k3", "rural_share_within_30"] == pytest.approx(60 / 220)
    assert k.loc["k3", "rural_share_within_45"] == pytest.approx(130 / 220)
    assert k.loc["k3", "rural_median_minutes"] == pytest.approx(40.0)


def test_hosted_services_uses_the_buffer(built):
    towns = built[1]
    sv = gpd.GeoDataFrame(
        {"service_type": ["court", "court"]},
        geometry=[Point(2_000, Y0), Point(20_000, Y0)],
        crs="EPSG:25833",
    )
    h = hosted_services(towns, sv, host_buffer_m=3000)
    by = h.join(towns["name"]).set_index("name")
    assert by.loc["Aby", "court_sites"] == 1
    assert by["court_sites"].sum() == 1  # the site 20 km out belongs to no town


def test_bad_inputs_name_the_fix(built):
    cells, towns, cell_town = built
    with pytest.raises(ValueError, match="centre_min_class"):
        hinterlands(hand_network(), cells, towns, cell_town, centre_min_class="metropolis")
    with pytest.raises(ValueError, match="indexed like cells"):
        hinterlands(hand_network(), cells, towns, cell_town.iloc[:3])
    with pytest.raises(ValueError, match="limits"):
        hinterlands(hand_network(), cells, towns, cell_town, limits_min=[30, 15])
    with pytest.raises(ValueError, match="x_sw"):
        build_towns(cells.drop(columns="x_sw"))


def test_places_under_village_min_are_no_towns():
    cells = hand_cells()
    towns, cell_town = build_towns(
        cells, hand_builtup(), village_min_population=350, return_cells=True
    )
    assert sorted(towns["population"]) == [400, 500, 6000, 20000]
    assert cell_town["c3"] == -1  # the 300-resident cluster is rural
    outside = cells.loc[cell_town == -1, "population"].sum()
    assert towns["population"].sum() + outside == cells["population"].sum()


def test_town_names_are_escaped_on_maps(built):
    from smaby_geo.outputs.indicator_maps import map_hinterlands, map_towns

    _, towns, _ = built
    evil = "<img src=x onerror=alert(1)>"
    t = towns.copy()
    t.loc[t["name"] == "Aby", "name"] = evil
    t.attrs = dict(towns.attrs)
    html = map_towns(t).get_root().render()
    assert evil not in html and "&lt;img src=x" in html
    assert "Data: © Kartverket | test grid" in html  # the attribution on every map
    cells = hand_cells()
    tw, ct = build_towns(cells, hand_builtup(), return_cells=True)
    tw.loc[tw["population"] == 6000, "name"] = evil
    h = hinterlands(hand_network(), cells, tw, ct)
    html = map_hinterlands(h.cells, h.towns, title="t", attribution="Kilde: SSB").get_root()
    html = html.render()
    assert evil not in html and "Kilde: SSB" in html


def test_cli_towns_and_indicators_on_a_kommune(tmp_path, capsys):
    import json

    import pyarrow.parquet as pq

    from smaby_geo.cli import main

    assert main(["towns", "--region", "Hamar", "--buffer-km", "60", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Rural residents" in out and "Stage timings" in out
    cells = gpd.read_parquet(tmp_path / "hinterland_cells_hamar_250m.parquet")
    assert set(cells["kommunenummer"]) == {"3403"}
    k = pd.read_csv(tmp_path / "hinterland_kommuner_hamar.csv", dtype={"kommunenummer": str})
    assert k["population"].sum() == cells["population"].sum()
    r = pd.read_csv(tmp_path / "hinterland_regions_hamar.csv")
    assert r["population"].sum() == cells["population"].sum()
    meta = json.loads(
        pq.read_schema(tmp_path / "towns_hamar.parquet").metadata[b"smaby_geo"]
    )
    assert "© Kartverket" in meta["attribution"] and "Kilde: SSB" in meta["attribution"]
    for name in ("map_towns_hamar.html", "map_minutes_to_town_hamar.html",
                 "map_hinterlands_hamar_innlandet.html"):
        html = (tmp_path / name).read_text()
        assert "smaby-legend" in html and "Kilde: SSB" in html
    assert main(["indicators", "--region", "Hamar", "--buffer-km", "60", "--out",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Centrality index" in out and "Transport performance" in out
    c = pd.read_csv(tmp_path / "centrality_kommuner_hamar.csv", dtype={"kommunenummer": str})
    assert c["kommunenummer"].tolist() == ["3403"] and c["centrality_class"].iloc[0] == 1
    tp = gpd.read_parquet(tmp_path / "transport_performance_cells_hamar_1km.parquet")
    assert set(tp["kommunenummer"]) == {"3403"} and tp["road_connected"].all()
    # 120 km around Hamar holds more people than 90 minutes of road reach
    assert (tp["accessibility"] < tp["proximity"]).all()
    assert (tp["transport_performance"] > 0).all()
    for name in ("map_centrality_hamar.html", "map_transport_performance_hamar.html"):
        assert "Kilde: SSB" in (tmp_path / name).read_text()
    assert not list(tmp_path.glob(".*part*"))


def test_no_centre_in_reach_leaves_every_cell_without_one(built):
    cells, towns, cell_town = built
    with pytest.warns(UserWarning, match="no road-connected town"):
        h = hinterlands(hand_network(), cells, towns, cell_town, centre_min_class="large_city")
    c = h.cells
    assert (c["nearest_town_id"] == -1).all() and np.isinf(c["minutes_to_town"]).all()
    assert c.attrs["unreachable_population"] == cells["population"].sum()
    assert len(h.towns) == 0


def test_cli_bad_input_is_one_clear_line(capsys):
    from smaby_geo.cli import main

    assert main(["towns", "--region", "Tynsett"]) != 0
    err = capsys.readouterr().err
    assert "close matches" in err and "Traceback" not in err
    assert main(["indicators", "--limit-min", "-5"]) != 0
    assert "--limit-min" in capsys.readouterr().err
    # 1e-9 minutes reached nobody and failed deep inside ("reference_population must be > 0"),
    # inf named the library's limit_min: each names the option now, before any computing
    for option, value in (("--limit-min", "1e-9"), ("--limit-min", "inf"),
                          ("--half-life-min", "nan")):
        assert main(["indicators", "--region", "Tynset", option, value]) == 2
        err = capsys.readouterr().err
        assert f"{option} must be a finite number of minutes >= 1, got" in err, err


def test_population_thresholds_say_population_and_the_old_names_warn():
    """``*_min`` meant minutes elsewhere: the thresholds are ``*_min_population`` now."""
    pop = [150, 250, 4_000, 6_000, 20_000, 60_000]
    new = classify_population(pop, village_min_population=300, town_min_population=25_000)
    assert list(new) == ["", "", "village", "small_town", "small_town", "large_city"]
    with pytest.warns(DeprecationWarning, match="village_min_population"):
        old = classify_population(pop, village_min=300, town_min_population=25_000)
    assert list(old) == list(new)
    with pytest.raises(TypeError, match="both"):
        classify_population(pop, village_min=300, village_min_population=300)


def test_hinterlands_are_the_same_on_a_contraction_hierarchy(built):
    """With a hierarchy the rows come in sweep order; each cell must read its own column."""
    from smaby_geo.routing.api import prepare

    cells, towns, cell_town = built
    plain = hinterlands(hand_network(), cells, towns, cell_town)
    net = hand_network()
    prepare(net)
    fast = hinterlands(net, cells, towns, cell_town)
    assert (fast.towns["population_within_60"] > 0).any()
    pd.testing.assert_frame_equal(fast.towns, plain.towns)
    pd.testing.assert_frame_equal(fast.cells, plain.cells)


def test_towns_outputs_are_one_set_and_a_rerun_replaces_it(tmp_path, capsys):
    """The towns job writes through a staging folder with a manifest; a rerun without maps
    removes the maps of the run before (no mixed set). Two regions of one county in the same
    folder keep their own sets: the county map was one file for both (Utsira and Sola wrote,
    and a rerun deleted, each other's map_hinterlands_rogaland.html)."""
    import hashlib
    import json

    from smaby_geo.cli import main

    def intact(slug):
        meta = json.loads((tmp_path / f"towns_run_{slug}.json").read_text())
        for name, digest in meta["files"].items():
            assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
        return set(meta["files"])

    args = ["towns", "--buffer-km", "20", "--no-regions", "--out", str(tmp_path)]
    assert main([*args, "--region", "Tynset"]) == 0
    maps = sorted(p.name for p in tmp_path.glob("map_*.html"))
    assert maps and (tmp_path / "towns_run_tynset.json").exists()
    assert main([*args, "--region", "Folldal"]) == 0  # Innlandet too
    tynset, folldal = intact("tynset"), intact("folldal")
    assert {n for n in tynset | folldal if n.startswith("map_hinterlands_")} == {
        "map_hinterlands_tynset_innlandet.html",
        "map_hinterlands_folldal_innlandet.html",
    }
    assert main([*args, "--region", "Tynset", "--no-map"]) == 0
    capsys.readouterr()
    assert [p.name for p in tmp_path.glob("map_*tynset*.html")] == []
    assert intact("folldal") == folldal  # the other region's maps are still there
    on_disk = {p.name for p in tmp_path.iterdir()}
    manifests = {"towns_run_tynset.json", "towns_run_folldal.json"}
    assert on_disk == intact("tynset") | folldal | manifests
    assert not [p for p in tmp_path.parent.iterdir() if "smaby-staging" in p.name]


def test_a_region_gets_the_national_figures_even_where_its_centre_lies_beyond_the_buffer(
    tmp_path, capsys
):
    """Tynset's nearest centres (Orkanger, Elverum) lie about 2 h away, beyond a 20 km buffer.
    A clipped network once gave all 5,554 residents Orkanger, some up to 36 min late; the
    region's cells must get exactly the national run's nearest centre and minutes, and every
    centre listed the national run's figures (a run that counted the region's residents only
    gave Orkanger 0 residents within 60 min instead of 271,473)."""
    import json

    from smaby_geo.cli import main

    common = ["towns", "--no-map", "--no-regions", "--out"]
    assert main([*common, str(tmp_path / "norway")]) == 0
    reg = ["--region", "Tynset", "--buffer-km", "20"]
    assert main([*common, str(tmp_path / "tynset"), *reg]) == 0
    # the printed table says whose residents each column counts
    assert "exclusive rural in region | rural within 45 min (all Norway)" in (
        capsys.readouterr().out
    )
    nat = gpd.read_parquet(tmp_path / "norway" / "hinterland_cells_norway_250m.parquet")
    got = gpd.read_parquet(tmp_path / "tynset" / "hinterland_cells_tynset_250m.parquet")
    assert set(got["kommunenavn"]) == {"Tynset"} and len(got) > 100
    want = nat.loc[got.index]
    assert (want["kommunenavn"] == "Tynset").all() and len(want) == (nat["kommunenavn"] ==
                                                                     "Tynset").sum()
    # more than one nearest centre, each far beyond the buffer (a clipped run gave one)
    assert want["nearest_town"].nunique() >= 2 and want["minutes_to_town"].min() > 60
    assert got["nearest_town"].tolist() == want["nearest_town"].tolist()
    np.testing.assert_array_equal(got["minutes_to_town"], want["minutes_to_town"])
    centres = pd.read_csv(tmp_path / "tynset" / "town_hinterlands_tynset.csv", index_col=0)
    # each listed centre's figures count every resident of the country: every column named
    # as in the national run holds the national run's value (Tynset's own residents are all
    # over 60 min from every centre, so counting only them gave Orkanger, Elverum and the
    # others nobody within 60 min)
    national = pd.read_csv(tmp_path / "norway" / "town_hinterlands_norway.csv", index_col=0)
    assert set(centres.index) <= set(national.index)
    shared = [c for c in national.columns if c in centres.columns]
    assert "population_within_60" in shared and "exclusive_population" in shared
    pd.testing.assert_frame_equal(centres[shared], national.loc[centres.index, shared])
    assert (centres["population_within_60"] > 10 * got["population"].sum()).sum() >= 3
    assert set(centres.columns) - set(shared) == {
        "region_exclusive_population", "region_exclusive_rural_population"
    }
    # every centre a resident goes to is listed, with the region's exclusive rural population:
    # all of them for a small town (its level holds every centre), at least them for a larger
    # one (its level leaves the small towns out, so it may also serve their residents)
    by_town = want.groupby("nearest_town")["population"].sum()
    listed = centres.set_index("name")["region_exclusive_rural_population"]
    cls = centres.set_index("name")["town_class"]
    for town, people in by_town.items():
        assert listed[town] == people if cls[town] == "small_town" else listed[town] >= people
    # the large cities' exclusive hinterlands cover everyone (Trondheim, beyond the buffer)
    big = centres[centres["town_class"] == "large_city"]
    assert len(big) >= 1
    assert big["region_exclusive_population"].sum() == got["population"].sum()
    meta = json.loads((tmp_path / "tynset" / "towns_run_tynset.json").read_text())
    assert "whole network" in meta["routing"]
    assert "population_within_<T>" in meta["town_figures"]["national"]
    assert "region_exclusive_population" in meta["town_figures"]["region_only"]


def test_every_cell_without_a_centre_says_why_and_the_people_are_counted(hint, built):
    from smaby_geo.analysis.hinterlands import REASON_NO_CENTRE
    from smaby_geo.places.snapping import REASON_NO_ROAD
    from smaby_geo.towns_pipeline import headline_figures

    c = hint.cells
    gone = ~np.isfinite(c["minutes_to_town"])
    assert gone.sum() == 1  # the off-road cell, 50 km from any road
    assert c.loc[gone, "unreachable_reason"].iloc[0].startswith(REASON_NO_ROAD)
    assert (c.loc[~gone, "unreachable_reason"] == "").all()
    assert c.attrs["unreachable_by_reason"] == {
        c.loc[gone, "unreachable_reason"].iloc[0]: float(OFF_ROAD[2])
    }
    # no centre of the class in reach: the cells on the road say so, the off-road one its own
    cells, towns, cell_town = built
    with pytest.warns(UserWarning, match="no road-connected town"):
        h = hinterlands(hand_network(), cells, towns, cell_town, centre_min_class="large_city")
    why = h.cells["unreachable_reason"].astype(str)
    assert (why[h.cells["road_connected"]] == REASON_NO_CENTRE).all()
    assert why[~h.cells["road_connected"]].str.startswith(REASON_NO_ROAD).all()
    total = int(cells["population"].sum())
    assert sum(h.cells.attrs["unreachable_by_reason"].values()) == total
    # the headline counts them, by reason
    k = summarise_hinterlands(h.cells)
    head = headline_figures(towns, h.towns, h.cells, k)
    assert head["unreachable_population"] == total
    assert head["unreachable_by_reason"][REASON_NO_CENTRE] == total - OFF_ROAD[2]


# A long link A-B (10 min) with a cell 3 km from A (30 % along). Beyond A a centre Q 5 min
# away; beyond B a centre R half a minute away. The cell reaches A sooner (3 min against 7),
# yet R through B (7 + 0.5) is nearer than Q through A (3 + 5): the rule that attached a cell
# at the end it reaches soonest without the partial link time gave Q at 5 min.
def long_link_network():
    g = gpd.GeoDataFrame(
        {"t": [5.0, 10.0, 0.5]},
        geometry=[
            LineString([(-5_000, Y0), (0, Y0)]),  # Q - A
            LineString([(0, Y0), (10_000, Y0)]),  # A - B, the long link
            LineString([(10_000, Y0), (10_500, Y0)]),  # B - R
        ],
        crs="EPSG:25833",
    )
    return network_from_lines(g, time_column="t", time_unit="min", attribution="test roads")


def centre_towns(xs, names):
    return gpd.GeoDataFrame(
        {
            "name": names,
            "town_class": "small_town",
            "population": 5000,
            "centre_x": np.asarray(xs, dtype=float),
            "centre_y": Y0,
        },
        geometry=[box(x - 100, Y0 - 100, x + 100, Y0 + 100) for x in xs],
        crs="EPSG:25833",
    )


def long_link_cells(xs, pops):
    return gpd.GeoDataFrame(
        {"population": np.asarray(pops, dtype=np.int64), "kommunenummer": "k"},
        index=pd.Index([f"c{i}" for i in range(len(xs))], name="cell_id"),
        geometry=[Point(x, Y0 + 100) for x in xs],
        crs="EPSG:25833",
    )


def test_a_cell_on_a_long_link_gets_the_main_jobs_exact_minutes_and_centre():
    net = long_link_network()
    cells = long_link_cells([3_000.0, 8_000.0, -2_000.0], [100, 10, 1])
    towns = centre_towns([-5_000.0, 10_500.0], ["Q", "R"])
    cell_town = pd.Series(-1, index=cells.index)
    h = hinterlands(net, cells, towns, cell_town, limits_min=(6.0, 8.0, 11.0))
    # the oracle: the main job's travel_times with the centres as sites
    sites = town_centres(towns).assign(kind="centre", service_id=towns["name"].to_numpy())
    tt = travel_times(net, cells, sites, type_column="kind")
    np.testing.assert_allclose(h.cells["minutes_to_town"], tt["centre_minutes"], rtol=1e-12)
    assert h.cells["nearest_town"].tolist() == tt["centre_name"].tolist()
    # by hand: 100 m off the road is 15.6 s of access leg
    leg_min = 100 * 1.3 / (30 / 3.6) / 60
    assert h.cells.loc["c0", "nearest_town"] == "R"
    assert h.cells.loc["c0", "minutes_to_town"] == pytest.approx(7.5 + leg_min)
    # gross reach: the cell is 8 min + leg from Q and 7.5 min + leg from R
    t = h.towns.set_index("name")
    assert t.loc["Q", "population_within_6"] == 1  # only c2: 3 min along Q-A + leg
    assert t.loc["Q", "population_within_11"] == 101
    assert t.loc["R", "population_within_8"] == 110
    assert t.loc["R", "nearer_other_8"] == 0
    assert t.loc["Q", "nearer_other_11"] == 100
    assert t.loc["R", "rural_within_8"] == 110


def test_a_cell_on_a_centres_own_link_goes_directly_along_it():
    net = long_link_network()
    # centre S 6 km along A-B; the cell 3 km along: 3 min directly, 3 + 6 via A or 7 + 4 via B
    cells = long_link_cells([3_000.0], [100])
    towns = centre_towns([6_000.0], ["S"])
    h = hinterlands(net, cells, towns, pd.Series(-1, index=cells.index), limits_min=(5.0,))
    sites = town_centres(towns).assign(kind="centre", service_id=["S"])
    tt = travel_times(net, cells, sites, type_column="kind")
    leg_min = 100 * 1.3 / (30 / 3.6) / 60
    assert h.cells["minutes_to_town"].iloc[0] == pytest.approx(3.0 + leg_min)
    np.testing.assert_allclose(h.cells["minutes_to_town"], tt["centre_minutes"], rtol=1e-12)
    assert h.towns["population_within_5"].iloc[0] == 100
