"""One continuous settlement is one town; names come from labels inside or near the town.

Hand-made 250 m grids: every figure below can be counted by hand. Cell (i, j) has its
south-west corner at (X0 + 250 i, Y0 + 250 j); a cell of 40 residents is 640 per km², above the
300 per km² from which a cell carries a settlement, one of 10 residents (160 per km²) is below.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from smaby_geo.places.town_merge import (
    MERGE_GAP_M,
    link_settlement_groups,
    measure_cell_gap_m,
)
from smaby_geo.places.towns import build_towns

X0, Y0, S = 500_000.0, 7_000_000.0, 250.0


def grid(pop: dict[tuple[int, int], int], kommune: dict[tuple[int, int], str] | None = None):
    keys = sorted(pop)
    xs = np.array([X0 + S * i for i, _ in keys])
    ys = np.array([Y0 + S * j for _, j in keys])
    kom = [(kommune or {}).get(k, "K1") for k in keys]
    return gpd.GeoDataFrame(
        {
            "population": np.array([pop[k] for k in keys], dtype=np.int64),
            "x_sw": xs,
            "y_sw": ys,
            "cell_size_m": int(S),
            "kommunenummer": kom,
            "kommunenavn": [f"Kommune{k}" for k in kom],
        },
        index=pd.Index([f"c{i}_{j}" for i, j in keys], name="cell_id"),
        geometry=[Point(x + S / 2, y + S / 2) for x, y in zip(xs, ys, strict=True)],
        crs="EPSG:25833",
    )


def block(i0: int, i1: int, j0: int, j1: int, residents: int) -> dict[tuple[int, int], int]:
    """Cells i0..i1, j0..j1 (inclusive) with ``residents`` each."""
    return {(i, j): residents for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)}


def outline(i0: int, i1: int, j0: int, j1: int):
    """The N1000-like outline around cells i0..i1, j0..j1 (just inside their edges)."""
    return box(X0 + S * i0 + 10, Y0 + S * j0 + 10, X0 + S * (i1 + 1) - 10, Y0 + S * (j1 + 1) - 10)


def areas(*boxes):
    return gpd.GeoDataFrame(geometry=list(boxes), crs="EPSG:25833")


def two_towns_and(between: dict[tuple[int, int], int]):
    """Town A on cells 0..3 x 0..3 (16 x 300), town B on cells 12..15 x 0..3 (16 x 200)."""
    pop = {**block(0, 3, 0, 3, 300), **block(12, 15, 0, 3, 200), **between}
    cells = grid(pop)
    towns, cell_town = build_towns(
        cells, areas(outline(0, 3, 0, 3), outline(12, 15, 0, 3)), polygon_buffer_m=0.0,
        return_cells=True,
    )
    return cells, towns, cell_town


def test_areas_joined_by_continuous_settlement_are_one_town():
    # a street of 40-resident cells from A to B with one empty cell (250 m) at i = 8
    street = {(i, 1): 40 for i in range(4, 12) if i != 8}
    _cells, towns, cell_town = two_towns_and(street)
    assert len(towns) == 1
    t = towns.iloc[0]
    assert t["population"] == 16 * 300 + 16 * 200 + 7 * 40
    assert t["parts"] == 4  # A, B and the two street clusters on either side of the gap
    assert t["town_class"] == "small_town"
    assert (cell_town == towns.index[0]).all()


def test_an_empty_gap_wider_than_the_rule_keeps_two_towns():
    # the street stops two cells (500 m > 400 m) short of B
    _, towns, cell_town = two_towns_and({(i, 1): 40 for i in range(4, 10)})
    assert sorted(towns["population"]) == [16 * 200, 16 * 300 + 6 * 40]
    # a chain of sparse cells (10 residents: 160 per km²) does not join them either
    _cells, towns, cell_town = two_towns_and({(i, 1): 10 for i in range(4, 12)})
    assert sorted(towns["population"]) == [16 * 200, 16 * 300]
    assert (cell_town[[f"c{i}_1" for i in range(4, 12)]] == -1).all()
    # without the rule (merge_gap_m=None) the joined street leaves three places
    t_old, _ = build_towns(
        grid({**block(0, 3, 0, 3, 300), **block(12, 15, 0, 3, 200),
              **{(i, 1): 40 for i in range(4, 12)}}),
        areas(outline(0, 3, 0, 3), outline(12, 15, 0, 3)), polygon_buffer_m=0.0,
        merge_gap_m=None, return_cells=True,
    )
    assert sorted(t_old["population"]) == [8 * 40, 16 * 200, 16 * 300]


def test_gap_rule_by_hand():
    assert measure_cell_gap_m([1, 1, 2, 2, 3], [0, 1, 0, 2, 0], S).tolist() == pytest.approx(
        [0.0, 0.0, 250.0, 250.0 * 2**0.5, 500.0]
    )
    # groups 0, 1 one empty cell apart (linked), group 2 two cells beyond 1 (apart)
    col = np.array([0, 2, 5, 9])
    row = np.zeros(4, dtype=int)
    got = link_settlement_groups(
        col, row, np.array([0, 1, 2, 3]), np.array([40, 40, 40, 40]), cell_size_m=S
    )
    assert got.tolist() == [0, 0, 1, 2]
    # a wider named gap joins 1 and 2 (500 m) but not 3 (750 m)
    got = link_settlement_groups(
        col, row, np.array([0, 1, 2, 3]), np.array([40] * 4), cell_size_m=S, merge_gap_m=500.0
    )
    assert got.tolist() == [0, 0, 0, 1]
    assert MERGE_GAP_M == 400.0
    # a sparse cell carries nothing
    got = link_settlement_groups(
        col, row, np.array([0, 1, 2, 3]), np.array([40, 10, 40, 40]), cell_size_m=S
    )
    assert got.tolist() == [0, 1, 2, 3]


def test_population_is_conserved_exactly_with_merges():
    rng = np.random.default_rng(7)
    pop = {(i, j): int(rng.integers(0, 60)) for i in range(30) for j in range(12)}
    pop = {k: v for k, v in pop.items() if v > 0}
    cells = grid(pop)
    towns, cell_town = build_towns(
        cells, areas(outline(0, 5, 0, 5), outline(20, 25, 4, 9), outline(12, 14, 8, 11)),
        return_cells=True,
    )
    assert cell_town.index.equals(cells.index)
    rural = int(cells.loc[cell_town == -1, "population"].sum())
    assert int(towns["population"].sum()) + rural == int(cells["population"].sum())
    per_town = cells.groupby(cell_town)["population"].sum().drop(-1, errors="ignore")
    assert per_town.sort_index().tolist() == towns["population"].sort_index().tolist()
    assert set(cell_town[cell_town >= 0]) == set(towns.index)


def names(rows):
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows], "place_type": [r[1] for r in rows]},
        geometry=[Point(X0 + r[2], Y0 + r[3]) for r in rows],
        crs="EPSG:25833",
    )


def test_a_far_label_or_one_in_another_town_does_not_name_a_town():
    # town A (cells 0..3, kommune K1) and town B (cells 10..13, kommune K2, 1.5 km east of A);
    # B has no label of its own
    b_cells = block(10, 13, 0, 3, 300)
    cells = grid({**block(0, 3, 0, 3, 300), **b_cells}, kommune=dict.fromkeys(b_cells, "K2"))
    bu = areas(outline(0, 3, 0, 3), outline(10, 13, 0, 3))
    lab = names([
        ("Aby", "by", 500.0, 500.0),  # inside A
        ("Abyen", "by", 900.0, 400.0),  # inside A too, 1.6 km from B: A's label, not B's
        ("Fjernby", "by", 3500.0 + 7000.0, 500.0),  # 7 km east of B's outline: too far
    ])
    towns = build_towns(cells, bu, place_names=lab).sort_values("centre_x")
    assert towns["name"].tolist() == ["Aby", "KommuneK2"]
    assert towns["name_source"].tolist() == ["label", "kommune"]
    assert np.isnan(towns["name_distance_m"].iloc[1])
    # within the radius and nearest B, the label names B
    lab2 = names([("Aby", "by", 500.0, 500.0), ("Bby", "tettsted", 3500.0 + 1500.0, 500.0)])
    got = build_towns(cells, bu, place_names=lab2).sort_values("centre_x")
    assert got["name"].tolist() == ["Aby", "Bby"]
    assert got["name_source"].tolist() == ["label", "label"]
    # a label inside village C (cells 20..21, 1.5 km beyond B) is C's, though B is larger,
    # picks first and has no label of its own
    c_cells = block(20, 21, 0, 0, 150)
    cells3 = grid({**block(0, 3, 0, 3, 300), **b_cells, **c_cells})
    bu3 = areas(outline(0, 3, 0, 3), outline(10, 13, 0, 3), outline(20, 21, 0, 0))
    lab3 = names([("Aby", "by", 500.0, 500.0), ("Cby", "tettsted", 20 * S + 100.0, 100.0)])
    got = build_towns(cells3, bu3, place_names=lab3).sort_values("centre_x")
    assert got["name"].tolist() == ["Aby", "KommuneK1", "Cby"]


def test_kommune_fallback_names_are_unique():
    pop = {**block(0, 3, 0, 3, 300), **block(30, 33, 0, 3, 300)}
    towns = build_towns(grid(pop), areas(outline(0, 3, 0, 3), outline(30, 33, 0, 3)))
    assert sorted(towns["name"]) == ["KommuneK1", "KommuneK1 (2)"]
    assert (towns["name_source"] == "kommune").all()


def test_settlements_take_no_name_from_a_far_label():
    from smaby_geo.places.settlements import build_settlements

    cells = grid({**block(0, 1, 0, 1, 50), **block(40, 41, 0, 0, 30)})  # 10 km apart
    lab = names([("Nærby", "tettsted", 300.0, 300.0)])
    s = build_settlements(cells, place_names=lab).sort_values("population")
    assert pd.isna(s["place_name"].iloc[0]) and s["place_name"].iloc[1] == "Nærby"
    assert s["place_name_m"].iloc[0] > 5000.0
