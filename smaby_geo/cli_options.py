"""Checks of the ``smaby-geo`` options made before a command starts any work.

A bad option is refused in a second, naming the option and the fix, not after the network,
the population grid and the services have been read (``--buffer-km 1e308`` once failed in
the region stage with shapely's "buffer distance must be finite").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from smaby_geo._errors import InputError

#: The file ``network --path`` reads for each ``--source`` (``network.load_network``).
ROAD_FILE_BY_SOURCE = {
    "n1000": "an N1000 road GeoPackage (.gpkg)",
    "n2000": "an N2000 road GeoPackage (.gpkg)",
    "nvdb": "an NVDB road GeoPackage (.gpkg)",
    "osm": "an OpenStreetMap extract (.osm.pbf)",
}


def check_options(args: argparse.Namespace) -> None:
    """Refuse bad ``smaby-geo`` options before the command starts (one line, exit code 2).

    ``--buffer-km``: finite, >= 0 and at most ``places.admin.MAX_BUFFER_KM``. ``sweep --workers``:
    ``sweep.check_workers`` (naming ``--workers``). ``network --path``: a file, not a folder.

    Raises
    ------
    InputError
        Naming the option, the value given and the fix.
    """
    from smaby_geo.places.admin import check_buffer_km
    from smaby_geo.sweep import check_workers

    buffer_km = getattr(args, "buffer_km", None)
    if buffer_km is not None:
        check_buffer_km(buffer_km)
    if getattr(args, "command", None) == "sweep" and getattr(args, "scheduler", None) is None:
        # with --scheduler the cluster's workers are its own
        check_workers(args.workers, cli=True)
    path = getattr(args, "path", None)
    if getattr(args, "command", None) == "network" and path is not None and Path(path).is_dir():
        raise InputError(
            f"--path {path}: is a folder; give the road data file itself: "
            f"{ROAD_FILE_BY_SOURCE.get(args.source, 'a road data file')} for --source "
            f"{args.source}"
        )
