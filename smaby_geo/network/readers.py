"""Readers that turn road data into a RoadNetwork.

- ``read_kartverket``: Kartverket N1000/N2000 ``Veglenke`` (noded at junctions; nodes by
  endpoint coordinates, so crossings without a shared vertex - bridges, tunnels - stay apart).
- ``read_nvdb``: the NVDB "vegnett ruteplan" schema (``FromNodeID``, ``ToNodeID``, ``ONEWAY``,
  ``FT_MINUTES``, ``TF_MINUTES``).
- ``read_osm`` and ``network_from_osmnx``: OpenStreetMap, from a local ``.osm``/``.osm.pbf``
  file (pyosmium) or an osmnx MultiDiGraph. Car ferries (``route=ferry``) are kept.
- ``network_from_lines``: any line GeoDataFrame with a speed or time column.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from smaby_geo import datasets
from smaby_geo.network._validate import check_line_layer, endpoints
from smaby_geo.network.core import NETWORK_CRS, RoadNetwork, build_network
from smaby_geo.network.ferry import (  # noqa: F401 (re-exported: the old import path)
    connect_ferry_ends,
    ferry_link_seconds,
    ferry_terminals,
)
from smaby_geo.network.linktimes import (
    DEFAULT_BUILTUP,
    compute_link_times,
    read_builtup,
    urban_fraction,
)
from smaby_geo.network.profile import N1000_DRIVABLE_TYPES, CarProfile

# Kartverket `vegkategori` -> prefix of the Norwegian road number (E6, Rv3, Fv30, Kv, Pv).
ROAD_NUMBER_PREFIX = {"E": "E", "R": "Rv", "F": "Fv", "K": "Kv", "P": "Pv", "S": "Sv"}


def format_road_number(category: object, number: object) -> str | None:
    """Return the Norwegian road number, e.g. ``("R", 3) -> "Rv3"``; None when unnumbered."""
    if not isinstance(category, str) or number is None or pd.isna(number):
        return None
    prefix = ROAD_NUMBER_PREFIX.get(category, category)
    return f"{prefix}{int(number)}"


def node_points(xy: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Group points closer than ``tolerance_m`` into nodes.

    Parameters
    ----------
    xy : ndarray, shape (k, 2)
        Point coordinates in metres.
    tolerance_m : float
        Points within this distance (transitively) become one node; 0 means exact equality.

    Returns
    -------
    labels : ndarray of int64, shape (k,)
        Node number of each point.
    node_xy : ndarray, shape (n_nodes, 2)
        Mean coordinate of each node's points.
    """
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        raise ValueError(f"tolerance_m must be a finite number >= 0, got {tolerance_m!r}")
    if tolerance_m == 0:
        _, labels = np.unique(xy, axis=0, return_inverse=True)
    else:
        pairs = cKDTree(xy).query_pairs(r=tolerance_m, output_type="ndarray")
        k = len(xy)
        adj = sparse.coo_matrix(
            (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k)
        ).tocsr()
        _, labels = csgraph.connected_components(adj, directed=False)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    n = int(labels.max()) + 1 if len(labels) else 0
    cnt = np.bincount(labels, minlength=n)
    node_xy = np.column_stack(
        [
            np.bincount(labels, weights=xy[:, 0], minlength=n) / cnt,
            np.bincount(labels, weights=xy[:, 1], minlength=n) / cnt,
        ]
    )
    return labels, node_xy


def _finish(
    links: pd.DataFrame,
    geometry: gpd.GeoSeries | None,
    node_xy: np.ndarray,
    *,
    source: str,
    attribution: str,
    report: dict,
    keep: str,
    t0: float,
) -> RoadNetwork:
    if keep not in ("all", "largest"):
        raise ValueError(f"keep must be 'all' or 'largest', got {keep!r}")
    links = links.reset_index(drop=True)
    if geometry is not None:
        links = gpd.GeoDataFrame(
            links, geometry=geometry.reset_index(drop=True).to_numpy(), crs=NETWORK_CRS
        )
    net = build_network(
        links,
        node_xy[:, 0],
        node_xy[:, 1],
        source=source,
        attribution=attribution,
        report=report,
    )
    if keep == "largest":
        net = net.largest_component()
    # wall time of the whole read + build, file reading included
    net.report["build_seconds"] = time.perf_counter() - t0
    return net


def read_kartverket(
    path: str | os.PathLike | gpd.GeoDataFrame | None = None,
    *,
    dataset: str = "n1000_roads",
    profile: CarProfile | None = None,
    tolerance_m: float = 0.5,
    include_planned: bool = False,
    drivable_types: tuple[str, ...] = N1000_DRIVABLE_TYPES,
    keep: str = "all",
    builtup: str | os.PathLike | gpd.GeoDataFrame | None = DEFAULT_BUILTUP,
) -> RoadNetwork:
    """Read a Kartverket N1000/N2000 ``Veglenke`` layer into a car network.

    Parameters
    ----------
    path : path-like or GeoDataFrame, optional
        File (or a layer already read); default: dataset ``dataset`` from the registry.
    dataset : {"n1000_roads", "n2000_roads"}
        Registry entry used when ``path`` is None.
    profile : CarProfile, optional
        Speeds, length factor and ferry model; default ``CarProfile()``.
    tolerance_m : float, default 0.5
        Endpoints within this distance in metres share a node. Lines are joined only at their
        endpoints: N1000 is noded at junctions, so lines that cross without a shared vertex
        (bridges, tunnels) stay unconnected.
    include_planned : bool, default False
        Keep links with ``vegfase`` P (planned roads; 13 links in N1000).
    drivable_types : tuple of str
        ``typeVeg`` values a car may use; other links (sti, barmarksløype, passasjerferje) are
        excluded and counted in ``report["excluded"]``.
    keep : {"all", "largest"}
        Keep every strongly connected component, or only the largest (the removed part is
        counted in ``report``).
    builtup : "default", path-like, GeoDataFrame or None
        Built-up area polygons for urban speeds. ``"default"`` (the default) uses the
        registry's ``builtup_areas`` (N1000 ``Tettbebyggelse``) when it is available and
        none otherwise (``report["urban"]`` says which); None switches urban speeds off; a
        path or GeoDataFrame gives polygons of your own.

    Returns
    -------
    RoadNetwork
        Both directions of every link (N1000 has no one-way data). Road links take
        ``length_m * profile.length_factor`` at the rural speed of their class for the part
        outside built-up areas and at the urban speed for the part inside
        (``urban_fraction``). Car ferries take the ferry model's crossing + wait (charged
        once per crossing); a ferry end that touches no road is joined to the nearest road by
        a connector (``smaby_geo.network.ferry.connect_ferry_ends``; counted in
        ``report["ferry_connectors"]``). ``net.profile`` is ``profile``.
    """
    t0 = time.perf_counter()
    profile = profile or CarProfile()
    if isinstance(path, gpd.GeoDataFrame):
        gdf, src = path, "GeoDataFrame"
    else:
        file = datasets.locate_dataset(dataset, path)
        gdf = pyogrio.read_dataframe(file, fid_as_index=True)
        src = f"{dataset} ({file.name})"
    gdf = check_line_layer(gdf, f"Kartverket road layer {src}")
    for col in ("typeVeg", "vegkategori"):
        if col not in gdf.columns:
            raise ValueError(f"Kartverket road layer {src} has no {col!r} column")
    excluded: dict[str, int] = {}
    drivable = gdf["typeVeg"].isin(drivable_types)
    for t, c in gdf.loc[~drivable, "typeVeg"].fillna("missing").value_counts().items():
        excluded[f"typeVeg={t}"] = int(c)
    planned = (gdf["vegfase"] == "P") if "vegfase" in gdf.columns else False
    if not include_planned:
        n_planned = int((planned & drivable).sum())
        if n_planned:
            excluded["vegfase=P (planned)"] = n_planned
        drivable &= ~planned
    gdf = gdf.loc[drivable]
    if len(gdf) == 0:
        raise ValueError(f"Kartverket road layer {src} has no drivable links")
    geoms = gdf.geometry.to_numpy()
    first, last = endpoints(geoms)
    labels, node_xy = node_points(np.vstack([first, last]), tolerance_m)
    k = len(gdf)
    ferry = (gdf["typeVeg"] == "bilferje").to_numpy()
    length = gdf.geometry.length.to_numpy()
    category = gdf["vegkategori"].to_numpy(dtype=object)
    motorway = (
        gdf["motorvegtype"].to_numpy(dtype=object) if "motorvegtype" in gdf else np.full(k, None)
    )
    ids = gdf.index.to_numpy()
    number = gdf["vegnummer"] if "vegnummer" in gdf else pd.Series(np.nan, index=gdf.index)
    medium = gdf["medium"] if "medium" in gdf else pd.Series(None, index=gdf.index)
    links = pd.DataFrame(
        {
            "link_id": ids,
            "u": labels[:k],
            "v": labels[k:],
            "seconds_fw": np.nan,
            "seconds_bw": np.nan,
            "length_m": length,
            "category": category,
            "road_number": [
                format_road_number(c, n) for c, n in zip(category, number, strict=False)
            ],
            "ferry": ferry,
            "time_basis": np.where(ferry, "ferry", "category").astype(object),
            "fw_open": True,
            "bw_open": True,
            "motorway": motorway,
            "tunnel": (medium == "U").to_numpy(),
            "bridge": (medium == "L").to_numpy(),
        }
    )
    report = {"links_read": len(drivable), "excluded": excluded}
    return _finish_profiled(
        links,
        geoms,
        node_xy,
        profile=profile,
        builtup=builtup,
        source=src,
        attribution=datasets.KARTVERKET,
        report=report,
        keep=keep,
        t0=t0,
    )


def _finish_profiled(
    links: pd.DataFrame,
    geoms: np.ndarray,
    node_xy: np.ndarray,
    *,
    profile: CarProfile,
    builtup,
    source: str,
    attribution: str,
    report: dict,
    keep: str,
    t0: float,
    connect_ferries: bool = True,
) -> RoadNetwork:
    """Join ferry ends, measure urban shares, time every link with ``profile``, build."""
    if keep not in ("all", "largest"):
        raise ValueError(f"keep must be 'all' or 'largest', got {keep!r}")
    if connect_ferries and links["ferry"].any():
        links, geoms, node_xy, fc = connect_ferry_ends(links, geoms, node_xy, profile.ferry)
        con = links["connector"].to_numpy(dtype=bool)
        links.loc[con, "time_basis"] = "connector"
        links.loc[con, ["fw_open", "bw_open"]] = True
        report["ferry_connectors"] = fc
    areas = read_builtup(builtup)
    if areas is not None:
        frac = urban_fraction(geoms, areas)
        ferry = links["ferry"].to_numpy(dtype=bool)
        frac[ferry] = 0.0
        links["urban_fraction"] = frac
        report["urban"] = {
            "source": areas.attrs.get("name", "built-up layer"),
            "areas": len(areas),
            "km_inside": round(float((frac * links["length_m"].to_numpy()).sum()) / 1000.0, 1),
            "links_touching": int((frac > 0).sum()),
        }
    else:
        links["urban_fraction"] = 0.0
    links = compute_link_times(links, profile)
    net = _finish(
        links,
        gpd.GeoSeries(geoms, crs=NETWORK_CRS),
        node_xy,
        source=source,
        attribution=attribution,
        report=report,
        keep=keep,
        t0=t0,
    )
    net.profile = profile
    return net


NVDB_ONEWAY = {"B": (True, True), "FT": (True, False), "TF": (False, True), "N": (False, False)}


def read_nvdb(
    path: str | os.PathLike | gpd.GeoDataFrame | None = None,
    *,
    ferry_column: str | None = None,
    keep: str = "all",
) -> RoadNetwork:
    """Read a network in the NVDB "vegnett ruteplan" schema.

    Parameters
    ----------
    path : path-like or GeoDataFrame, optional
        File or layer; default the registry's Oslo sample (``nvdb_oslo_sample``).
    ferry_column : str, optional
        A boolean column marking car ferries (the schema has none of its own). Ferry times
        are ``FT_MINUTES``/``TF_MINUTES`` as delivered (NVDB includes the crossing).
    keep : {"all", "largest"}
        As in ``read_kartverket``.

    Returns
    -------
    RoadNetwork
        Drive times from ``FT_MINUTES`` (From->To) and ``TF_MINUTES`` (To->From), directions
        allowed by ``ONEWAY`` (B both, FT, TF, N none). Nodes are ``FromNodeID``/``ToNodeID``;
        their coordinates are the geometry ends.
    """
    t0 = time.perf_counter()
    if isinstance(path, gpd.GeoDataFrame):
        gdf, src = path, "GeoDataFrame"
    else:
        file = datasets.locate_dataset("nvdb_oslo_sample", path)
        gdf = pyogrio.read_dataframe(file, fid_as_index=True)
        src = f"NVDB ruteplan ({file.name})"
    name = f"NVDB layer {src}"
    gdf = check_line_layer(gdf, name)
    need = ["FromNodeID", "ToNodeID", "ONEWAY", "FT_MINUTES", "TF_MINUTES"]
    missing = [c for c in need if c not in gdf.columns]
    if missing:
        raise ValueError(f"{name} is missing NVDB ruteplan columns {missing}")
    oneway = gdf["ONEWAY"].astype(str).str.strip()
    bad = ~oneway.isin(list(NVDB_ONEWAY))
    if bad.any():
        raise ValueError(
            f"{name}: ONEWAY must be one of B/FT/TF/N; found {sorted(oneway[bad].unique())} "
            f"in {int(bad.sum())} rows"
        )
    ft_ok = np.array([NVDB_ONEWAY[o][0] for o in oneway])
    tf_ok = np.array([NVDB_ONEWAY[o][1] for o in oneway])
    ft = gdf["FT_MINUTES"].to_numpy(dtype=float) * 60.0
    tf = gdf["TF_MINUTES"].to_numpy(dtype=float) * 60.0
    for col, arr, ok in (("FT_MINUTES", ft, ft_ok), ("TF_MINUTES", tf, tf_ok)):
        bad = ok & ~(arr >= 0)
        if bad.any():
            raise ValueError(
                f"{name}: {int(bad.sum())} open links have a NaN or negative {col} "
                f"(row labels {gdf.index[bad][:10].tolist()})"
            )
    codes, uniques = pd.factorize(
        pd.concat([gdf["FromNodeID"].astype(str), gdf["ToNodeID"].astype(str)], ignore_index=True)
    )
    k = len(gdf)
    first, last = endpoints(gdf.geometry.to_numpy())
    xy = np.vstack([first, last])
    node_xy = np.zeros((len(uniques), 2))
    node_xy[codes[::-1]] = xy[::-1]  # first occurrence wins
    category = gdf["VEGTYPE"].to_numpy(dtype=object) if "VEGTYPE" in gdf else np.full(k, None)
    number = gdf["VEGNUMMER"] if "VEGNUMMER" in gdf else pd.Series(np.nan, index=gdf.index)
    length = gdf["METER_ORG"].to_numpy(dtype=float) if "METER_ORG" in gdf else gdf.length.to_numpy()
    ferry = (
        gdf[ferry_column].to_numpy(dtype=bool) if ferry_column is not None else np.zeros(k, bool)
    )
    links = pd.DataFrame(
        {
            "link_id": gdf["ROUTEID"].to_numpy() if "ROUTEID" in gdf else gdf.index.to_numpy(),
            "u": codes[:k],
            "v": codes[k:],
            "seconds_fw": np.where(ft_ok, ft, np.inf),
            "seconds_bw": np.where(tf_ok, tf, np.inf),
            "length_m": length,
            "category": category,
            "road_number": [
                format_road_number(c, n if n and n > 0 else None)
                for c, n in zip(category, number, strict=False)
            ],
            "ferry": ferry,
            "from_node_id": uniques[codes[:k]],
            "to_node_id": uniques[codes[k:]],
        }
    )
    report = {"links_read": k, "excluded": {}, "closed_both_ways": int((~ft_ok & ~tf_ok).sum())}
    return _finish(
        links,
        gdf.geometry,
        node_xy,
        source=src,
        attribution=datasets.NVDB,
        report=report,
        keep=keep,
        t0=t0,
    )


def network_from_lines(
    gdf: gpd.GeoDataFrame,
    *,
    speed_column: str | None = None,
    time_column: str | None = None,
    time_unit: str = "s",
    oneway_column: str | None = None,
    ferry_column: str | None = None,
    category_column: str | None = None,
    road_number_column: str | None = None,
    id_column: str | None = None,
    tolerance_m: float = 0.5,
    keep: str = "all",
    attribution: str = "",
) -> RoadNetwork:
    """Build a network from any line GeoDataFrame with a speed or a time column.

    Parameters
    ----------
    gdf : GeoDataFrame
        Lines, noded at junctions (lines are joined only where endpoints meet).
    speed_column : str, optional
        km/h per line; time = geometry length / speed.
    time_column : str, optional
        Travel time per line in ``time_unit`` (``"s"`` or ``"min"``).
    oneway_column : str, optional
        Boolean: True means only in digitised direction.
    ferry_column, category_column, road_number_column, id_column : str, optional
        Columns copied into the link table.
    tolerance_m : float, default 0.5
        Endpoint snapping tolerance in metres.
    keep : {"all", "largest"}
        As in ``read_kartverket``.
    attribution : str
        Attribution of the data.

    Returns
    -------
    RoadNetwork
    """
    t0 = time.perf_counter()
    name = "line layer"
    if (speed_column is None) == (time_column is None):
        raise ValueError("network_from_lines needs exactly one of speed_column or time_column")
    gdf = check_line_layer(gdf, name)
    col = speed_column or time_column
    if col not in gdf.columns:
        raise ValueError(f"{name} has no column {col!r}; columns are {list(gdf.columns)}")
    vals = gdf[col].to_numpy(dtype=float)
    bad = ~np.isfinite(vals) | (vals < 0) | ((vals == 0) if speed_column else False)
    if bad.any():
        raise ValueError(
            f"{name}: column {col!r} has {int(bad.sum())} NaN, infinite, negative"
            f"{' or zero' if speed_column else ''} values (row labels "
            f"{gdf.index[bad][:10].tolist()})"
        )
    length = gdf.geometry.length.to_numpy()
    if speed_column:
        seconds = length / (vals / 3.6)
    else:
        units = {"s": 1.0, "min": 60.0}
        if time_unit not in units:
            raise ValueError(f"time_unit must be 's' or 'min', got {time_unit!r}")
        seconds = vals * units[time_unit]
    k = len(gdf)
    oneway = gdf[oneway_column].to_numpy(dtype=bool) if oneway_column else np.zeros(k, bool)
    first, last = endpoints(gdf.geometry.to_numpy())
    labels, node_xy = node_points(np.vstack([first, last]), tolerance_m)

    def _col(c, default):
        return gdf[c].to_numpy() if c else np.full(k, default, dtype=object)

    links = pd.DataFrame(
        {
            "link_id": _col(id_column, None) if id_column else gdf.index.to_numpy(),
            "u": labels[:k],
            "v": labels[k:],
            "seconds_fw": seconds,
            "seconds_bw": np.where(oneway, np.inf, seconds),
            "length_m": length,
            "category": _col(category_column, None),
            "road_number": _col(road_number_column, None),
            "ferry": _col(ferry_column, False).astype(bool),
        }
    )
    return _finish(
        links,
        gdf.geometry,
        node_xy,
        source="line GeoDataFrame",
        attribution=attribution,
        report={"links_read": k, "excluded": {}},
        keep=keep,
        t0=t0,
    )


# --- OpenStreetMap -----------------------------------------------------------------------

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
    profile = profile or CarProfile()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"OSM file {path} does not exist")
    ways: list[tuple[int, dict, np.ndarray, np.ndarray, np.ndarray, bool]] = []
    missing_loc = 0
    fp = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for w in fp:
        if not w.is_way():
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
    seconds = length / (df["speed"].to_numpy(dtype=float) / 3.6)
    link_ids = np.arange(k)
    if ferry.any():
        seconds[ferry] = profile.ferry.link_seconds(
            length[ferry], link_ids[ferry], df["duration_s"].to_numpy()[ferry]
        )
    links = pd.DataFrame(
        {
            "link_id": link_ids,
            "u": codes[:k],
            "v": codes[k:],
            "seconds_fw": np.where(df["fw"], seconds, np.inf),
            "seconds_bw": np.where(df["bw"], seconds, np.inf),
            "length_m": length,
            "category": df["highway"].to_numpy(dtype=object),
            "road_number": df["ref"].to_numpy(dtype=object),
            "ferry": ferry,
            "osm_way": df["osm_way"].to_numpy(),
            "speed_kmh": df["speed"].to_numpy(),
        }
    )
    report = {
        "ways_read": len(ways),
        "excluded": {},
        "nodes_without_location": missing_loc,
    }
    return _finish(
        links,
        geom,
        node_xy,
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
    profile = profile or CarProfile()
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
    speed = np.array(
        [np.nan if f else profile.osm_speed(h, m) for f, h, m in zip(ferry, hw, ms, strict=False)],
        dtype=float,
    )
    seconds = length / (speed / 3.6)
    ids = np.arange(len(edges))
    if ferry.any():
        seconds[ferry] = profile.ferry.link_seconds(
            length[ferry], ids[ferry], np.array([parse_osm_duration(d) for d in dur[ferry]])
        )
    links = pd.DataFrame(
        {
            "link_id": ids,
            "u": u,
            "v": v,
            "seconds_fw": seconds,
            "seconds_bw": np.full(len(edges), np.inf),
            "length_m": length,
            "category": [h[0] if isinstance(h, list) else h for h in hw],
            "road_number": [r[0] if isinstance(r, list) else r for r in ref],
            "ferry": ferry,
            "osm_u": edges["u"].to_numpy(),
            "osm_v": edges["v"].to_numpy(),
        }
    )
    node_xy = np.column_stack([nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()])
    return _finish(
        links,
        edges.geometry,
        node_xy,
        source="osmnx graph",
        attribution=datasets.OSM,
        report={"links_read": len(edges), "excluded": {}},
        keep=keep,
        t0=t0,
    )


def load_network(
    source: str = "n1000",
    path: str | os.PathLike | None = None,
    *,
    profile: CarProfile | None = None,
    keep: str = "all",
) -> RoadNetwork:
    """Load the embedded default network (national N1000) or another registered source.

    Parameters
    ----------
    source : {"n1000", "n2000", "nvdb", "osm"}
        ``n1000`` (default): Kartverket N1000, all of mainland Norway, 240 car-ferry links.
        ``n2000``: the smaller N2000 main-road network. ``nvdb``: NVDB ruteplan file.
        ``osm``: a local OSM file (``path`` required).
    path : path-like, optional
        Explicit file (else the data registry finds it).
    profile : CarProfile, optional
        Travel-time profile; default ``CarProfile()``.
    keep : {"all", "largest"}
        Keep all strongly connected components or only the largest.

    Returns
    -------
    RoadNetwork
    """
    if source in ("n1000", "n2000"):
        return read_kartverket(path, dataset=f"{source}_roads", profile=profile, keep=keep)
    if source == "nvdb":
        return read_nvdb(path, keep=keep)
    if source == "osm":
        if path is None:
            raise ValueError("load_network(source='osm') needs path= to a .osm or .osm.pbf file")
        return read_osm(path, profile=profile, keep=keep)
    raise ValueError(f"unknown network source {source!r}; use n1000, n2000, nvdb or osm")
