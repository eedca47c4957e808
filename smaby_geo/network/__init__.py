"""Road networks: readers, the travel-time profile and the RoadNetwork container."""

from smaby_geo.network.core import RoadNetwork, build_network, clip_network
from smaby_geo.network.profile import CarProfile, FerryModel
from smaby_geo.network.readers import (
    load_network,
    network_from_lines,
    network_from_osmnx,
    read_kartverket,
    read_nvdb,
    read_osm,
)

__all__ = [
    "CarProfile",
    "FerryModel",
    "RoadNetwork",
    "build_network",
    "clip_network",
    "load_network",
    "network_from_lines",
    "network_from_osmnx",
    "read_kartverket",
    "read_nvdb",
    "read_osm",
]
