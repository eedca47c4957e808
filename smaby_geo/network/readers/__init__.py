"""Readers that turn road data into a RoadNetwork (one module per format).

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
from collections.abc import Sequence

import geopandas as gpd

from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.ferry import (  # re-exported: the old import path
    connect_ferry_ends,
    ferry_link_seconds,
    ferry_terminals,
)
from smaby_geo.network.linktimes import DEFAULT_BUILTUP
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers._common import (
    ROAD_NUMBER_PREFIX,
    format_road_number,
    node_points,
)
from smaby_geo.network.readers.kartverket import read_kartverket
from smaby_geo.network.readers.lines import network_from_lines
from smaby_geo.network.readers.nvdb import NVDB_ONEWAY, read_nvdb
from smaby_geo.network.readers.osm import (
    OSM_DRIVE_HIGHWAYS,
    network_from_osmnx,
    osm_is_car_way,
    parse_osm_duration,
    read_osm,
)
from smaby_geo.network.roadside import DEFAULT_POPULATION

__all__ = [
    "NVDB_ONEWAY",
    "OSM_DRIVE_HIGHWAYS",
    "ROAD_NUMBER_PREFIX",
    "connect_ferry_ends",
    "ferry_link_seconds",
    "ferry_terminals",
    "format_road_number",
    "load_network",
    "network_from_lines",
    "network_from_osmnx",
    "node_points",
    "osm_is_car_way",
    "parse_osm_duration",
    "read_kartverket",
    "read_nvdb",
    "read_osm",
]


def load_network(
    source: str = "n1000",
    path: str | os.PathLike | None = None,
    *,
    profile: CarProfile | None = None,
    keep: str = "all",
    builtup: str | os.PathLike | gpd.GeoDataFrame | None = DEFAULT_BUILTUP,
    population: str | os.PathLike | None = DEFAULT_POPULATION,
    same_boat_routes: Sequence[Sequence[str]] | None = None,
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
    builtup : "default", path-like, GeoDataFrame or None
        N1000/N2000 only: built-up areas for urban speeds. ``"default"`` uses the registry's
        ``builtup_areas`` (fetched when missing); None switches urban speeds off (see
        ``read_kartverket``).
    population : "default", path-like or None
        N1000/N2000 only: the SSB 250 m grid of the roadside settlement term (on in the
        default profile). ``"default"`` uses the registry's ``popgrid_250m`` (fetched when
        missing); a path a grid CSV of your own; None no densities (see ``read_kartverket``).
    same_boat_routes : sequence of sequences of str, optional
        Every source: groups of road numbers whose ferry links are one boat calling at
        several quays, e.g. ``[("Fv57", "Fv606")]``, so a car staying aboard waits once
        (``read_kartverket``). Default none: each road number is its own ferry route; no list
        is shipped, since the data carry no route ids and no source is at hand offline.

    Returns
    -------
    RoadNetwork
        Carrying ``profile`` as ``net.profile``.
    """
    if source in ("n1000", "n2000"):
        return read_kartverket(
            path,
            dataset=f"{source}_roads",
            profile=profile,
            keep=keep,
            builtup=builtup,
            population=population,
            same_boat_routes=same_boat_routes,
        )
    if source in ("nvdb", "osm"):
        given = [
            name
            for name, value, default in (
                ("builtup", builtup, DEFAULT_BUILTUP),
                ("population", population, DEFAULT_POPULATION),
            )
            if not (isinstance(value, str) and value == default)
        ]
        if given:  # these inputs time N1000/N2000 links; NVDB and OSM carry their own speeds
            raise ValueError(
                f"load_network(source={source!r}): {' and '.join(f'{g}=' for g in given)} "
                "apply to the Kartverket sources n1000/n2000 only (NVDB carries its drive "
                "times, OSM its speed limits); leave them out"
            )
    if source == "nvdb":
        return read_nvdb(path, keep=keep, profile=profile, same_boat_routes=same_boat_routes)
    if source == "osm":
        if path is None:
            raise ValueError("load_network(source='osm') needs path= to a .osm or .osm.pbf file")
        return read_osm(path, profile=profile, keep=keep, same_boat_routes=same_boat_routes)
    raise ValueError(f"unknown network source {source!r}; use n1000, n2000, nvdb or osm")
