"""The scenario job (``smaby-geo scenario FILE``): the base against an edited network.

Computes the base as the main job does (``pipeline.run_travel_times``), applies the
scenario's edits, compares (``analysis.scenarios.compare``) and writes the tables, maps and
an HTML report (``outputs.report``) into one checked, locked and staged folder with a
manifest (``outputs.outdir``). It prints nothing: ``console.print_scenario_job`` does.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smaby_geo._version import __version__
from smaby_geo.analysis.scenarios import Comparison
from smaby_geo.job_setup import _out_dir, _slug, _Stages, parse_services
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.scenario import Scenario
from smaby_geo.pipeline import run_travel_times
from smaby_geo.places.admin import check_buffer_km


@dataclass(frozen=True, eq=False)
class ScenarioJob:
    """What ``scenario_job`` computed and wrote.

    Attributes
    ----------
    scenario : Scenario
        The scenario read from the file.
    comparison : Comparison
        Base against scenario (minutes; delta = scenario - base).
    scenario_network : RoadNetwork
        The edited network (``report["scenario"]`` lists the touched links).
    written : list of Path
        Every file written, in the final output folder.
    meta : dict
        The metadata written to ``run.json``.
    stage_seconds : dict
        Seconds per stage.
    seconds : float
        Wall-clock seconds of the whole job.
    """

    scenario: Scenario
    comparison: Comparison
    scenario_network: RoadNetwork
    written: list[Path]
    meta: dict[str, Any]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _engine_of(net: RoadNetwork) -> dict:
    from smaby_geo.routing.api import routing_engine

    return routing_engine(net)


def scenario_job(args: argparse.Namespace) -> ScenarioJob:
    """Run ``smaby-geo scenario FILE``: compare, write tables, maps and a report; print nothing.

    Parameters
    ----------
    args : argparse.Namespace
        The ``smaby-geo scenario`` options (``cli.build_parser``).

    Returns
    -------
    ScenarioJob
    """
    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.outputs.outdir import staged_output

    t_all = time.perf_counter()
    sc = read_scenario(args.file)
    services = parse_services(args.services)
    check_buffer_km(args.buffer_km)
    root = _out_dir(args)
    check_scenario_folder(root / _slug(sc.name), sc.name)  # before computing
    with staged_output(root) as stage_root:
        check_scenario_folder(root / _slug(sc.name), sc.name)  # again, under the lock
        written, stages, meta, cmp, scen_net = _scenario_outputs(
            args, sc, services, stage_root / _slug(sc.name)
        )
    return ScenarioJob(
        scenario=sc,
        comparison=cmp,
        scenario_network=scen_net,
        written=[root / p.relative_to(stage_root) for p in written],
        meta=meta,
        stage_seconds=dict(stages.seconds),
        seconds=time.perf_counter() - t_all,
    )


def is_scenario_output(folder: Path) -> bool:
    """True when ``folder`` holds a previous scenario run's set (its ``run.json`` manifest).

    The manifest is ours when it is a JSON object naming this tool, a scenario and the files
    it wrote (``scenario_job`` writes exactly that).
    """
    return scenario_of_output(folder) is not None


def scenario_of_output(folder: Path) -> str | None:
    """The scenario name in ``folder``'s ``run.json`` when it is a scenario run's set, else None.

    See ``is_scenario_output`` for what counts as ours.
    """
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        isinstance(meta, dict)
        and str(meta.get("tool", "")).startswith("smaby_geo ")
        and "scenario" in meta
        and isinstance(meta.get("files"), dict)
    ):
        return str(meta["scenario"])
    return None


def check_scenario_folder(folder: Path, name: str) -> None:
    """Refuse to replace ``folder`` unless it is absent, empty or this scenario's previous set.

    A scenario's outputs go to ``--out/<slug of its name>``, which a rerun replaces whole; a
    file or folder of the user's that happens to have that name must never be deleted.

    Raises
    ------
    OutputFolderError
        ``folder`` is a file, a folder without our manifest (``run.json``), or the set of
        another scenario whose name has the same slug ("Hordfast bridge" and
        "hordfast-bridge").
    """
    from smaby_geo._errors import OutputFolderError

    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputFolderError(
            f"--out {folder.parent}: {folder} exists and is not a scenario output; the "
            f"scenario {name!r} writes its folder there, so rename the scenario or choose "
            "another --out"
        )
    if folder.is_dir() and any(folder.iterdir()) and not is_scenario_output(folder):
        raise OutputFolderError(
            f"--out {folder.parent}: {folder} holds files that are not a scenario run's "
            f"outputs (no run.json of smaby-geo scenario); the scenario {name!r} would replace "
            "it, so rename the scenario or choose another --out"
        )
    previous = scenario_of_output(folder) if folder.is_dir() else None
    if previous is not None and previous != name:
        raise OutputFolderError(
            f"--out {folder.parent}: {folder} holds the outputs of scenario {previous!r}, and "
            f"scenario {name!r} has the same folder name; run it with another --out (or "
            "rename it) so that neither replaces the other"
        )


def run_scenario_job(args: argparse.Namespace) -> int:
    """Compute, write and print (``console.run_scenario_job``); kept for old imports."""
    from smaby_geo.console import run_scenario_job as run

    return run(args)


def _scenario_outputs(args, sc, services, out_dir: Path):
    """Compute a scenario comparison and write its files into ``out_dir`` (staging)."""
    from smaby_geo.analysis.scenarios import check_opened_sites, compare
    from smaby_geo.network.scenario import apply_scenario, apply_service_edits
    from smaby_geo.outputs import io
    from smaby_geo.outputs.maps import map_difference, map_minutes
    from smaby_geo.outputs.outdir import file_digests
    from smaby_geo.outputs.report import scenario_report_html

    stages = _Stages()
    res = run_travel_times(
        region=args.region,
        service_types=services,
        grid=args.grid,
        buffer_km=args.buffer_km,
        stages=stages,
        engine=getattr(args, "engine", "auto"),
    )
    base, cells0 = res.network, res.cells
    with stages("scenario network"):
        scen_net = apply_scenario(base, sc)
        check_opened_sites(scen_net, sc)
        sv1 = apply_service_edits(res.services, sc)
    with stages("compare"):
        cmp = compare(
            base,
            scen_net,
            cells0,
            res.services,
            sv1,
            service_types=list(services),
            base_table=cells0,
            kommuner=res.kommuner,
            regions=not args.no_regions,
        )
    meta = {
        "tool": f"smaby_geo {__version__}",
        "run_id": uuid.uuid4().hex,
        "scenario": sc.name,
        "description": sc.description,
        "region": res.region_name,
        "grid": args.grid,
        "edits": base.report.get("scenario") or scen_net.report.get("scenario"),
        "attribution": cells0.attrs["attribution"],
        "note": cells0.attrs["note"],
        "units": "minutes; delta = scenario - base (negative = faster)",
        # the base answers from its prepared hierarchy; the edited network, whose fingerprint
        # differs, runs Dijkstra (correct for any edit, no re-contraction)
        "routing": {"base": res.routing, "scenario": _engine_of(scen_net)},
    }
    written: list[Path] = []
    with stages("outputs"):
        cells = cmp.cells.copy()
        cells.index = cells.index.astype(str)
        written.append(io.write_geoparquet(cells, out_dir / "cells_delta.parquet", meta))
        for name in ("summary", "kommuner", "thresholds", "catchments"):
            table = getattr(cmp, name)
            written.append(io.write_csv(table, out_dir / f"{name}.csv", index=False))
        if cmp.regions is not None:
            written.append(io.write_csv(cmp.regions, out_dir / "regions_changed.csv", index=False))
        maps = []
        if not args.no_map:
            for t in services:
                m = map_difference(
                    cmp.cells,
                    t,
                    attribution=meta["attribution"],
                    note=meta["note"],
                    title=f"{sc.name}: change in minutes to the nearest {t.replace('_', ' ')}",
                )
                maps.append(io.write_text(m.get_root().render(), out_dir / f"map_delta_{t}.html"))
            t = services[0]
            for label, table, sv in (
                ("base", cmp.base_table, res.services),
                ("scenario", cmp.scenario_table, sv1),
            ):
                m = map_minutes(
                    table, t, services=sv, title=f"{sc.name} ({label}): minutes to the nearest {t}"
                )
                maps.append(io.write_text(m.get_root().render(), out_dir / f"map_{label}_{t}.html"))
        written += maps
        report = scenario_report_html(
            name=sc.name,
            description=sc.description,
            region_name=res.region_name,
            grid=args.grid,
            n_cells=len(cells0),
            population=int(cells0["population"].sum()),
            edits=meta["edits"],
            summary=cmp.summary,
            thresholds=cmp.thresholds,
            catchments=cmp.catchments,
            regions=cmp.regions,
            benefit_person_minutes_per_day=(
                cmp.benefit.person_minutes_per_day if cmp.benefit is not None else None
            ),
            benefit_note=cmp.benefit.note if cmp.benefit is not None else "",
            maps=maps,
            note=meta["note"],
            attribution=meta["attribution"],
        )
        written.append(io.write_text(report, out_dir / "report.html"))
    with stages("manifest"):
        meta["files"] = file_digests(out_dir, [p.relative_to(out_dir) for p in written])
    stages.close()
    meta["stage_seconds"] = {k: round(v, 3) for k, v in stages.seconds.items()}
    written.append(io.write_json(meta, out_dir / "run.json"))
    return written, stages, meta, cmp, scen_net
