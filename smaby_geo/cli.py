"""The ``smaby-geo`` command line.

Commands
--------
run       the main job (national network summary; travel times when the places layer exists)
network   build a network and print its summary
route     car travel time between two place names
sweep     rank scenario files (locally or on a Dask cluster)
data      list the registered datasets and where each is found
"""

from __future__ import annotations

import argparse
import sys
import time

from smaby_geo import datasets


def _cmd_network(args: argparse.Namespace) -> int:
    from smaby_geo.network import load_network

    t0 = time.perf_counter()
    net = load_network(args.source, args.path, keep=args.keep)
    print(net.describe())
    print(f"  wall time incl. reading {time.perf_counter() - t0:.2f} s")
    return 0


def _cmd_route(args: argparse.Namespace) -> int:
    from smaby_geo.analysis.trips import trip
    from smaby_geo.network import load_network

    net = load_network(args.source)
    pairs = list(zip(args.places[::2], args.places[1::2], strict=False))
    if len(args.places) % 2:
        print("route takes pairs of place names: FROM TO [FROM TO ...]", file=sys.stderr)
        return 2
    print(f"| from | to | minutes | h:mm | km | ferries |  ({net.source}; {net.attribution})")
    print("|---|---|---:|---:|---:|---:|")
    for a, b in pairs:
        r = trip(net, a, b)
        m = r["minutes"]
        hm = f"{int(m // 60)}:{round(m % 60):02d}" if m < float("inf") else "-"
        print(f"| {a} | {b} | {m:.0f} | {hm} | {r['km']:.0f} | {r['ferry_links']} |")
    return 0


def _cmd_data(_: argparse.Namespace) -> int:
    for name, ds in datasets.DATASETS.items():
        try:
            where = str(datasets.locate_dataset(name, download=False))
        except datasets.DatasetNotFoundError:
            where = "NOT FOUND (see `smaby_geo.datasets.locate_dataset`)"
        print(f"{name:22s} {ds.licence:30.30s} {ds.attribution:30s} {where}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from smaby_geo.pipeline import run_main_job

    return run_main_job(args)


def _cmd_scenario(args: argparse.Namespace) -> int:
    from smaby_geo.pipeline import run_scenario_job

    return run_scenario_job(args)


def _add_engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=["auto", "ch", "dijkstra"],
        default="auto",
        help="routing engine: contraction hierarchy cached on disk (auto, ch) or plain Dijkstra; "
        "results are the same",
    )


# --- sweep: rank many scenarios, locally or on a Dask cluster --------------------------------


def _cmd_sweep(args: argparse.Namespace) -> int:
    from smaby_geo.pipeline import parse_services
    from smaby_geo.sweep import print_ranking, sweep_scenarios

    (service,) = parse_services(args.service)
    table = sweep_scenarios(
        args.files,
        region=args.region,
        grid=args.grid,
        service=service,
        within_min=args.within,
        buffer_km=args.buffer_km,
        scheduler=args.scheduler,
        n_workers=args.workers,
        out=args.out,
    )
    print_ranking(table, service=service, within_min=args.within)
    return 0


def _add_sweep_parser(sub) -> None:
    w = sub.add_parser(
        "sweep",
        help="rank scenario files by people brought within a time of a service (Dask)",
    )
    w.add_argument("files", nargs="+", help="scenario YAML files")
    w.add_argument("--service", default="hospital", help="service type ranked on")
    w.add_argument("--within", type=float, default=60.0, help="threshold in minutes")
    w.add_argument("--region", help="kommune or fylke number or name (default: Norway)")
    w.add_argument("--grid", choices=["250m", "1km"], default="250m")
    w.add_argument("--buffer-km", type=float, default=100.0)
    w.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:8786); default: run in this process, or on a "
        "local cluster with --workers",
    )
    w.add_argument(
        "--workers", type=int, default=0, help="start a local Dask cluster with this many workers"
    )
    w.add_argument("--out", default=None, help="write the ranking as CSV here (a folder)")
    w.set_defaults(func=_cmd_sweep)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``smaby-geo``."""
    p = argparse.ArgumentParser(
        prog="smaby-geo",
        description="Car travel times from rural Norway to small-town services.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="the main job on the embedded default data")
    r.add_argument("--region", help="kommune or fylke number or name (default: all of Norway)")
    r.add_argument(
        "--services",
        default="hospital,court,police,study_centre",
        help="comma-separated service types",
    )
    r.add_argument("--grid", choices=["250m", "1km"], default="250m")
    r.add_argument("--out", default=None, help="output folder (default data/processed)")
    r.add_argument(
        "--buffer-km",
        type=float,
        default=100.0,
        help="network and services kept this far beyond the region (km)",
    )
    r.add_argument(
        "--include-unverified-hospitals",
        action="store_true",
        help="add 35 hospital sites whose acute function is not verified",
    )
    r.add_argument("--no-map", action="store_true", help="skip the HTML map")
    r.add_argument(
        "--catchments",
        action="store_true",
        help="also write catchments, population within 30/45/60/90 min, a "
        "hospital travel-time GeoTIFF, isochrones and catchment maps",
    )
    r.add_argument(
        "--regions",
        choices=["ba", "lma", "time"],
        default=None,
        help="also delineate labour-market regions (modelled flows) for the kommuner of the run",
    )
    r.add_argument(
        "--no-gpkg",
        action="store_true",
        help="skip the cells GeoPackage (the GeoParquet holds the same table)",
    )
    _add_engine_option(r)
    r.set_defaults(func=_cmd_run)

    sc = sub.add_parser("scenario", help="compare a corridor/service scenario with the base")
    sc.add_argument("file", help="scenario YAML file (see scenarios/)")
    sc.add_argument("--region", help="kommune or fylke number or name (default: Norway)")
    sc.add_argument("--services", default="hospital,court,police,study_centre")
    sc.add_argument("--grid", choices=["250m", "1km"], default="250m")
    sc.add_argument("--out", default=None, help="output folder (default data/processed)")
    sc.add_argument("--buffer-km", type=float, default=100.0)
    sc.add_argument("--no-map", action="store_true")
    sc.add_argument(
        "--no-regions", action="store_true", help="skip the labour-market region comparison"
    )
    _add_engine_option(sc)
    sc.set_defaults(func=_cmd_scenario)
    _add_sweep_parser(sub)

    n = sub.add_parser("network", help="build a road network and print its summary")
    n.add_argument("--source", default="n1000", choices=["n1000", "n2000", "nvdb", "osm"])
    n.add_argument("--path", default=None, help="explicit input file")
    n.add_argument("--keep", default="all", choices=["all", "largest"])
    n.set_defaults(func=_cmd_network)

    t = sub.add_parser("route", help="travel time between named places")
    t.add_argument("places", nargs="+", help="FROM TO [FROM TO ...] (N1000 place names)")
    t.add_argument("--source", default="n1000", choices=["n1000", "n2000"])
    t.set_defaults(func=_cmd_route)

    d = sub.add_parser("data", help="list registered datasets and where each is found")
    d.set_defaults(func=_cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smaby-geo`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, datasets.DatasetNotFoundError) as exc:
        print(f"smaby-geo: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
