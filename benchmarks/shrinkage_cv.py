"""Choose the shrinkage lambda of ``fit_profile`` by k-fold cross-validation on TØI's car times.

    python benchmarks/shrinkage_cv.py [--lambdas 0.01 0.03 0.1 0] [--folds 5] [--seed 0]
        [--max-evaluations 250] [--prior-headway-min 60]

Reference, model and fitted form as ``benchmarks/calibrate_speeds.py``'s defaults (54 usable
rows of ``tables/toi_reisetid_calibration.csv``, population-weighted kommune centres, times
from the origin kommune's populated cells, one urban factor, class order E >= R >= F >= K with
K at most 60, curvature term), starting from METHODS §1's prior. For each lambda the rows are
predicted by ``cross_validate`` (the same folds for every lambda: ``--seed``, default 0, the
folds of ``calibrate_speeds.py``), each fold fitted with ``fit_profile(shrinkage=lambda)``:
a ridge penalty lambda * sum(((value - prior) / bound range)**2) toward the prior (E 80, R 75,
F 65, K 50 km/h, urban factor 1, headway ``PRIOR_HEADWAY_MIN`` = 30 min, whose half is the
observed mean wait; the curvature scale, off in the prior, is not penalised;
``--prior-headway-min`` sets another prior headway, which is also the start). Only the
calibration file is read: no test trip and not the other half of the official table.

Decision rule (fixed before any result was seen): take the lambda with the lowest CV median
absolute error; it becomes the default only if it is > 0, its CV median absolute error is no
worse than lambda = 0's, its CV median bias is within +-3 % and its CV worst error <= 50 %;
otherwise lambda = 0 stays.

Writes ``benchmarks/results/shrinkage.md`` after each lambda (a partial table is marked).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import load_calibration_inputs

from smaby_geo.analysis.calibration import (
    CLASS_ORDER,
    CalibrationSet,
    cross_validate,
    default_parameters,
    error_summary,
)
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN, prior_profile

RESULTS = Path(__file__).resolve().parent / "results" / "shrinkage.md"

DECISION_RULE = (
    "Decision rule (fixed before any result was seen): take the lambda with the lowest CV "
    "median absolute error; it becomes the default only if it is > 0, its CV median absolute "
    "error is no worse than lambda = 0's, its CV median bias is within +-3 % and its CV worst "
    "error <= 50 %; otherwise lambda = 0 (no shrinkage) stays."
)


def choose_lambda(results: dict[float, dict]) -> float:
    """The lambda the decision rule (``DECISION_RULE``) adopts, from {lambda: error_summary}."""
    best = min(results, key=lambda lam: (results[lam]["median_abs_pct"], lam))
    e = results[best]
    if (
        best > 0
        and 0.0 in results
        and e["median_abs_pct"] <= results[0.0]["median_abs_pct"]
        and abs(e["median_bias_pct"]) <= 3.0
        and e["max_abs_pct"] <= 50.0
    ):
        return best
    return 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-evaluations", type=int, default=250)
    ap.add_argument(
        "--prior-headway-min",
        type=float,
        default=PRIOR_HEADWAY_MIN,
        help="the ferry headway of the prior and start profile, minutes (default "
        f"{PRIOR_HEADWAY_MIN:g}: its half is the 15-minute mean wait Hanssen, Jørgensen & "
        "Larsen 2019 observed; 60 was METHODS §1's placeholder and the prior until 2026-11-27)",
    )
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    if not (0 < args.prior_headway_min < float("inf")):
        print("shrinkage_cv: error: --prior-headway-min must be minutes > 0", file=sys.stderr)
        return 2
    try:
        inputs = load_calibration_inputs()
    except (OSError, ValueError) as exc:  # no table on this machine, or a bad one
        print(f"shrinkage_cv: error: {exc}", file=sys.stderr)
        return 2
    net, cells, centres, rows = inputs.network, inputs.cells, inputs.centres, inputs.rows
    cal = CalibrationSet(net, rows, centres, origin="cells", cells=cells)
    profile0 = prior_profile()
    profile0 = replace(
        profile0, ferry=replace(profile0.ferry, default_headway_min=args.prior_headway_min)
    )
    base_net = net.with_profile(profile0)
    params = default_parameters(profile0, urban="factor", plausible=True, curvature=True)
    results: dict[float, dict] = {}
    fold_ranges: dict[float, dict[str, tuple[float, float]]] = {}
    times: dict[float, float] = {}
    for k, lam in enumerate(args.lambdas):
        t0 = time.perf_counter()
        m_cv, fold_values = cross_validate(
            base_net,
            cal,
            profile=profile0,
            parameters=params,
            folds=args.folds,
            seed=args.seed,
            max_evaluations=args.max_evaluations,
            order=CLASS_ORDER,
            shrinkage=lam,
            prior=profile0,
        )
        times[lam] = time.perf_counter() - t0
        results[lam] = error_summary(m_cv, cal.reference)
        fold_ranges[lam] = {
            p.path: (min(v[p.path] for v in fold_values), max(v[p.path] for v in fold_values))
            for p in params
        }
        print(f"lambda {lam:g}: {results[lam]} ({times[lam]:.0f} s)", flush=True)
        done = k == len(args.lambdas) - 1
        _write(Path(args.out), args, results, fold_ranges, times, params, done, len(rows))
    return 0


def _write(out, args, results, fold_ranges, times, params, done, n_rows) -> None:
    lines = [
        "# Shrinkage toward the prior: lambda chosen by cross-validation",
        "",
        f"Command: `python benchmarks/shrinkage_cv.py --lambdas "
        f"{' '.join(f'{x:g}' for x in args.lambdas)} --folds {args.folds} --seed {args.seed} "
        f"--max-evaluations {args.max_evaluations}"
        + (
            f" --prior-headway-min {args.prior_headway_min:g}"
            if args.prior_headway_min != PRIOR_HEADWAY_MIN
            else ""
        )
        + "`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; {n_rows} usable "
        "rows of `toi_reisetid_calibration.csv` only; model `ordered+curvature`, origin "
        "`cells`, centre rule `population_weighted`, the folds of `calibrate_speeds.py`.",
        "",
        "Penalty added to the fit loss (mean |log(model / TØI)|): lambda x sum over parameters "
        "of ((value - prior) / (upper - lower bound))^2; prior E 80, R 75, F 65, K 50 km/h, "
        f"urban factor 1 (METHODS §1), ferry headway {args.prior_headway_min:g} min"
        + (
            " (PRIOR_HEADWAY_MIN: its half is the observed mean wait of 15 min, Hanssen et al. "
            "2019)"
            if args.prior_headway_min == PRIOR_HEADWAY_MIN
            else ""
        )
        + "; the curvature scale has no prior "
        "(off in the prior profile) and is not penalised.",
        "",
        DECISION_RULE,
        "",
    ]
    if not done:
        lines += ["**Partial: the run is still going; the rule is applied at the end.**", ""]
    lines += [
        "| lambda | CV median abs. error | CV median bias | CV worst | n | time |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for lam in sorted(results):
        e = results[lam]
        lines.append(
            f"| {lam:g} | {e['median_abs_pct']:.2f} % | {e['median_bias_pct']:+.2f} % | "
            f"{e['max_abs_pct']:.1f} % | {e['n']} | {times[lam]:.0f} s |"
        )
    lines += ["", "Fold ranges of the fitted values:", ""]
    lines.append("| parameter | " + " | ".join(f"lambda {lam:g}" for lam in sorted(results)) + " |")
    lines.append("|---|" + "---|" * len(results))
    for p in params:
        lines.append(
            f"| `{p.path}` | "
            + " | ".join(
                f"{fold_ranges[lam][p.path][0]:.1f}-{fold_ranges[lam][p.path][1]:.1f}"
                for lam in sorted(results)
            )
            + " |"
        )
    if done:
        chosen = choose_lambda(results)
        lines += ["", f"**Adopted by the rule: lambda = {chosen:g}.**"]
    lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines), flush=True)  # a copy in the log


if __name__ == "__main__":
    sys.exit(main())
