"""Score the default car profile against a table of official car times, fitting nothing.

    python benchmarks/check_times.py --table other_half.csv [--origin cells] [--out report.md]

The independent check of issue #12: the profile is fitted on ``toi_reisetid_calibration.csv``
(half of TØI's kommune-to-centre table) by ``benchmarks/calibrate_speeds.py``; the other half
is kept by the issue filers. This script routes the rows of any table in the same format
(``from_kommunenummer``, ``from_kommunenavn``, ``centre_kommunenummer`` with ``;`` between two
centres, ``car_minutes_toi``) with the profile exactly as ``load_network()`` gives it, the
same kommune centres and the same row model as the fit (the population-weighted mean over the
origin kommune's populated cells, to the nearer centre kommune), and reports the median
absolute error, the median bias and the worst row, with every row listed. Nothing is fitted.

A table given with ``--table`` is kept out of the repository: the report (which lists every
row's reference minutes) is only printed, unless ``--out`` names a file outside this
repository; an ``--out`` inside it is refused (exit code 2), so a check on withheld data
cannot land in ``benchmarks/results/``. Without ``--table`` it scores the calibration file
itself and writes ``benchmarks/results/check_times.md``; that is the "fitted, on the
calibration set" line of ``benchmarks/results/calibration.md`` up to rounding (the shipped
profile keeps the fitted speeds to 0.1 km/h). A bad table stops with one line naming it (exit
code 2), as ``read_calibration_table`` checks it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import add_row_model_arguments, load_calibration_inputs
from report import markdown_table, write_report

from smaby_geo.analysis.calibration import CalibrationSet, error_summary

RESULTS = Path(__file__).resolve().parent / "results" / "check_times.md"
REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_row_model_arguments(ap)
    ap.add_argument(
        "--out",
        default=None,
        help="report file (default: benchmarks/results/check_times.md for the calibration "
        "file; with --table only printed, and a file inside the repository is refused)",
    )
    args = ap.parse_args(argv)
    out = Path(args.out).resolve() if args.out else None
    if args.table is None and out is None:
        out = RESULTS
    if args.table is not None and out is not None and out.is_relative_to(REPO):
        print(
            f"check_times: error: --out {args.out} lies inside the repository; a report of "
            "--table lists every reference time, so write it outside (or leave --out out to "
            "print it only)",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    try:
        inputs = load_calibration_inputs(args.table, args.centre_rule)
    except (OSError, ValueError) as exc:  # no table, or one read_calibration_table refuses
        print(f"check_times: error: {exc}", file=sys.stderr)
        return 2
    net, rows = inputs.network, inputs.rows
    cal = CalibrationSet(net, rows, inputs.centres, origin=args.origin, cells=inputs.cells)
    minutes = cal.model_minutes(net)
    summary = error_summary(minutes, cal.reference)
    names = inputs.kommuner.set_index("kommunenummer")["kommunenavn"]
    res = pd.DataFrame(
        {
            "kommune": [f"{c} {names.get(c, '')}" for c in rows["from_kommunenummer"]],
            "centre": ["; ".join(f"{c} {names.get(c, '')}" for c in cs) for cs in rows["centres"]],
            "reference_min": cal.reference,
            "model_min": minutes,
        }
    )
    res["error_pct"] = (res["model_min"] / res["reference_min"] - 1.0) * 100.0
    res = res.reindex(res["error_pct"].abs().sort_values(ascending=False).index)
    left = ", ".join(
        f"{r.from_kommunenummer} {r.from_kommunenavn}" for r in inputs.left_out.itertuples()
    )
    lines = [
        "# The default profile against reference car times (nothing fitted)",
        "",
        f"Command: `python benchmarks/check_times.py --centre-rule {args.centre_rule} "
        f"--origin {args.origin}" + (" --table <table>`" if args.table else "`") + "  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; network "
        f"{net.source}; table `{Path(inputs.table).name}`: {len(rows)} rows with a centre "
        f"kommune" + (f"; left out (no centre kommune): {left}" if left else "") + ".",
        "",
        "| median abs. error | median bias | worst | rows | rows without a route |",
        "|---:|---:|---:|---:|---:|",
        f"| {summary['median_abs_pct']:.1f} % | {summary['median_bias_pct']:+.1f} % | "
        f"{summary['max_abs_pct']:.0f} % | {summary['n']} | {summary['unreachable']} |",
        "",
        "Origin cells that reach no centre (left out of the means): "
        f"{int(cal.unreached_population.sum()):,} people."
        if args.origin == "cells"
        else "",
        "",
        "## Every row, worst first",
        "",
        markdown_table(res),
        "",
        f"Total time {time.perf_counter() - t0:.0f} s.",
    ]
    if out is None:
        print("\n".join(lines))
        print("(not written: --table without --out)")
    else:
        write_report(lines, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
