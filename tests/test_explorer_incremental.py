"""The explorer's re-use of the base (``explorer.incremental``) against the library's compare.

Region: Austevoll (as ``test_explorer.py``), hospitals and police, network kept 30 km around.
For the region half, Austevoll's cells are split into three made-up kommuner (by x), so that
kommune-to-kommune times, flows and the rule-of-half benefit are non-trivial.
"""

from __future__ import annotations

import dataclasses
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from smaby_geo.analysis.regions import kommune_times
from smaby_geo.analysis.scenarios import (
    SCENARIO_THRESHOLDS_MIN,
    compare,
    compare_regions,
    prepare_region_base,
)
from smaby_geo.explorer.cells import compare_cells_cached, prepare_cell_cache
from smaby_geo.explorer.incremental import (
    compare_regions_cached,
    prepare_region_cache,
    same_snap_targets,
    scenario_kommune_times,
)
from smaby_geo.explorer.session import read_scenario_text, scenario_yaml
from smaby_geo.network.scenario import apply_scenario, apply_service_edits
from smaby_geo.pipeline import run_travel_times

REGION, TYPES, BUFFER_KM = "Austevoll", ["hospital", "police"], 30.0
FERRY = 14302  # Fv546 Krokeide-Hufthamar


@pytest.fixture(scope="module")
def base() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_travel_times(region=REGION, service_types=tuple(TYPES), buffer_km=BUFFER_KM)
    res = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)}
    res["cell_cache"] = prepare_cell_cache(res["network"], res["cells"], TYPES)
    return res


def busiest_link(base) -> int:
    """The link id most cells attach to (closing it moves their snap)."""
    link = base["cell_cache"].points.snapped.link
    row = np.bincount(link[link >= 0]).argmax()
    return int(base["network"].links["link_id"].iloc[row])


def edits(base) -> list[dict]:
    net, cells = base["network"], base["cells"]
    road = busiest_link(base)
    police = base["services"][base["services"]["service_type"] == "police"]
    x, y = float(net.node_x[0]), float(net.node_y[0])
    nx, ny = float(net.node_x[5]), float(net.node_y[5])
    return [
        {"replace_ferry": {"link_id": FERRY, "speed_kmh": 80}},
        {"ferry_headway": {"link_id": 14383, "headway_min": 10}},
        {"upgrade": {"link_ids": [road], "speed_kmh": 110, "keep_faster": False}},
        {"close_link": {"link_ids": [road]}},
        {"new_link": {"start": [x, y], "end": [nx, ny], "speed_kmh": 60, "kind": "tunnel"}},
        {"close_facility": {"service_id": str(police["service_id"].iloc[0])}},
        {
            "open_facility": {
                "name": "ny",
                "service_type": "police",
                "x": float(cells.geometry.x.mean()),
                "y": float(cells.geometry.y.mean()),
            }
        },
    ]


def scenario(base, es: list[dict]):
    sc, _ = read_scenario_text(scenario_yaml("t", "", es))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return apply_scenario(base["network"], sc), apply_service_edits(base["services"], sc)


def cases(base):
    es = edits(base)
    return [[e] for e in es] + [es[:3] + es[4:]]  # each alone, and all but the closure together


def test_cell_half_equals_compare_for_every_edit_type(base):
    net, cells, cache = base["network"], base["cells"], base["cell_cache"]
    reused = []
    for es in cases(base):
        net1, sv1 = scenario(base, es)
        reused.append(same_snap_targets(net, cache.targets0, net1, cache.access))
        fast = compare_cells_cached(cache, net1, sv1, SCENARIO_THRESHOLDS_MIN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib = compare(
                net, net1, cells, base["services"], sv1, service_types=TYPES, base_table=cells,
                regions=False,
            )  # fmt: skip
        for name in ("thresholds", "catchments", "summary", "kommuner"):
            pd.testing.assert_frame_equal(fast[name], getattr(lib, name), obj=f"{es}: {name}")
        pd.testing.assert_frame_equal(
            pd.DataFrame(fast["cells"]).drop(columns="geometry"),
            pd.DataFrame(lib.cells).drop(columns="geometry"),
            obj=f"{es}: cells",
        )
        assert fast["summary"]["person_minutes_saved"].abs().sum() > 0 or "close_facility" in es[0]
    # the closure moves snaps (fresh snapping), every other case re-uses the base's
    assert reused == [True, True, True, False, True, True, True, True]


def split_kommuner(base):
    """Austevoll's cells as three kommuner by x, with box polygons that touch."""
    cells = base["cells"].copy()
    x = cells.geometry.x.to_numpy()
    edges = np.quantile(x, [0, 1 / 3, 2 / 3, 1])
    part = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 2)
    cells["kommunenummer"] = np.array(["9901", "9902", "9903"])[part]
    y0, y1 = cells.geometry.y.min() - 1, cells.geometry.y.max() + 1
    polys = [box(edges[i] - (i == 0), y0, edges[i + 1] + (i == 2), y1) for i in range(3)]
    kom = gpd.GeoDataFrame(
        {"kommunenummer": ["9901", "9902", "9903"], "kommunenavn": ["A", "B", "C"]},
        geometry=polys,
        crs=cells.crs,
    )
    return cells, kom


def test_region_half_equals_compare_regions_for_every_edit_type(base):
    net = base["network"]
    cells, kom = split_kommuner(base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache = prepare_region_cache(net, cells, kom)
        rb = prepare_region_base(net, cells, kom)
    np.testing.assert_array_equal(cache.c0.to_numpy(), rb["c0"].to_numpy())
    np.testing.assert_array_equal(cache.T0, rb["T0"])
    assert cache.centres == rb["centres"]
    benefits, invalidated = [], []
    for es in cases(base):
        net1, _ = scenario(base, es)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast = compare_regions_cached(cache, net1)
            lib = compare_regions(net, net1, cells, kom, rb)
            want, _ = kommune_times(net1, cells)
        got, info = scenario_kommune_times(cache, net1)
        assert np.array_equal(np.isinf(got.to_numpy()), np.isinf(want.to_numpy()))
        # the same engine on both sides (scenarios.REGION_SEARCH_METHOD) and an exact update:
        # the same minutes to the last bit, so the same benefit
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
        pd.testing.assert_frame_equal(fast["regions"], lib.regions)
        b_fast = fast["benefit"]["person_minutes_per_day"]
        b_lib = lib.benefit.person_minutes_per_day
        assert b_fast == b_lib, es
        if np.array_equal(got.to_numpy(), cache.c0.to_numpy()):  # no kommune time changes
            assert b_lib == 0.0, es
        benefits.append(b_lib)
        invalidated.append(info["nodes_invalidated"])
    # the upgrade and the closure (which also moves cells' snaps) change the made-up kommuner's
    # times: real benefits; the closure removes a link under shortest paths, so nodes were
    # searched again
    assert benefits[2] > 1.0 and abs(benefits[3]) > 1.0, benefits
    assert invalidated[3] > 0, invalidated


def test_a_scenario_without_edits_has_exactly_zero_benefit(base):
    """No edit, no benefit: not ~1e-11 of float noise, also on a base with a hierarchy."""
    from smaby_geo.network.scenario import Scenario

    net = base["network"]
    # the noise came from the base's contraction hierarchy (shortcut sums) against the
    # scenario's plain Dijkstra; the base here has one, as in every job
    assert net.routing_index is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net1 = apply_scenario(net, Scenario("nothing", []))
    cells = base["cells"]
    # Austevoll as one kommune (where the hierarchy's rounding showed, ~8.9e-12), and split
    one = gpd.GeoDataFrame(
        {"kommunenummer": sorted(set(cells["kommunenummer"])), "kommunenavn": ["Austevoll"]},
        geometry=[box(*cells.total_bounds)],
        crs=cells.crs,
    )
    for c, kom in [(cells, one), split_kommuner(base)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib = compare_regions(net, net1, c, kom)
            cache = prepare_region_cache(net, c, kom)
            fast = compare_regions_cached(cache, net1)
            again, _ = kommune_times(net1, c)  # the unedited network, without a hierarchy
        # the explorer's base times are those of the library's engine to the last bit
        np.testing.assert_array_equal(cache.c0.to_numpy(), again.to_numpy())
        assert lib.benefit.person_minutes_per_day == 0.0, len(kom)
        assert fast["benefit"]["person_minutes_per_day"] == 0.0, len(kom)
        assert len(lib.regions) == 0 and len(fast["regions"]) == 0
