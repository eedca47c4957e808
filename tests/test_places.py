import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from smaby_geo.places import read_place_names
from smaby_geo.places.population import (
    as_origins,
    decode_ssb_cell_ids,
    read_kommuner,
    read_population_grid,
)
from smaby_geo.places.services import (
    _SHIPPED,
    INCOMPLETE_NOTE,
    count_sites_used,
    load_services,
    read_services,
    services_from_osm,
)
from smaby_geo.places.settlements import build_settlements

GRID_TOTAL = 5_146_614


@pytest.fixture(scope="module")
def kommuner():
    return read_kommuner()


@pytest.fixture(scope="module")
def grid250(kommuner):
    return read_population_grid("250m", kommuner=kommuner)


def test_ssb_cell_id_decoding():
    x, y = decode_ssb_cell_ids(pd.Series(["19250006618000", "22625006652250"]))
    assert x.tolist() == [-75000, 262500] and y.tolist() == [6618000, 6652250]
    with pytest.raises(ValueError, match="14 digits"):
        decode_ssb_cell_ids(pd.Series(["123"]))


def test_grid_250m_population_and_kommuner(grid250):
    assert len(grid250) == 220_171
    assert grid250["population"].sum() == GRID_TOTAL
    assert grid250["kommunenummer"].notna().all()
    assert grid250["kommunenummer"].nunique() == 357
    # Oslo holds about a seventh of the 2015 population
    oslo = grid250.loc[grid250["kommunenummer"] == "0301", "population"].sum()
    assert 600_000 < oslo < 700_000
    # centres sit in the middle of 250 m cells
    assert np.allclose((grid250.geometry.x - 125) % 250, 0)


def test_grid_1km_same_total(kommuner):
    g = read_population_grid("1km", kommuner=kommuner)
    assert g["population"].sum() == GRID_TOTAL and len(g) == 55_213


def test_settlements_conserve_population(grid250):
    s = build_settlements(grid250, place_names=read_place_names())
    assert s["population"].sum() == GRID_TOTAL
    assert s["cells"].sum() == len(grid250)
    big = s.sort_values("population").iloc[-1]
    assert big["place_name"] == "Oslo" and big["size_class"] == "town"
    assert set(s["size_class"]) == {"rural", "small_town", "town"}


def test_settlements_touching_cells_8_neighbour():
    cells = gpd.GeoDataFrame(
        {
            "x_sw": [0, 250, 500, 2000],
            "y_sw": [0, 250, 0, 0],
            "cell_size_m": 250,
            "population": [5, 10, 20, 7],
        },
        geometry=[Point(125, 125), Point(375, 375), Point(625, 125), Point(2125, 125)],
        crs="EPSG:25833",
    )
    s = build_settlements(cells, small_town_min_population=30, town_min_population=100)
    assert sorted(s["population"]) == [7, 35]
    assert sorted(s["size_class"]) == ["rural", "small_town"]


def _rows(name: str) -> pd.DataFrame:
    from smaby_geo.datasets import locate_dataset

    return pd.read_csv(locate_dataset(name, download=False), dtype=str)


def test_services_layer_counts_and_note():
    s = load_services()
    rows = {t: _rows(n) for t, n in _SHIPPED.items()}
    # the shipped tables have no repeated rows: every row is one site
    assert s.attrs["counts"] == {t: len(r) for t, r in rows.items()}
    assert s.attrs["duplicates"] == []
    note = s.attrs["note"]
    assert "not official registers" in note
    # the note states the counts the data have
    assert f"hospitals: {len(rows['hospital'])} with a cited akuttmottak" in note
    assert f"courts: {len(rows['court'])} tingrett venues, all of them" in note
    assert f"police: {len(rows['police'])} service locations against the 221-225" in note
    n_regional = int((rows["study_centre"]["service_type"] == "study_centre").sum())
    n_campus = len(rows["study_centre"]) - n_regional
    assert (
        f"study centres: {len(rows['study_centre'])}: {n_campus} higher-education campus towns "
        f"and {n_regional} regional study centres"
    ) in note
    n_unverified = len(_rows("hospital_candidates"))
    assert f"{n_unverified} more sites whose acute function is NOT verified left out" in note
    assert "69" not in note and "69" not in INCOMPLETE_NOTE
    assert s["service_id"].is_unique
    assert set(s["service_type"]) == {"hospital", "court", "police", "study_centre"}
    more = load_services(["hospital"], include_unverified_hospitals=True)
    assert more.attrs["counts"]["hospital"] == len(rows["hospital"]) + n_unverified
    assert "(included)" in more.attrs["note"] and "police" not in more.attrs["note"]


def test_duplicate_service_rows_are_reported_not_double_counted(tmp_path):
    src = _rows("courts")
    doubled = pd.concat([src, src.iloc[[0, 5]]], ignore_index=True)
    f = tmp_path / "courts.csv"
    doubled.to_csv(f, index=False)
    with pytest.warns(UserWarning, match="2 duplicate service rows"):
        s = load_services(["court"], paths={"courts": f})
    assert s.attrs["counts"]["court"] == len(src)
    names = src["name"].iloc[[0, 5]]
    assert s.attrs["duplicates"] == [f"court: {n}" for n in names]
    assert s["name"].is_unique
    assert "courts: from a user file" in s.attrs["note"]


def test_sites_far_from_the_network_are_not_counted_as_used():
    from smaby_geo.analysis.traveltimes import travel_times
    from smaby_geo.network import read_kartverket

    from .conftest import lines

    road = lines(
        [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]],
        typeVeg=["enkelBilveg"] * 2,
        vegkategori=["K", "K"],
        vegnummer=[None, None],
    )
    net = read_kartverket(road)
    sv = read_services(
        gpd.GeoDataFrame(
            {"name": ["near", "far", "also near"], "service_type": ["police", "police", "court"]},
            geometry=[Point(1900, 10), Point(1000, 50_000), Point(100, 0)],
            crs="EPSG:25833",
        )
    )
    cells = gpd.GeoDataFrame({"population": [10]}, geometry=[Point(500, 100)], crs="EPSG:25833")
    with pytest.warns(UserWarning, match="left out"):
        t = travel_times(net, cells, sv, service_types=["police", "court"])
    far_id = sv.loc[sv["name"] == "far", "service_id"].item()
    assert t.attrs["services_left_out"] == [far_id]
    assert sv.attrs["counts"]["police"] == 2
    assert count_sites_used(sv, t.attrs["services_left_out"]) == {"police": 1, "court": 1}


def test_services_unknown_type():
    with pytest.raises(ValueError, match="unknown service types"):
        load_services(["hospital", "bakery"])
    g = gpd.GeoDataFrame(
        {"service_type": ["police", "bakery"], "name": ["a", "b"]},
        geometry=[Point(0, 0), Point(1, 1)],
        crs="EPSG:25833",
    )
    with pytest.raises(ValueError, match="bakery"):
        read_services(g)


def test_user_services_reprojected():
    g = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(10.75, 59.91)], crs="EPSG:4326")
    s = read_services(g, service_type="police")
    assert s.crs == "EPSG:25833" and 250_000 < s.geometry.x.iloc[0] < 270_000


def test_services_from_osm_features_and_file():
    feats = gpd.GeoDataFrame(
        {
            "amenity": ["hospital", "hospital", "police", "college", "cafe"],
            "emergency": ["yes", None, None, None, None],
            "name": list("abcde"),
        },
        geometry=[
            Point(10.7, 59.9),
            box(10.8, 59.9, 10.81, 59.91),
            Point(10.75, 59.91),
            Point(10.76, 59.92),
            Point(10.77, 59.93),
        ],
        crs="EPSG:4326",
    )
    s = services_from_osm(feats)
    assert s["service_type"].tolist() == ["hospital", "police", "study_centre"]
    assert s.attrs["attribution"] == "© OpenStreetMap contributors"
    from smaby_geo.datasets import locate_dataset

    h = services_from_osm(locate_dataset("osm_helsinki"))
    assert h.attrs["counts"]["study_centre"] >= 1


def test_origins_need_population():
    g = gpd.GeoDataFrame({"people": [1]}, geometry=[Point(0, 0)], crs="EPSG:25833")
    with pytest.raises(ValueError, match="no population column 'population'"):
        as_origins(g)
    assert as_origins(g, "people")["population"].tolist() == [1]
    g["people"] = [-1]
    with pytest.raises(ValueError, match="negative"):
        as_origins(g, "people")


# --- snapping to links (METHODS §1 access legs) --------------------------------------------


def _line_net(coords_list, seconds_fw, seconds_bw=None):
    """A RoadNetwork of straight links given by their end coordinates (no geometry column)."""
    from smaby_geo.network.core import build_network

    ends = {}
    u, v = [], []
    for a, b in coords_list:
        u.append(ends.setdefault(a, len(ends)))
        v.append(ends.setdefault(b, len(ends)))
    xy = np.array(list(ends.keys()), dtype=float)
    n = len(coords_list)
    length = [float(np.hypot(b[0] - a[0], b[1] - a[1])) for a, b in coords_list]
    links = pd.DataFrame(
        {
            "link_id": np.arange(n),
            "u": u,
            "v": v,
            "seconds_fw": seconds_fw,
            "seconds_bw": seconds_fw if seconds_bw is None else seconds_bw,
            "length_m": length,
            "category": ["F"] * n,
            "road_number": [None] * n,
            "ferry": [False] * n,
        }
    )
    return build_network(links, xy[:, 0], xy[:, 1])


def test_point_beside_a_long_link_snaps_to_it_not_to_a_node_2km_away():
    from smaby_geo.places.snapping import AccessModel, snap_points

    # a 4 km link and a short spur; the point sits 50 m beside the middle of the long link,
    # 2 km from either of its ends (the nearest node)
    net = _line_net([((0, 0), (4000, 0)), ((4000, 0), (4000, 500))], [400.0, 50.0])
    s = snap_points(net, [2000.0], [50.0])
    assert s.connected[0] and s.link[0] == 0
    assert s.distance_m[0] == pytest.approx(50.0)
    _, node_dist = net.nearest_nodes([2000.0], [50.0])
    assert node_dist[0] == pytest.approx(np.hypot(2000, 50))
    assert s.frac[0] == pytest.approx(0.5)
    leg = 50 * 1.3 / (30 / 3.6)
    assert s.leg_seconds[0] == pytest.approx(leg)
    # half the link each way, access leg added
    assert s.out_seconds[0] == pytest.approx([leg + 200.0, leg + 200.0])
    assert s.in_seconds[0] == pytest.approx([leg + 200.0, leg + 200.0])
    # beyond the maximum snap distance: not attached
    far = snap_points(net, [2000.0], [6000.0], AccessModel(max_snap_m=5000))
    assert not far.connected[0] and np.isinf(far.out_seconds[0]).all()


def test_one_way_link_is_entered_only_along_its_direction():
    from smaby_geo.places.snapping import snap_points

    net = _line_net([((0, 0), (1000, 0))], [100.0], [np.inf])
    s = snap_points(net, [250.0], [0.0])
    leg = 0.0
    # from the point: only on to v (forward, 3/4 of the link); u is behind, against the flow
    assert np.isinf(s.out_seconds[0, 0])
    assert s.out_seconds[0, 1] == pytest.approx(leg + 75.0)
    # to the point: only from u (1/4 of the link)
    assert s.in_seconds[0, 0] == pytest.approx(25.0)
    assert np.isinf(s.in_seconds[0, 1])


def test_same_link_points_travel_directly_along_it():
    import geopandas as gpd
    from shapely.geometry import Point

    from smaby_geo.analysis.traveltimes import od_matrix

    net = _line_net([((0, 0), (10000, 0))], [1000.0])
    o = gpd.GeoDataFrame(geometry=[Point(2000, 0)], crs="EPSG:25833")
    d = gpd.GeoDataFrame(geometry=[Point(3000, 0)], crs="EPSG:25833")
    m = od_matrix(net, o, d)
    # 1 km of a 10 km link timed 1000 s: 100 s, not 2000 + 3000 s via a node
    assert m.iloc[0, 0] == pytest.approx(100.0 / 60.0)


def test_tunnels_and_ferries_are_not_snap_targets():
    from smaby_geo.places.snapping import AccessModel, snap_points

    net = _line_net([((0, 0), (1000, 0)), ((0, 300), (1000, 300))], [100.0, 100.0])
    net.links["tunnel"] = [True, False]
    s = snap_points(net, [500.0], [10.0])
    assert s.link[0] == 1 and s.distance_m[0] == pytest.approx(290.0)
    s2 = snap_points(net, [500.0], [10.0], AccessModel(snap_to_tunnels=True))
    assert s2.link[0] == 0


def test_kommune_centres_rules():
    import geopandas as gpd

    from smaby_geo.places.centres import kommune_centres

    cells = gpd.GeoDataFrame(
        {"kommunenummer": ["0001"] * 4, "population": [10, 10, 10, 50]},
        geometry=gpd.points_from_xy([100, 300, 600, 5500], [100, 300, 600, 5500]),
        crs="EPSG:25833",
    )
    pw = kommune_centres(cells)
    assert pw.geometry.x.iloc[0] == pytest.approx((10 * (100 + 300 + 600) + 50 * 5500) / 80)
    dk = kommune_centres(cells, "densest_km")
    assert dk.geometry.x.iloc[0] == pytest.approx(5500) and dk["centre_population"].iloc[0] == 50
    assert dk["population"].iloc[0] == 80
    with pytest.raises(ValueError, match="rule"):
        kommune_centres(cells, "biggest")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_nearest_segment_equals_brute_force(seed):
    import shapely

    from smaby_geo.places._nearest import build_grid, nearest_segments

    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 20_000, (300, 2))
    b = a + rng.normal(0, 1500, (300, 2))  # some segments span several grid cells
    p = rng.uniform(-3000, 23_000, (500, 2))
    cell = 700.0
    gx, gy, nx, ny, ptr, seg = build_grid(a[:, 0], a[:, 1], b[:, 0], b[:, 1], cell)
    best, dist, t = nearest_segments(
        p[:, 0].copy(), p[:, 1].copy(), a[:, 0].copy(), a[:, 1].copy(), b[:, 0].copy(),
        b[:, 1].copy(), gx, gy, cell, nx, ny, ptr, seg, 2500.0,
    )  # fmt: skip
    lines_ = shapely.linestrings(np.stack([a, b], axis=1))
    d = shapely.distance(lines_[None, :], shapely.points(p)[:, None])
    want = d.min(axis=1)
    within = want <= 2500.0
    assert np.array_equal(best >= 0, within)
    assert np.allclose(dist[within], want[within], atol=1e-9)
    assert np.allclose(d[np.flatnonzero(within), best[within]], want[within], atol=1e-9)
    # the position along the segment reproduces the distance
    q = a[best[within]] + (b[best[within]] - a[best[within]]) * t[within][:, None]
    assert np.allclose(np.hypot(*(p[within] - q).T), want[within], atol=1e-6)


@pytest.mark.parametrize(
    ("field", "value"),
    [("speed_kmh", 0.0), ("speed_kmh", float("nan")), ("max_snap_m", -5.0),
     ("detour_factor", float("inf")), ("max_snap_m", "5000")],
)  # fmt: skip
def test_access_model_refuses_bad_values_naming_the_field(field, value):
    from smaby_geo.places.snapping import AccessModel

    with pytest.raises(ValueError, match=f"AccessModel.{field} must be a positive number"):
        AccessModel(**{field: value})


def test_kommune_times_equal_od_matrix_between_centres(n1000):
    from smaby_geo.analysis.traveltimes import od_matrix
    from smaby_geo.network import clip_network
    from smaby_geo.places.centres import kommune_centres, kommune_times
    from smaby_geo.places.population import read_kommuner, read_population_grid

    kom = read_kommuner()
    sel = kom[kom["kommunenavn"].isin(["Tynset", "Alvdal", "Tolga", "Rendalen"])]
    net = clip_network(n1000, sel.geometry.union_all().buffer(30_000))
    cells = read_population_grid("1km", kommuner=kom)
    cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
    times, centres = kommune_times(net, cells)
    assert list(times.index) == sorted(sel["kommunenummer"])
    m = od_matrix(net, centres, centres).to_numpy()
    off = ~np.eye(len(centres), dtype=bool)
    assert np.allclose(times.to_numpy()[off], m[off], rtol=1e-12)
    # the diagonal: the population-weighted mean minutes from the kommune's cells to its centre
    k = centres.index[0]
    c = cells[cells["kommunenummer"] == k]
    to_c = od_matrix(net, c, centres.loc[[k]]).to_numpy()[:, 0]
    p = c["population"].to_numpy(float)
    ok = np.isfinite(to_c)
    assert times.loc[k, k] == pytest.approx((to_c[ok] * p[ok]).sum() / p[ok].sum())
    assert (centres.geometry.x == kommune_centres(cells).geometry.x).all()
