"""OpenStreetMap readers.

A local ``.osm``/``.osm.pbf`` file (pyosmium) or an osmnx MultiDiGraph; car ferries
(``route=ferry``) are kept.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo import datasets
from smaby_geo.network._validate import endpoints
from smaby_geo.network.core import NETWORK_CRS, RoadNetwork
from smaby_geo.network.ferry import check_same_boat_routes
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers._common import _check_profile, _finish_profiled

if TYPE_CHECKING:
    import networkx as nx

OSM_DRIVE_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
_NO_CAR = {"no", "private"}
_DURATION = re.compile(r"^(?:(\d+):)?(\d+)(?::(\d+))?$")


def parse_osm_duration(value: object) -> float:
    """Parse an OSM ``duration`` tag (``HH:MM``, ``HH:MM:SS``, minutes) to seconds (NaN if none).

    Parameters
    ----------
    value : str or number or None

    Returns
    -------
    float
        Seconds.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, int | float):
        return float(value) * 60.0
    s = str(value).strip()
    m = _DURATION.match(s)
    if not m:
        return np.nan
    a, b, c = m.groups()
    if a is None and c is None:
        return float(b) * 60.0
    if c is None:
        return float(a) * 3600.0 + float(b) * 60.0
    return float(a or 0) * 3600.0 + float(b) * 60.0 + float(c)


def _osm_direction(tags: Mapping) -> tuple[bool, bool]:
    """(forward allowed, backward allowed) from OSM oneway tags."""
    ow = str(tags.get("oneway", "")).lower()
    if ow in ("yes", "true", "1"):
        return True, False
    if ow in ("-1", "reverse"):
        return False, True
    if ow in ("no", "false", "0"):
        return True, True
    hw = tags.get("highway")
    if tags.get("junction") in ("roundabout", "circular") or hw in ("motorway",):
        return True, False
    return True, True


def osm_is_car_way(tags: Mapping) -> tuple[bool, bool]:
    """Return (usable by car, is a car ferry) for the tags of an OSM way.

    Roads: ``highway`` in ``OSM_DRIVE_HIGHWAYS`` and no ``access``/``motor_vehicle``/``motorcar``
    of no/private, and not ``area=yes``. Ferries: ``route=ferry`` unless ``motorcar`` or
    ``motor_vehicle`` is ``no`` (osmnx's drive filter drops them all).
    """
    for key in ("motorcar", "motor_vehicle"):
        if str(tags.get(key, "")).lower() in _NO_CAR:
            return False, False
    if tags.get("route") == "ferry":
        return True, True
    if tags.get("highway") not in OSM_DRIVE_HIGHWAYS or tags.get("area") == "yes":
        return False, False
    if str(tags.get("access", "")).lower() in _NO_CAR:
        return False, False
    return True, False


#: The tags of a way the OSM reader keeps (everything else is dropped while streaming).
OSM_WAY_TAGS = (
    "highway",
    "route",
    "oneway",
    "junction",
    "maxspeed",
    "ref",
    "duration",
    "access",
    "motor_vehicle",
    "motorcar",
    "area",
)


def _stream_car_ways(path: str, node_cache: str):
    """Stream the car ways of an OSM file: one pass, node locations in libosmium's index.

    Only ways with a ``highway`` or ``route`` tag reach Python (``EntityFilter`` +
    ``KeyFilter``); node locations are kept by libosmium (``node_cache`` storage) and read
    off each way's node list. Returns flat arrays (one entry per way node) and per-way lists.
    """
    from array import array

    import osmium

    refs, lon, lat, way_len = array("q"), array("d"), array("d"), array("q")
    way_ids, way_tags, way_ferry = [], [], []
    fp = (
        osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY)
        .with_locations(node_cache)
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway", "route"))
    )
    nan = float("nan")
    for w in fp:
        if not isinstance(w, osmium.osm.Way):  # what w.is_way() tests; narrows the type
            continue
        tags = {k: v for k, v in ((k, w.tags.get(k)) for k in OSM_WAY_TAGS) if v is not None}
        ok, ferry = osm_is_car_way(tags)
        if not ok:
            continue
        n = 0
        for nd in w.nodes:
            refs.append(nd.ref)
            loc = nd.location
            if loc.valid():
                lon.append(loc.lon)
                lat.append(loc.lat)
            else:
                lon.append(nan)
                lat.append(nan)
            n += 1
        way_len.append(n)
        way_ids.append(w.id)
        way_tags.append(tags)
        way_ferry.append(ferry)
    return (
        np.frombuffer(refs, dtype=np.int64),
        np.frombuffer(lon, dtype=np.float64),
        np.frombuffer(lat, dtype=np.float64),
        np.frombuffer(way_len, dtype=np.int64),
        way_ids,
        way_tags,
        np.array(way_ferry, dtype=bool),
    )


def _split_at_shared_nodes(refs, x, way_of):
    """Cut ways into links at nodes shared with another kept way (vectorised).

    A link runs between consecutive cut nodes of the same run of located nodes; cut nodes
    are the start of each run, each way's last node, nodes used more than once in the kept
    ways, and nodes followed by one without a location.

    Returns
    -------
    seg_start, seg_end : int64 arrays
        Positions (in the flat node arrays) of the first and last node of each link, in the
        order of the ways and of their nodes.
    """
    n = len(refs)
    valid = np.isfinite(x)
    new_way = np.ones(n, dtype=bool)
    new_way[1:] = way_of[1:] != way_of[:-1]
    last_of_way = np.ones(n, dtype=bool)
    last_of_way[:-1] = new_way[1:]
    run_start = valid & (new_way | ~np.roll(valid, 1))
    _, inv, counts = np.unique(refs, return_inverse=True, return_counts=True)
    shared = counts[inv] > 1
    next_invalid = np.zeros(n, dtype=bool)
    next_invalid[:-1] = ~valid[1:] & ~new_way[1:]
    cut = valid & (run_start | last_of_way | shared | next_invalid)
    pos = np.flatnonzero(cut)
    run_id = np.cumsum(run_start)[pos]
    same_run = run_id[1:] == run_id[:-1]
    return pos[:-1][same_run], pos[1:][same_run]


def read_osm(
    path: str | os.PathLike,
    *,
    profile: CarProfile | None = None,
    keep: str = "all",
    node_cache: str = "flex_mem",
    same_boat_routes: Sequence[Sequence[str]] | None = None,
) -> RoadNetwork:
    """Read a local OpenStreetMap ``.osm`` or ``.osm.pbf`` file into a car network (pyosmium).

    The file is streamed once: node locations stay in libosmium's index, and only ways
    tagged ``highway`` or ``route`` reach Python, keeping the tags in ``OSM_WAY_TAGS``.
    Ways are split at every node shared with another kept way; ways running out of a clipped
    extract are cut where their nodes have no location (counted in ``report``).

    Parameters
    ----------
    path : path-like
        OSM XML or PBF file.
    profile : CarProfile, optional
        OSM speeds (``maxspeed`` x factor, else highway class) and ferry model; the length
        factor is not applied (OSM geometry is detailed).
    keep : {"all", "largest"}
        As in ``read_kartverket``.
    node_cache : str, default "flex_mem"
        libosmium's node location storage (``osmium.index.create_map``): the default suits
        extracts up to a country; ``"dense_file_array,FILE"`` keeps the locations of a very
        large file on disk instead of in memory.
    same_boat_routes : sequence of sequences of str, optional
        Groups of ferry ``ref`` values that are one boat (e.g. ``[("Fv57", "Fv606")]``), as
        in ``read_kartverket``; default none.

    Returns
    -------
    RoadNetwork
    """
    from pyproj import Transformer

    t0 = time.perf_counter()
    profile = _check_profile(profile)
    check_same_boat_routes(same_boat_routes)  # before the file is read
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"OSM file {path} does not exist")
    refs, lon, lat, way_n, way_ids, way_tags, way_ferry = _stream_car_ways(path, node_cache)
    if not way_ids:
        raise ValueError(f"OSM file {path} has no drivable ways or car ferries")
    missing_loc = int((~np.isfinite(lon)).sum())
    way_of = np.repeat(np.arange(len(way_ids)), way_n)
    tr = Transformer.from_crs("EPSG:4326", NETWORK_CRS, always_xy=True)
    x, y = tr.transform(lon, lat)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    s0, s1 = _split_at_shared_nodes(refs, x, way_of)
    # per-way attributes, then one row per link
    hw = [
        t.get("highway", "ferry" if f else None) for t, f in zip(way_tags, way_ferry, strict=True)
    ]
    speeds: dict[tuple, float] = {}
    way_speed = np.empty(len(way_ids))
    way_fw = np.empty(len(way_ids), dtype=bool)
    way_bw = np.empty(len(way_ids), dtype=bool)
    way_dur = np.full(len(way_ids), np.nan)
    for i, (t, f) in enumerate(zip(way_tags, way_ferry, strict=True)):
        way_fw[i], way_bw[i] = _osm_direction(t) if not f else (True, True)
        if f:
            way_speed[i] = np.nan
            way_dur[i] = parse_osm_duration(t.get("duration"))
        else:
            key = (t.get("highway"), t.get("maxspeed"))
            if key not in speeds:
                speeds[key] = profile.osm_speed(*key)
            way_speed[i] = speeds[key]
    w = way_of[s0]
    counts = s1 - s0 + 1
    # positions s0[k] .. s1[k] of every link k, in order
    idx = (
        np.repeat(s0, counts)
        + np.arange(counts.sum())
        - np.repeat(np.cumsum(counts) - counts, counts)
    )
    import shapely

    geoms = shapely.linestrings(
        np.column_stack([x[idx], y[idx]]), indices=np.repeat(np.arange(len(s0)), counts)
    )
    df = pd.DataFrame(
        {
            "osm_way": np.asarray(way_ids, dtype=np.int64)[w],
            "u_ref": refs[s0],
            "v_ref": refs[s1],
            "fw": way_fw[w],
            "bw": way_bw[w],
            "ferry": way_ferry[w],
            "speed": way_speed[w],
            "maxspeed": np.array([t.get("maxspeed") for t in way_tags], dtype=object)[w],
            "highway": np.array(hw, dtype=object)[w],
            "ref": np.array([t.get("ref") for t in way_tags], dtype=object)[w],
            "duration_s": way_dur[w],
        }
    )
    links, geom, node_xy = _links_from_pieces(df, geoms)
    report = {
        "ways_read": len(way_ids),
        "excluded": {},
        "nodes_without_location": missing_loc,
    }
    return _finish_profiled(
        links,
        geom.to_numpy(),
        node_xy,
        profile=profile,
        builtup=None,
        source=f"OSM ({os.path.basename(path)})",
        attribution=datasets.OSM,
        report=report,
        keep=keep,
        t0=t0,
        same_boat_routes=same_boat_routes,
    )


def network_from_osmnx(
    G: nx.MultiDiGraph,
    *,
    profile: CarProfile | None = None,
    keep: str = "all",
    same_boat_routes: Sequence[Sequence[str]] | None = None,
) -> RoadNetwork:
    """Convert an osmnx MultiDiGraph (``ox.graph_from_xml``, ``ox.graph_from_place`` ...).

    Each graph edge becomes a one-directional link (osmnx already stores both directions of a
    two-way street). Speeds come from ``profile`` (``maxspeed`` x factor, else highway class);
    ferries (``route=ferry``; build the graph with a custom filter that keeps them, since
    osmnx's "drive" filter drops them) use the ferry model with the ``duration`` tag.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        osmnx graph with node ``x``/``y`` and ``graph["crs"]``.
    profile : CarProfile, optional
    keep : {"all", "largest"}
    same_boat_routes : sequence of sequences of str, optional
        Groups of ferry ``ref`` values that are one boat, as in ``read_kartverket``.

    Returns
    -------
    RoadNetwork
    """
    import osmnx as ox

    t0 = time.perf_counter()
    profile = _check_profile(profile)
    check_same_boat_routes(same_boat_routes)
    if G.number_of_edges() == 0:
        raise ValueError("osmnx graph G has no edges")
    if "crs" not in G.graph:
        raise ValueError("osmnx graph G has no graph['crs']; set it (osmnx uses EPSG:4326)")
    nodes, edges = ox.graph_to_gdfs(G, nodes=True, edges=True, fill_edge_geometry=True)
    nodes = nodes.to_crs(NETWORK_CRS)
    edges = edges.to_crs(NETWORK_CRS).reset_index()
    codes = pd.Index(nodes.index)
    u = codes.get_indexer(edges["u"])
    v = codes.get_indexer(edges["v"])

    def _get(col):
        return edges[col].to_numpy(dtype=object) if col in edges else np.full(len(edges), None)

    route, hw, ms, dur, ref = (
        _get("route"),
        _get("highway"),
        _get("maxspeed"),
        _get("duration"),
        _get("ref"),
    )
    ferry = np.array([r == "ferry" or (isinstance(r, list) and "ferry" in r) for r in route])
    length = edges.geometry.length.to_numpy()
    if "length" in edges:
        length = np.where(np.isfinite(edges["length"].to_numpy(float)), edges["length"], length)
    ids = np.arange(len(edges))
    links = pd.DataFrame(
        {
            "link_id": ids,
            "u": u,
            "v": v,
            "seconds_fw": np.nan,
            "seconds_bw": np.inf,
            "length_m": length,
            "category": [h[0] if isinstance(h, list) else h for h in hw],
            "road_number": [r[0] if isinstance(r, list) else r for r in ref],
            "ferry": ferry,
            "time_basis": np.where(ferry, "ferry", "osm").astype(object),
            "fw_open": True,
            "bw_open": False,
            "maxspeed": [
                None if m is None or (isinstance(m, float) and np.isnan(m)) else m for m in ms
            ],
            "duration_s": np.array(
                [parse_osm_duration(d) if f else np.nan for f, d in zip(ferry, dur, strict=True)]
            ),
            "osm_u": edges["u"].to_numpy(),
            "osm_v": edges["v"].to_numpy(),
        }
    )
    node_xy = np.column_stack([nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()])
    return _finish_profiled(
        links,
        edges.geometry.to_numpy(),
        node_xy,
        profile=profile,
        builtup=None,
        source="osmnx graph",
        attribution=datasets.OSM,
        report={"links_read": len(edges), "excluded": {}},
        keep=keep,
        t0=t0,
        same_boat_routes=same_boat_routes,
    )


def _links_from_pieces(df: pd.DataFrame, geoms) -> tuple[pd.DataFrame, gpd.GeoSeries, np.ndarray]:
    """Links, their geometries (EPSG:25833) and node coordinates from way pieces.

    ``df`` has one row per piece of a way cut at shared nodes (``osm_way``, ``u_ref``,
    ``v_ref``, ``fw``, ``bw``, ``ferry``, ``maxspeed``, ``highway``, ``ref``, ``duration_s``);
    ``geoms`` their LineStrings in the same order.
    """
    geom = gpd.GeoSeries(geoms, crs=NETWORK_CRS)
    length = geom.length.to_numpy()
    codes, uniques = pd.factorize(pd.concat([df["u_ref"], df["v_ref"]], ignore_index=True))
    k = len(df)
    first, last = endpoints(geom.to_numpy())
    xy = np.vstack([first, last])
    node_xy = np.zeros((len(uniques), 2))
    node_xy[codes[::-1]] = xy[::-1]
    ferry = df["ferry"].to_numpy(dtype=bool)
    link_ids = np.arange(k)
    # A ferry way's duration covers the whole way: its pieces share it by length, so a
    # crossing split at a node costs its duration once (and one wait, ferry_times).
    way_len = pd.Series(length).groupby(df["osm_way"].to_numpy()).transform("sum").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(way_len > 0, length / way_len, 1.0)
    links = pd.DataFrame(
        {
            "link_id": link_ids,
            "u": codes[:k],
            "v": codes[k:],
            "seconds_fw": np.nan,
            "seconds_bw": np.nan,
            "length_m": length,
            "category": df["highway"].to_numpy(dtype=object),
            "road_number": df["ref"].to_numpy(dtype=object),
            "ferry": ferry,
            "time_basis": np.where(ferry, "ferry", "osm").astype(object),
            "fw_open": df["fw"].to_numpy(dtype=bool),
            "bw_open": df["bw"].to_numpy(dtype=bool),
            "maxspeed": df["maxspeed"].to_numpy(dtype=object),
            "duration_s": df["duration_s"].to_numpy(dtype=float) * share,
            "osm_way": df["osm_way"].to_numpy(),
        }
    )
    return links, geom, node_xy
