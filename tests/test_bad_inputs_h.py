"""Bad inputs a read-only review found ending in a traceback: each now gives one line naming
the input and the fix (library: ValueError; CLI: exit code 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .conftest import tiny_network

# --- a. huge or non-finite coordinates: new_link and nearest_nodes --------------------------


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (1e308, 1e308, "too far from the network"),
        (1e200, 6.7e6, "too far from the network"),
        (np.inf, 6.7e6, "not finite"),
        (np.nan, 6.7e6, "not finite"),
        (-np.inf, -np.inf, "not finite"),
    ],
)
def test_nearest_nodes_refuses_a_point_with_no_nearest_node(x, y, match):
    net = tiny_network()
    with pytest.raises(ValueError, match=match):
        net.nearest_nodes([x], [y])


def test_nearest_nodes_still_answers_ordinary_points():
    net = tiny_network()
    nodes, dist = net.nearest_nodes([1100.0, -5.0], [6.7e6 + 30.0, 6.7e6])
    assert nodes.tolist() == [1, 0]
    np.testing.assert_allclose(dist, [np.hypot(100.0, 30.0), 5.0])


@pytest.mark.parametrize("big", [1e308, 1e200, -1e9])
def test_new_link_with_an_absurd_coordinate_is_refused(big):
    from smaby_geo.network.edits import NewLink

    with pytest.raises(ValueError, match=r"new_link: start coordinate .* EPSG:25833 metres"):
        NewLink(start=(big, 6.9e6), end=(280000, 6900000))


def test_scenario_file_with_a_huge_new_link_point_names_the_line(tmp_path):
    from smaby_geo.analysis.scenarios import read_scenario

    f = tmp_path / "huge.yaml"
    f.write_text(
        "name: huge\nedits:\n  - new_link: {start: [1e308, 1e308], end: [280000, 6900000]}\n"
    )
    with pytest.raises(ValueError, match=r"huge\.yaml, line 3 .*new_link: start coordinate"):
        read_scenario(f)


def test_cli_scenario_with_a_huge_new_link_point_exits_2(tmp_path, capsys):
    from smaby_geo.cli import main

    f = tmp_path / "huge.yaml"
    f.write_text(
        "name: huge\nedits:\n  - new_link: {start: [1e200, 6900000], end: [280000, 6900000]}\n"
    )
    rc = main(["scenario", str(f), "--region", "Tynset", "--no-map", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "new_link: start coordinate 1e+200" in err[0]


# --- b. --limit-min has a cap (one day), checked before any work ---------------------------


def _origins():
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame(
        {"population": [10.0, 20.0]},
        geometry=[Point(100.0, 6.7e6 + 50.0), Point(1900.0, 6.7e6 - 50.0)],
        crs="EPSG:25833",
    )


@pytest.mark.parametrize("limit_min", [1e12, 1441.0, np.inf, np.nan, 0.0, -5.0])
def test_reach_population_refuses_a_limit_beyond_one_day(limit_min):
    from smaby_geo.analysis.reach import reach_population

    # 1e12 minutes once asked numpy for 6e12 bins (1e9 for 44.7 GiB) before any check
    with pytest.raises(ValueError, match=r"^limit_min must be .* up to 1,440 .*got"):
        reach_population(tiny_network(), _origins(), limit_min=limit_min)


def test_reach_population_accepts_the_cap_itself():
    from smaby_geo.analysis.reach import MAX_LIMIT_MIN, reach_population

    out = reach_population(tiny_network(), _origins(), limit_min=MAX_LIMIT_MIN)
    assert out["population_within"].tolist() == [30.0, 30.0]


def test_cli_indicators_limit_min_beyond_the_cap_exits_2_before_any_work(capsys, monkeypatch):
    from smaby_geo import indicators_pipeline
    from smaby_geo.cli import main

    def no_work(*a, **k):
        raise AssertionError("the run started work before checking --limit-min")

    monkeypatch.setattr(indicators_pipeline, "read_kommuner_for_region", no_work)
    rc = main(["indicators", "--region", "Tynset", "--no-map", "--limit-min", "1e9"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--limit-min must be at most 1,440 minutes" in (err[0])


# --- c. a CSV table given as the road file -------------------------------------------------


def _csv(tmp_path, name="grid.csv"):
    f = tmp_path / name
    f.write_text("ssbid_1000m,pop_tot\n22650006700000,12\n22660006700000,3\n")
    return f


def test_check_line_layer_refuses_a_table_without_geometry():
    from smaby_geo.network._validate import check_line_layer

    with pytest.raises(ValueError, match=r"^roads x is a table with no geometry .*not a line"):
        check_line_layer(pd.DataFrame({"a": [1]}), "roads x")


@pytest.mark.parametrize("source", ["n1000", "nvdb"])
def test_load_network_of_a_csv_says_it_is_not_a_line_layer(tmp_path, source):
    from smaby_geo.network import load_network

    f = _csv(tmp_path)
    with pytest.raises(ValueError, match=r"grid\.csv.* not a line layer; give a GeoPackage"):
        load_network(source, f)


def test_cli_network_of_a_csv_exits_2_naming_the_file(tmp_path, capsys):
    from smaby_geo.cli import main

    f = _csv(tmp_path, "popgrid.csv")
    assert main(["network", "--path", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "popgrid.csv" in err[0] and "not a line layer" in err[0]


# --- d. a CSV, a line layer or an invalid polygon as the built-up layer --------------------

# a bow-tie ring (its edges cross at (500, 500)) and a square overlapping the crossing
_BOWTIE = [(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)]
_SQUARE = [(400, 400), (600, 400), (600, 600), (400, 600), (400, 400)]


def _builtup_file(tmp_path, geoms, name="builtup.gpkg"):
    import geopandas as gpd

    f = tmp_path / name
    x0, y0 = 280000.0, 6900000.0
    from shapely import affinity

    moved = [affinity.translate(g, x0, y0) for g in geoms]
    gpd.GeoDataFrame({"n": range(len(moved))}, geometry=moved, crs="EPSG:25833").to_file(f)
    return f


def test_read_builtup_of_a_csv_says_it_is_not_a_polygon_layer(tmp_path):
    from smaby_geo.network.linktimes import read_builtup

    with pytest.raises(ValueError, match=r"grid\.csv is a table with no geometry .*polygons"):
        read_builtup(_csv(tmp_path))


def test_towns_builtup_path_of_a_csv_says_it_is_not_a_polygon_layer(tmp_path):
    import smaby_geo as sg

    with pytest.raises(ValueError, match=r"grid\.csv is a table with no geometry .*polygons"):
        sg.towns(_origins(), builtup_path=_csv(tmp_path))


@pytest.mark.parametrize("kind", ["lines", "points"])
def test_towns_builtup_path_of_lines_or_points_is_refused(tmp_path, kind):
    from shapely.geometry import LineString, Point

    import smaby_geo as sg

    geom = LineString([(0, 0), (100, 0)]) if kind == "lines" else Point(0, 0)
    f = _builtup_file(tmp_path, [geom])
    want = "LineString" if kind == "lines" else "Point"
    with pytest.raises(ValueError, match=rf"builtup\.gpkg must hold polygons; found .*{want}"):
        sg.towns(_origins(), builtup_path=f)


def test_read_builtup_repairs_a_bowtie_and_says_so(tmp_path):
    import shapely

    from smaby_geo.network.linktimes import read_builtup, urban_fraction

    f = _builtup_file(tmp_path, [shapely.Polygon(_BOWTIE), shapely.Polygon(_SQUARE)])
    with pytest.warns(UserWarning, match=r"repaired 1 invalid polygons .*row labels \[0\]"):
        areas = read_builtup(f)
    assert areas.geometry.is_valid.all()
    # the two triangles of the bow-tie kept whole (area 2 x 250,000 m2), the square unchanged
    assert areas.geometry.area.tolist() == pytest.approx([500_000.0, 40_000.0])
    # the bow-tie's triangles: left (0,0)-(0,1000)-(500,500), right (1000,0)-(1000,1000)-(500,500)
    x0, y0 = 280000.0, 6900000.0
    lines = np.array(
        [  # x=50, y 0..1000: inside the left triangle for y 50..950 -> 900 of 1000 m
            shapely.LineString([(x0 + 50, y0), (x0 + 50, y0 + 1000)]),
            # y=100, x -1000..1000: inside for x 0..100 and 900..1000 -> 200 of 2000 m
            shapely.LineString([(x0 - 1000, y0 + 100), (x0 + 1000, y0 + 100)]),
        ]
    )
    np.testing.assert_allclose(urban_fraction(lines, areas), [0.9, 0.1])


def test_towns_builtup_path_with_a_bowtie_says_it_was_repaired(tmp_path):
    import shapely

    from smaby_geo.places.towns import read_builtup_areas

    f = _builtup_file(tmp_path, [shapely.Polygon(_BOWTIE), shapely.Polygon(_SQUARE)])
    with pytest.warns(UserWarning, match=r"builtup\.gpkg: repaired 1 invalid polygons"):
        areas = read_builtup_areas(f)
    assert areas.geometry.is_valid.all()
    # the square overlaps both triangles at the crossing: one area of all three parts
    assert areas["parts"].tolist() == [2]
    assert areas.geometry.area.sum() == pytest.approx(500_000.0 + 40_000.0 - 20_000.0)


# --- e. towns' distances and densities out of range ----------------------------------------


def _town_cells():
    import geopandas as gpd

    # two dense 250 m cells side by side and one sparse cell: one grid-cluster town
    x_sw = np.array([280000.0, 280250.0, 281000.0])
    y_sw = np.full(3, 6900000.0)
    return gpd.GeoDataFrame(
        {
            "x_sw": x_sw,
            "y_sw": y_sw,
            "cell_size_m": 250.0,
            "population": [300.0, 250.0, 2.0],
        },
        geometry=gpd.points_from_xy(x_sw + 125.0, y_sw + 125.0),
        crs="EPSG:25833",
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("merge_gap_m", np.inf),
        ("merge_gap_m", -1.0),
        ("merge_gap_m", 1e12),
        ("name_radius_m", -1.0),
        ("name_radius_m", np.nan),
        ("polygon_buffer_m", np.nan),
        ("polygon_buffer_m", -500.0),
        ("dense_per_km2", -1.0),
        ("dense_per_km2", np.inf),
        ("settled_per_km2", 0.0),
    ],
)
def test_build_towns_refuses_an_option_out_of_range(option, value):
    from smaby_geo.places.towns import build_towns

    with pytest.raises(ValueError, match=rf"^{option} must be a finite .*, got {value!r}$"):
        build_towns(_town_cells(), None, **{option: value})


def test_towns_merge_gap_inf_is_one_line_not_an_overflow():
    import smaby_geo as sg

    with pytest.raises(ValueError, match=r"^merge_gap_m must be a finite distance"):
        sg.towns(_town_cells(), merge_gap_m=np.inf)


def test_link_settlement_groups_refuses_an_infinite_gap():
    from smaby_geo.places.town_merge import link_settlement_groups

    with pytest.raises(ValueError, match=r"^merge_gap_m must be a finite number >= 0, got inf"):
        link_settlement_groups(
            [0, 2], [0, 0], [0, 1], [100.0, 100.0], cell_size_m=250.0, merge_gap_m=np.inf
        )


def test_build_towns_accepts_the_edges_of_each_range():
    from smaby_geo.places.towns import MAX_TOWN_GAP_M, build_towns

    for opts in (
        {"merge_gap_m": 0.0, "polygon_buffer_m": 0.0, "name_radius_m": 0.0},
        {"merge_gap_m": MAX_TOWN_GAP_M, "polygon_buffer_m": MAX_TOWN_GAP_M},
        {"merge_gap_m": None},
    ):
        t = build_towns(_town_cells(), None, village_min_population=200, **opts)
        assert t["population"].tolist() == [550.0]


# --- f. place names in another Unicode form, with odd spaces, or with no close match --------


def _places():
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"name": ["Ålesund", "Mo i Rana", "Sykkylven"], "place_type": ["by", "by", "tettsted"]},
        geometry=gpd.points_from_xy(
            [45000.0, 460000.0, 70000.0], [6960000.0, 7360000.0, 6930000.0]
        ),
        crs="EPSG:25833",
    )


@pytest.mark.parametrize(
    "typed",
    [
        "A\u030alesund",  # NFD: A + combining ring above, looks like Ålesund
        "\u00c5lesund",  # NFC
        " \u00e5lesund\u00a0",  # lower case, a non-breaking space at the end
    ],
)
def test_find_place_matches_any_unicode_form(typed):
    from smaby_geo.places.placenames import find_place

    assert find_place(typed, _places()) == (45000.0, 6960000.0)


def test_find_place_treats_a_non_breaking_space_as_a_space():
    from smaby_geo.places.placenames import find_place

    assert find_place("Mo\u00a0i\u00a0 Rana", _places()) == (460000.0, 7360000.0)


def test_find_place_of_nfd_alesund_in_the_real_place_names():
    import unicodedata

    from smaby_geo.places.placenames import find_place

    nfd = unicodedata.normalize("NFD", "Ålesund")
    assert nfd != "Ålesund"
    assert find_place(nfd) == find_place("Ålesund")


def test_find_place_without_close_matches_does_not_list_an_empty_one():
    from smaby_geo.places.placenames import find_place

    with pytest.raises(KeyError) as ex:
        find_place("Qqqzzxw", _places())
    msg = str(ex.value.args[0])
    assert "close matches: []" not in msg and "no close matches; check the spelling" in msg


def test_cli_route_of_an_unknown_place_is_one_line_without_an_empty_list(capsys):
    from smaby_geo.cli import main

    assert main(["route", "Qqqzzxw", "Sykkylven"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'Qqqzzxw' not found" in err[0] and "[]" not in err[0]
