"""Compare candidate car-speed models by their cross-validated error on TØI's car times.

    python benchmarks/compare_speed_models.py [--folds 5] [--max-evaluations 250]
        [--shrinkage 0] [--prior-headway-min 30]

Reference and model time as in ``benchmarks/calibrate_speeds.py`` (54 usable rows of
``tables/toi_reisetid_calibration.csv``, population-weighted kommune centres, national N1000).
Every candidate starts from METHODS §1's prior (``prior_profile()``, ferry headway
``PRIOR_HEADWAY_MIN``; ``--prior-headway-min 60`` for the earlier prior) and is fitted with
today's shrinkage (``SHRINKAGE_LAMBDA``, ``--shrinkage`` for another) on all rows and, for the
cross-validated error, k-fold (same folds for every candidate). Each model form is fitted
with the row time from the origin kommune's centre point (``centre``) and as the
population-weighted mean over the origin kommune's populated 250 m cells (``cells``,
``CalibrationSet(origin="cells")``). Forms:

- ``free``: rural E, R, F, K free within 30 km/h and the legal limits, one urban factor, the
  ferry headway (the model of the previous calibration);
- ``ordered``: as ``free``, with E >= R >= F >= K (``CLASS_ORDER``) and K at most
  ``K_PLAUSIBLE_MAX_KMH``;
- ``free+curvature``, ``ordered+curvature``: plus the curvature term
  (``CarProfile.curvature_scale_deg_per_km``);
- ``ordered+curvature+roadside``: plus the roadside settlement term
  (``CarProfile.roadside_density_scale_residents_per_km``; the defaults);
- ``ordered+curvature+terminal``: plus a fitted terminal time at each trip end.

Writes ``benchmarks/results/speed_models.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import fit_and_cross_validate, load_calibration_inputs
from report import describe_machine

from smaby_geo.analysis.calibration import (
    CLASS_ORDER,
    SHRINKAGE_LAMBDA,
    CalibrationSet,
    check_shrinkage,
    default_parameters,
)
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile

RESULTS = Path(__file__).resolve().parent / "results" / "speed_models.md"

CANDIDATES = (
    # name, origin mode, default_parameters options, ordered
    ("free", "cells", {}, False),
    ("ordered", "cells", {"plausible": True}, True),
    ("free+curvature", "cells", {"curvature": True}, False),
    ("ordered+curvature", "cells", {"plausible": True, "curvature": True}, True),
    (
        "ordered+curvature+roadside",
        "cells",
        {"plausible": True, "curvature": True, "roadside": True},
        True,
    ),
    (
        "ordered+curvature+terminal",
        "cells",
        {"plausible": True, "curvature": True, "terminal": True},
        True,
    ),
    ("free", "centre", {}, False),
    ("ordered", "centre", {"plausible": True}, True),
    ("ordered+curvature", "centre", {"plausible": True, "curvature": True}, True),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-evaluations", type=int, default=250)
    ap.add_argument(
        "--only", default=None, help="comma-separated candidates as name/origin, e.g. free/cells"
    )
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--shrinkage",
        type=float,
        default=SHRINKAGE_LAMBDA,
        help=f"lambda of the ridge penalty toward the prior (default {SHRINKAGE_LAMBDA:g}, "
        "the library's SHRINKAGE_LAMBDA); 0: none",
    )
    ap.add_argument(
        "--prior-headway-min",
        type=float,
        default=PRIOR_HEADWAY_MIN,
        help=f"ferry headway of the prior and start profile, minutes (default "
        f"{PRIOR_HEADWAY_MIN:g}, PRIOR_HEADWAY_MIN; 60 for the earlier prior)",
    )
    args = ap.parse_args(argv)
    try:
        check_shrinkage(args.shrinkage)
    except ValueError as exc:
        print(f"compare_speed_models: error: --shrinkage: {exc}", file=sys.stderr)
        return 2
    if not (0 < args.prior_headway_min < float("inf")):
        print("compare_speed_models: error: --prior-headway-min must be minutes > 0",
              file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    try:
        inputs = load_calibration_inputs()
    except (OSError, ValueError) as exc:  # no table on this machine, or a bad one
        print(f"compare_speed_models: error: {exc}", file=sys.stderr)
        return 2
    net, cells, centres, rows = inputs.network, inputs.cells, inputs.centres, inputs.rows
    profile0 = prior_profile()
    profile0 = replace(
        profile0, ferry=replace(profile0.ferry, default_headway_min=args.prior_headway_min)
    )
    base = net.with_profile(profile0)
    sets: dict[str, CalibrationSet] = {}
    lines = [
        "# Candidate speed models, cross-validated against TØI kommune-to-centre car times",
        "",
        f"Command: `python benchmarks/compare_speed_models.py --folds {args.folds} "
        f"--shrinkage {args.shrinkage:g} --prior-headway-min {args.prior_headway_min:g}`  ",
        f"Machine: {describe_machine()}; network {net.source}; same {args.folds} folds "
        f"(seed 0) for every candidate; searches start from METHODS §1's prior with a "
        f"{args.prior_headway_min:g}-minute ferry headway; shrinkage {args.shrinkage:g}.",
        "",
        "| model | origin | parameters | fitted values | on the set: median abs. / bias / worst | "
        f"{args.folds}-fold CV: median abs. / bias / worst | CV fold range of each value |",
        "|---|---|---:|---|---|---|---|",
    ]
    only = set(args.only.split(",")) if args.only else None
    for name, origin, opts, ordered in CANDIDATES:
        if only and f"{name}/{origin}" not in only:
            continue
        t0 = time.perf_counter()
        if origin not in sets:
            sets[origin] = CalibrationSet(net, rows, centres, origin=origin, cells=cells)
        cal = sets[origin]
        params = default_parameters(profile0, **opts)
        order = CLASS_ORDER if ordered else ()
        fit = fit_and_cross_validate(
            base, cal, profile=profile0, parameters=params, folds=args.folds,
            max_evaluations=args.max_evaluations, order=order, shrinkage=args.shrinkage,
        )
        values, fv, e1, ecv = fit.fitted_values, fit.fold_values, fit.on_set, fit.cv

        def short(path: str) -> str:
            return path.split(":")[-1].replace("curvature_scale_deg_per_km", "curv").replace(
                "ferry.default_headway_min", "headway").replace("trip.terminal_min", "terminal"
            ).replace("roadside_density_scale_residents_per_km", "rho0")

        vals = ", ".join(f"{short(k)} {v:.3g}" if "*" not in k else f"urban x{v:.2f}"
                         for k, v in values.items())
        ranges = ", ".join(
            f"{short(p.path) if '*' not in p.path else 'urban'} "
            f"{min(v[p.path] for v in fv):.3g}-{max(v[p.path] for v in fv):.3g}"
            for p in params
        )

        def f3(e: dict) -> str:
            return (f"{e['median_abs_pct']:.1f} % / {e['median_bias_pct']:+.1f} % / "
                    f"{e['max_abs_pct']:.0f} %")

        row = f"| {name} | {origin} | {len(params)} | {vals} | {f3(e1)} | {f3(ecv)} | {ranges} |"
        lines.append(row)
        print(row, f"({time.perf_counter() - t0:.0f} s)", flush=True)
    lines += ["", f"Total time {time.perf_counter() - t_all:.0f} s.", ""]
    text = "\n".join(lines)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
