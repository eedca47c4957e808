"""Corridor scenario edits (the old import path): see ``smaby_geo.network.edits``."""

from smaby_geo.network.edits import (
    NETWORK_EDITS,
    SERVICE_EDITS,
    CloseFacility,
    FerryHeadway,
    NewLink,
    OpenFacility,
    ReplaceFerry,
    Scenario,
    Upgrade,
    apply_scenario,
    apply_service_edits,
    parse_road_number,
)
from smaby_geo.network.ferry import crossing_rows, ferry_link_seconds, ferry_terminals

__all__ = [
    "NETWORK_EDITS",
    "SERVICE_EDITS",
    "CloseFacility",
    "FerryHeadway",
    "NewLink",
    "OpenFacility",
    "ReplaceFerry",
    "Scenario",
    "Upgrade",
    "apply_scenario",
    "apply_service_edits",
    "crossing_rows",
    "ferry_link_seconds",
    "ferry_terminals",
    "parse_road_number",
]
