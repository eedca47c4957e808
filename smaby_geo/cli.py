"""The ``smaby-geo`` command line.

Commands
--------
run       the main job (national network summary; travel times when the places layer exists)
network   build a network and print its summary
route     car travel time between two place names
data      list the registered datasets, where each is and which are missing;
          `data fetch NAME...|--all` downloads and converts them
towns     towns, their hinterlands and the minutes from rural cells to the nearest
indicators  centrality index (SSB manner) and EU road transport performance
serve     the scenario explorer in the browser
sweep     rank scenario files (locally or on a Dask cluster)
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from smaby_geo import _errors, datasets
from smaby_geo._errors import (
    InputError,
    Terminated,
    WatchedStream,
    catch_sigterm,
    describe_expected_error,
    show_warnings_as_lines,
)
from smaby_geo._errors import one_line as _one_line
from smaby_geo.cli_options import check_options

# Exit codes: 0 done, 1 a bug (traceback shown), 2 bad input or an unusable environment
# (one line naming the input and the fix; argparse uses 2 for usage errors too).
EXIT_INPUT = 2
EXIT_BUG = 1
EXIT_PIPE = 141  # 128 + SIGPIPE: the reader of standard output has gone
BUG_REPORT = (
    "This is a bug in smaby-geo {version}, not a problem with your input: please report it "
    "with the command you ran and the traceback above (README, 'Reporting problems')."
)

BUFFER_HELP = (  # --buffer-km of run, scenario, sweep and serve
    "clip the network and services this many km beyond the region (for very large networks): "
    "times up to the buffer at the top speed stay exact, the run counts the rest. Default: none"
)


def _cmd_network(args: argparse.Namespace) -> int:
    from smaby_geo.network import load_network

    t0 = time.perf_counter()
    try:
        net = load_network(args.source, args.path, keep=args.keep)
    except RuntimeError as exc:  # osmium/GDAL cannot read a user's file
        if args.path is None:
            raise
        raise InputError(
            f"{args.path}: cannot be read as {args.source} road data "
            f"({_one_line(str(exc)).split(';')[0].rstrip('.')}); "
            "check the file and --source"
        ) from None
    print(net.describe())
    print(f"  wall time incl. reading {time.perf_counter() - t0:.2f} s")
    return 0


def _cmd_route(args: argparse.Namespace) -> int:
    from smaby_geo.analysis.trips import trip
    from smaby_geo.console import format_hmm, legs_table
    from smaby_geo.network import load_network
    from smaby_geo.places.placenames import resolve_place

    if len(args.places) % 2:
        print(
            "smaby-geo: error: route takes pairs of place names: FROM TO [FROM TO ...]",
            file=sys.stderr,
        )
        return EXIT_INPUT
    # names first (an unknown or ambiguous name fails before the network is read)
    where = {name: resolve_place(name) for name in args.places}
    net = load_network(args.source)
    pairs = list(zip(args.places[::2], args.places[1::2], strict=True))
    for place in where.values():
        if place["note"]:
            print(f"Note: {place['note']}")
    print(f"| from | to | minutes | h:mm | km | ferry links |  ({net.source}; {net.attribution})")
    print("|---|---|---:|---:|---:|---:|")
    explained = []
    for a, b in pairs:
        r = trip(net, a, b, legs=args.explain)
        m = r.minutes
        print(f"| {a} | {b} | {m:.0f} | {format_hmm(m)} | {r.km:.0f} | {r.ferry_links} |")
        explained.append((a, b, r))
    if args.explain:
        for a, b, r in explained:
            print(f"\n{a} -> {b}: legs" + (f" ({r.note})" if r.note is not None else ""))
            if r.legs is None:
                continue
            print("\n".join(legs_table(r)))
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    action = getattr(args, "data_action", None)
    if action == "fetch":
        return _cmd_data_fetch(args)
    if action == "release":
        from smaby_geo.fetch import write_release

        print(f"wrote {write_release(args.folder)}")
        return 0
    home = datasets.data_home()
    print(f"data folder (${datasets.DATA_DIR_ENV}): {datasets.data_dir() or 'not set'}")
    print(f"data home (fetched data): {home}")
    missing, damaged = [], []
    for name, ds in datasets.DATASETS.items():
        shown, bad = datasets.local_status(name)
        missing += [name] if shown == "MISSING" else []
        damaged += [bad] if bad is not None else []
        print(f"{name:24s} {shown}  [{ds.licence}; {ds.attribution}]")
    if missing:
        cmd = (
            "smaby-geo data fetch --all"
            if len(missing) == len(datasets.DATASETS)
            else datasets.fetch_command(missing)
        )
        print(f"\n{len(missing)} missing; fetch them (internet needed) with: {cmd}")
        from smaby_geo.fetch import unpublished_release

        if held := [n for n in missing if unpublished_release(datasets.DATASETS[n])]:
            print(f"{len(held)} of them ({', '.join(held)}) are the project's own tables: its "
                  "data release is not published yet, so they come only from a data folder "
                  f"(${datasets.DATA_DIR_ENV}, or `smaby-geo data fetch --all --from DIR`) or "
                  f"a mirror (${datasets.RELEASE_URL_ENV})")
    elif not damaged:
        print("\nall datasets are on this machine")
    for bad in damaged:
        print(f"smaby-geo: error: {_one_line(str(bad))}", file=sys.stderr)
    return EXIT_INPUT if damaged else 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from smaby_geo.fetch import fetch_datasets

    if args.all == bool(args.names):
        print("smaby-geo data fetch: give dataset names or --all", file=sys.stderr)
        return 2
    names = None if args.all else args.names
    unknown = [n for n in names or [] if n not in datasets.DATASETS]
    if unknown:
        print(
            f"smaby-geo data fetch: unknown dataset(s) {', '.join(unknown)}; known datasets: "
            + ", ".join(datasets.DATASETS),
            file=sys.stderr,
        )
        return 2
    todo = list(datasets.DATASETS) if names is None else names
    where = f" from {args.source_dir}" if args.source_dir else ""
    print(f"fetching {len(todo)} dataset(s){where} into {datasets.data_home()}", file=sys.stderr)
    try:
        got = fetch_datasets(
            todo, progressbar=True, force=args.force, source_dir=args.source_dir
        )
    except datasets.DatasetFetchError as exc:
        print(f"smaby-geo data fetch: error: {exc}", file=sys.stderr)
        return 2
    for name, path in got.items():
        print(f"{name:24s} {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from smaby_geo.console import print_main_job
    from smaby_geo.pipeline import main_job

    print_main_job(main_job(args))
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    from smaby_geo.console import print_scenario_job
    from smaby_geo.scenario_job import scenario_job

    print_scenario_job(scenario_job(args))
    return 0


def _cmd_towns(args: argparse.Namespace) -> int:
    from smaby_geo.towns_pipeline import run_towns_job

    return run_towns_job(args)


def _cmd_indicators(args: argparse.Namespace) -> int:
    from smaby_geo.indicators_pipeline import run_indicators_job

    return run_indicators_job(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from smaby_geo.explorer import Explorer, check_address, serve
    from smaby_geo.pipeline import parse_services

    services = parse_services(args.services)
    check_address(args.host, args.port)  # before the base, which takes minutes
    print(f"Computing the base for {args.region or 'Norway'} ({', '.join(services)}) ...")
    ex = Explorer.from_region(
        args.region,
        services,
        grid=args.grid,
        buffer_km=args.buffer_km,
        regions=not args.no_regions,
    )
    print(f"Scenario explorer on http://{args.host}:{args.port}/  (Ctrl+C stops it)")
    serve(ex, host=args.host, port=args.port)
    return 0


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
    w.add_argument("--buffer-km", type=float, default=None, help=BUFFER_HELP)
    w.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:8786); default: run in this process, or on a "
        "local cluster with --workers",
    )
    w.add_argument(
        "--workers",
        type=int,
        default=0,
        help="start a local Dask cluster with this many workers (at most the CPU cores)",
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
    r.add_argument("--buffer-km", type=float, default=None, help=BUFFER_HELP)
    r.add_argument(
        "--include-unverified-hospitals",
        action="store_true",
        help="add 3 hospital sites whose acute function is not verified",
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
    sc.add_argument("--buffer-km", type=float, default=None, help=BUFFER_HELP)
    sc.add_argument("--no-map", action="store_true")
    sc.add_argument(
        "--no-regions", action="store_true", help="skip the labour-market region comparison"
    )
    _add_engine_option(sc)
    sc.set_defaults(func=_cmd_scenario)
    _add_sweep_parser(sub)

    sv = sub.add_parser("serve", help="the scenario explorer in the browser (local web app)")
    sv.add_argument("--region", help="kommune or fylke number or name (default: Norway)")
    sv.add_argument("--services", default="hospital,court,police,study_centre")
    sv.add_argument("--grid", choices=["250m", "1km"], default="250m")
    sv.add_argument("--buffer-km", type=float, default=None, help=BUFFER_HELP)
    sv.add_argument("--no-regions", action="store_true", help="skip regions and the benefit")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8765)
    sv.set_defaults(func=_cmd_serve)

    n = sub.add_parser("network", help="build a road network and print its summary")
    n.add_argument("--source", default="n1000", choices=["n1000", "n2000", "nvdb", "osm"])
    n.add_argument("--path", default=None, help="explicit input file")
    n.add_argument("--keep", default="all", choices=["all", "largest"])
    n.set_defaults(func=_cmd_network)

    t = sub.add_parser("route", help="travel time between named places")
    t.add_argument(
        "places",
        nargs="+",
        help="FROM TO [FROM TO ...] (N1000 place names; add the kommune where a name is "
        "shared: 'Straume, Øygarden')",
    )
    t.add_argument("--source", default="n1000", choices=["n1000", "n2000"])
    t.add_argument(
        "--explain",
        action="store_true",
        help="print the legs of each trip: access legs, roads by category with km, minutes "
        "and km/h, each ferry with crossing and wait",
    )
    t.set_defaults(func=_cmd_route)

    tw = sub.add_parser("towns", help="towns, their hinterlands and minutes to the nearest")
    tw.add_argument("--region", help="kommune or fylke number or name (default: Norway)")
    tw.add_argument("--out", default=None, help="output folder (default data/processed)")
    tw.add_argument(
        "--buffer-km", type=float, default=100.0,
        help="towns and centres listed: those within this many km of the region (routing "
        "always uses the whole network)",
    )
    tw.add_argument("--no-map", action="store_true")
    tw.add_argument(
        "--no-regions", action="store_true", help="skip the labour-market region summary"
    )
    tw.set_defaults(func=_cmd_towns)

    ind = sub.add_parser(
        "indicators", help="centrality index (SSB manner) and EU road transport performance"
    )
    ind.add_argument("--region", help="kommune or fylke number or name (default: Norway)")
    ind.add_argument("--out", default=None, help="output folder (default data/processed)")
    ind.add_argument(
        "--buffer-km", type=float, default=None,
        help="no effect (kept for old scripts): a region is routed on the whole network",
    )
    ind.add_argument("--no-map", action="store_true")
    ind.add_argument(
        "--only", choices=["centrality", "transport-performance"], default=None,
        help="compute one of the two indicators",
    )
    ind.add_argument("--limit-min", type=float, default=90.0, help="time limit (minutes)")
    ind.add_argument(
        "--half-life-min", type=float, default=30.0, help="centrality time-weight half-life"
    )
    ind.set_defaults(func=_cmd_indicators)

    d = sub.add_parser(
        "data", help="list registered datasets, where each is and which are missing"
    )
    d.set_defaults(func=_cmd_data)
    dsub = d.add_subparsers(dest="data_action")
    df = dsub.add_parser(
        "fetch", help="download (and convert) datasets from their pinned upstream"
    )
    df.add_argument("names", nargs="*", help="dataset names (see `smaby-geo data`)")
    df.add_argument("--all", action="store_true", help="every registered dataset")
    df.add_argument("--force", action="store_true", help="fetch again even when present")
    df.add_argument(
        "--from",
        dest="source_dir",
        default=None,
        help="copy from this local data folder (sha256 checked) instead of downloading",
    )
    dr = dsub.add_parser(
        "release", help="write the project's own tables with SHA256SUMS (for maintainers)"
    )
    dr.add_argument("folder", help="output folder")
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smaby_geo")
    except PackageNotFoundError:
        return "(version unknown)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smaby-geo`` console script.

    Returns 0 on success; 2 with one line ``smaby-geo: error: ...`` on stderr for bad input
    or an unusable environment; 1 with a traceback and where to report it for a bug; 141
    (128 + SIGPIPE, as ``cat`` killed by a closed pipe), silently, when the reader of standard
    output has gone (``smaby-geo route A B | head -1``).
    """
    args = build_parser().parse_args(argv)
    previous, restore_warnings = catch_sigterm(), show_warnings_as_lines()
    out = sys.stdout = WatchedStream(sys.stdout)
    try:
        check_options(args)  # before any work
        code = int(args.func(args) or 0)
        out.flush()  # a closed pipe or a full disk shows here, not at exit
        return code
    except KeyboardInterrupt as exc:
        print("smaby-geo: interrupted; no partial outputs were kept", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except Exception as exc:
        if exc is out.error:  # standard output failed
            out.silence()
            if isinstance(exc, BrokenPipeError):
                return EXIT_PIPE  # the reader has all it wanted: nothing to say
            what = getattr(exc, "strerror", None) or str(exc)
            print(
                f"smaby-geo: error: standard output: {what}; free some space where the "
                "output is redirected, or redirect it to another place",
                file=sys.stderr,
            )
            return EXIT_INPUT
        msg = describe_expected_error(exc, out_option="--out" if hasattr(args, "out") else None)
        if msg is not None:
            if _errors.traceback_wanted():  # for developers
                traceback.print_exc()
            print(f"smaby-geo: error: {msg}", file=sys.stderr)
            return EXIT_INPUT
        traceback.print_exc()
        print(BUG_REPORT.format(version=_version()), file=sys.stderr)
        return EXIT_BUG
    finally:
        sys.stdout = out.stream
        restore_warnings()
        if previous is not None:
            previous()


if __name__ == "__main__":
    sys.exit(main())
