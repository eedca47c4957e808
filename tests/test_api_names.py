"""Issue 13: unit-bearing keyword names and results as dataclasses.

The old keyword names (``cutoff``, ``types``, ``thresholds``, ``net``, ...) keep working for
one release with a ``DeprecationWarning``; results of ``route``, ``trip``, ``compare``,
``delineate_regions`` and ``run_travel_times`` are frozen dataclasses whose fields are
checked here against values worked out by hand on a straight 60 km road, or computed
independently from the inputs. ``pipeline`` returns, ``console``/``cli`` print, and the
scenario report escapes what the user wrote.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from smaby_geo import routing
from smaby_geo.analysis.regions import delineate_by_time, delineate_regions
from smaby_geo.analysis.scenarios import Benefit, Comparison, compare
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.analysis.trips import Trip, trip
from smaby_geo.network import network_from_lines
from smaby_geo.outputs.report import scenario_report_html
from tests.conftest import lines

CRS = "EPSG:25833"
XA, XM, XB, Y = 300_000.0, 330_000.0, 360_000.0, 6_800_000.0
ROOT = Path(__file__).resolve().parents[1]


def _road(speed_kmh: float = 60.0):
    """One 60 km road from XA to XB: at 60 km/h one km is one minute."""
    return network_from_lines(lines([[(XA, Y), (XB, Y)]], speed=[speed_kmh]), speed_column="speed")


def _node(net, x: float) -> int:
    return int(np.argmin(np.abs(net.node_x - x) + np.abs(net.node_y - Y)))


def _cells(km_from_a, population):
    return gpd.GeoDataFrame(
        {"population": population},
        geometry=[Point(XA + 1000.0 * k, Y) for k in km_from_a],
        crs=CRS,
    )


def _hospital():
    return gpd.GeoDataFrame(
        {"service_id": ["h-1"], "service_type": ["hospital"], "name": ["H"]},
        geometry=[Point(XA, Y)],
        crs=CRS,
    )


# --- renamed keywords: the new name carries the unit, the old one still works and warns ----


def test_travel_times_cutoff_is_in_minutes_and_the_old_name_warns():
    net, cells = _road(), _cells([10, 20, 40], [1, 2, 4])
    new = travel_times(net, cells, _hospital(), service_types=["hospital"], cutoff_min=25)
    # 10 and 20 km at 60 km/h are 10 and 20 minutes; 40 minutes lies beyond the cutoff
    np.testing.assert_allclose(new["hospital_minutes"].to_numpy(), [10.0, 20.0, np.inf])
    with pytest.warns(DeprecationWarning, match="'cutoff' is deprecated, use 'cutoff_min'"):
        old = travel_times(net, cells, _hospital(), service_types=["hospital"], cutoff=25)
    np.testing.assert_array_equal(old["hospital_minutes"], new["hospital_minutes"])
    with pytest.raises(TypeError, match="both 'cutoff'"):
        travel_times(net, cells, _hospital(), cutoff=25, cutoff_min=25)


def test_unreachable_summary_takes_the_old_types_keyword_and_warns():
    from smaby_geo.analysis.traveltimes import unreachable_summary

    net, cells = _road(), _cells([10, 20, 40], [1, 2, 4])
    table = travel_times(net, cells, _hospital(), service_types=["hospital"], cutoff_min=25)
    new = unreachable_summary(table, service_types=["hospital"])
    assert new["unreachable_people"] == {"hospital": 4}  # the cell 40 min away, beyond 25
    with pytest.warns(DeprecationWarning, match="'types' is deprecated, use 'service_types'"):
        assert unreachable_summary(table, types=["hospital"]) == new


def test_warnings_about_the_input_still_name_the_callers_line():
    net, cells = _road(), _cells([10], [1])
    with pytest.warns(UserWarning, match="services are in EPSG:4326") as rec:
        travel_times(net, cells, _hospital().to_crs("EPSG:4326"), service_types=["hospital"])
    assert [r.filename for r in rec if "EPSG:4326" in str(r.message)] == [__file__]


def test_routing_cutoff_is_in_seconds_inclusive_and_the_old_name_warns():
    net = _road()
    a, b = _node(net, XA), _node(net, XB)
    assert routing.one_to_all(net, a, cutoff_s=3600.0)[b] == pytest.approx(3600.0)
    assert routing.one_to_all(net, a, cutoff_s=3599.0)[b] == np.inf
    with pytest.warns(DeprecationWarning, match="use 'cutoff_s'"):
        old = routing.one_to_all(net, a, cutoff=3599.0)
    assert old[b] == np.inf
    with pytest.warns(DeprecationWarning, match="'net' is deprecated, use 'network'"):
        d, _ = routing.nearest_facility(net=net, facility_nodes=[a], cutoff_s=3600.0)
    assert d[b] == pytest.approx(3600.0)


def test_delineate_by_time_takes_the_order_of_delineate_ba_and_warns_on_the_old_one():
    codes = ["0001", "0002", "0003"]
    times = np.array([[0.0, 40.0, 100.0], [40.0, 0.0, 80.0], [100.0, 80.0, 0.0]])
    new, _ = delineate_by_time(codes, None, times, ["0001"], max_minutes=60)
    m = new.set_index("kommunenummer")
    # 0002 lies 40 minutes from the centre (joins), 0003 100 minutes (stays alone)
    assert m.loc["0002", "centre"] == "0001" and m.loc["0003", "step"] == "alone"
    with pytest.warns(DeprecationWarning, match="order of delineate_ba"):
        old, _ = delineate_by_time(codes, times, ["0001"], 60)
    pd.testing.assert_frame_equal(old, new)


# --- results as dataclasses, fields checked against hand-worked values --------------------


def test_route_fields_equal_the_hand_worked_route():
    two = network_from_lines(
        lines([[(XA, Y), (XM, Y)], [(XM, Y), (XB, Y)]], speed=[60.0, 120.0]),
        speed_column="speed",
    )
    a, m, b = _node(two, XA), _node(two, XM), _node(two, XB)
    r = routing.route(two, a, b)
    assert isinstance(r, routing.Route) and dataclasses.is_dataclass(r)
    # 30 km at 60 km/h (1800 s) then 30 km at 120 km/h (900 s)
    assert r.seconds == pytest.approx(2700.0) and r.minutes == pytest.approx(45.0)
    assert r.nodes == [a, m, b] and r.ferry_links == 0
    assert r.length_m == pytest.approx(60_000.0) and r.geometry.length == pytest.approx(60_000.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.seconds = 0.0  # type: ignore[misc]
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert r["seconds"] == r.seconds


def test_trip_fields_equal_the_hand_worked_trip():
    net = _road()
    r = trip(net, (XA + 10_000.0, Y), (XA + 40_000.0, Y))
    assert isinstance(r, Trip)
    assert r.minutes == pytest.approx(30.0) and r.km == pytest.approx(30.0)
    assert r.ferry_links == 0 and r.snap_m == pytest.approx([0.0, 0.0])
    assert r.note is None and r.legs is None and r.reachable
    assert r.geometry.length == pytest.approx(30_000.0)
    far = trip(net, (XA, Y + 20_000.0), (XB, Y))  # 20 km from the road, beyond the 5 km snap
    assert far.minutes == np.inf and not far.reachable and "farther than 5000 m" in far.note
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert "note" in far
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert far.get("legs", "none") == "none"


def test_comparison_fields_equal_the_hand_worked_change():
    cells = _cells([10, 20, 40], [1, 2, 4])
    sv = _hospital()
    r = compare(
        _road(60.0),
        _road(120.0),
        cells,
        sv,
        service_types=["hospital"],
        thresholds_min=(15, 30),
        regions=False,
    )
    assert isinstance(r, Comparison)
    # base 10/20/40 minutes, scenario (twice the speed) 5/10/20
    np.testing.assert_allclose(r.cells["hospital_minutes_base"], [10, 20, 40])
    np.testing.assert_allclose(r.cells["hospital_delta"], [-5, -10, -20])
    th = r.thresholds.set_index("minutes")
    assert th.loc[15, "newly_within"] == 2 and th.loc[30, "newly_within"] == 4
    assert (th["newly_outside"] == 0).all()
    s = r.summary.iloc[0]
    assert s["population_faster"] == 7 and s["population_slower"] == 0
    assert s["person_minutes_saved"] == pytest.approx(1 * 5 + 2 * 10 + 4 * 20)
    assert s["mean_change_minutes"] == pytest.approx(-105 / 7)
    assert r.regions is None and r.benefit is None
    with pytest.warns(DeprecationWarning, match="'types' is deprecated"):
        old = compare(_road(60.0), _road(120.0), cells, sv, types=["hospital"], regions=False)
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert "benefit" not in old
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        old_summary = old["summary"]
    with_regions = Comparison(**{**vars(r), "benefit": Benefit(12.5, "by hand")})
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert with_regions["benefit"] == {"person_minutes_per_day": 12.5, "note": "by hand"}
    pd.testing.assert_frame_equal(old_summary, r.summary)


def _two_kommuner():
    cells = gpd.GeoDataFrame(
        {"population": [10_000, 5_000], "kommunenummer": ["0001", "0002"]},
        geometry=[Point(XA, Y), Point(XB, Y)],
        crs=CRS,
    )
    kommuner = gpd.GeoDataFrame(
        {"kommunenummer": ["0001", "0002"], "kommunenavn": ["A", "B"]},
        geometry=[
            box(XA - 30_000, Y - 30_000, XM, Y + 30_000),
            box(XM, Y - 30_000, XB + 30_000, Y + 30_000),
        ],
        crs=CRS,
    )
    return cells, kommuner


@pytest.mark.parametrize(("max_minutes", "joins"), [(75.0, True), (45.0, False)])
def test_regions_fields_follow_the_sixty_minute_road(max_minutes, joins):
    cells, kommuner = _two_kommuner()
    r = delineate_regions(
        _road(), cells, kommuner, method="time", centres=["0001"], max_minutes=max_minutes
    )
    # the kommune centres are the two cells, 60 km apart on a 60 km/h road
    assert r.times.loc["0001", "0002"] == pytest.approx(60.0)
    assert r.centres == ["0001"]
    centre_of_b = r.membership.set_index("kommunenummer").loc["0002", "centre"]
    assert (centre_of_b == "0001") is joins
    assert len(r.polygons) == len(r.regions) == (1 if joins else 2)
    # the doubly-constrained gravity flows keep each kommune's residents as its row and its
    # column sum (residents stand in for jobs), to the model's tolerance of 0.1 %
    np.testing.assert_allclose(r.flows.sum(axis=1).to_numpy(), [10_000, 5_000], rtol=2e-3)
    np.testing.assert_allclose(r.flows.sum(axis=0).to_numpy(), [10_000, 5_000], rtol=2e-3)
    assert any("residents" in n for n in r.notes)
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert r["membership"] is r.membership


def test_run_result_fields_against_the_population_grid(n1000):
    from smaby_geo.pipeline import RunResult, run_travel_times
    from smaby_geo.places.population import read_population_grid

    res = run_travel_times(
        n1000, region="Tynset", service_types=("hospital",), grid="1km", engine="dijkstra"
    )
    assert isinstance(res, RunResult) and res.region_name == "Tynset"
    grid = read_population_grid("1km")
    tynset = grid[grid["kommunenummer"] == "3427"]
    assert len(res.cells) == len(tynset)
    assert res.cells["population"].sum() == tynset["population"].sum()
    assert set(res.services["service_type"]) == {"hospital"}
    assert res.routing == {"engine": "Dijkstra"}
    assert res.summary["population"].sum() == tynset["population"].sum()
    with pytest.warns(DeprecationWarning, match="'services' is deprecated"):
        old = run_travel_times(
            n1000, region="Tynset", services=("hospital",), grid="1km", engine="dijkstra"
        )
    np.testing.assert_array_equal(old.cells["hospital_minutes"], res.cells["hospital_minutes"])
    with pytest.warns(DeprecationWarning, match="dict-style access"):
        assert res["network"] is res.network  # a nested dataclass comes back as itself


# --- pipeline returns, the CLI prints ----------------------------------------------------


def _weighted_quantile_by_hand(v, w, q):
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    return v[np.argmax(cum >= q - 1e-12)]


def test_cli_run_prints_the_table_of_the_written_cells(tmp_path, capsys):
    from smaby_geo.cli import main

    rc = main(
        ["run", "--region", "Tynset", "--grid", "1km", "--services", "hospital,police",
         "--no-map", "--no-gpkg", "--out", str(tmp_path)]
    )  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    cells = gpd.read_parquet(tmp_path / "cells_tynset_1km.parquet")
    pop = cells["population"].to_numpy(float)
    for t in ("hospital", "police"):
        row = re.search(rf"^\| {t} \| (\d+) \| (\d+) \| ([\d.]+)% \| ([\d.]+)% \| ([\d,]+) \|$",
                        out, re.M)  # fmt: skip
        assert row, f"no table row for {t} in:\n{out}"
        m = cells[f"{t}_minutes"].to_numpy(float)
        ok = np.isfinite(m)
        assert int(row[1]) == round(_weighted_quantile_by_hand(m[ok], pop[ok], 0.5))
        assert int(row[2]) == round(_weighted_quantile_by_hand(m[ok], pop[ok], 0.9))
        assert float(row[3]) == pytest.approx(100 * pop[ok & (m <= 30)].sum() / pop.sum(), abs=0.05)
        assert float(row[4]) == pytest.approx(100 * pop[ok & (m <= 60)].sum() / pop.sum(), abs=0.05)
        assert int(row[5].replace(",", "")) == int(pop[~ok].sum())
    assert "Outputs:" in out and str(tmp_path / "run_tynset_1km.json") in out


def test_pipeline_prints_nothing_and_old_names_import():
    tree = ast.parse((ROOT / "smaby_geo" / "pipeline.py").read_text(encoding="utf-8"))
    prints = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
    ]
    assert prints == [], f"pipeline.py prints at lines {prints}; printing belongs in console"
    from smaby_geo.pipeline import run_main_job, run_scenario_job, select_region

    assert callable(run_main_job) and callable(run_scenario_job) and callable(select_region)


# --- the scenario report escapes every user string ------------------------------------------


def test_report_escapes_a_hostile_scenario():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    empty = pd.DataFrame({"service_type": [evil], "population_faster": [1]})
    page = scenario_report_html(
        name=evil,
        description=evil,
        region_name=evil,
        grid="1km",
        n_cells=3,
        population=7,
        edits=[{"edit": evil}],
        summary=empty,
        thresholds=empty,
        catchments=empty,
        regions=None,
        benefit_person_minutes_per_day=math.pi * 1000,
        benefit_note=evil,
        maps=[Path(f"map_{evil}.html")],
        note=evil,
        attribution="© Kartverket; Kilde: SSB",
    )
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") >= 8  # name twice, description, region, edits, ...
    assert "© Kartverket; Kilde: SSB" in page and "3,142" in page
