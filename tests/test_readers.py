"""Streaming readers give the same networks as the straightforward readers they replaced.

OSM: ``read_osm`` streams only tagged ways to Python and splits them vectorised; the oracle
here is the per-node reader it replaced (every node and way through Python, one shapely line
per piece), kept in this file. NVDB: ``read_nvdb`` reads only the columns it uses through the
Arrow path, with optional bbox/where filters in GDAL; the oracle is the whole layer read with
every column, filtered in pandas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from smaby_geo.datasets import locate_dataset
from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers.nvdb import NVDB_COLUMNS, read_nvdb, read_nvdb_layer
from smaby_geo.network.readers.osm import (
    _osm_direction,
    osm_is_car_way,
    parse_osm_duration,
    read_osm,
)


def _reference_osm_links(path, profile=None):
    """The per-node OSM reader that ``read_osm`` replaced: (links rows, geometries).

    Also the "before" of ``benchmarks/readers.py``; ``attrs`` hold the ways read and the way
    nodes without a location.
    """
    import osmium
    from pyproj import Transformer

    profile = profile or CarProfile()
    ways = []
    missing = 0
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for w in fp:
        if not isinstance(w, osmium.osm.Way):
            continue
        tags = dict(w.tags)
        ok, ferry = osm_is_car_way(tags)
        if not ok:
            continue
        refs = np.array([n.ref for n in w.nodes], dtype=np.int64)
        valid = np.array([n.location.valid() for n in w.nodes], dtype=bool)
        lon = np.array(
            [n.location.lon if v else np.nan for n, v in zip(w.nodes, valid, strict=False)]
        )
        lat = np.array(
            [n.location.lat if v else np.nan for n, v in zip(w.nodes, valid, strict=False)]
        )
        ways.append((w.id, tags, refs, lon, lat, ferry))
        missing += int((~valid).sum())
    uniq, counts = np.unique(np.concatenate([w[2] for w in ways]), return_counts=True)
    shared = set(uniq[counts > 1].tolist())
    tr = Transformer.from_crs("EPSG:4326", NETWORK_CRS, always_xy=True)
    rows, geoms = [], []
    for wid, tags, refs, lon, lat, ferry in ways:
        x, y = tr.transform(lon, lat)
        fw_ok, bw_ok = _osm_direction(tags) if not ferry else (True, True)
        speed = np.nan if ferry else profile.osm_speed(tags.get("highway"), tags.get("maxspeed"))
        start = None
        for i in range(len(refs)):
            if not np.isfinite(x[i]):
                start = None
                continue
            if start is None:
                start = i
                continue
            if i == len(refs) - 1 or int(refs[i]) in shared or not np.isfinite(x[i + 1]):
                seg = slice(start, i + 1)
                rows.append(
                    {
                        "osm_way": wid,
                        "u_ref": int(refs[start]),
                        "v_ref": int(refs[i]),
                        "fw": fw_ok,
                        "bw": bw_ok,
                        "ferry": ferry,
                        "speed": speed,
                        "maxspeed": tags.get("maxspeed"),
                        "highway": tags.get("highway", "ferry" if ferry else None),
                        "ref": tags.get("ref"),
                        "duration_s": parse_osm_duration(tags.get("duration")) if ferry else np.nan,
                    }
                )
                geoms.append(shapely.linestrings(np.column_stack([x[seg], y[seg]])))
                start = i
    links = pd.DataFrame(rows)
    links.attrs.update(ways_read=len(ways), nodes_without_location=missing)
    return links, geoms


# A clipped extract in miniature: way 20 runs out of the file (node 99 has no location) and
# back in, way 21 is a closed loop, way 22 crosses 20 at a shared node, a ferry, a footway and
# a private road that must be left out, a node tagged highway=traffic_signals.
EDGE_CASES = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="60.000" lon="10.000"/>
 <node id="2" lat="60.001" lon="10.001"><tag k="highway" v="traffic_signals"/></node>
 <node id="3" lat="60.002" lon="10.002"/>
 <node id="4" lat="60.003" lon="10.003"/>
 <node id="5" lat="60.004" lon="10.004"/>
 <node id="6" lat="60.005" lon="10.005"/>
 <node id="7" lat="60.002" lon="10.010"/>
 <node id="8" lat="60.010" lon="10.010"/>
 <node id="9" lat="60.011" lon="10.020"/>
 <node id="10" lat="60.020" lon="10.030"/>
 <node id="11" lat="60.030" lon="10.030"/>
 <way id="20"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="99"/><nd ref="4"/><nd ref="5"/>
  <nd ref="6"/><tag k="highway" v="secondary"/><tag k="ref" v="Fv30"/></way>
 <way id="21"><nd ref="8"/><nd ref="9"/><nd ref="10"/><nd ref="8"/>
  <tag k="highway" v="residential"/><tag k="junction" v="roundabout"/></way>
 <way id="22"><nd ref="7"/><nd ref="3"/><nd ref="8"/><tag k="highway" v="tertiary"/>
  <tag k="maxspeed" v="60"/><tag k="oneway" v="-1"/></way>
 <way id="23"><nd ref="10"/><nd ref="11"/><tag k="route" v="ferry"/>
  <tag k="duration" v="0:25"/></way>
 <way id="24"><nd ref="5"/><nd ref="11"/><tag k="highway" v="footway"/></way>
 <way id="25"><nd ref="6"/><nd ref="11"/><tag k="highway" v="service"/>
  <tag k="access" v="private"/></way>
 <way id="26"><nd ref="99"/><nd ref="98"/><tag k="highway" v="primary"/></way>
</osm>"""


def _osm_cases(tmp_path_factory):
    f = tmp_path_factory.mktemp("osm") / "edge_cases.osm"
    f.write_text(EDGE_CASES)
    return f


@pytest.mark.parametrize("name", ["osm_test", "osm_helsinki", "edge_cases"])
def test_streaming_osm_reader_equals_the_per_node_reader(name, tmp_path_factory):
    path = _osm_cases(tmp_path_factory) if name == "edge_cases" else locate_dataset(name)
    ref, ref_geoms = _reference_osm_links(path)
    net = read_osm(path)
    lk = net.links[~net.links["connector"].to_numpy(dtype=bool)]
    assert len(lk) == len(ref) > 0
    pd.testing.assert_series_equal(
        lk["osm_way"].reset_index(drop=True), ref["osm_way"], check_names=False
    )
    for col, rcol in (("fw_open", "fw"), ("bw_open", "bw"), ("ferry", "ferry")):
        assert np.array_equal(lk[col].to_numpy(dtype=bool), ref[rcol].to_numpy(dtype=bool)), col
    for col, rcol in (("category", "highway"), ("road_number", "ref"), ("maxspeed", "maxspeed")):
        a = pd.Series(lk[col].to_numpy(dtype=object)).fillna("-").tolist()
        assert a == pd.Series(ref[rcol].to_numpy(dtype=object)).fillna("-").tolist(), col
    assert shapely.equals_exact(lk.geometry.to_numpy(), np.array(ref_geoms), tolerance=0).all()
    assert np.array_equal(lk["length_m"].to_numpy(), shapely.length(np.array(ref_geoms)))
    # link ends are the same OSM nodes
    node_of_ref = dict(zip(ref["u_ref"], lk["u"], strict=True))
    node_of_ref.update(zip(ref["v_ref"], lk["v"], strict=True))
    assert [node_of_ref[r] for r in ref["u_ref"]] == lk["u"].tolist()
    assert [node_of_ref[r] for r in ref["v_ref"]] == lk["v"].tolist()
    road = ~ref["ferry"].to_numpy(dtype=bool)
    fw = lk["seconds_fw"].to_numpy()[road]
    exp = lk["length_m"].to_numpy()[road] / (ref["speed"].to_numpy()[road] / 3.6)
    assert np.allclose(fw[np.isfinite(fw)], exp[np.isfinite(fw)], rtol=0, atol=1e-9)
    if name == "edge_cases":
        assert net.report["nodes_without_location"] == 3  # node 99 twice, node 98 once
        assert set(lk["osm_way"]) == {20, 21, 22, 23}
        # way 20 is cut around the missing node 99: 1-2-3 and 4-5-6 (node 5 is only shared
        # with a footway, which is not kept); way 22 at node 3 (shared with 20); the loop 21
        # at node 10, where the ferry lands
        ends = {
            w: list(zip(g["u"], g["v"], strict=True)) for w, g in lk.groupby("osm_way", sort=True)
        }
        n = dict(zip(ref["u_ref"], lk["u"], strict=True)) | dict(
            zip(ref["v_ref"], lk["v"], strict=True)
        )
        assert ends[20] == [(n[1], n[3]), (n[4], n[6])]
        assert ends[22] == [(n[7], n[3]), (n[3], n[8])]
        assert ends[21] == [(n[8], n[10]), (n[10], n[8])]
        assert ends[23] == [(n[10], n[11])]


def test_osm_reader_can_keep_node_locations_on_disk(tmp_path):
    path = locate_dataset("osm_test")
    mem = read_osm(path)
    disk = read_osm(path, node_cache=f"sparse_file_array,{tmp_path / 'nodes.bin'}")
    pd.testing.assert_frame_equal(
        pd.DataFrame(mem.links.drop(columns="geometry")),
        pd.DataFrame(disk.links.drop(columns="geometry")),
    )


def test_nvdb_file_reads_only_its_columns_and_equals_the_whole_layer():
    f = locate_dataset("nvdb_oslo_sample")
    everything = pyogrio.read_dataframe(f, fid_as_index=True)
    lean = read_nvdb_layer(f)
    assert set(lean.columns) == set(NVDB_COLUMNS) | {"geometry"}
    assert len(everything.columns) > 3 * len(lean.columns)
    a, b = read_nvdb(f), read_nvdb(everything)
    pd.testing.assert_frame_equal(a.links, b.links)
    assert np.array_equal(a.node_x, b.node_x) and np.array_equal(a.node_y, b.node_y)
    assert np.array_equal(a.weights, b.weights)


def test_nvdb_bbox_and_where_filter_while_reading():
    f = locate_dataset("nvdb_oslo_sample")
    everything = pyogrio.read_dataframe(f, fid_as_index=True)
    xmin, ymin, xmax, ymax = everything.total_bounds
    bb = (xmin, ymin, (xmin + xmax) / 2, (ymin + ymax) / 2)
    sub = everything[everything.geometry.intersects(box(*bb))]
    assert 0 < len(sub) < len(everything)
    a, b = read_nvdb(f, bbox=bb), read_nvdb(sub)
    pd.testing.assert_frame_equal(a.links, b.links)
    sub = everything[everything["VEGTYPE"] == "K"]
    assert 0 < len(sub) < len(everything)
    a, b = read_nvdb(f, where="VEGTYPE = 'K'"), read_nvdb(sub)
    pd.testing.assert_frame_equal(a.links, b.links)
    with pytest.raises(ValueError, match="no links match"):
        read_nvdb(f, where="VEGTYPE = 'nothing'")
    with pytest.raises(ValueError, match="for a GeoDataFrame"):
        read_nvdb(gpd.GeoDataFrame(everything), bbox=bb)
