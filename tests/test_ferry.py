"""Ferry ends joined to the road by connectors; one wait per crossing; bad parameters."""

import numpy as np
import pytest

from smaby_geo.network import FerryModel, read_kartverket
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile
from smaby_geo.routing import one_to_all

from .conftest import lines


def _dangling(offset_m=80.0, **ferry):
    """Road A (0,0)-(1000,0); ferry from (1000,0) north 11 km to a landing ``offset_m`` west
    of the middle of road B, which runs (0..2000, 11000 + offset_m)... drawn west-east."""
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 11000)],
            [(0, 11000 + offset_m), (2000, 11000 + offset_m)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg"],
        vegkategori=["F", "F", "F"],
        vegnummer=[60.0, 60.0, 60.0],
    )
    return read_kartverket(g, profile=prior_profile().with_ferry(**ferry), builtup=None)


def test_ferry_end_80_m_off_the_road_is_joined_and_used():
    net = _dangling(80.0)
    fc = net.report["ferry_connectors"]
    assert fc["ferry_ends"] == 1 and fc["joined"] == 1 and fc["unjoined"] == []
    assert fc["roads_split"] == 1  # the landing faces the middle of road B
    lk = net.links
    con = lk[lk["connector"]]
    assert len(con) == 1 and con["length_m"].iloc[0] == pytest.approx(80.0)
    assert con["time_basis"].iloc[0] == "connector"
    # road B split at (1000, 11080) into two pieces of 1000 m that remember their link
    pieces = lk[lk["split_from"].notna()]
    assert sorted(pieces["length_m"].round(6)) == [1000.0, 1000.0]
    # from the start of road A to the west end of road B, through the ferry and the connector
    start = int(np.argmin(np.hypot(net.node_x - 0, net.node_y - 0)))
    west_b = int(np.argmin(np.hypot(net.node_x - 0, net.node_y - 11080)))
    d = one_to_all(net, start)
    wait = PRIOR_HEADWAY_MIN / 2 * 60  # half of the prior's headway
    expect = 1000 / (65 / 3.6) + 11000 / (22 / 3.6) + wait + 80 / (40 / 3.6) + 1000 / (65 / 3.6)
    assert d[west_b] == pytest.approx(expect)
    # and back: the wait is charged when boarding at the landing (a terminal now)
    assert one_to_all(net, west_b)[start] == pytest.approx(expect)


def test_unjoined_ferry_end_is_a_dead_end_with_a_reason():
    net = _dangling(80.0, max_connector_m=50.0)
    fc = net.report["ferry_connectors"]
    assert fc["joined"] == 0 and len(fc["unjoined"]) == 1
    e = fc["unjoined"][0]
    assert e["link_id"] == 1 and e["nearest_road_m"] == pytest.approx(80.0)
    assert "beyond the connector limit of 50 m" in e["reason"]
    assert "not joined: ferry link 1" in net.describe()
    d = one_to_all(net, 0)
    # road A's two ends and the landing are reached; road B's two ends are not
    assert net.n_nodes == 5 and np.isinf(d).sum() == 2
    road_b = np.isclose(net.node_y, 11080)
    assert np.isinf(d[road_b]).all()


def test_road_across_the_water_is_not_joined():
    # a short ferry (1.5 km) whose far landing is 2 km from the only other road, which lies
    # back beside the near terminal: the connector would cross the water
    g = lines(
        [[(0, 0), (1000, 0)], [(1000, 0), (1000, 1500)], [(1500, -100), (3000, -100)]],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg"],
        vegkategori=["F", "F", "F"],
    )
    net = read_kartverket(g, builtup=None, profile=prior_profile())
    fc = net.report["ferry_connectors"]
    assert fc["joined"] == 0
    assert "across the water" in fc["unjoined"][0]["reason"]


def test_landing_on_a_road_node_does_not_split():
    g = lines(
        [[(0, 0), (1000, 0)], [(1000, 0), (1000, 5000)], [(1000.5, 5030), (3000, 5030)]],
        typeVeg=["enkelBilveg", "bilferje", "enkelBilveg"],
        vegkategori=["F", "F", "F"],
    )
    net = read_kartverket(g, builtup=None, profile=prior_profile())
    fc = net.report["ferry_connectors"]
    assert fc["joined"] == 1 and fc["roads_split"] == 0
    assert net.links["connector"].sum() == 1 and len(net.links) == 4


def test_split_ferry_with_a_dangling_end_charges_one_wait():
    # road - ferry - ferry (sea node) - landing 60 m off road B: one crossing, one wait
    g = lines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (1000, 5500)],
            [(1000, 5500), (1000, 11000)],
            [(0, 11060), (1000, 11060)],
        ],
        typeVeg=["enkelBilveg", "bilferje", "bilferje", "enkelBilveg"],
        vegkategori=["E", "E", "E", "E"],
    )
    net = read_kartverket(g, builtup=None, profile=prior_profile())
    assert net.report["ferry_connectors"]["joined"] == 1
    d = one_to_all(net, 0)
    end = int(np.argmin(np.hypot(net.node_x - 0, net.node_y - 11060)))
    expect = 2000 / (80 / 3.6) + 11000 / (22 / 3.6) + PRIOR_HEADWAY_MIN / 2 * 60 + 60 / (40 / 3.6)
    assert d[end] == pytest.approx(expect)
    assert one_to_all(net, end)[0] == pytest.approx(expect)


@pytest.mark.parametrize("name", ["max_connector_m", "connector_speed_kmh"])
@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf")])
def test_bad_connector_parameters_are_named(name, bad):
    with pytest.raises(ValueError, match=f"FerryModel.{name} must be a finite number > 0"):
        FerryModel(**{name: bad})


def test_connector_speed_above_the_local_road_limit_is_refused():
    with pytest.raises(ValueError, match="legal limit"):
        FerryModel(connector_speed_kmh=95.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"default_headway_min": "60"}, "default_headway_min must be a number >= 0"),
        ({"max_wait_min": -1.0}, "max_wait_min must be a number >= 0"),
        ({"headways_min": {14257: -5.0}}, "headways_min has headways that are not numbers"),
        ({"headways_min": {14257: "30"}}, "headways_min has headways that are not numbers"),
        ({"crossing_speed_kmh": 0.0}, "crossing_speed_kmh must be a finite number > 0"),
    ],
)
def test_bad_ferry_model_values_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FerryModel(**kwargs)
