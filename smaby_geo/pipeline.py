"""The main job: minutes from every populated grid cell to the nearest service of each type.

Stages: network -> population grid (+ kommune labels) -> region clip -> services -> travel
times -> kommune summary -> outputs (GeoParquet, GeoPackage, CSV, HTML map, run metadata).

Longer than 500 lines because it holds both jobs, the main run and the scenario comparison,
whose outputs share one checked, locked and staged folder with a manifest
(``outputs.outdir``) and one printed footer; the scenario job is the part to move out next.
"""

from __future__ import annotations

import argparse
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from smaby_geo import datasets
from smaby_geo._version import __version__
from smaby_geo.analysis.traveltimes import summarise, travel_times, unreachable_summary
from smaby_geo.network.core import RoadNetwork, clip_network
from smaby_geo.network.readers import load_network
from smaby_geo.places.admin import check_buffer_km, select_region
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.services import SERVICE_TYPES, count_sites_used, load_services


def _slug(text: str) -> str:
    s = re.sub(
        r"[^a-z0-9]+", "_", text.casefold().replace("ø", "o").replace("å", "a").replace("æ", "ae")
    ).strip("_")
    return s or "region"


class _Stages:
    """Stage timings and a progress bar.

    The bar starts at the first stage (errors found before computing print on a clean line)
    and is closed by ``close`` or by an exception inside a stage.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._bar = None

    @property
    def bar(self):
        if self._bar is None:
            self._bar = tqdm(total=10, desc="smaby-geo run", unit="stage", leave=False)
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    @contextmanager
    def __call__(self, name: str):
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            self.close()
            raise
        self.seconds[name] = time.perf_counter() - t0
        self.bar.update(1)


def run_travel_times(
    network: RoadNetwork | None = None,
    *,
    region: str | None = None,
    services: tuple[str, ...] = SERVICE_TYPES,
    grid: str = "250m",
    buffer_km: float = 100.0,
    include_unverified_hospitals: bool = False,
    stages=None,
    engine: str = "auto",
) -> dict:
    """Compute the main job's tables in memory (no files written).

    Parameters
    ----------
    network : RoadNetwork, optional
        Default: the national N1000 network (``load_network()``).
    region : str, optional
        Kommune/fylke number or name; the network and services are clipped to the region
        plus ``buffer_km`` so routes across the border still count.
    services : tuple of str
        Service types.
    grid : {"250m", "1km"}
    buffer_km : float, default 100
        Buffer around the region, km.
    include_unverified_hospitals : bool, default False
        Add the 3 hospital sites whose acute function is not verified.
    engine : {"auto", "ch", "dijkstra"}
        Routing engine (``choose_engine``): ``auto`` and ``ch`` answer from the network's
        contraction hierarchy, prepared once and cached on disk by its fingerprint; results
        equal Dijkstra's.

    Returns
    -------
    dict
        ``cells`` (travel-time table), ``summary`` (per kommune and type), ``services``,
        ``network``, ``kommuner``, ``region_name``, ``routing`` (which engine answered).
    """
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
    with stage("region"):
        if sel is not None:
            region_name = sel["kommunenavn"].iloc[0] if len(sel) == 1 else sel["fylkesnavn"].iloc[0]
            area = sel.geometry.union_all()
            cells = cells[cells["kommunenummer"].isin(sel["kommunenummer"])]
            buf = area.buffer(buffer_km * 1000.0)
            net = clip_network(net, buf)
            attrs = dict(sv.attrs)
            sv = sv[sv.intersects(buf)]
            sv.attrs.update(attrs)
    with stage("routing index"):
        routing_info = choose_engine(net, engine)
    with stage("travel times"):
        table = travel_times(net, cells, sv, types=list(services), land=_land())
    with stage("summary"):
        summary = summarise(table)
        summary = _mark_types_without_sites(summary, table, sv, services)
    return {
        "cells": table,
        "summary": summary,
        "services": sv,
        "network": net,
        "kommuner": kommuner,
        "region_name": region_name,
        "routing": routing_info,
    }


def _land():
    """Landmasses for the unreachable reasons (island or gap); None when the layer is absent."""
    from smaby_geo.places.snapping import read_land

    try:
        return read_land()
    except datasets.DatasetNotFoundError:
        return None


ENGINES = ("auto", "ch", "dijkstra")


def routing_cache_dir() -> Path:
    """Folder of prepared networks: ``routing/`` in the data home (``datasets.data_home()``)."""
    return datasets.data_home() / "routing"


def choose_engine(net: RoadNetwork, engine: str = "auto") -> dict:
    """Attach the routing engine the job's queries use and say which it is.

    Parameters
    ----------
    net : RoadNetwork
    engine : {"auto", "ch", "dijkstra"}
        ``auto``/``ch``: the contraction hierarchy, loaded from ``routing_cache_dir()`` when
        it holds one for this network's fingerprint, else built and saved there (a cache
        folder that cannot be written only costs the saving). ``dijkstra``: plain searches.

    Returns
    -------
    dict
        ``routing_engine(net)``: the engine and, for a hierarchy, how it was obtained.
    """
    from smaby_geo.routing.api import prepare, routing_engine

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "dijkstra":
        net.routing_index = None
        return routing_engine(net)
    if net.routing_index is None:
        try:
            prepare(net, cache_dir=routing_cache_dir())
        except OSError:  # read-only or full cache folder: build in memory only
            prepare(net)
    return routing_engine(net)
def _mark_types_without_sites(summary, table, sv, services) -> pd.DataFrame:
    """Add ``sites_used``; where a type has no site, everyone is unreachable (never 0).

    ``summarise`` reports 0 unreachable people where a type's minutes are all missing (no
    site at all): that reads as "everyone reaches one". With no site of a type within the
    region and buffer, every resident is unreachable, and the table says so.
    """
    used = count_sites_used(sv, table.attrs.get("services_left_out", ())) if len(sv) else {}
    summary = summary.copy()
    summary["sites_used"] = summary["service_type"].map(used).fillna(0).astype(int)
    for t in services:
        col = f"{t}_minutes"
        if col in table and table[col].isna().all():
            rows = summary["service_type"] == t
            summary.loc[rows, "unreachable_population"] = summary.loc[rows, "population"]
    return summary


def _print_footer(written: list[Path], stages: _Stages, t_all: float, attribution: str) -> None:
    print("\nOutputs:")
    for w in written:
        print(f"  {w}")
    print(
        "\nStage timings (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.seconds.items())
        + f"; total {time.perf_counter() - t_all:.2f}"
    )
    print(f"Data: {attribution}")


def parse_services(text: str) -> tuple[str, ...]:
    """Parse ``--services`` (comma-separated); unknown types are an error listing the known."""
    services = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in services if s not in SERVICE_TYPES]
    if bad or not services:
        raise ValueError(f"--services: unknown types {bad}; choose from {list(SERVICE_TYPES)}")
    return services


@contextmanager
def _noop():
    yield


def _out_dir(args: argparse.Namespace) -> Path:
    return Path(args.out) if args.out else datasets.project_raw_dir().parent / "processed"


def _ensure_run_data(services, args) -> None:
    """Fetch the datasets the main job reads when they are not on this machine (says so)."""
    from smaby_geo.fetch import ensure_datasets

    names = ["n1000_roads", f"popgrid_{args.grid}", "kommuner"]
    names += [_SERVICE_DATASET[t] for t in services]
    if getattr(args, "include_unverified_hospitals", False) and "hospital" in services:
        names.append("hospital_candidates")
    if not getattr(args, "no_map", False):
        names += ["fylker_simplified", "kommuner_simplified"]
    ensure_datasets(names)


_SERVICE_DATASET = {
    "hospital": "hospitals",
    "court": "courts",
    "police": "police",
    "study_centre": "study_centres",
}


def run_main_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo run``: compute, write outputs, print where they went and timings.

    The output folder is checked and locked before computing (a second run into it stops
    with "folder in use"); all files are written into a staging folder and appear together
    (``outputs.outdir.staged_output``); ``run_<slug>.json`` names the set with a sha256 per
    file.
    """
    from smaby_geo.outputs.outdir import staged_output

    t_all = time.perf_counter()
    services = parse_services(args.services)
    check_buffer_km(args.buffer_km)
    _ensure_run_data(services, args)
    out_dir = _out_dir(args)
    with staged_output(out_dir) as stage_dir:
        res, written, stages, meta = _main_job_outputs(args, services, stage_dir)
    written = [out_dir / p.relative_to(stage_dir) for p in written]
    cells, net = res["cells"], res["network"]
    pop = int(cells["population"].sum())
    print(
        f"smaby-geo run: {res['region_name']}, {len(cells):,} grid cells ({args.grid}), "
        f"{pop:,} people"
    )
    print(net.describe())
    left_out = meta["service_sites_left_out"]
    gone = f" ({len(left_out)} left out, too far from the network: see run_*.json)"
    print(
        "Service sites used: "
        + ", ".join(f"{k} {v}" for k, v in meta["service_sites"].items())
        + (gone if left_out else "")
    )
    print(f"Note: {cells.attrs['note']}")
    for t in services:
        if meta["service_sites"].get(t, 0) == 0:
            print(
                f"Warning: no {t} site within the region and its {args.buffer_km:g} km buffer: "
                f"all {pop:,} people are counted unreachable (check the services file or "
                "--buffer-km)"
            )
    print("\nPopulation-weighted minutes to the nearest site:")
    print("| service | median | P90 | within 30 | within 60 | unreachable people |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in services:
        m = cells[f"{t}_minutes"].to_numpy(dtype=float)
        p = cells["population"].to_numpy(dtype=float)
        ok = np.isfinite(m)
        if not ok.any():
            print(f"| {t} | - | - | - | - | {pop:,} |")
            continue
        from smaby_geo.analysis.traveltimes import weighted_quantile

        print(
            f"| {t} | {weighted_quantile(m[ok], p[ok], 0.5):.0f} | "
            f"{weighted_quantile(m[ok], p[ok], 0.9):.0f} | {p[ok & (m <= 30)].sum() / pop:.1%} | "
            f"{p[ok & (m <= 60)].sum() / pop:.1%} | {int(p[~ok].sum()):,} |"
        )
    acc = meta["access"]
    print(
        f"\nAccess legs: points attach to the nearest drivable link; median snap distance "
        f"{acc['median_snap_m']:,.0f} m over cells ({acc['median_snap_m_people']:,.0f} m "
        "population-weighted)"
    )
    print(f"People off the main network: {acc['off_main_network_people']:,}, by reason:")
    for r, n in sorted(acc["by_reason"].items(), key=lambda kv: -kv[1]):
        print(f"  {n:>8,}  {r}")
    for t, n in acc["unreachable_people"].items():
        why = "; ".join(
            f"{k} {v:,}"
            for k, v in sorted(acc["unreachable_by_reason"][t].items(), key=lambda kv: -kv[1])
        )
        print(f"Unreachable for {t}: {n:,} people ({why or 'none'})")
    if acc["fragments"]:
        slug = _slug(res["region_name"]) + f"_{args.grid}"
        print("Largest cut-off parts (people, kommuner, reason):")
        for f in acc["fragments"][:10]:
            print(f"  {f['people']:>7,}  {', '.join(f['kommuner'])}: {f['reason']}")
        print(f"  ({len(acc['fragments'])} in all; every one in run_{slug}.json under 'access')")
    _print_footer(written, stages, t_all, cells.attrs["attribution"])
    return 0


def _main_job_outputs(args: argparse.Namespace, services, out_dir: Path):
    """Compute the main job and write its files into ``out_dir`` (the staging folder)."""
    from smaby_geo.outputs import io
    from smaby_geo.outputs.maps import map_minutes
    from smaby_geo.outputs.outdir import file_digests

    stages = _Stages()
    res = run_travel_times(
        region=args.region,
        services=services,
        grid=args.grid,
        buffer_km=args.buffer_km,
        include_unverified_hospitals=args.include_unverified_hospitals,
        stages=stages,
        engine=getattr(args, "engine", "auto"),
    )
    cells, summary, net = res["cells"], res["summary"], res["network"]
    slug = _slug(res["region_name"]) + f"_{args.grid}"
    left_out = list(cells.attrs.get("services_left_out", ()))
    meta = {
        "tool": f"smaby_geo {__version__}",
        "run_id": uuid.uuid4().hex,
        "region": res["region_name"],
        "grid": args.grid,
        "network": net.source,
        "attribution": cells.attrs["attribution"],
        "note": cells.attrs["note"],
        "service_sites": {
            t: count_sites_used(res["services"], left_out).get(t, 0) for t in services
        },
        "service_sites_left_out": left_out,
        "service_duplicate_rows": list(res["services"].attrs.get("duplicates", ())),
        "units": "minutes by car, access legs included; inf = no road/ferry route",
        "access": unreachable_summary(cells, list(services)),
        "routing": res["routing"],
    }
    written: list[Path] = []
    with stages("outputs"):
        out_cells = cells.copy()
        out_cells.index = out_cells.index.astype(str)
        written.append(io.write_geoparquet(out_cells, out_dir / f"cells_{slug}.parquet", meta))
        # GDAL writes the GeoPackage (releasing the GIL) while this thread draws the map
        with ThreadPoolExecutor(max_workers=1) as pool:
            gpkg = None
            if not getattr(args, "no_gpkg", False):
                gpkg = pool.submit(
                    io.write_gpkg,
                    out_cells.reset_index(),
                    out_dir / f"cells_{slug}.gpkg",
                    "cells",
                    meta,
                )
            csv = io.write_csv(summary, out_dir / f"kommune_summary_{slug}.csv", index=False)
            html_map = None
            if not args.no_map and "hospital" in services:
                m = map_minutes(
                    cells,
                    "hospital",
                    kommune_summary=summary,
                    kommuner=res["kommuner"],
                    services=res["services"],
                )
                html_map = io.write_text(
                    m.get_root().render(), out_dir / f"map_hospital_{slug}.html"
                )
            if gpkg is not None:
                written.append(gpkg.result())
        written += [csv] + ([html_map] if html_map else [])
        if getattr(args, "regions", None):
            written += _write_regions(
                res, args.regions, out_dir, slug, meta, with_map=not args.no_map
            )
        if getattr(args, "catchments", False):
            written += _write_catchments(
                res, services, out_dir, slug, meta, with_map=not args.no_map
            )
    with stages("manifest"):
        meta["files"] = file_digests(out_dir, [p.relative_to(out_dir) for p in written])
    stages.close()
    meta["stage_seconds"] = {k: round(v, 3) for k, v in stages.seconds.items()}
    written.append(io.write_json(meta, out_dir / f"run_{slug}.json"))
    return res, written, stages, meta


ISO_MIN = (30, 45, 60, 90)


def _write_catchments(
    res: dict, services, out_dir: Path, slug: str, meta: dict, *, with_map: bool
) -> list[Path]:
    """Catchment polygons, population within thresholds, raster, isochrones and maps."""
    from smaby_geo.analysis.catchments import catchments, coarsen_cells
    from smaby_geo.outputs import io
    from smaby_geo.outputs.maps import MAX_CELLS_ON_MAP, MAX_VECTOR_CELLS, map_catchments
    from smaby_geo.outputs.rasters import isochrones, minutes_raster, write_geotiff

    cells = res["cells"]
    written: list[Path] = []
    gpkg = out_dir / f"catchments_{slug}.gpkg"
    layers = {}
    for t in tqdm(services, desc="catchments", leave=False):
        layers[t] = catchments(cells, t, res["services"])
    with io.atomic_path(gpkg) as tmp:
        import pyogrio

        for t, layer in layers.items():
            pyogrio.write_dataframe(
                layer,
                tmp,
                layer=t,
                driver="GPKG",
                append=tmp.exists(),
                layer_metadata={k: str(v) for k, v in meta.items()},
            )
    written.append(gpkg)
    iso_rows = []
    # National runs: isochrones and map polygons from 1 km cells (a 250 m national isochrone
    # layer is ~50 MB); regional runs keep the grid's own resolution.
    small = len(cells) <= MAX_CELLS_ON_MAP
    base_m = int(cells["cell_size_m"].iloc[0])
    coarse = None if small else max(1000, int(cells["cell_size_m"].iloc[0]))
    meta = {**meta, "isochrone_resolution_m": coarse or int(cells["cell_size_m"].iloc[0])}
    for t in services:
        r = minutes_raster(cells, f"{t}_minutes")
        written.append(Path(write_geotiff(r, out_dir / f"minutes_{t}_{slug}.tif", tags=meta)))
        iso = isochrones(r if small else minutes_raster(cells, f"{t}_minutes", coarse), ISO_MIN)
        iso.insert(0, "service_type", t)
        iso_rows.append(iso)
        if with_map:
            shown = (
                layers[t]
                if small
                else catchments(coarsen_cells(cells, t, int(coarse or 0)), t, res["services"])
            )
            shown.attrs.update(layers[t].attrs)
            iso_map = iso
            if small and len(cells) > MAX_VECTOR_CELLS:
                # the map's isochrones are traced from 2x coarser cells: about 4x fewer
                # vertices to simplify and draw; the GeoPackage keeps the grid's own
                iso_map = isochrones(minutes_raster(cells, f"{t}_minutes", 2 * base_m), ISO_MIN)
            m = map_catchments(
                shown, isochrone_layer=iso_map if small else None, services=res["services"]
            )
            written.append(
                io.write_text(m.get_root().render(), out_dir / f"map_catchments_{t}_{slug}.html")
            )
    iso_all = gpd.GeoDataFrame(pd.concat(iso_rows, ignore_index=True), crs=iso_rows[0].crs)
    written.append(io.write_gpkg(iso_all, out_dir / f"isochrones_{slug}.gpkg", "isochrones", meta))
    return written


def _write_regions(
    res: dict, method: str, out_dir: Path, slug: str, meta: dict, *, with_map: bool
) -> list[Path]:
    """Labour-market regions of the run's kommuner: membership, polygons, map."""
    from smaby_geo.analysis.regions import delineate_regions
    from smaby_geo.outputs import io
    from smaby_geo.outputs.maps import map_regions

    cells = res["cells"]
    kom = res["kommuner"][res["kommuner"]["kommunenummer"].isin(cells["kommunenummer"])]
    # the travel-time table carries each cell's population, kommune and centre point
    r = delineate_regions(res["network"], cells, kom, method=method)
    notes = "; ".join(r["notes"])
    m2 = {**meta, "regions_method": method, "regions_notes": notes}
    names = kom.set_index("kommunenummer")["kommunenavn"]
    mem = r["membership"].assign(
        kommunenavn=lambda d: d["kommunenummer"].map(names),
        centre_name=lambda d: d["centre"].map(names),
    )
    written = [
        io.write_csv(mem, out_dir / f"regions_{method}_membership_{slug}.csv", index=False),
        io.write_gpkg(r["polygons"], out_dir / f"regions_{method}_{slug}.gpkg", "regions", m2),
    ]
    if with_map:
        m = map_regions(
            r["polygons"],
            attribution=meta["attribution"],
            note=notes,
            title=f"Labour-market regions ({method.upper()}), {len(r['regions'])}",
        )
        written.append(
            io.write_text(m.get_root().render(), out_dir / f"map_regions_{method}_{slug}.html")
        )
    return written


def _engine_of(net: RoadNetwork) -> dict:
    from smaby_geo.routing.api import routing_engine

    return routing_engine(net)


def run_scenario_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo scenario FILE``: base vs scenario, tables, maps and a report."""
    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.outputs.outdir import staged_output

    t_all = time.perf_counter()
    sc = read_scenario(args.file)
    services = parse_services(args.services)
    check_buffer_km(args.buffer_km)
    root = _out_dir(args)
    with staged_output(root) as stage_root:
        written, stages, meta, cmp, scen_net = _scenario_outputs(
            args, sc, services, stage_root / _slug(sc.name)
        )
    written = [root / p.relative_to(stage_root) for p in written]
    print(f"Scenario {sc.name}: {sc.description}")
    print(f"Edits: {scen_net.report['scenario']['edits']}")
    print(cmp["summary"].to_string(index=False))
    print(cmp["thresholds"].to_string(index=False))
    if "benefit" in cmp:
        print(
            f"Kommuner changing BA region: {len(cmp['regions'])}; rule-of-half benefit "
            f"{cmp['benefit']['person_minutes_per_day']:,.0f} person-minutes/day"
        )
    _print_footer(written, stages, t_all, meta["attribution"])
    return 0


def _scenario_outputs(args, sc, services, out_dir: Path):
    """Compute a scenario comparison and write its files into ``out_dir`` (staging)."""
    import html as _html

    from smaby_geo.analysis.scenarios import compare
    from smaby_geo.network.scenario import apply_scenario, apply_service_edits
    from smaby_geo.outputs import io
    from smaby_geo.outputs.maps import map_difference, map_minutes
    from smaby_geo.outputs.outdir import file_digests

    stages = _Stages()
    res = run_travel_times(
        region=args.region,
        services=services,
        grid=args.grid,
        buffer_km=args.buffer_km,
        stages=stages,
        engine=getattr(args, "engine", "auto"),
    )
    base, cells0 = res["network"], res["cells"]
    with stages("scenario network"):
        scen_net = apply_scenario(base, sc)
        sv1 = apply_service_edits(res["services"], sc)
    with stages("compare"):
        cmp = compare(
            base,
            scen_net,
            cells0,
            res["services"],
            sv1,
            types=list(services),
            base_table=cells0,
            kommuner=res["kommuner"],
            regions=not args.no_regions,
        )
    meta = {
        "tool": f"smaby_geo {__version__}",
        "run_id": uuid.uuid4().hex,
        "scenario": sc.name,
        "description": sc.description,
        "region": res["region_name"],
        "grid": args.grid,
        "edits": base.report.get("scenario") or scen_net.report.get("scenario"),
        "attribution": cells0.attrs["attribution"],
        "note": cells0.attrs["note"],
        "units": "minutes; delta = scenario - base (negative = faster)",
        # the base answers from its prepared hierarchy; the edited network, whose fingerprint
        # differs, runs Dijkstra (correct for any edit, no re-contraction)
        "routing": {"base": res["routing"], "scenario": _engine_of(scen_net)},
    }
    written: list[Path] = []
    with stages("outputs"):
        cells = cmp["cells"].copy()
        cells.index = cells.index.astype(str)
        written.append(io.write_geoparquet(cells, out_dir / "cells_delta.parquet", meta))
        for name in ("summary", "kommuner", "thresholds", "catchments"):
            written.append(io.write_csv(cmp[name], out_dir / f"{name}.csv", index=False))
        if "regions" in cmp:
            written.append(
                io.write_csv(cmp["regions"], out_dir / "regions_changed.csv", index=False)
            )
        maps = []
        if not args.no_map:
            for t in services:
                m = map_difference(
                    cmp["cells"],
                    t,
                    attribution=meta["attribution"],
                    note=meta["note"],
                    title=f"{sc.name}: change in minutes to the nearest {t.replace('_', ' ')}",
                )
                maps.append(io.write_text(m.get_root().render(), out_dir / f"map_delta_{t}.html"))
            t = services[0]
            for label, table, sv in (
                ("base", cmp["base_table"], res["services"]),
                ("scenario", cmp["scenario_table"], sv1),
            ):
                m = map_minutes(
                    table, t, services=sv, title=f"{sc.name} ({label}): minutes to the nearest {t}"
                )
                maps.append(io.write_text(m.get_root().render(), out_dir / f"map_{label}_{t}.html"))
        written += maps
        benefit = cmp.get("benefit", {})
        report = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{_html.escape(sc.name)}</title><style>body{{font:14px sans-serif;max-width:960px;
margin:2em auto}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;
padding:2px 6px;text-align:right}}</style></head><body>
<h1>Scenario: {_html.escape(sc.name)}</h1><p>{_html.escape(sc.description)}</p>
<p>Region: {_html.escape(res["region_name"])}, {len(cells0):,} grid cells ({args.grid}),
{int(cells0["population"].sum()):,} people. Edits: {_html.escape(str(meta["edits"]))}</p>
<h2>Per service type</h2>{cmp["summary"].to_html(index=False, float_format="%.2f")}
<h2>People crossing thresholds</h2>{cmp["thresholds"].to_html(index=False)}
<h2>Catchment changes</h2>{cmp["catchments"].to_html(index=False)}
<h2>Labour-market regions (BA rules, modelled flows)</h2>
<p>{len(cmp.get("regions", [])) if "regions" in cmp else "not computed"} kommuner change
region. Consumer benefit (rule of half): {benefit.get("person_minutes_per_day", float("nan")):,.0f}
person-minutes per day ({_html.escape(benefit.get("note", ""))}).</p>
<h2>Maps</h2><ul>{"".join(f'<li><a href="{p.name}">{p.name}</a></li>' for p in maps)}</ul>
<p><small>{_html.escape(meta["note"])}<br>Data: {_html.escape(meta["attribution"])}</small></p>
</body></html>"""
        written.append(io.write_text(report, out_dir / "report.html"))
    with stages("manifest"):
        meta["files"] = file_digests(out_dir, [p.relative_to(out_dir) for p in written])
    stages.close()
    meta["stage_seconds"] = {k: round(v, 3) for k, v in stages.seconds.items()}
    written.append(io.write_json(meta, out_dir / "run.json"))
    return written, stages, meta, cmp, scen_net
