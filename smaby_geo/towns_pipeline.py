"""The ``smaby-geo towns`` job: compute, write, print.

Towns and classes, hinterlands of every centre, the nearest centre of every rural cell,
kommune and labour-market region summaries, maps (towns, minutes to the nearest centre, one
hinterland map per county). The ``indicators`` job is ``smaby_geo.indicators_pipeline``; the
helpers both share (region cells, services, metadata, stage timer) live here.

With ``--region`` both jobs compute the region's cells on the whole network, with every
town, resident and service site of the country: a cell's nearest centre may lie hours away
(Tynset's), and 90 minutes reach 150 km at the network's top speed (100 km/h), beyond the
100 km buffer once used (Hamar's cells reached up to 13 % fewer residents). The N1000 network
has about 11,000 nodes, so this is no slower than clipping it; the region's cells reach
exactly the towns, residents and sites of the national run.

The towns job also counts every resident of the country in each listed centre's figures
(``town_hinterlands_<slug>.csv``): a column named as in the national run holds the national
run's value. The figures about the region's residents alone are named so
(``region_exclusive_population``, ``region_exclusive_rural_population``), and the cell,
kommune and labour-market region tables and the headline cover the region's cells
(``TOWN_FIGURES``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from smaby_geo.analysis.traveltimes import people_by_reason
from smaby_geo.console import print_footer
from smaby_geo.job_setup import (
    _out_dir,
    land_or_none,
    output_meta,
    plain_frame,
    read_kommuner_for_region,
    region_cells,
    stage_done,
)
from smaby_geo.network.readers import load_network
from smaby_geo.outputs import io
from smaby_geo.outputs.outdir import file_digests
from smaby_geo.places.admin import check_buffer_km
from smaby_geo.places.population import read_population_grid
from smaby_geo.places.services import load_services
from smaby_geo.places.towns import CLASS_RANK

SMABY_CLASSES = ("small_town", "town")  # the strategy's småbyer, about 5,000-50,000 residents
# What the columns of town_hinterlands_<slug>.csv count in a region run (recorded in the run
# metadata): every resident of the country, as in the national run, or the region's alone.
TOWN_FIGURES = {
    "national": (
        "population_within_<T>, nearer_other_<T>, rural_within_<T>, exclusive_population, "
        "exclusive_rural_population and the service columns count every resident of the "
        "country: the national run's value for the town"
    ),
    "region_only": (
        "region_exclusive_population, region_exclusive_rural_population (the region's "
        "residents for whom the centre is the nearest of its class level; per class level "
        "they and the region's unreachable residents add up to the region's population), "
        "the cell, kommune and labour-market region tables and the headline: the region's "
        "residents alone"
    ),
}


def _listed(towns, area):
    """The towns whose outline lies in ``area`` (the region and its buffer).

    Row selection keeps ``attrs`` (pandas >= 2.2, which the project pins).
    """
    return towns[towns.intersects(area)]


def run_towns_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo towns``: towns, hinterlands, summaries and maps."""
    from smaby_geo.analysis.hinterlands import hinterlands, summarise_hinterlands
    from smaby_geo.job_setup import _slug
    from smaby_geo.outputs.indicator_maps import map_hinterlands, map_minutes_to_town, map_towns
    from smaby_geo.outputs.outdir import check_output_folder, staged_output
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.towns import build_towns, read_builtup_areas

    t_all = t = time.perf_counter()
    stages: dict[str, float] = {}
    out_dir = _out_dir(args)
    check_output_folder(out_dir)  # an unusable --out fails before any computing
    kom = read_kommuner_for_region(args.region)
    check_buffer_km(args.buffer_km)
    net = load_network()
    cells_all = read_population_grid("250m", kommuner=kom)
    # The nearest centre of a cell may lie far beyond any buffer (Tynset's is Orkanger or
    # Elverum, 2 h away), so a region is routed on the whole network with every town of the
    # country: its cells get exactly the figures of the national run. The N1000 network is
    # small (about 11,000 nodes), so this costs less than clipping it. Every resident of the
    # country is counted in the centres' figures too (a centre on the region's border reaches
    # people outside it). --buffer-km only chooses which towns and centres are listed.
    cells, name, area = region_cells(kom, cells_all, args.region, buffer_km=args.buffer_km)
    in_region = cells_all.index.isin(cells.index) if args.region else None
    t = stage_done(stages, "inputs", t)
    towns, cell_town = build_towns(
        cells_all, read_builtup_areas(), place_names=read_place_names(), return_cells=True
    )
    t = stage_done(stages, "towns", t)
    sv = load_services()
    h = hinterlands(
        net, cells_all, towns, cell_town.reindex(cells_all.index), sv, region=in_region,
        land=land_or_none(),
    )
    centres, ct = h.towns, h.cells
    if area is not None:
        towns = _listed(towns, area)
        # listed: the centres within the buffer, and every centre that is the nearest of its
        # class level for someone in the region (so the region's exclusive hinterlands of
        # each level still add up to the region's population)
        serving = centres["region_exclusive_population"].to_numpy() > 0
        in_area = centres.index.isin(towns.index) | serving
        centres = centres[in_area]
    t = stage_done(stages, "hinterlands", t)
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
    t = stage_done(stages, "summaries", t)

    attribution = ct.attrs["attribution"]
    note = sv.attrs.get("note", "")
    slug = _slug(name)
    headline = headline_figures(towns, centres, ct, by_kommune)
    meta = output_meta(
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
            "whole network and every town and resident of the country, so a region's cells "
            "get the national figures, and so does every listed centre (town_figures says "
            "which figures count the region's residents alone); the towns and centres listed "
            "are those within the region and "
            f"{args.buffer_km:g} km (--buffer-km), and every centre nearest (at its class "
            "level) to one of its cells"
            if args.region
            else "whole network, every town and resident of the country"
        ),
        town_figures=(
            TOWN_FIGURES
            if args.region
            else {"national": "every figure counts every resident of the country"}
        ),
    )
    # written into a staging folder and swapped in whole (never a partial or mixed set)
    with staged_output(out_dir) as stage:
        written: list[Path] = []
        written.append(
            io.write_geoparquet(plain_frame(towns), stage / f"towns_{slug}.parquet", meta)
        )
        written.append(
            io.write_csv(pd.DataFrame(towns.drop(columns="geometry")), stage / f"towns_{slug}.csv")
        )
        written.append(io.write_csv(centres, stage / f"town_hinterlands_{slug}.csv"))
        written.append(
            io.write_geoparquet(
                plain_frame(ct), stage / f"hinterland_cells_{slug}_250m.parquet", meta
            )
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
                        m.get_root().render(),
                        # the region's name too: two region runs into one folder (Utsira,
                        # Sola: both Rogaland) must not write, or delete, each other's maps
                        stage / f"map_hinterlands_{slug}_{_slug(fylke)}.html",
                    )
                )
        t = stage_done(stages, "outputs", t)
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
    out["unreachable_by_reason"] = people_by_reason(p[gone], reason)
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
    # a region run ranks the centres by the region's residents; the reach counts everyone
    region = "region_exclusive_rural_population" in centres.columns
    excl = "region_exclusive_rural_population" if region else "exclusive_rural_population"
    top = smaby.sort_values(excl, ascending=False).head(10)
    if region:
        print(
            f"\nSmåbyer serving the largest rural hinterlands in {name} (exclusive, the "
            "region's rural residents; rural within 45 min counts all of Norway's):"
        )
        print(
            "| town | class | kommune | residents | exclusive rural in region | "
            "rural within 45 min (all Norway) |"
        )
    else:
        print("\nSmåbyer serving the largest rural hinterlands (exclusive, rural residents):")
        print("| town | class | kommune | residents | exclusive rural | rural within 45 min |")
    print("|---|---|---|---:|---:|---:|")
    for _, r in top.iterrows():
        print(
            f"| {r['name']} | {r['town_class']} | {r.get('kommunenavn', '')} | "
            f"{int(r['population']):,} | {int(r[excl]):,} | "
            f"{int(r['rural_within_45']):,} |"
        )
    none = by_kommune[by_kommune["share_within_45"] == 0].sort_values("population")
    more = len(none) - 40
    print(
        f"\nKommuner with no resident within 45 min of a town of 5,000+: {len(none)} "
        f"({int(none['population'].sum()):,} residents)"
        + (": " + ", ".join(none["kommunenavn"].astype(str).head(40)) if len(none) else "")
        + (f" … and {more} more (all in hinterland_kommuner_*.csv)" if more > 0 else "")
    )


def run_indicators_job(args: argparse.Namespace) -> int:
    """Run ``smaby-geo indicators`` (kept here for old imports; see ``indicators_pipeline``)."""
    from smaby_geo.indicators_pipeline import run_indicators_job as run

    return run(args)
