"""The ``smaby-geo towns`` and ``smaby-geo indicators`` jobs: compute, write, print.

``towns``: towns and classes, hinterlands of every centre, the nearest centre of every
rural cell, kommune and labour-market region summaries, maps (towns, minutes to the nearest
centre, one hinterland map per county).
``indicators``: the centrality index in SSB's manner (250 m cells, kommuner, classes) and the
EU road transport performance (1 km cells, kommuner), with maps.

With ``--region`` both jobs compute the region's cells on the whole network, with every
town, resident and service site of the country: a cell's nearest centre may lie hours away
(Tynset's), and 90 minutes reach 150 km at the network's top speed (100 km/h), beyond the
100 km buffer once used (Hamar's cells reached up to 13 % fewer residents). The N1000 network
has about 11,000 nodes, so this is no slower than clipping it; the region's cells reach
exactly the towns, residents and sites of the national run.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from smaby_geo import datasets
from smaby_geo._version import __version__
from smaby_geo.console import print_footer
from smaby_geo.job_setup import _out_dir, _slug
from smaby_geo.network.readers import load_network
from smaby_geo.outputs import io
from smaby_geo.outputs.outdir import file_digests
from smaby_geo.places.admin import check_buffer_km
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.towns import CLASS_RANK

SMABY_CLASSES = ("small_town", "town")  # the strategy's småbyer, about 5,000-50,000 residents


def _region_cells(kommuner, cells, region: str | None, buffer_km: float):
    """Cells of the region, cells of the region + buffer, a name, the buffered area."""
    from smaby_geo.pipeline import select_region

    if not region:
        return cells, cells, "Norway", None
    sel = select_region(kommuner, region)
    name = sel["kommunenavn"].iloc[0] if len(sel) == 1 else sel["fylkesnavn"].iloc[0]
    buf = sel.geometry.union_all().buffer(buffer_km * 1000.0)
    inside = cells["kommunenummer"].isin(sel["kommunenummer"]).to_numpy()
    near = cells.geometry.intersects(buf).to_numpy() | inside
    return cells[inside], cells[near], name, buf


def _keep_attrs(frame, part):
    """``part`` (rows of ``frame``) with ``frame``'s ``attrs``."""
    part = part.copy()
    part.attrs.update(frame.attrs)
    return part


def _listed(towns, area):
    """The towns whose outline lies in ``area`` (the region and its buffer)."""
    return _keep_attrs(towns, towns[towns.intersects(area)])


def _land():
    """Landmasses for the unreachable reasons (island or gap); None when the layer is absent."""
    from smaby_geo.places.snapping import read_land

    try:
        return read_land()
    except datasets.DatasetNotFoundError:
        return None


def _services_in(area):
    """The shipped services, kept within ``area`` (the clipped network) when given."""
    from smaby_geo.places.services import load_services

    sv = load_services()
    if area is None:
        return sv
    attrs = dict(sv.attrs)
    sv = sv[sv.intersects(area)]
    sv.attrs.update(attrs)
    return sv


def _check_region(region: str | None):
    """Read the kommuner and fail early (before any heavy step) on an unknown region."""
    from smaby_geo.pipeline import select_region

    kom = read_kommuner()
    if region:
        select_region(kom, region)
    return kom


def _meta(attribution: str, **extra) -> dict:
    return {"tool": f"smaby_geo {__version__}", "attribution": attribution, **extra}


def _plain(gdf):
    out = gdf.copy()
    out.attrs = {}
    out.index = out.index.astype(str)
    return out


def _timed(stages: dict, name: str, t0: float) -> float:
    t = time.perf_counter()
    stages[name] = round(t - t0, 2)
    return t


def run_towns_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo towns``: towns, hinterlands, summaries and maps."""
    from smaby_geo.analysis.hinterlands import hinterlands, summarise_hinterlands
    from smaby_geo.outputs import io
    from smaby_geo.outputs.indicator_maps import map_hinterlands, map_minutes_to_town, map_towns
    from smaby_geo.outputs.outdir import file_digests, staged_output
    from smaby_geo.pipeline import _slug
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.towns import build_towns, read_builtup_areas

    t_all = t = time.perf_counter()
    stages: dict[str, float] = {}
    out_dir = _out_dir(args)  # an unusable --out fails before any computing
    kom = _check_region(args.region)
    check_buffer_km(args.buffer_km)
    net = load_network()
    cells_all = read_population_grid("250m", kommuner=kom)
    # The nearest centre of a cell may lie far beyond any buffer (Tynset's is Orkanger or
    # Elverum, 2 h away), so a region is routed on the whole network with every town of the
    # country: its cells get exactly the figures of the national run. The N1000 network is
    # small (about 11,000 nodes), so this costs less than clipping it. --buffer-km only
    # chooses which towns and centres are listed.
    cells, _, name, area = _region_cells(kom, cells_all, args.region, args.buffer_km)
    t = _timed(stages, "inputs", t)
    towns, cell_town = build_towns(
        cells_all, read_builtup_areas(), place_names=read_place_names(), return_cells=True
    )
    t = _timed(stages, "towns", t)
    sv = _services_in(None)
    h = hinterlands(net, cells, towns, cell_town.reindex(cells.index), sv, land=_land())
    centres, ct = h.towns, h.cells
    if area is not None:
        towns = _listed(towns, area)
        serving = set(ct["nearest_town_id"].to_numpy().tolist())
        in_area = centres.index.isin(towns.index) | centres.index.isin(serving)
        centres = _keep_attrs(centres, centres[in_area])
    t = _timed(stages, "hinterlands", t)
    by_kommune = summarise_hinterlands(ct)
    names = kom.set_index("kommunenummer")["kommunenavn"]
    by_kommune.insert(1, "kommunenavn", by_kommune["kommunenummer"].map(names))
    regions_note = "not computed (--no-regions)"
    by_region = None
    if not args.no_regions:
        from smaby_geo.analysis.regions import delineate_regions

        k_run = kom[kom["kommunenummer"].isin(cells["kommunenummer"])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg = delineate_regions(net, cells, k_run, method="ba")
        mem = reg.membership.set_index("kommunenummer")
        centre_name = mem["centre"].map(names)
        lmr = ct["kommunenummer"].map(centre_name)
        by_region = summarise_hinterlands(ct, "region_centre", groups=lmr)
        regions_note = "; ".join(reg.notes)
    t = _timed(stages, "summaries", t)

    attribution = ct.attrs["attribution"]
    note = sv.attrs.get("note", "")
    slug = _slug(name)
    headline = headline_figures(towns, centres, ct, by_kommune)
    meta = _meta(
        attribution,
        region=name,
        grid="250m",
        note=note,
        thresholds=towns.attrs["thresholds"],
        centre_min_class=ct.attrs["centre_min_class"],
        rural="cells outside every town of 5,000+ (villages and scattered settlement)",
        labour_market_regions=regions_note,
        headline=headline,
        units="minutes by car to the town centre, access legs included; inf = no route",
        routing=(
            "whole network and every town of the country, so a region's cells get the "
            "national figures; the towns and centres listed are those within the region and "
            f"{args.buffer_km:g} km (--buffer-km), and every centre nearest to one of its cells"
        ),
    )
    # written into a staging folder and swapped in whole (never a partial or mixed set)
    with staged_output(out_dir) as stage:
        written: list[Path] = []
        written.append(io.write_geoparquet(_plain(towns), stage / f"towns_{slug}.parquet", meta))
        written.append(
            io.write_csv(pd.DataFrame(towns.drop(columns="geometry")), stage / f"towns_{slug}.csv")
        )
        written.append(io.write_csv(centres, stage / f"town_hinterlands_{slug}.csv"))
        written.append(
            io.write_geoparquet(_plain(ct), stage / f"hinterland_cells_{slug}_250m.parquet", meta)
        )
        written.append(
            io.write_csv(by_kommune, stage / f"hinterland_kommuner_{slug}.csv", index=False)
        )
        if by_region is not None:
            written.append(
                io.write_csv(by_region, stage / f"hinterland_regions_{slug}.csv", index=False)
            )
        if not args.no_map:
            m = map_towns(towns, note="Built-up areas: Kartverket N1000; population: SSB 2015.")
            written.append(io.write_text(m.get_root().render(), stage / f"map_towns_{slug}.html"))
            m = map_minutes_to_town(
                by_kommune, kom, centres, attribution=attribution, note=_map_note(note)
            )
            written.append(
                io.write_text(m.get_root().render(), stage / f"map_minutes_to_town_{slug}.html")
            )
            for fylke, idx in ct.groupby("fylkesnavn").indices.items():
                sub = ct.iloc[idx]
                m = map_hinterlands(
                    sub,
                    centres,
                    title=f"Hinterlands of the towns of 5,000+: {fylke}",
                    attribution=attribution,
                    note=_map_note(note),
                )
                written.append(
                    io.write_text(
                        m.get_root().render(), stage / f"map_hinterlands_{_slug(fylke)}.html"
                    )
                )
        t = _timed(stages, "outputs", t)
        meta["stage_seconds"] = stages
        meta["files"] = file_digests(stage, [p.relative_to(stage) for p in written])
        written.append(io.write_json(meta, stage / f"towns_run_{slug}.json"))
    written = [out_dir / p.relative_to(stage) for p in written]
    _print_towns(name, towns, centres, by_kommune, headline)
    print_footer(written, stages, time.perf_counter() - t_all, attribution)
    return 0


def _map_note(note: str) -> str:
    return (
        "Centres: towns of 5,000+ residents (N1000 built-up areas and SSB grid clusters). "
        + note
    )


def headline_figures(towns, centres, cell_table, by_kommune) -> dict:
    """The national headline figures printed by ``smaby-geo towns`` and shown in the README.

    Returns
    -------
    dict
        ``towns_by_class``, ``smaby_count`` (towns of 5,000-49,999), ``rural_population``,
        ``rural_share_within_<T>`` for 30/45/60, ``unreachable_population`` and
        ``unreachable_by_reason`` (residents with no centre reachable, by the cell table's
        ``unreachable_reason``), ``kommuner_none_within_45`` (kommuner where no resident is
        within 45 minutes of a centre).
    """
    counts = towns["town_class"].value_counts()
    p = cell_table["population"].to_numpy(float)
    r = cell_table["rural"].to_numpy(bool)
    mins = cell_table["minutes_to_town"].to_numpy(float)
    out = {
        "towns_by_class": {c: int(counts.get(c, 0)) for c in CLASS_RANK},
        "smaby_count": int(towns["town_class"].isin(SMABY_CLASSES).sum()),
        "centres": len(centres),
        "population": int(p.sum()),
        "rural_population": int(p[r].sum()),
    }
    for lim in (30, 45, 60):
        out[f"rural_share_within_{lim}"] = (
            round(float(p[r & (mins <= lim)].sum() / p[r].sum()), 4) if p[r].sum() else None
        )
    gone = ~np.isfinite(mins)
    reason = cell_table["unreachable_reason"].astype(object).to_numpy()[gone]
    out["unreachable_population"] = int(p[gone].sum())
    out["unreachable_by_reason"] = {
        str(k): int(v) for k, v in pd.Series(p[gone]).groupby(reason).sum().items()
    }
    none45 = by_kommune[by_kommune["share_within_45"] == 0]
    out["kommuner_none_within_45"] = len(none45)
    out["population_in_kommuner_none_within_45"] = int(none45["population"].sum())
    return out


def _print_towns(name, towns, centres, by_kommune, headline) -> None:
    print(f"smaby-geo towns: {name}")
    tb = headline["towns_by_class"]
    th = towns.attrs["thresholds"]
    print(
        f"Towns: {tb['large_city']} large cities (>= {th['large_city_min_population']:,}), "
        f"{tb['town']} towns (>= {th['town_min_population']:,}), {tb['small_town']} small "
        f"towns (>= {th['small_town_min_population']:,}), {tb['village']} villages (>= "
        f"{th['village_min_population']:,}); "
        f"{headline['smaby_count']} småbyer of 5,000-49,999 residents"
    )
    rp = headline["rural_population"]
    print(
        f"Rural residents (outside towns of 5,000+): {rp:,} of {headline['population']:,}; "
        "within 30 / 45 / 60 min of a town of 5,000+: "
        + " / ".join(
            f"{100 * headline[f'rural_share_within_{v}']:.1f} %" for v in (30, 45, 60)
        )
    )
    gone = headline["unreachable_population"]
    print(
        f"Residents with no centre reachable (inf minutes): {gone:,}"
        + (
            " ("
            + "; ".join(f"{r}: {n:,}" for r, n in headline["unreachable_by_reason"].items())
            + ")"
            if gone
            else ""
        )
    )
    smaby = centres[centres["town_class"].isin(SMABY_CLASSES)]
    top = smaby.sort_values("exclusive_rural_population", ascending=False).head(10)
    print("\nSmåbyer serving the largest rural hinterlands (exclusive, rural residents):")
    print("| town | class | kommune | residents | exclusive rural | rural within 45 min |")
    print("|---|---|---|---:|---:|---:|")
    for _, r in top.iterrows():
        print(
            f"| {r['name']} | {r['town_class']} | {r.get('kommunenavn', '')} | "
            f"{int(r['population']):,} | {int(r['exclusive_rural_population']):,} | "
            f"{int(r['rural_within_45']):,} |"
        )
    none = by_kommune[by_kommune["share_within_45"] == 0].sort_values("population")
    print(
        f"\nKommuner with no resident within 45 min of a town of 5,000+: {len(none)} "
        f"({int(none['population'].sum()):,} residents)"
        + (": " + ", ".join(none["kommunenavn"].astype(str).head(40)) if len(none) else "")
    )


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
    kom = _check_region(args.region)
    if args.buffer_km is not None:
        check_buffer_km(args.buffer_km)
        print(
            "Note: --buffer-km has no effect on indicators: a region's cells are routed on the "
            "whole network, and every resident and service site of the country counts"
        )
    if not (args.limit_min > 0 and args.half_life_min > 0):
        raise ValueError(
            f"--limit-min and --half-life-min must be positive minutes, got {args.limit_min} "
            f"and {args.half_life_min}"
        )
    check_output_folder(out_dir)  # an unusable --out fails before any computing
    net0 = load_network()
    # written into a staging folder and swapped in whole (never a partial or mixed set)
    with staged_output(out_dir) as stage:
        written, name, summary = _indicators_into(stage, args, kom, net0, stages, do_c, do_tp)
        slug = _slug(name)
        manifest = stage / f"indicators_run_{slug}.json"
        parts = {k: [p.name for p in v] for k, v in written.items()}
        if not (do_c and do_tp):
            _keep_other_part(out_dir / manifest.name, stage, parts, summary)
        meta = _meta(
            datasets.attribution(["n1000_roads", "popgrid_250m"]),
            region=name,
            summary=summary,
            stage_seconds=stages,
            parts=parts,
            routing="whole network, every resident and service site of the country",
            files=file_digests(stage, [n for names in parts.values() for n in names]),
        )
        io.write_json(meta, manifest)
    files = [out_dir / n for names in parts.values() for n in names]
    print_footer([*files, out_dir / manifest.name], stages, time.perf_counter() - t_all,
                 meta["attribution"])
    return 0


def _keep_other_part(previous: Path, stage: Path, parts: dict, summary: dict) -> None:
    """Carry the part a ``--only`` run did not compute over from the previous set.

    Its files are hard-linked into ``stage`` (copied where links are refused) and listed in
    ``parts`` and ``summary``, but only where the previous manifest lists them and each file
    on disk still has its listed sha256; otherwise that part is left out (the swap removes
    it with the rest of the previous set).
    """
    import json
    import os
    import shutil

    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
        old_parts, old_files = old["parts"], old["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # no previous indicators set here, or not one of ours
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
            try:
                os.link(previous.parent / n, stage / n)
            except OSError:
                shutil.copy2(previous.parent / n, stage / n)
        parts[part] = list(names)
        if isinstance(old.get("summary"), dict) and part in old["summary"]:
            summary[part] = old["summary"][part]


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
        cells, _, name, _ = _region_cells(kom, cells_all, args.region, 0.0)
        sv = _services_in(None)
        t = _timed(stages, "inputs 250m", t)
        c = centrality(
            net0,
            cells,
            sv,
            cells_all,
            limit_min=args.limit_min,
            half_life_min=args.half_life_min,
        )
        t = _timed(stages, "centrality", t)
        areas = c.areas
        meta = _meta(
            c.cells.attrs["attribution"],
            region=name,
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
                _plain(c.cells), stage / f"centrality_cells_{slug}_250m.parquet", meta
            )
        )
        files.append(io.write_csv(areas, stage / f"centrality_kommuner_{slug}.csv", index=False))
        if not args.no_map:
            m = map_centrality(
                areas,
                kom,
                attribution=meta["attribution"],
                note="Residents stand in for jobs; 4 service types (incomplete lists). "
                "Classes: equal-width steps from the lowest kommune to 1000.",
                thresholds=c.thresholds,
            )
            files.append(
                io.write_text(m.get_root().render(), stage / f"map_centrality_{slug}.html")
            )
        written["centrality"] = files
        summary["centrality"] = {
            "class_lower_bounds": [round(float(b), 1) for b in c.thresholds],
            "kommuner_per_class": {
                int(k): int(v)
                for k, v in areas["centrality_class"].value_counts().sort_index().items()
            },
        }
        _print_centrality(areas, c.thresholds)
        t = _timed(stages, "centrality outputs", t)
    if do_tp:
        files = []
        cells1_all = read_population_grid("1km", kommuner=kom)
        cells1, _, name, _ = _region_cells(kom, cells1_all, args.region, 0.0)
        t = _timed(stages, "inputs 1km", t)
        tp = transport_performance(net0, cells1, cells1_all, limit_min=args.limit_min)
        t = _timed(stages, "transport performance", t)
        s = summarise_transport_performance(tp)
        names = kom.set_index("kommunenummer")["kommunenavn"]
        s.insert(1, "kommunenavn", s["kommunenummer"].map(names))
        meta = _meta(
            tp.attrs["attribution"],
            region=name,
            parameters=tp.attrs["parameters"],
            note="Norway's residents only (SSB 2015 grid): cross-border population is not "
            "counted in either part.",
        )
        slug = _slug(name)
        files.append(
            io.write_geoparquet(
                _plain(tp), stage / f"transport_performance_cells_{slug}_1km.parquet", meta
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
        t = _timed(stages, "transport performance outputs", t)
    return written, name, summary


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
