"""The main job: minutes from every populated grid cell to the nearest service of each type.

Stages: network -> population grid (+ kommune labels) -> region clip -> services -> travel
times -> kommune summary -> outputs (GeoParquet, GeoPackage, CSV, HTML map, run metadata).

This module computes and writes; it prints nothing. ``smaby_geo.console`` prints what a job
returns (``smaby-geo run``), and the scenario job lives in ``smaby_geo.scenario_job``. The
names that used to live here (``run_main_job``, ``run_scenario_job``) are still importable
from here.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo._compat import LegacyMapping, renamed_kwargs
from smaby_geo._version import __version__
from smaby_geo.analysis.traveltimes import summarise, travel_times, unreachable_summary

# shared with the scenario job; importable from here as before
from smaby_geo.job_setup import (  # noqa: F401
    ENGINES,
    _ensure_run_data,
    _noop,
    _out_dir,
    _slug,
    _Stages,
    choose_engine,
    land_or_none,
    parse_services,
    routing_cache_dir,
)
from smaby_geo.network.clipping import exact_within_min
from smaby_geo.network.core import RoadNetwork, clip_network
from smaby_geo.network.readers import load_network
from smaby_geo.places.admin import check_buffer_km, select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import SERVICE_TYPES, count_sites_used, load_services


@dataclass(frozen=True, eq=False)
class RunResult(LegacyMapping):
    """The main job's tables in memory (``run_travel_times``). Minutes everywhere.

    Attributes
    ----------
    cells : GeoDataFrame
        The ``travel_times`` table: one row per populated grid cell, ``<t>_minutes`` (``inf``
        = no route), ``<t>_site``, ``<t>_name``, ``snap_m`` (metres) and why a cell is
        unreachable.
    summary : DataFrame
        Per kommune and service type (``summarise``), with ``sites_used``.
    services : GeoDataFrame
        The service sites routed to: every site of the country, or those within the region
        and its ``--buffer-km`` clip when one is asked for.
    network : RoadNetwork
        The network routed on: the whole network, or the ``--buffer-km`` clip.
    kommuner : GeoDataFrame
        All kommune polygons.
    region_name : str
        "Norway", or the kommune or fylke name.
    routing : dict
        Which engine answered (``routing_engine``).
    """

    cells: gpd.GeoDataFrame
    summary: pd.DataFrame
    services: gpd.GeoDataFrame
    network: RoadNetwork
    kommuner: gpd.GeoDataFrame
    region_name: str
    routing: dict


@renamed_kwargs(services="service_types")
def run_travel_times(
    network: RoadNetwork | None = None,
    *,
    region: str | None = None,
    service_types: tuple[str, ...] = SERVICE_TYPES,
    grid: str = "250m",
    buffer_km: float | None = None,
    include_unverified_hospitals: bool = False,
    stages: Callable[[str], AbstractContextManager[Any]] | None = None,
    engine: str = "auto",
) -> RunResult:
    """Compute the main job's tables in memory (no files written).

    Parameters
    ----------
    network : RoadNetwork, optional
        Default: the national N1000 network (``load_network()``).
    region : str, optional
        Kommune/fylke number or name. Its cells are routed on the whole network to every
        service site (exact: a nearer site or a faster road beyond the border counts).
    service_types : tuple of str
        Service types (``SERVICE_TYPES``).
    grid : {"250m", "1km"}
    buffer_km : float, optional
        Clip the network and the services to the region plus this many km (faster on a very
        large network). Times up to ``network.clipping.exact_within_min`` (the buffer at the
        network's top speed) stay exact; longer ones may be overstated or missing, and
        ``cells.attrs["clip"]`` says so (``buffer_km``, ``exact_within_min``). Default None:
        no clip, every time exact.
    include_unverified_hospitals : bool, default False
        Add the 3 hospital sites whose acute function is not verified.
    engine : {"auto", "ch", "dijkstra"}
        Routing engine (``choose_engine``): ``auto`` and ``ch`` answer from the network's
        contraction hierarchy, prepared once and cached on disk by its fingerprint; results
        equal Dijkstra's.

    Returns
    -------
    RunResult
        ``cells`` (travel-time table), ``summary`` (per kommune and type), ``services``,
        ``network``, ``kommuner``, ``region_name``, ``routing`` (which engine answered).
    """
    services = service_types
    stage = stages or (lambda name: _noop())
    buffer_km = check_buffer_km(buffer_km)
    kommuner = read_kommuner()
    # checked before the slow stages; "" is an error, not "all of Norway"
    sel = select_region(kommuner, region) if region is not None else None
    with stage("network"):
        net = network if network is not None else load_network()
    with stage("population grid"):
        cells = read_population_grid(grid, kommuner=kommuner)
    with stage("services"):
        sv = load_services(services, include_unverified_hospitals=include_unverified_hospitals)
    region_name = "Norway"
    clip = None
    with stage("region"):
        if sel is not None:
            region_name = sel["kommunenavn"].iloc[0] if len(sel) == 1 else sel["fylkesnavn"].iloc[0]
            area = sel.geometry.union_all()
            cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
            if buffer_km is not None:
                bound = exact_within_min(net, buffer_km)
                clip = {"buffer_km": buffer_km, "exact_within_min": bound}
                buf = area.buffer(buffer_km * 1000.0)
                net = clip_network(net, buf)
                attrs = dict(sv.attrs)
                sv = sv[sv.intersects(buf)]
                sv.attrs.update(attrs)
    with stage("routing index"):
        routing_info = choose_engine(net, engine)
    with stage("travel times"):
        table = travel_times(net, cells, sv, service_types=list(services), land=land_or_none())
        table.attrs["clip"] = clip
    with stage("summary"):
        summary = summarise(table)
        summary = _add_sites_used(summary, table, sv)
    return RunResult(
        cells=table,
        summary=summary,
        services=sv,
        network=net,
        kommuner=kommuner,
        region_name=region_name,
        routing=routing_info,
    )


def _sites_nearest(cells: pd.DataFrame, services) -> dict[str, int]:
    """Per type, the sites that are the nearest for at least one resident of ``cells``.

    Beside ``service_sites`` (every site routed to: all of Norway's for a region run, which
    is routed on the whole network), this says how many serve the region's own people.
    """
    out = {}
    for t in services:
        col = f"{t}_site"
        if col not in cells:
            out[t] = 0
            continue
        live = (cells["population"].to_numpy(float) > 0) & np.isfinite(
            cells[f"{t}_minutes"].to_numpy(float)
        )
        out[t] = int(pd.Series(cells[col].to_numpy()[live]).nunique())
    return out


def _add_sites_used(summary, table, sv) -> pd.DataFrame:
    """Add ``sites_used``, the sites of each type the run routed to.

    0 where a type has no site: its people are then counted unreachable by ``summarise``
    (their minutes are inf, with the reason "no <type> site on the network").
    """
    used = count_sites_used(sv, table.attrs.get("services_left_out", ())) if len(sv) else {}
    summary = summary.copy()
    summary["sites_used"] = summary["service_type"].map(used).fillna(0).astype(int)
    return summary


@dataclass(frozen=True, eq=False)
class MainJob:
    """What ``main_job`` computed and wrote (``smaby-geo run``); ``console`` prints it.

    Attributes
    ----------
    result : RunResult
        The tables in memory.
    written : list of Path
        Every file written, in the final output folder.
    meta : dict
        The run metadata written to ``run_<slug>.json`` (service sites, access summary,
        routing engine, stage seconds, file digests).
    stage_seconds : dict
        Seconds per stage.
    seconds : float
        Wall-clock seconds of the whole job.
    grid : str
        Grid resolution ("250m" or "1km").
    slug : str
        The name part of the output files (``<region>_<grid>``).
    service_types : tuple of str
        The service types of the run.
    buffer_km : float or None
        Kilometres of network and services kept beyond the region; None: no clip.
    """

    result: RunResult
    written: list[Path]
    meta: dict[str, Any]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    grid: str = "250m"
    slug: str = ""
    service_types: tuple[str, ...] = SERVICE_TYPES
    buffer_km: float | None = None


def main_job(args: argparse.Namespace) -> MainJob:
    """Run ``smaby-geo run``: compute and write the outputs; print nothing.

    The output folder is checked and locked before computing (a second run into it stops
    with "folder in use"); all files are written into a staging folder and appear together
    (``outputs.outdir.staged_output``); ``run_<slug>.json`` names the set with a sha256 per
    file.

    Parameters
    ----------
    args : argparse.Namespace
        The ``smaby-geo run`` options (``cli.build_parser``).

    Returns
    -------
    MainJob
    """
    from smaby_geo.outputs.outdir import staged_output

    t_all = time.perf_counter()
    services = parse_services(args.services)
    check_buffer_km(args.buffer_km)
    _ensure_run_data(services, args)
    out_dir = _out_dir(args)
    with staged_output(out_dir) as stage_dir:
        res, written, stages, meta = _main_job_outputs(args, services, stage_dir)
    return MainJob(
        result=res,
        written=[out_dir / p.relative_to(stage_dir) for p in written],
        meta=meta,
        stage_seconds=dict(stages.seconds),
        seconds=time.perf_counter() - t_all,
        grid=args.grid,
        slug=_slug(res.region_name) + f"_{args.grid}",
        service_types=services,
        buffer_km=check_buffer_km(args.buffer_km),
    )


def _main_job_outputs(args: argparse.Namespace, services, out_dir: Path):
    """Compute the main job and write its files into ``out_dir`` (the staging folder)."""
    from smaby_geo.outputs import io
    from smaby_geo.outputs.map_cache import minutes_map_html
    from smaby_geo.outputs.outdir import file_digests
    from smaby_geo.outputs.products import write_catchment_files, write_region_files

    stages = _Stages()
    res = run_travel_times(
        region=args.region,
        service_types=services,
        grid=args.grid,
        buffer_km=args.buffer_km,
        include_unverified_hospitals=args.include_unverified_hospitals,
        stages=stages,
        engine=getattr(args, "engine", "auto"),
    )
    cells, summary, net = res.cells, res.summary, res.network
    slug = _slug(res.region_name) + f"_{args.grid}"
    left_out = list(cells.attrs.get("services_left_out", ()))
    meta = {
        "tool": f"smaby_geo {__version__}",
        "run_id": uuid.uuid4().hex,
        "region": res.region_name,
        "grid": args.grid,
        "network": net.source,
        "attribution": cells.attrs["attribution"],
        "note": cells.attrs["note"],
        "service_sites": {
            t: count_sites_used(res.services, left_out).get(t, 0) for t in services
        },
        "service_sites_nearest": _sites_nearest(cells, services),
        "service_sites_left_out": left_out,
        "service_duplicate_rows": list(res.services.attrs.get("duplicates", ())),
        "units": "minutes by car, access legs included; inf = no road/ferry route",
        "access": unreachable_summary(cells, list(services)),
        "routing": res.routing,
        "clip": cells.attrs.get("clip"),
    }
    written: list[Path] = []
    with stages("outputs"):
        out_cells = cells.copy()
        out_cells.index = out_cells.index.astype(str)
        # a forked process writes the GeoPackage (pyogrio holds the GIL while GDAL writes)
        # while this one writes the CSV, the map and the GeoParquet
        gpkg = None
        if not getattr(args, "no_gpkg", False):
            gpkg = io.start_gpkg(
                out_cells.reset_index(), out_dir / f"cells_{slug}.gpkg", "cells", meta
            )
        try:
            csv = io.write_csv(summary, out_dir / f"kommune_summary_{slug}.csv", index=False)
            html_map = None
            if not args.no_map and "hospital" in services:
                # drawn, or read from the data cache where these inputs drew it before
                page = minutes_map_html(
                    cells,
                    "hospital",
                    kommune_summary=summary,
                    kommuner=res.kommuner,
                    services=res.services,
                )
                html_map = io.write_text(page, out_dir / f"map_hospital_{slug}.html")
            written.append(
                io.write_geoparquet(out_cells, out_dir / f"cells_{slug}.parquet", meta)
            )
            if gpkg is not None:
                written.append(gpkg.result())
        except BaseException:
            if gpkg is not None:
                gpkg.cancel()
            raise
        written += [csv] + ([html_map] if html_map else [])
        if getattr(args, "regions", None):
            written += write_region_files(
                res.network,
                res.cells,
                res.kommuner,
                args.regions,
                out_dir,
                slug,
                meta,
                with_map=not args.no_map,
            )
        if getattr(args, "catchments", False):
            written += write_catchment_files(
                res.cells, res.services, services, out_dir, slug, meta, with_map=not args.no_map
            )
    with stages("manifest"):
        meta["files"] = file_digests(out_dir, [p.relative_to(out_dir) for p in written])
    stages.close()
    meta["stage_seconds"] = {k: round(v, 3) for k, v in stages.seconds.items()}
    written.append(io.write_json(meta, out_dir / f"run_{slug}.json"))
    return res, written, stages, meta


# moved: the printing to ``console``, the scenario job to ``scenario_job`` (old imports work)
_MOVED = {
    "run_main_job": "smaby_geo.console",
    "run_scenario_job": "smaby_geo.scenario_job",
    "_scenario_outputs": "smaby_geo.scenario_job",
    "_engine_of": "smaby_geo.scenario_job",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'smaby_geo.pipeline' has no attribute {name!r}")
