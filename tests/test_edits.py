"""Scenario edits on N1000, NVDB and OSM networks, every wait mode; edit value checks."""

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString

from smaby_geo.datasets import locate_dataset
from smaby_geo.network import read_kartverket, read_nvdb, read_osm
from smaby_geo.network.edits import (
    FerryHeadway,
    NewLink,
    ReplaceFerry,
    Scenario,
    Upgrade,
    apply_scenario,
)
from smaby_geo.network.ferry import crossing_rows, transfer_links
from smaby_geo.network.profile import prior_profile
from smaby_geo.routing import one_to_all

MODES = ["half_headway", "effective_speed", "none"]

OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="60.000" lon="10.000"/>
 <node id="2" lat="60.010" lon="10.000"/>
 <node id="3" lat="60.030" lon="10.000"/>
 <node id="4" lat="60.050" lon="10.000"/>
 <node id="5" lat="60.040" lon="10.040"/>
 <node id="6" lat="60.060" lon="10.000"/>
 <node id="7" lat="60.040" lon="10.060"/>
 <node id="8" lat="60.120" lon="10.000"/>
 <node id="9" lat="60.130" lon="10.000"/>
 <way id="100"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
 <way id="101"><nd ref="2"/><nd ref="3"/><nd ref="4"/>
  <tag k="route" v="ferry"/><tag k="motor_vehicle" v="yes"/><tag k="duration" v="00:40"/></way>
 <way id="102"><nd ref="3"/><nd ref="5"/><tag k="route" v="ferry"/></way>
 <way id="103"><nd ref="4"/><nd ref="6"/><tag k="highway" v="residential"/></way>
 <way id="104"><nd ref="5"/><nd ref="7"/><tag k="highway" v="tertiary"/></way>
 <way id="105"><nd ref="6"/><nd ref="8"/>
  <tag k="route" v="ferry"/><tag k="duration" v="01:00"/></way>
 <way id="106"><nd ref="8"/><nd ref="9"/><tag k="highway" v="secondary"/></way>
</osm>"""


def _profile(mode):
    # the hand-computed times below charge a 30-minute wait (half of a 60-minute headway):
    # pinned here so they do not follow the prior headway when it is refitted
    return prior_profile().with_ferry(wait_mode=mode, default_headway_min=60.0)


def _osm(tmp_path_factory, mode):
    f = tmp_path_factory.mktemp("osm") / "ferries.osm"
    f.write_text(OSM_XML)
    return read_osm(f, profile=_profile(mode))


def _nvdb_layer():
    # road A-B; ferry B-S-C split at a sea node S; road C-D; ferry D-E landing 100 m off road F
    rows = [
        ("A", "B", [(0, 0), (1000, 0)], 1.0, False),
        ("B", "S", [(1000, 0), (1000, 2500)], 7.0, True),
        ("S", "C", [(1000, 2500), (1000, 5000)], 7.0, True),
        ("C", "D", [(1000, 5000), (2000, 5000)], 1.0, False),
        ("D", "E", [(2000, 5000), (2000, 9000)], 11.0, True),
        ("F1", "F2", [(1000, 9100), (3000, 9100)], 2.0, False),
    ]
    return gpd.GeoDataFrame(
        {
            "FromNodeID": [r[0] for r in rows],
            "ToNodeID": [r[1] for r in rows],
            "ONEWAY": ["B"] * len(rows),
            "FT_MINUTES": [r[3] for r in rows],
            "TF_MINUTES": [r[3] for r in rows],
            "ferje": [r[4] for r in rows],
            "ROUTEID": list(range(len(rows))),
        },
        geometry=[LineString(r[2]) for r in rows],
        crs="EPSG:25833",
    )


def _nvdb(mode):
    return read_nvdb(
        _nvdb_layer(), ferry_column="ferje", profile=_profile(mode)
    )


@pytest.fixture(scope="module")
def sunnmore_layer():
    """N1000 links of Sunnmøre (Ålesund, Sykkylven: many ferries), read once."""
    tr = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    x0, y0 = tr.transform(5.9, 62.2)
    x1, y1 = tr.transform(7.1, 62.75)
    return pyogrio.read_dataframe(
        locate_dataset("n1000_roads"), bbox=(x0, y0, x1, y1), fid_as_index=True
    )


def _n1000(layer, mode):
    return read_kartverket(layer, profile=_profile(mode))


@pytest.fixture(params=["n1000", "nvdb", "osm"])
def reader(request, sunnmore_layer, tmp_path_factory):
    def make(mode):
        if request.param == "n1000":
            return _n1000(sunnmore_layer, mode)
        if request.param == "nvdb":
            return _nvdb(mode)
        return _osm(tmp_path_factory, mode)

    make.name = request.param
    return make


@pytest.mark.parametrize("mode", MODES)
def test_scenario_without_edits_changes_nothing(reader, mode):
    net = reader(mode)
    assert net.profile.ferry.wait_mode == mode
    assert net.links["ferry"].sum() >= 3
    same = apply_scenario(net, Scenario("nothing", []))
    assert np.array_equal(same.weights, net.weights)
    assert np.array_equal(same.indices, net.indices)
    for c in ("seconds_fw", "seconds_bw"):
        assert np.array_equal(same.links[c].to_numpy(), net.links[c].to_numpy())
    assert same.profile is net.profile
    # re-timing with its own profile reproduces the reader's times exactly
    again = net.with_profile(net.profile)
    assert np.array_equal(again.weights, net.weights)


@pytest.mark.parametrize("mode", MODES)
def test_editing_one_ferry_changes_only_that_crossing(reader, mode):
    net = reader(mode)
    lk = net.links
    # a ferry link of the data (not a route transfer or shared-track copy, ferry.py)
    own = ~transfer_links(lk) & lk["ferry_shared_with"].isna().to_numpy()
    ferry_rows = np.flatnonzero(lk["ferry"].to_numpy() & own)
    row = int(ferry_rows[-1])
    crossing = set(crossing_rows(lk, row).tolist())
    assert len(crossing) < len(ferry_rows)
    edited = apply_scenario(
        net, Scenario("h", [FerryHeadway(link_id=lk["link_id"].iloc[row], headway_min=10.0)])
    )
    fw0, bw0 = lk["seconds_fw"].to_numpy(), lk["seconds_bw"].to_numpy()
    fw1, bw1 = edited.links["seconds_fw"].to_numpy(), edited.links["seconds_bw"].to_numpy()
    changed = set(np.flatnonzero((fw0 != fw1) | (bw0 != bw1)).tolist())
    assert changed <= crossing
    if mode == "half_headway":
        # the wait drops from 30 to 5 minutes, charged once: boarding at either end
        assert changed
        delta = (fw0 - fw1)[sorted(crossing)]
        assert np.nansum(np.where(np.isfinite(delta), delta, 0)) == pytest.approx(25 * 60)
    else:
        assert not changed
    # closing it (no departures) removes just that crossing
    closed = apply_scenario(
        net,
        Scenario("c", [FerryHeadway(link_id=lk["link_id"].iloc[row], headway_min=np.inf)]),
    )
    gone = np.isinf(closed.links["seconds_fw"].to_numpy()) & np.isfinite(fw0)
    assert set(np.flatnonzero(gone).tolist()) == crossing


def test_osm_crossing_split_at_a_node_charges_duration_and_wait_once(tmp_path_factory):
    net = _osm(tmp_path_factory, "half_headway")
    lk = net.links
    way101 = lk[lk["osm_way"] == 101]
    assert len(way101) == 2  # split where ferry way 102 leaves it
    assert way101["duration_s"].sum() == pytest.approx(40 * 60)
    start = int(lk.loc[lk["osm_way"] == 100, "u"].iloc[0])
    d = one_to_all(net, start)
    end = int(lk.loc[lk["osm_way"] == 103, "u"].iloc[0])  # node 4, the far landing
    road = lk.loc[lk["osm_way"] == 100, "seconds_fw"].iloc[0]
    assert d[end] == pytest.approx(road + 40 * 60 + 30 * 60)  # not 2 x (40 + 30)


def test_osm_other_ferries_keep_their_duration_after_an_edit(tmp_path_factory):
    net = _osm(tmp_path_factory, "half_headway")
    lk = net.links
    row105 = int(np.flatnonzero(lk["osm_way"].to_numpy() == 105)[0])
    assert lk["seconds_fw"].iloc[row105] == pytest.approx(3600 + 1800)
    lid = lk.loc[lk["osm_way"] == 102, "link_id"].iloc[0]
    ed = apply_scenario(net, Scenario("r", [ReplaceFerry(link_id=lid, speed_kmh=60)]))
    assert ed.links["seconds_fw"].iloc[row105] == pytest.approx(3600 + 1800)


def test_effective_speed_network_edited_without_profile_keeps_other_crossings(sunnmore_layer):
    net = _n1000(sunnmore_layer, "effective_speed")
    lk = net.links
    ferry = np.flatnonzero(lk["ferry"].to_numpy())
    ed = apply_scenario(
        net, Scenario("h", [FerryHeadway(link_id=lk["link_id"].iloc[ferry[0]], headway_min=20)])
    )
    keep = np.setdiff1d(ferry, crossing_rows(lk, int(ferry[0])))
    assert np.array_equal(
        ed.links["seconds_fw"].to_numpy()[keep], lk["seconds_fw"].to_numpy()[keep]
    )
    expect = lk["length_m"].to_numpy()[keep] / (12.3 / 3.6)
    assert np.allclose(lk["seconds_fw"].to_numpy()[keep], expect)


def test_nvdb_ferry_joined_and_waits_once():
    net = _nvdb("half_headway")
    fc = net.report["ferry_connectors"]
    assert fc["joined"] == 1 and fc["unjoined"] == []
    a = int(np.argmin(np.hypot(net.node_x, net.node_y)))
    d = one_to_all(net, a)
    c = int(np.argmin(np.hypot(net.node_x - 1000, net.node_y - 5000)))
    # road 1 min + the split crossing 2 x 7 min + one 30 min wait
    assert d[c] == pytest.approx((1 + 14 + 30) * 60)
    f1 = int(np.argmin(np.hypot(net.node_x - 1000, net.node_y - 9100)))
    e_to_f = 100 / (40 / 3.6) + 1000 / 2000 * 2 * 60  # connector, then half of road F
    assert d[f1] == pytest.approx((1 + 14 + 30 + 1 + 11 + 30) * 60 + e_to_f)


def test_load_nvdb_keeps_profile():
    from smaby_geo.network import load_network

    p = prior_profile().with_ferry(default_headway_min=20)
    assert load_network("nvdb", profile=p).profile is p


def test_upgrade_keeps_urban_speed_inside_built_up_areas():
    g = gpd.GeoDataFrame(
        {"typeVeg": ["enkelBilveg"], "vegkategori": ["R"], "vegnummer": [3.0]},
        geometry=[LineString([(0, 0), (2000, 0)])],
        crs="EPSG:25833",
    )
    town = gpd.GeoDataFrame(geometry=[shapely.box(1000, -100, 3000, 100)], crs="EPSG:25833")
    net = read_kartverket(g, builtup=town, profile=prior_profile())
    assert net.links["urban_fraction"].iloc[0] == pytest.approx(0.5)
    up = apply_scenario(net, Scenario("u", [Upgrade(road="Rv3", speed_kmh=90)]))
    t = up.links["seconds_fw"].iloc[0]
    assert t == pytest.approx(1000 / (90 / 3.6) + 1000 / (50 / 3.6))
    assert up.links["scenario_edit"].iloc[0] == "upgrade"


# --- value checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ReplaceFerry(link_id=14257, speed_kmh=0), "replace_ferry: speed_kmh must be > 0"),
        (lambda: ReplaceFerry(link_id=14257, speed_kmh=-80), "replace_ferry: speed_kmh"),
        (
            lambda: ReplaceFerry(link_id=14257, speed_kmh="90"),
            "replace_ferry: speed_kmh must be a number",
        ),
        (lambda: ReplaceFerry(link_id=[14257]), "replace_ferry: link_id must be one link id"),
        (lambda: ReplaceFerry(), "replace_ferry: give link_id"),
        (lambda: Upgrade(road="Rv3", speed_kmh=np.inf), "upgrade: speed_kmh must be a finite"),
        (lambda: Upgrade(road="Rv3", speed_kmh=np.nan), "upgrade: speed_kmh must be a finite"),
        (lambda: Upgrade(road="Rv3", speed_kmh=150), "upgrade: speed_kmh must be at most 110"),
        (lambda: Upgrade(road="Rv3", speed_kmh="90"), "upgrade: speed_kmh must be a number"),
        (lambda: Upgrade(road="Rv3", factor=-1.2), "upgrade: factor must be > 0"),
        (lambda: Upgrade(road="Rv3"), "upgrade: give exactly one of speed_kmh or factor"),
        (lambda: Upgrade(link_ids=14257, speed_kmh=90), "upgrade: link_ids must be a list"),
        (
            lambda: Upgrade(area="POLYGON ((0 0, 1 1", speed_kmh=90),
            "upgrade: area is not valid WKT",
        ),
        (
            lambda: Upgrade(area="POINT (1 1)", speed_kmh=90),
            "upgrade: area must be a polygon or a line",
        ),
        (lambda: Upgrade(speed_kmh=90), "upgrade: choose links"),
        (lambda: Upgrade(road="motorway 1", speed_kmh=90), "not understood"),
        (lambda: NewLink(start=(1, 2), end=(1, 2)), "new_link: start and end are the same point"),
        (
            lambda: NewLink(start=(1, 2), end=(3, np.nan)),
            "new_link: end coordinates must be finite",
        ),
        (lambda: NewLink(start=(1, 2), end="Tynset"), "new_link: end must be a point"),
        (lambda: NewLink(start=(1, 2), end=(5, 6), speed_kmh=0), "new_link: speed_kmh must be > 0"),
        (lambda: NewLink(start=(1, 2), end=(5, 6), max_snap_m=-1), "new_link: max_snap_m"),
        (
            lambda: FerryHeadway(headway_min=-10, link_id=1),
            "ferry_headway: headway_min must be > 0",
        ),
        (
            lambda: FerryHeadway(headway_min=np.nan, link_id=1),
            "ferry_headway: headway_min must be a finite",
        ),
        (
            lambda: FerryHeadway(headway_min="30", link_id=1),
            "ferry_headway: headway_min must be a number",
        ),
        (lambda: Scenario("x", ["upgrade Rv3"]), "not an edit"),
    ],
)
def test_edits_that_make_no_sense_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_new_link_whose_ends_join_one_node_is_refused(sunnmore_layer):
    net = _n1000(sunnmore_layer, "none")
    x, y = float(net.node_x[0]), float(net.node_y[0])
    with pytest.raises(ValueError, match=r"new_link: start .* both join the network at node"):
        apply_scenario(net, Scenario("n", [NewLink(start=(x, y), end=(x + 1, y + 1))]))


def test_headway_inf_is_allowed_and_closes_the_crossing():
    assert FerryHeadway(headway_min=np.inf, link_id=1).headway_min == np.inf
