"""Link travel times from a CarProfile, and the share of each link inside built-up areas.

Every reader records, per link, the inputs its time comes from (``LINK_INPUT_COLUMNS``) and
computes the times with ``compute_link_times``; ``RoadNetwork.with_profile`` calls the same
function, so a network can be re-timed for a new profile without reading files again.

``time_basis`` says how a link's time is made:

- ``"category"``: N1000/N2000 road, ``length_m * length_factor`` split into a rural part at
  the category (or motorway) speed, slowed by the curvature term
  (``CarProfile.curvature_scale_deg_per_km`` on ``curvature_deg_per_km``) and by roadside
  settlement (``CarProfile.roadside_density_scale_residents_per_km`` on
  ``roadside_residents_per_km``, ``smaby_geo.network.roadside``), and an urban part
  (``urban_fraction``) at the urban speed;
- ``"osm"``: OSM road, ``length_m`` at ``CarProfile.osm_speed(category, maxspeed)``;
- ``"ferry"``: car ferry, crossing + wait by ``smaby_geo.network.ferry.ferry_times``;
- ``"connector"``: a link joining a ferry end to the road, at the connector speed;
- ``"given"``: the time came with the data (NVDB minutes, a time or speed column, a
  scenario edit) and is kept as it is.
"""

from __future__ import annotations

import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.network.ferry import ferry_times, headway_ids, transfer_links
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.roadside import ROADSIDE_COLUMN, measure_roadside_densities

TIME_BASES: tuple[str, ...] = ("category", "osm", "ferry", "connector", "given")
# Per-link inputs of the time (besides length_m, category, ferry, u, v, link_id).
LINK_INPUT_COLUMNS: tuple[str, ...] = (
    "time_basis",
    "fw_open",
    "bw_open",
    "motorway",
    "urban_fraction",
    "maxspeed",
    "duration_s",
    "headway_override_min",
    "curvature_deg_per_km",
    "roadside_residents_per_km",
)
# Per-link outputs besides seconds_fw / seconds_bw.
LINK_OUTPUT_COLUMNS: tuple[str, ...] = ("speed_kmh", "crossing_s", "wait_s", "headway_min")

# Sentinel: load the registry's built-up areas when they are available.
DEFAULT_BUILTUP = "default"


def read_builtup(
    builtup: str | os.PathLike | gpd.GeoDataFrame | None = DEFAULT_BUILTUP,
) -> gpd.GeoDataFrame | None:
    """Return built-up area polygons in EPSG:25833, or None for no urban speeds.

    Parameters
    ----------
    builtup : "default", path-like, GeoDataFrame or None
        ``"default"``: the registry's ``builtup_areas`` (N1000 ``Tettbebyggelse``, 1,191
        polygons), fetched from its pinned source when it is not on this machine. A path or
        GeoDataFrame: polygons of your own. None: no built-up areas (every link at its rural
        speed).

    Raises
    ------
    ValueError
        A table with no geometry (e.g. a CSV file), a layer without CRS, empty, or with
        non-polygon geometry (naming the layer). Invalid polygons are repaired, with a warning
        (``_validate.check_polygon_layer``).
    smaby_geo.datasets.DatasetNotFoundError
        ``"default"`` while ``builtup_areas`` is not on this machine and cannot be fetched
        (naming the cause and the fixes, ``builtup=None`` among them): the default speeds
        were fitted with the urban ones, so a read without them is not passed off as one.
    """
    from smaby_geo import datasets

    if builtup is None:
        return None
    if isinstance(builtup, str) and builtup == DEFAULT_BUILTUP:
        try:
            path = datasets.locate_dataset("builtup_areas")  # fetched when missing
        except datasets.DatasetNotFoundError as exc:
            raise datasets.DatasetNotFoundError(
                f"{exc} Or read the network with builtup=None (every link at its rural speed)."
            ) from exc
        gdf, name = gpd.read_file(path), f"built-up layer {path.name}"
    elif isinstance(builtup, gpd.GeoDataFrame):
        gdf, name = builtup, "built-up layer (GeoDataFrame)"
    elif isinstance(builtup, str | os.PathLike):
        if not os.path.isfile(builtup):
            raise ValueError(f"built-up layer {os.fspath(builtup)} does not exist")
        gdf, name = gpd.read_file(builtup), f"built-up layer {os.path.basename(builtup)}"
    else:
        raise ValueError(
            "builtup must be 'default', a path, a GeoDataFrame of polygons or None; got "
            f"{type(builtup).__name__}"
        )
    from smaby_geo.network._validate import check_polygon_layer

    gdf, n_empty = check_polygon_layer(gdf, name)
    if gdf.crs != NETWORK_CRS:
        gdf = gdf.to_crs(NETWORK_CRS)
    out = gdf[[gdf.geometry.name]]
    out.attrs.update(name=name, empty_rows=n_empty)
    return out


def urban_fraction(geometry: np.ndarray, builtup: gpd.GeoDataFrame | None) -> np.ndarray:
    """Share of each line's length inside the built-up polygons (0..1).

    Parameters
    ----------
    geometry : ndarray of shapely LineStrings, EPSG:25833
    builtup : GeoDataFrame of polygons (``read_builtup``) or None (all zeros)

    Returns
    -------
    ndarray of float in [0, 1].
    """
    geometry = np.asarray(geometry, dtype=object)
    out = np.zeros(len(geometry), dtype=float)
    if builtup is None or len(geometry) == 0:
        return out
    # dissolve first so overlapping polygons are not counted twice
    polys = shapely.get_parts(shapely.union_all(builtup.geometry.to_numpy()))
    tree = shapely.STRtree(polys)
    li, pi = tree.query(geometry, predicate="intersects")
    if len(li) == 0:
        return out
    inside = shapely.length(shapely.intersection(geometry[li], polys[pi]))
    total = shapely.length(geometry)
    got = np.bincount(li, weights=inside, minlength=len(geometry))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, got / total, 0.0)
    return np.clip(frac, 0.0, 1.0)


def curvature_deg_per_km(geometry: np.ndarray) -> np.ndarray:
    """Summed turning of each line, in degrees per km of its length.

    The absolute change of heading at every interior vertex (zero-length segments skipped),
    summed and divided by the line's length. A straight line gives 0; an L-shaped line of two
    500 m segments at a right angle gives 90 degrees per km. The parts of a MultiLineString
    turn on their own (the gap between parts is no turn).

    Parameters
    ----------
    geometry : ndarray of shapely LineStrings or MultiLineStrings (projected, metres), or one

    Returns
    -------
    ndarray of float, degrees per km (0 for an empty or zero-length line).
    """
    geometry = np.atleast_1d(np.asarray(geometry, dtype=object))
    out = np.zeros(len(geometry), dtype=float)
    if len(geometry) == 0:
        return out
    # the parts of a MultiLineString each turn on their own (no turn across the gap)
    parts, part_of = shapely.get_parts(geometry, return_index=True)
    xy, idx = shapely.get_coordinates(parts, return_index=True)  # idx: the part of a vertex
    if len(xy) < 3:
        return out
    d = np.diff(xy, axis=0)
    same = idx[1:] == idx[:-1]  # segment inside one line
    seg_len = np.hypot(d[:, 0], d[:, 1])
    keep = same & (seg_len > 0)
    d, seg_idx = d[keep], idx[1:][keep]
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    turn = np.where(seg_idx[1:] == seg_idx[:-1], np.degrees(turn), 0.0)
    per_part = np.bincount(seg_idx[1:], weights=turn, minlength=len(parts))
    total = np.bincount(part_of, weights=per_part, minlength=len(geometry))
    length_km = shapely.length(geometry) / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length_km > 0, total / length_km, 0.0)


def _col(links: pd.DataFrame, name: str, default) -> np.ndarray:
    if name in links:
        return links[name].to_numpy()
    return np.full(len(links), default, dtype=object if default is None else float)


def _hashable(x):
    if isinstance(x, list):
        return tuple(x)
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return x


def _roadside_densities(links: pd.DataFrame, out: pd.DataFrame, cat: np.ndarray) -> np.ndarray:
    """The ``cat`` rows' roadside residents per km, measured first where they are missing.

    A table read without them (``population="default"`` with the term off leaves NaN) gets
    them from ``roadside.measure_roadside_densities`` (the registry's grid; measured once, then
    read from the data home's cache), written into the copy ``out`` only: ``links`` is left
    as it was given.
    """
    col = ROADSIDE_COLUMN
    have = col in links and not np.isnan(links[col].to_numpy(dtype=float)[cat]).any()
    if not have:
        if not isinstance(links, gpd.GeoDataFrame):
            raise ValueError(
                f"the roadside term (CarProfile.roadside_density_scale_residents_per_km) needs "
                f"the links' {col!r}, and this link table has neither it nor the link "
                "geometry to measure it from: add the column (smaby_geo.network.roadside."
                "measure_roadside_densities) or switch the term off (None)"
            )
        rho, report = measure_roadside_densities(
            links.geometry.to_numpy(), links["ferry"].to_numpy(dtype=bool)
        )
        out[col] = rho
        out.attrs["roadside_report"] = report  # for RoadNetwork.with_profile's report
    return out[col].to_numpy(dtype=float)[cat]


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def check_headway_ids(headways_min, ferry_ids: np.ndarray) -> None:
    """Check that every ``FerryModel.headways_min`` key names a car-ferry link.

    A key of the wrong type (``"14261"`` where link ids are integers, as a JSON file gives)
    can match no network: ``ValueError`` naming the key and its integer form. An id of the
    right type that matches no car-ferry link of this network warns (legal: a national
    headway table reused on a clipped region lists ferries outside it), naming the ids.

    Parameters
    ----------
    headways_min : mapping of link id -> minutes
    ferry_ids : ndarray
        The ids the ferry links' headways are looked up by (``ferry.headway_ids``).
    """
    keys = list(headways_min)
    if not keys:
        return
    have = set(np.asarray(ferry_ids, dtype=object).tolist())
    unmatched = [k for k in keys if k not in have]
    if not unmatched:
        return
    ints = bool(have) and all(_is_int(i) for i in have)
    wrong = [k for k in unmatched if ints and not _is_int(k) and not isinstance(k, float)]
    if wrong:
        fixes = []
        for k in wrong[:5]:
            try:
                fixes.append(f"{k!r} -> {int(str(k).strip())}")
            except ValueError:
                fixes.append(f"{k!r} is not a link id")
        raise ValueError(
            f"FerryModel.headways_min has keys that are not integers: {wrong[:10]}; link ids "
            f"are integers, so they match no link ({'; '.join(fixes)}): convert the keys, e.g. "
            "{int(k): v for k, v in table.items()} for a table read from JSON"
        )
    warnings.warn(
        f"FerryModel.headways_min: {len(unmatched)} of {len(keys)} link ids match no car-ferry "
        f"link of this network and are unused: {unmatched[:10]} (fine for a table made for a "
        "larger network; else check the ids: network.links[network.links.ferry].link_id)",
        stacklevel=4,
    )


def compute_link_times(
    links: pd.DataFrame, profile: CarProfile, *, only: np.ndarray | None = None
) -> pd.DataFrame:
    """Return a copy of ``links`` with times recomputed from ``profile``.

    Rows with ``time_basis`` ``"given"`` (or a table without that column) keep their times.
    A profile with the roadside term on measures the roadside densities of a table that lacks
    them (``roadside_residents_per_km`` absent or NaN) from the registry's SSB 250 m grid,
    into the copy (``smaby_geo.network.roadside``: measured once, then read from the data
    home's cache); ``links`` itself is not changed.

    Parameters
    ----------
    links : DataFrame
        Link table with ``LINK_COLUMNS`` and the inputs in ``LINK_INPUT_COLUMNS``.
    profile : CarProfile
    only : ndarray of bool, optional
        Recompute only these rows (scenario edits); the ferry terminal rule still looks at
        every link.

    Returns
    -------
    DataFrame
        ``seconds_fw``, ``seconds_bw`` (``inf`` where a direction is closed), ``speed_kmh``
        (road links), ``crossing_s``, ``wait_s``, ``headway_min`` (ferries) filled in.

    Raises
    ------
    ValueError
        The roadside term on for a table without densities that cannot be measured (no link
        geometry, or no SSB 250 m grid in the registry), naming the fix.
    """
    out = links.copy()
    k = len(out)
    if "time_basis" not in out:
        return out
    basis = out["time_basis"].to_numpy(dtype=object)
    if only is not None:
        basis = np.where(np.asarray(only, dtype=bool), basis, "given").astype(object)
    length = out["length_m"].to_numpy(dtype=float)
    fw_open = _col(out, "fw_open", 1.0).astype(bool)
    bw_open = _col(out, "bw_open", 1.0).astype(bool)
    fw = out["seconds_fw"].to_numpy(dtype=float).copy()
    bw = out["seconds_bw"].to_numpy(dtype=float).copy()
    speed = (
        out["speed_kmh"].to_numpy(dtype=float).copy() if "speed_kmh" in out else np.full(k, np.nan)
    )
    cat = basis == "category"
    if cat.any():
        c = out["category"].to_numpy(dtype=object)[cat]
        m = _col(out, "motorway", None)[cat]
        frac = np.nan_to_num(_col(out, "urban_fraction", 0.0)[cat].astype(float))
        rural = profile.n1000_speeds(c, m)
        urban = profile.n1000_speeds(c, m, urban=True)
        lf = length[cat] * profile.length_factor
        slow = np.ones(len(lf))
        scale = profile.curvature_scale_deg_per_km
        if scale is not None:
            curv = np.nan_to_num(_col(out, "curvature_deg_per_km", 0.0)[cat].astype(float))
            slow = 1.0 + curv / scale
        if profile.roadside_density_scale_residents_per_km is not None:
            rho = _roadside_densities(links, out, cat)
            slow = slow * profile.roadside_time_factor(rho)
        t = lf * ((1.0 - frac) * slow / (rural / 3.6) + frac / (urban / 3.6))
        fw[cat], bw[cat] = t, t
        with np.errstate(invalid="ignore", divide="ignore"):
            speed[cat] = np.where(t > 0, lf / t * 3.6, rural)
    osm = basis == "osm"
    if osm.any():
        hw = out["category"].to_numpy(dtype=object)[osm]
        ms = _col(out, "maxspeed", None)[osm]
        cache: dict = {}
        sp = np.empty(len(hw), dtype=float)
        for i, (h, m) in enumerate(zip(hw, ms, strict=True)):
            key = (_hashable(h), _hashable(m))
            val = cache.get(key)
            if val is None:
                val = cache[key] = profile.osm_speed(h, m)
            sp[i] = val
        t = length[osm] / (sp / 3.6)
        fw[osm], bw[osm] = t, t
        speed[osm] = sp
    con = basis == "connector"
    if con.any():
        t = length[con] / (profile.ferry.connector_speed_kmh / 3.6)
        fw[con], bw[con] = t, t
        speed[con] = profile.ferry.connector_speed_kmh
    fer = (basis == "ferry") & out["ferry"].to_numpy(dtype=bool)
    for name in ("crossing_s", "wait_s", "headway_min"):
        if name not in out:
            out[name] = np.nan
    if only is None and profile.ferry.headways_min:  # once per timing, not per scenario edit
        is_f = out["ferry"].to_numpy(dtype=bool)
        ids = np.concatenate([out["link_id"].to_numpy(dtype=object), headway_ids(out)])
        check_headway_ids(profile.ferry.headways_min, ids[np.concatenate([is_f, is_f])])
    if fer.any():
        is_ferry = out["ferry"].to_numpy(dtype=bool)
        ft = ferry_times(
            out["u"].to_numpy(),
            out["v"].to_numpy(),
            is_ferry,
            length,
            out["link_id"].to_numpy(),
            profile.ferry,
            _col(out, "duration_s", np.nan).astype(float),
            _col(out, "headway_override_min", np.nan).astype(float),
            transfer_links(out),
            headway_ids(out),
        )
        sel = fer[is_ferry]  # ferry rows whose time the profile makes
        fw[fer] = ft["seconds_fw"][sel]
        bw[fer] = ft["seconds_bw"][sel]
        for name in ("crossing_s", "wait_s", "headway_min"):
            col = out[name].to_numpy(dtype=float).copy()
            col[fer] = ft[name][sel]
            out[name] = col
        speed[fer] = np.nan
    made = cat | osm | con | fer
    fw = np.where(made & ~fw_open, np.inf, fw)
    bw = np.where(made & ~bw_open, np.inf, bw)
    out["seconds_fw"] = fw
    out["seconds_bw"] = bw
    out["speed_kmh"] = speed
    return out
