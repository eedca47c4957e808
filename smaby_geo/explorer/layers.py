"""Map layers the explorer page draws: grid cells, road and ferry links, service sites.

Everything leaves in WGS84 (EPSG:4326) as plain JSON types; user strings (site names) are
sent as data and written into the page as text, never as HTML.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from smaby_geo.network.core import NETWORK_CRS

LINK_SIMPLIFY_M = 25.0  # link geometry simplified for the page (clicks, not measurements)


def _num(v):
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def grid_json(base) -> dict:
    """Cell centres (lat/lon, 5 decimals), cell size (m) and population, in table order.

    Parameters
    ----------
    base : GeoDataFrame
        A ``travel_times`` table of grid cells (``x_sw``, ``y_sw``, ``cell_size_m``) or of points.
    """
    import pyproj

    if {"x_sw", "y_sw", "cell_size_m"} <= set(base.columns):
        size = base["cell_size_m"].to_numpy(float)
        x = base["x_sw"].to_numpy(float) + size / 2
        y = base["y_sw"].to_numpy(float) + size / 2
    else:
        x, y = base.geometry.x.to_numpy(), base.geometry.y.to_numpy()
        size = np.full(len(base), 250.0)
    tr = pyproj.Transformer.from_crs(NETWORK_CRS, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return {
        "lat": np.round(lat, 5).tolist(),
        "lon": np.round(lon, 5).tolist(),
        "size_m": np.round(size, 1).tolist(),
        "population": base["population"].astype(int).tolist(),
    }


def links_geojson(network) -> dict:
    """Road and ferry links as a GeoJSON FeatureCollection with their attributes.

    Properties: ``link_id``, ``category``, ``road_number``, ``ferry``, ``length_m``,
    ``minutes_fw``/``minutes_bw`` (None = closed), ``speed_kmh`` (from length and time),
    ``headway_min`` where the network records it.
    """
    links = network.links
    g = links.geometry.simplify(LINK_SIMPLIFY_M).to_crs("EPSG:4326")
    feats = []
    ln = links["length_m"].to_numpy(float)
    fw = links["seconds_fw"].to_numpy(float)
    bw = links["seconds_bw"].to_numpy(float)
    cat = links["category"].to_numpy(object) if "category" in links else np.full(len(links), None)
    rn = links["road_number"].to_numpy(object) if "road_number" in links else cat * None
    ferry = links["ferry"].to_numpy(bool)
    ids = links["link_id"].to_numpy(object)
    for i, geom in enumerate(g):
        if geom is None or geom.is_empty:
            continue
        t = min(fw[i], bw[i])
        speed = ln[i] / t * 3.6 if np.isfinite(t) and t > 0 else None
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": np.round(np.asarray(geom.coords)[:, :2], 5).tolist(),
                }
                if geom.geom_type == "LineString"
                else geom.__geo_interface__,
                "properties": {
                    "link_id": _num(ids[i]),
                    "category": None if pd.isna(cat[i]) else str(cat[i]),
                    "road_number": None if rn[i] is None or pd.isna(rn[i]) else str(rn[i]),
                    "ferry": bool(ferry[i]),
                    "length_m": round(float(ln[i]), 1),
                    "minutes_fw": _num(round(fw[i] / 60.0, 2)),
                    "minutes_bw": _num(round(bw[i] / 60.0, 2)),
                    "speed_kmh": None if speed is None else round(speed, 1),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def sites_json(services, types) -> list[dict]:
    """Service sites of the served types: id, type, name, lat/lon and x/y (EPSG:25833)."""
    sv = services[services["service_type"].isin(types)]
    ll = sv.to_crs("EPSG:4326")
    out = []
    for (_, r), p in zip(sv.iterrows(), ll.geometry, strict=True):
        out.append(
            {
                "service_id": str(r.get("service_id", "")),
                "service_type": str(r["service_type"]),
                "name": str(r.get("name", "")),
                "lat": round(p.y, 5),
                "lon": round(p.x, 5),
                "x": round(r.geometry.x, 1),
                "y": round(r.geometry.y, 1),
            }
        )
    return out


def bounds_wgs84(base) -> list[float]:
    """``[south, west, north, east]`` of the cells."""
    b = base.to_crs("EPSG:4326").total_bounds
    return [float(b[1]), float(b[0]), float(b[3]), float(b[2])]


def boundaries_json(simplify_deg: float = 0.003) -> dict:
    """Fylker (as land) and kommune borders, EPSG:4326, for an offline base layer.

    Parameters
    ----------
    simplify_deg : float, default 0.003
        Simplification tolerance in degrees (about 200-300 m; the page draws outlines only).
    """
    import geopandas as gpd

    from smaby_geo import datasets

    fylker = gpd.read_file(datasets.locate_dataset("fylker_simplified")).to_crs("EPSG:4326")
    kommuner = gpd.read_file(datasets.locate_dataset("kommuner_simplified")).to_crs("EPSG:4326")
    fylker["geometry"] = fylker.geometry.simplify(simplify_deg)
    kommuner["geometry"] = kommuner.geometry.boundary.simplify(simplify_deg)
    return {
        "fylker": json.loads(fylker[["geometry"]].to_json()),
        "kommuner": json.loads(kommuner[["geometry"]].to_json()),
        "attribution": "© Kartverket (fylke and kommune boundaries)",
    }
