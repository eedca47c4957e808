"""The rule-of-half benefit of ``compare``, against a value worked out by hand.

Two kommuner A and B, 10,000 residents each at one cell on a 60 km road. The base drives it
at 60 km/h (60 min), the scenario at 120 km/h (30 min). Each cell lies on the road, so the
access legs and the internal times are 0, and the doubly-constrained gravity model with equal
margins and f = exp(-0.1 t) is symmetric: T_AB = T_BA = P f / (1 + f), T_AA = P / (1 + f).
The rule of half, 0.5 * sum_ij (T0_ij + T1_ij)(c0_ij - c1_ij), has two non-zero terms:
0.5 * 2 * (T0_AB + T1_AB) * 30 min = 30 * P * (f0 / (1 + f0) + f1 / (1 + f1)),
with f0 = exp(-6), f1 = exp(-3): 30 * 10,000 * (0.0024726 + 0.0474259) = 14,969.6
person-minutes per day.
"""

import math

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from smaby_geo.analysis.flows import DEFAULT_BETA_PER_MIN
from smaby_geo.analysis.scenarios import compare
from smaby_geo.network import network_from_lines
from tests.conftest import lines

P = 10_000
XA, XB, Y = 300_000.0, 360_000.0, 6_800_000.0


def _net(speed_kmh):
    return network_from_lines(lines([[(XA, Y), (XB, Y)]], speed=[speed_kmh]), speed_column="speed")


def test_rule_of_half_benefit_equals_the_hand_computed_value():
    assert DEFAULT_BETA_PER_MIN == 0.1  # the value the docstring's arithmetic uses
    crs = "EPSG:25833"
    cells = gpd.GeoDataFrame(
        {"population": [P, P], "kommunenummer": ["0001", "0002"]},
        geometry=[Point(XA, Y), Point(XB, Y)],
        crs=crs,
    )
    kommuner = gpd.GeoDataFrame(
        {"kommunenummer": ["0001", "0002"], "kommunenavn": ["A", "B"]},
        geometry=[
            box(XA - 30_000, Y - 30_000, 330_000, Y + 30_000),
            box(330_000, Y - 30_000, XB + 30_000, Y + 30_000),
        ],
        crs=crs,
    )
    services = gpd.GeoDataFrame(
        {"service_id": ["hospital-1"], "service_type": ["hospital"], "name": ["H"]},
        geometry=[Point(XA, Y)],
        crs=crs,
    )
    r = compare(
        _net(60.0), _net(120.0), cells, services, service_types=["hospital"], kommuner=kommuner
    )
    f0, f1 = math.exp(-6.0), math.exp(-3.0)
    by_hand = 30 * P * (f0 / (1 + f0) + f1 / (1 + f1))
    assert by_hand == pytest.approx(14_969.6, abs=0.1)
    assert r.benefit.person_minutes_per_day == pytest.approx(by_hand, rel=1e-9)
    # and the travel-time side of the same comparison: B's cell is 30 minutes nearer
    cells_out = r.cells.set_index("kommunenummer")
    assert cells_out.loc["0002", "hospital_delta"] == pytest.approx(-30.0, abs=1e-9)
    assert cells_out.loc["0001", "hospital_delta"] == 0.0
