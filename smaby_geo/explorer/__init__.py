"""A scenario explorer in the browser: ``smaby-geo serve``.

A planner edits the network and the service layers on a map and sees, after each edit, the
figures ``smaby-geo scenario`` computes (same library code, re-using the base's snapping and
searches: :mod:`.incremental`). See :mod:`.session` for the state and :mod:`.app` for the web
application.
"""

from smaby_geo.explorer.app import check_address, create_app, serve
from smaby_geo.explorer.session import (
    MAX_EDITS,
    MAX_YAML_BYTES,
    Explorer,
    ExplorerError,
    read_scenario_text,
    scenario_yaml,
)

__all__ = [
    "MAX_EDITS",
    "MAX_YAML_BYTES",
    "Explorer",
    "ExplorerError",
    "check_address",
    "create_app",
    "read_scenario_text",
    "scenario_yaml",
    "serve",
]
