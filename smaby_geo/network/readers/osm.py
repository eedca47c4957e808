"""OpenStreetMap readers.

A local ``.osm``/``.osm.pbf`` file (pyosmium) or an osmnx MultiDiGraph; car ferries
(``route=ferry``) are kept.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo import datasets
from smaby_geo.network._validate import endpoints
from smaby_geo.network.core import NETWORK_CRS, RoadNetwork
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers._common import _check_profile, _finish_profiled

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


def read_osm(
    path: str | os.PathLike,
    *,
    profile: CarProfile | None = None,
    keep: str = "all",
) -> RoadNetwork:
    """Read a local OpenStreetMap ``.osm`` or ``.osm.pbf`` file into a car network (pyosmium).

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

    Returns
    -------
    RoadNetwork
    """
    import osmium
    from pyproj import Transformer

    t0 = time.perf_counter()
    profile = _check_profile(profile)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"OSM file {path} does not exist")
    ways: list[tuple[int, dict, np.ndarray, np.ndarray, np.ndarray, bool]] = []
    missing_loc = 0
    fp = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for w in fp:
        if not isinstance(w, osmium.osm.Way):  # what w.is_way() tests; narrows the type
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
        missing_loc += int((~valid).sum())
        ways.append((w.id, tags, refs, lon, lat, ferry))
    if not ways:
        raise ValueError(f"OSM file {path} has no drivable ways or car ferries")
    all_refs = np.concatenate([w[2] for w in ways])
    uniq, counts = np.unique(all_refs, return_counts=True)
    shared = set(uniq[counts > 1].tolist())
    tr = Transformer.from_crs("EPSG:4326", NETWORK_CRS, always_xy=True)
    rows: list[dict] = []
    geoms: list = []
    import shapely

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
                line = shapely.linestrings(np.column_stack([x[seg], y[seg]]))
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
                geoms.append(line)
                start = i
    df = pd.DataFrame(rows)
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
    report = {
        "ways_read": len(ways),
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
    )


def network_from_osmnx(G, *, profile: CarProfile | None = None, keep: str = "all") -> RoadNetwork:
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

    Returns
    -------
    RoadNetwork
    """
    import osmnx as ox

    t0 = time.perf_counter()
    profile = _check_profile(profile)
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
    )
