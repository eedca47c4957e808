"""The ``smaby-geo indicators`` job: compute, write (one staged set), print.

The centrality index in SSB's manner (250 m cells, kommuner, classes) and the EU road
transport performance (1 km cells, kommuner), with maps. With ``--region`` the region's cells
are routed on the whole network with every resident and service site of the country (see
``smaby_geo.towns_pipeline``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from smaby_geo import datasets
from smaby_geo.console import print_footer
from smaby_geo.job_setup import (
    _out_dir,
    _slug,
    output_meta,
    plain_frame,
    read_kommuner_for_region,
    region_cells,
    stage_done,
)
from smaby_geo.network.readers import load_network
from smaby_geo.outputs import io
from smaby_geo.outputs.outdir import file_digests, link_tree
from smaby_geo.places.admin import check_buffer_km
from smaby_geo.places.population import read_population_grid
from smaby_geo.places.services import load_services

# Smallest --limit-min and --half-life-min, minutes: below a minute the reach is a few cells
# (the many-to-all rounds to 10 s bins) and the log scale's reference can be 0.
MIN_LIMIT_MIN = 1.0
# The files of each part of ``smaby-geo indicators`` (name prefixes); a run with ``--only``
# keeps the other part's files of the previous set (they stay listed in the manifest).
INDICATOR_PARTS = {
    "centrality": ("centrality_", "map_centrality_"),
    "transport_performance": ("transport_performance_", "map_transport_performance_"),
}


def run_indicators_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo indicators``: centrality index and transport performance.

    Every file is written into a staging folder and swapped in whole with a manifest
    (``indicators_run_<region>.json``: sha256 per file), as ``run`` and ``towns`` do: a run
    killed or failing at any moment leaves the previous complete set, and a rerun replaces its
    previous set whole. A run with ``--only`` keeps the other part of the previous set (when
    its files are unchanged on disk) and lists it in the new manifest.
    """
    from smaby_geo.outputs.outdir import check_output_folder, staged_output

    do_c = args.only in (None, "centrality")
    do_tp = args.only in (None, "transport-performance")
    t_all = time.perf_counter()
    stages: dict[str, float] = {}
    out_dir = _out_dir(args)
    kom = read_kommuner_for_region(args.region)
    if args.buffer_km is not None:
        check_buffer_km(args.buffer_km)
        print(
            "Note: --buffer-km has no effect on indicators: a region's cells are routed on the "
            "whole network, and every resident and service site of the country counts"
        )
    for option, value in (("--limit-min", args.limit_min), ("--half-life-min", args.half_life_min)):
        if not (np.isfinite(value) and value >= MIN_LIMIT_MIN):  # 1e-9 reached nobody at all
            raise ValueError(
                f"{option} must be a finite number of minutes >= {MIN_LIMIT_MIN:g}, got {value}"
            )
    check_output_folder(out_dir)  # an unusable --out fails before any computing
    net0 = load_network()
    # written into a staging folder and swapped in whole (never a partial or mixed set)
    with staged_output(out_dir) as stage:
        written, name, summary = _indicators_into(stage, args, kom, net0, stages, do_c, do_tp)
        slug = _slug(name)
        manifest = stage / f"indicators_run_{slug}.json"
        parts = {k: [p.name for p in v] for k, v in written.items()}
        carried: dict[str, str] = {}  # sha256 of the files carried over, checked once
        if not (do_c and do_tp):
            carried = _keep_other_part(out_dir / manifest.name, stage, parts, summary)
        meta = output_meta(
            datasets.attribution(["n1000_roads", "popgrid_250m"]),
            region=name,
            summary=summary,
            stage_seconds=stages,
            parts=parts,
            routing="whole network, every resident and service site of the country",
            files=file_digests(
                stage, [n for names in parts.values() for n in names], known=carried
            ),
        )
        io.write_json(meta, manifest)
    files = [out_dir / n for names in parts.values() for n in names]
    print_footer([*files, out_dir / manifest.name], stages, time.perf_counter() - t_all,
                 meta["attribution"])
    return 0


def _keep_other_part(
    previous: Path, stage: Path, parts: dict, summary: dict
) -> dict[str, str]:
    """Carry the part a ``--only`` run did not compute over from the previous set.

    Its files are hard-linked into ``stage`` (copied where links are refused) and listed in
    ``parts`` and ``summary``, but only where the previous manifest lists them and each file
    on disk still has its listed sha256; otherwise that part is left out (the swap removes
    it with the rest of the previous set).

    Returns
    -------
    dict
        ``{name: sha256}`` of the files carried over, as just checked: the new manifest
        reuses them rather than reading each file a second time.
    """
    import json

    carried: dict[str, str] = {}
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
        old_parts, old_files = old["parts"], old["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return carried  # no previous indicators set here, or not one of ours
    if not isinstance(old_files, dict):  # {name: sha256} in ours
        return carried
    for part in INDICATOR_PARTS:
        names = old_parts.get(part) if isinstance(old_parts, dict) else None
        if part in parts or not isinstance(names, list) or not names:
            continue
        if not all(isinstance(n, str) and "/" not in n and n in old_files for n in names):
            continue
        try:
            digests = file_digests(previous.parent, names)
        except OSError:
            continue
        if any(digests[n] != old_files[n] for n in names):
            continue
        for n in names:
            link_tree(previous.parent / n, stage / n)
        parts[part] = list(names)
        carried.update(digests)
        if isinstance(old.get("summary"), dict) and part in old["summary"]:
            summary[part] = old["summary"][part]
    return carried


def _indicators_into(stage: Path, args, kom, net0, stages, do_c: bool, do_tp: bool):
    """Compute the asked indicators and write their files into ``stage``.

    Returns
    -------
    (written, name, summary)
        ``written``: the files of each part (``INDICATOR_PARTS`` keys); the region name; the
        summary figures of each part.
    """
    from smaby_geo.analysis.centrality import centrality
    from smaby_geo.analysis.transport_performance import (
        PROXIMITY_RADIUS_KM,
        summarise_transport_performance,
        transport_performance,
    )
    from smaby_geo.outputs.indicator_maps import map_centrality, map_transport_performance

    t = time.perf_counter()
    written: dict[str, list[Path]] = {}
    name = "Norway"
    summary: dict[str, dict] = {}
    if do_c:
        files: list[Path] = []
        cells_all = read_population_grid("250m", kommuner=kom)
        # the whole network, every resident and every site are reachable (module note)
        cells, name, _ = region_cells(kom, cells_all, args.region)
        sv = load_services()
        t = stage_done(stages, "inputs 250m", t)
        c = centrality(
            net0,
            cells,
            sv,
            cells_all,
            limit_min=args.limit_min,
            half_life_min=args.half_life_min,
        )
        t = stage_done(stages, "centrality", t)
        areas = c.areas
        scaling = _centrality_scaling(name if args.region else None)
        meta = output_meta(
            c.cells.attrs["attribution"],
            region=name,
            scaling=scaling,
            note=sv.attrs.get("note", ""),
            parameters=c.cells.attrs["parameters"],
            method=(
                "SSB sentralitetsindeks structure (Høydahl 2017, SSB Notater 2017/40; 2020/4); "
                "residents stand in for jobs; four service types; see "
                "smaby_geo.analysis.centrality"
            ),
        )
        slug = _slug(name)
        files.append(
            io.write_geoparquet(
                plain_frame(c.cells), stage / f"centrality_cells_{slug}_250m.parquet", meta
            )
        )
        files.append(io.write_csv(areas, stage / f"centrality_kommuner_{slug}.csv", index=False))
        if not args.no_map:
            m = map_centrality(
                areas,
                kom,
                attribution=meta["attribution"],
                note="Residents stand in for jobs; 4 service types (incomplete lists). "
                "Classes: equal-width steps from the lowest kommune to 1000. " + scaling,
                thresholds=c.thresholds,
            )
            files.append(
                io.write_text(m.get_root().render(), stage / f"map_centrality_{slug}.html")
            )
        written["centrality"] = files
        summary["centrality"] = {
            # a part carried over by a later --only run keeps these: the manifest says
            # which limit each part was computed with
            "parameters": {"limit_min": args.limit_min, "half_life_min": args.half_life_min},
            "scaling": scaling,
            "class_lower_bounds": [round(float(b), 1) for b in c.thresholds],
            "kommuner_per_class": {
                int(k): int(v)
                for k, v in areas["centrality_class"].value_counts().sort_index().items()
            },
        }
        _print_centrality(areas, c.thresholds)
        if args.region:
            print(f"Note: {scaling}")
        t = stage_done(stages, "centrality outputs", t)
    if do_tp:
        files = []
        cells1_all = read_population_grid("1km", kommuner=kom)
        cells1, name, _ = region_cells(kom, cells1_all, args.region)
        t = stage_done(stages, "inputs 1km", t)
        tp = transport_performance(net0, cells1, cells1_all, limit_min=args.limit_min)
        t = stage_done(stages, "transport performance", t)
        s = summarise_transport_performance(tp)
        names = kom.set_index("kommunenummer")["kommunenavn"]
        s.insert(1, "kommunenavn", s["kommunenummer"].map(names))
        meta = output_meta(
            tp.attrs["attribution"],
            region=name,
            parameters=tp.attrs["parameters"],
            note="Norway's residents only (SSB 2015 grid): cross-border population is not "
            "counted in either part.",
        )
        slug = _slug(name)
        files.append(
            io.write_geoparquet(
                plain_frame(tp), stage / f"transport_performance_cells_{slug}_1km.parquet", meta
            )
        )
        files.append(
            io.write_csv(s, stage / f"transport_performance_kommuner_{slug}.csv", index=False)
        )
        if not args.no_map:
            m = map_transport_performance(
                s, kom, attribution=meta["attribution"], note=meta["note"]
            )
            files.append(
                io.write_text(
                    m.get_root().render(), stage / f"map_transport_performance_{slug}.html"
                )
            )
        written["transport_performance"] = files
        p = tp["population"].to_numpy(float)
        ok = np.isfinite(tp["transport_performance"].to_numpy(float))
        acc = float(np.average(tp["accessibility"][ok], weights=p[ok]))
        prox = float(np.average(tp["proximity"][ok], weights=p[ok]))
        summary["transport_performance"] = {
            "parameters": {"limit_min": args.limit_min, "proximity_km": PROXIMITY_RADIUS_KM},
            "accessibility": round(acc),
            "proximity": round(prox),
            "transport_performance": round(100 * acc / prox, 1),
        }
        print(
            f"\nTransport performance ({name}, 1 km cells, population-weighted): accessibility "
            f"{acc:,.0f} residents within {args.limit_min:g} min, proximity {prox:,.0f} within "
            f"120 km, performance {100 * acc / prox:.1f}"
        )
        lo = s.sort_values("transport_performance").head(5)
        hi = s.sort_values("transport_performance").tail(5)
        for label, part in (("lowest", lo), ("highest", hi)):
            print(
                f"  {label}: "
                + ", ".join(
                    f"{r.kommunenavn} {r.transport_performance:.1f}" for r in part.itertuples()
                )
            )
        t = stage_done(stages, "transport performance outputs", t)
    return written, name, summary


def _centrality_scaling(region: str | None) -> str:
    """How the centrality index and classes of a run are scaled (run JSON, map, console).

    The reach and service minutes of a region's cells are those of the national run; the
    scaling is not: it takes the region's own top kommune, largest reach and lowest kommune.
    """
    if region is None:
        return (
            "Scaled nationally: 1000 = the most central kommune of Norway; the log scale's "
            "reference is the largest reach of any cell; classes run from the lowest kommune."
        )
    return (
        f"Scaled within {region}, not nationally: 1000 = the most central kommune of {region}, "
        "the log scale's reference is the largest reach of its cells and the classes run from "
        "its lowest kommune, so the index and classes differ from the national run's (the "
        "reach and service minutes of each cell do not); compare kommuner across regions "
        "with the national run."
    )


def _print_centrality(areas: pd.DataFrame, bounds) -> None:
    print("Centrality index in the manner of SSB (residents stand in for jobs):")
    b = [f"{v:.0f}" for v in bounds]
    print("| class | index | kommuner | residents | examples |")
    print("|---:|---|---:|---:|---|")
    for c in range(1, len(bounds) + 2):
        sub = areas[areas["centrality_class"] == c].sort_values("population", ascending=False)
        rng = (
            f">= {b[0]}"
            if c == 1
            else f"{b[c - 1]}-{b[c - 2]}"
            if c <= len(b)
            else f"< {b[-1]}"
        )
        ex = ", ".join(sub["kommunenavn"].astype(str).head(4)) if "kommunenavn" in sub else ""
        print(f"| {c} | {rng} | {len(sub)} | {int(sub['population'].sum()):,} | {ex} |")
