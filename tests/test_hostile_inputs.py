"""Hostile inputs found by a probe: each gives one clear error or a correct result, never a
traceback, a doubled population or silently damaged data."""

from __future__ import annotations

import numpy as np
import pytest

# --- labour-market regions of kommuner with no centre or nothing to join (island kommuner) ---


def test_time_regions_of_one_kommune_with_no_centre():
    from smaby_geo.analysis.regions import delineate_by_time

    mem, reg = delineate_by_time(["1151"], np.array([[100.0]]), np.array([[0.0]]), [])
    assert mem["kommunenummer"].tolist() == ["1151"]
    assert mem["centre"].tolist() == ["1151"] and mem["step"].tolist() == ["alone"]
    assert len(reg) == 1


def test_time_regions_of_unconnected_kommuner_stay_alone():
    from smaby_geo.analysis.regions import delineate_by_time

    codes = ["1151", "1835", "1856"]
    times = np.full((3, 3), np.inf)
    np.fill_diagonal(times, 0.0)
    mem, _ = delineate_by_time(codes, np.eye(3) * 10, times, ["1835"])
    assert mem.set_index("kommunenummer")["centre"].to_dict() == {
        "1151": "1151",
        "1835": "1835",
        "1856": "1856",
    }
    assert mem["step"].tolist() == ["alone", "centre", "alone"]


@pytest.mark.parametrize("with_options", [False, True])
def test_lma_of_one_kommune_is_one_residual_area(with_options):
    from smaby_geo.analysis.lma import delineate_lma

    opts = (
        {"adjacency_matrix": np.zeros((1, 1), bool), "times": np.zeros((1, 1)), "max_minutes": 75}
        if with_options
        else {}
    )
    mem, reg = delineate_lma(["1151"], np.array([[150.0]]), population=[200.0], **opts)
    assert mem["kommunenummer"].tolist() == ["1151"] and mem["centre"].tolist() == ["1151"]
    assert mem["step"].tolist() == ["residual"]  # 150 residents: below the minimum size
    assert len(reg) == 1


def test_lma_of_unconnected_kommuner_keeps_each_alone():
    from smaby_geo.analysis.lma import delineate_lma

    times = np.full((2, 2), np.inf)
    np.fill_diagonal(times, 0.0)
    mem, _ = delineate_lma(
        ["1151", "1835"],
        np.diag([150.0, 400.0]),
        adjacency_matrix=np.zeros((2, 2), bool),
        times=times,
        max_minutes=75,
        population=[200.0, 450.0],
    )
    assert mem["centre"].tolist() == ["1151", "1835"]
    assert mem["region"].nunique() == 2
