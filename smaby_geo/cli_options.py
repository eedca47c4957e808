"""Checks of the ``smaby-geo`` options made before a command starts any work.

A bad option is refused in a second, naming the option and the fix, not after the network,
the population grid and the services have been read (``--buffer-km 1e308`` once failed in
the region stage with shapely's "buffer distance must be finite").
"""

from __future__ import annotations

import argparse
import math
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
    ``indicators --limit-min``: at most ``analysis.reach.MAX_LIMIT_MIN`` (1,440 minutes).

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
    if getattr(args, "command", None) == "indicators":
        from smaby_geo.analysis.reach import DEFAULT_LIMIT_MIN, MAX_LIMIT_MIN

        # inf, nan and values under a minute are refused by the job with the --half-life-min
        # check; a finite value over the cap is refused here, before the region is read
        if math.isfinite(args.limit_min) and args.limit_min > MAX_LIMIT_MIN:
            raise InputError(
                f"--limit-min must be at most {MAX_LIMIT_MIN:,.0f} minutes (one day; the "
                f"indicators are defined at {DEFAULT_LIMIT_MIN:g}), got {args.limit_min:g}"
            )
    path = getattr(args, "path", None)
    if getattr(args, "command", None) == "network" and path is not None and Path(path).is_dir():
        raise InputError(
            f"--path {path}: is a folder; give the road data file itself: "
            f"{ROAD_FILE_BY_SOURCE.get(args.source, 'a road data file')} for --source "
            f"{args.source}"
        )
