"""Road networks: readers, the travel-time profile and the RoadNetwork container."""

from smaby_geo.network.core import RoadNetwork, build_network, clip_network
from smaby_geo.network.ferry import connect_ferry_ends
from smaby_geo.network.linktimes import compute_link_times, read_builtup, urban_fraction
from smaby_geo.network.profile import LEGAL_SPEED_LIMITS_KMH, CarProfile, FerryModel
from smaby_geo.network.readers import (
    load_network,
    network_from_lines,
    network_from_osmnx,
    read_kartverket,
    read_nvdb,
    read_osm,
)

__all__ = [
    "LEGAL_SPEED_LIMITS_KMH",
    "CarProfile",
    "FerryModel",
    "RoadNetwork",
    "build_network",
    "clip_network",
    "compute_link_times",
    "connect_ferry_ends",
    "load_network",
    "network_from_lines",
    "network_from_osmnx",
    "read_builtup",
    "read_kartverket",
    "read_nvdb",
    "read_osm",
    "urban_fraction",
]
