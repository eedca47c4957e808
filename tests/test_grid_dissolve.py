"""Catchment polygons traced on the grid, bulk polygon building and the map's raw scripts."""

import numpy as np
import pandas as pd
import pytest
import shapely
from rasterio.features import shapes
from rasterio.transform import from_origin
from shapely.geometry import shape

from smaby_geo.places.grid import cell_squares, dissolve_cells, polygons_from_shapes


def _grid(labels: np.ndarray, size: float = 250.0, x0: float = 250_000.0, y0: float = 6.9e6):
    """Grid-cell table from a 2-D array of labels (None = no cell), row 0 = north."""
    rows, cols = np.nonzero(np.vectorize(lambda v: v is not None)(labels))
    h = labels.shape[0]
    return pd.DataFrame(
        {
            "x_sw": x0 + cols * size,
            "y_sw": y0 + (h - 1 - rows) * size,
            "cell_size_m": size,
            "label": labels[rows, cols],
        }
    )


def _check_against_union(table: pd.DataFrame, *, disjoint: bool = True) -> None:
    keys, geoms = dissolve_cells(table, table["label"].to_numpy())
    squares = cell_squares(table)
    lab = table["label"].to_numpy()
    assert set(keys) == set(pd.unique(lab))
    for k, g in zip(keys, geoms, strict=True):
        mine = lab == k
        union = shapely.union_all(squares[mine])
        assert g.is_valid
        if disjoint:  # squares that do not overlap: the area is the cells' area
            assert g.area == pytest.approx((table["cell_size_m"].to_numpy()[mine] ** 2).sum())
        assert shapely.symmetric_difference(g, union).area == pytest.approx(0.0, abs=1e-6)


def test_dissolve_equals_the_union_of_squares_with_holes_and_diagonal_touches():
    rng = np.random.default_rng(3)
    labels = rng.choice(np.array(["a", "b", "c", None], dtype=object), size=(40, 50))
    # a ring of "d" around a hole and an "e" cell inside it; diagonal-only neighbours of "f"
    labels[5:10, 5:10] = "d"
    labels[7, 7] = None
    labels[6, 6] = "e"
    labels[20, 20] = labels[21, 21] = labels[22, 22] = "f"
    labels[21, 20] = labels[20, 21] = labels[22, 21] = labels[21, 22] = None
    _check_against_union(_grid(labels))


def test_dissolve_of_a_table_off_one_grid_falls_back_to_the_union():
    t = _grid(np.array([["a", "a", "b"], ["b", "a", None]], dtype=object))
    t.loc[0, "cell_size_m"] = 1000.0  # mixed sizes (overlapping squares): not one raster
    _check_against_union(t, disjoint=False)
    t = _grid(np.array([["a", "a"], ["b", "a"]], dtype=object))
    t["x_sw"] += 0.5 * np.arange(len(t))  # corners off the grid
    _check_against_union(t)


def test_dissolve_gives_a_polygon_for_one_piece_and_skips_missing_labels():
    t = _grid(np.array([["a", "a", None], ["b", None, "b"]], dtype=object))
    t.loc[len(t)] = [t["x_sw"].max() + 5000, t["y_sw"].min(), 250.0, np.nan]
    keys, geoms = dissolve_cells(t, t["label"].to_numpy())
    got = dict(zip(keys, geoms, strict=True))
    assert set(got) == {"a", "b"}
    assert got["a"].geom_type == "Polygon" and got["a"].area == 2 * 62_500
    assert got["b"].geom_type == "MultiPolygon" and len(got["b"].geoms) == 2


def test_polygons_from_shapes_equal_shapely_shape():
    rng = np.random.default_rng(7)
    data = (rng.random((60, 60)) < 0.55).astype(np.uint8)
    data[10:20, 10:20] = 1
    data[14:16, 14:16] = 0  # a hole
    items = list(shapes(data, mask=data.astype(bool), transform=from_origin(0, 6e4, 1e3, 1e3)))
    polys, values = polygons_from_shapes(items)
    expected = [shape(g) for g, _ in items]
    assert len(polys) == len(expected) and (values == 1).all()
    assert all(shapely.equals_exact(a, b) for a, b in zip(polys, expected, strict=True))
    assert any(len(p.interiors) for p in polys)
    empty, vals = polygons_from_shapes([])
    assert len(empty) == 0 and len(vals) == 0


@pytest.fixture(scope="module")
def tynset_250m():
    from smaby_geo.pipeline import run_travel_times

    return run_travel_times(
        region="Tynset", grid="250m", service_types=("hospital", "police"), engine="dijkstra"
    )


def test_catchment_polygons_hold_exactly_their_cells_on_a_small_region(tynset_250m):
    from smaby_geo.analysis.catchments import catchments

    cells = tynset_250m.cells
    for t in ("hospital", "police"):
        c = catchments(cells, t, tynset_250m.services)
        c = c[c["cells"] > 0]
        assert len(c) >= 1
        # each catchment is the union of its 250 m cells: 62,500 m2 per cell, to 1 m2
        np.testing.assert_allclose(c.geometry.area, c["cells"] * 62_500.0, rtol=0, atol=1.0)
        assert c.geometry.is_valid.all()
        # and lies exactly on those cells' squares
        for _, row in c.iterrows():
            mine = cells[cells[f"{t}_site"] == row["service_id"]]
            union = shapely.union_all(cell_squares(mine))
            assert shapely.symmetric_difference(row.geometry, union).area < 1.0


def test_catchment_map_caps_its_vertices_and_says_the_tolerance(tynset_250m):
    from smaby_geo.analysis.catchments import catchments
    from smaby_geo.outputs.maps import _simplify_within, map_catchments

    c = catchments(tynset_250m.cells, "police", tynset_250m.services).dropna(
        subset=["geometry"]
    )
    geoms = c.geometry.to_numpy()
    full = int(shapely.get_num_coordinates(geoms).sum())
    cap = full // 4
    shown, _, tol = _simplify_within(geoms, None, 50.0, cap)
    assert int(shapely.get_num_coordinates(shown).sum()) <= cap
    assert tol >= 100.0  # 50 m was not enough: doubled at least once
    html = map_catchments(c, simplify_m=50.0, max_vertices=cap).get_root().render()
    assert f"Outlines drawn simplified to {tol:,.0f} m" in html


def test_layer_data_reach_the_page_as_written_never_as_a_template():
    """Map scripts are not compiled by jinja: ``{{ 7*7 }}`` in a name stays text."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from smaby_geo.outputs.maps import map_catchments

    layer = gpd.GeoDataFrame(
        {
            "service_id": ["s1"],
            "name": ["Site {{ 7*7 }} {% if true %}x{% endif %}"],
            "population": [10],
            "median_minutes": [12.0],
        },
        geometry=[box(250_000, 6.9e6, 260_000, 6.91e6)],
        crs="EPSG:25833",
    )
    layer.attrs["service_type"] = "hospital"
    sv = gpd.GeoDataFrame(
        {"service_type": ["hospital"], "service_id": ["s1"], "name": ["{{ 6*7 }}"]},
        geometry=[Point(255_000, 6.905e6)],
        crs="EPSG:25833",
    )
    html = map_catchments(layer, services=sv).get_root().render()
    assert "Site {{ 7*7 }} {% if true %}x{% endif %}" in html
    assert "{{ 6*7 }}" in html
    assert "Site 49" not in html and ">42<" not in html
