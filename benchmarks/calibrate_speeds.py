"""Fit the car profile to TØI's kommune-to-centre car times, with a cross-validated error.

    python benchmarks/calibrate_speeds.py [--folds 5] [--table PATH] [--max-evaluations 250]
        [--origin cells|centre]
        [--model ordered+curvature|ordered+curvature+roadside|free|ordered|free+curvature]
        [--shrinkage 0]

Reference: ``tables/toi_reisetid_calibration.csv`` in the data folder (61 rows: car minutes
from a kommune to the centre kommune(s) of its BA region, computed by TØI on NVDB; half of
the official table, the other half is kept for an independent check and is never read here).
Model: national N1000 network, kommune centres by ``kommune_centres`` (default rule: the
population centre of gravity; ``--centre-rule densest_km`` for the densest 1 km square),
time to the nearer centre kommune, access legs included (``smaby_geo.analysis.calibration``);
with ``--origin cells`` (default) a row's time is the population-weighted mean over the
origin kommune's populated 250 m cells. ``--model`` picks the fitted form (default
``ordered+curvature``: E >= R >= F >= K, K at most 60 km/h and the curvature term;
``ordered+curvature+roadside`` adds the roadside settlement term, which
``benchmarks/compare_roadside.py`` does not adopt on today's network;
``benchmarks/compare_speed_models.py`` compares the other forms). ``--shrinkage`` (default
``SHRINKAGE_LAMBDA`` = 0, chosen by cross-validation in ``benchmarks/shrinkage_cv.py``; 0:
none) pulls every fit toward METHODS §1's prior (``fit_profile(shrinkage=...)``).

Prints and writes ``benchmarks/results/calibration.md``: the prior profile's errors, the
fitted values, the errors on the set and k-fold cross-validated (each fold fitted without its
rows), and the worst kommuner.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import (
    add_row_model_arguments,
    fit_and_cross_validate,
    load_calibration_inputs,
)
from report import write_report

from smaby_geo.analysis.calibration import (
    CLASS_ORDER,
    SHRINKAGE_LAMBDA,
    CalibrationSet,
    check_shrinkage,
    default_parameters,
    error_summary,
    get_parameter,
    trip_minutes,
)
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN
from smaby_geo.places.centres import kommune_centres

RESULTS = Path(__file__).resolve().parent / "results" / "calibration.md"


def _fmt(e: dict) -> str:
    return (
        f"median |error| {e['median_abs_pct']:.1f} %, median bias {e['median_bias_pct']:+.1f} %, "
        f"worst {e['max_abs_pct']:.0f} % (n = {e['n']}, no route {e['unreachable']})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5, help="k of the k-fold cross-validation")
    ap.add_argument("--max-evaluations", type=int, default=250)
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument(
        "--urban",
        default="factor",
        choices=["factor", "each"],
        help="fit one factor on all urban speeds, or each category's urban speed",
    )
    add_row_model_arguments(ap)
    ap.add_argument(
        "--model",
        default="ordered+curvature",
        choices=[
            "ordered+curvature+roadside",
            "ordered+curvature",
            "ordered",
            "free+curvature",
            "free",
        ],
        help="fitted form: class order and K cap (ordered), curvature term, roadside "
        "settlement term (residents per km near each link)",
    )
    ap.add_argument(
        "--shrinkage",
        type=float,
        default=SHRINKAGE_LAMBDA,
        help="lambda of the ridge penalty toward METHODS §1's prior (fit_profile; default "
        f"{SHRINKAGE_LAMBDA:g}, chosen by cross-validation); 0: none",
    )
    args = ap.parse_args(argv)
    try:
        check_shrinkage(args.shrinkage)
    except ValueError as exc:
        print(f"calibrate_speeds: error: --shrinkage: {exc}", file=sys.stderr)
        return 2
    if args.folds < 2:  # checked before the fit, which takes minutes
        print(f"calibrate_speeds: error: --folds must be 2 or more, got {args.folds}",
              file=sys.stderr)
        return 2
    ordered = args.model.startswith("ordered")
    curvature = "curvature" in args.model
    roadside = "roadside" in args.model
    t_all = time.perf_counter()
    try:
        inputs = load_calibration_inputs(args.table, args.centre_rule)
    except (OSError, ValueError) as exc:  # no table on this machine, or a bad one
        print(f"calibrate_speeds: error: {exc}", file=sys.stderr)
        return 2
    net, kom, cells, centres = inputs.network, inputs.kommuner, inputs.cells, inputs.centres
    rows, left_out, table = inputs.rows, inputs.left_out, inputs.table
    names = kom.set_index("kommunenummer")["kommunenavn"]
    lines = [
        "# Speed calibration against TØI kommune-to-centre car times",
        "",
        f"Command: `python benchmarks/calibrate_speeds.py --folds {args.folds} "
        f"--centre-rule {args.centre_rule} --urban {args.urban} --origin {args.origin} "
        f"--model {args.model}"
        + (f" --shrinkage {args.shrinkage:g}" if args.shrinkage else "")
        + "`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; network "
        f"{net.source}; {len(rows)} usable rows of {len(rows) + len(left_out)} in "
        f"`{Path(table).name}`.",
        "",
    ]
    if len(left_out):
        lines.append(
            "Left out (no centre kommune in the table): "
            + ", ".join(
                f"{r.from_kommunenummer} {getattr(r, 'from_kommunenavn', '')}".strip()
                for r in left_out.itertuples()
            )
            + "."
        )
        lines.append("")
    cal = CalibrationSet(net, rows, centres, origin=args.origin, cells=cells)
    ref = cal.reference
    # the fit starts from METHODS §1's prior (CarProfile() holds the fitted values)
    from smaby_geo.network.profile import prior_profile

    profile0 = prior_profile()
    base_net = net.with_profile(profile0)
    params = default_parameters(
        profile0, urban=args.urban, plausible=ordered, curvature=curvature, roadside=roadside
    )
    order = CLASS_ORDER if ordered else ()
    m0 = cal.model_minutes(base_net)
    e0 = error_summary(m0, ref)
    lines += [
        f"## Prior profile (METHODS §1 speeds, {PRIOR_HEADWAY_MIN:g}-minute headway)",
        "",
        f"Centre rule `{args.centre_rule}`, origin `{args.origin}`: " + _fmt(e0),
        "",
    ]
    for rule in ("population_weighted", "densest_km"):
        for origin in ("centre", "cells"):
            if (rule, origin) != (args.centre_rule, args.origin):
                alt = CalibrationSet(
                    net, rows, kommune_centres(cells, rule), origin=origin, cells=cells
                )
                ea = error_summary(alt.model_minutes(base_net), ref)
                lines += [
                    f"Centre rule `{rule}`, origin `{origin}` (for comparison): " + _fmt(ea),
                    "",
                ]
    if args.origin == "cells" and cal.unreached_population.sum() > 0:
        lines += [
            f"Origin cells that reach no centre (left out of the means): "
            f"{cal.unreached_population.sum():,.0f} people in "
            f"{int((cal.unreached_population > 0).sum())} kommuner.",
            "",
        ]
    print("\n".join(lines))

    # the fit on every row, then k-fold cross-validation (each row predicted by a fit that
    # never saw it)
    fit = fit_and_cross_validate(
        base_net,
        cal,
        profile=profile0,
        parameters=params,
        folds=args.folds,
        max_evaluations=args.max_evaluations,
        order=order,
        shrinkage=args.shrinkage,
    )
    fitted, values, net1 = fit.fitted, fit.fitted_values, fit.network
    m_cv, fold_values = fit.cv_minutes, fit.fold_values
    e1, ecv, t_fit = fit.on_set, fit.cv, fit.fit_seconds
    m1 = trip_minutes(cal.model_minutes(net1), values)
    print(
        f"fit on all rows: {t_fit:.0f} s; " + ", ".join(f"{k} {v:.1f}" for k, v in values.items())
    )

    lines += [
        "## Fitted values",
        "",
        "| parameter | prior | fitted | bounds | fold range |",
        "|---|---:|---:|---|---|",
    ]
    for p in params:
        fv = [v[p.path] for v in fold_values]
        prior = get_parameter(profile0, p.path)
        prior_s = "off" if prior != prior else f"{prior:.2f}"  # NaN: the term is off
        lines.append(
            f"| `{p.path}` | {prior_s} | {values[p.path]:.2f} | "
            f"{p.lower:g}-{p.upper:.3g} ({p.source}) | {min(fv):.2f}-{max(fv):.2f} |"
        )
    eff = [
        ("category_speeds_kmh", fitted.category_speeds_kmh),
        ("urban_speeds_kmh", getattr(fitted, "urban_speeds_kmh", None)),
        ("motorway_speeds_kmh", fitted.motorway_speeds_kmh),
        ("urban_motorway_speeds_kmh", getattr(fitted, "urban_motorway_speeds_kmh", None)),
    ]
    lines += ["", "Fitted profile, as defaults (km/h; urban speeds capped at the rural speed):", ""]
    for name, table in eff:
        if table is not None:
            lines.append(
                f"- `{name}` = {{"
                + ", ".join(f'"{k}": {float(v):.1f}' for k, v in table.items())
                + "}"
            )
    if fitted.curvature_scale_deg_per_km is not None:
        lines.append(f"- `curvature_scale_deg_per_km` = {fitted.curvature_scale_deg_per_km:.0f}")
    if fitted.roadside_density_scale_residents_per_km is not None:
        lines.append(
            "- `roadside_density_scale_residents_per_km` = "
            f"{fitted.roadside_density_scale_residents_per_km:.0f}"
        )
    lines.append(
        f"- `ferry.default_headway_min` = {fitted.ferry.default_headway_min:.1f} "
        f"(wait {min(fitted.ferry.default_headway_min / 2, fitted.ferry.max_wait_min):.1f} min)"
    )
    lines += [
        "",
        f"Fit time {t_fit:.0f} s (Powell, at most {args.max_evaluations} evaluations, exact "
        "routing each).",
        "",
        "## Errors",
        "",
        "| | median abs. error | median bias | worst | n |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, e in (
        ("prior profile (METHODS §1)", e0),
        ("fitted, on the calibration set", e1),
        (f"fitted, {args.folds}-fold cross-validated", ecv),
    ):
        lines.append(
            f"| {label} | {e['median_abs_pct']:.1f} % | {e['median_bias_pct']:+.1f} % | "
            f"{e['max_abs_pct']:.0f} % | {e['n']} |"
        )
    res = pd.DataFrame(
        {
            "kommune": [f"{c} {names.get(c, '')}" for c in rows["from_kommunenummer"]],
            "centre": ["; ".join(f"{c} {names.get(c, '')}" for c in cs) for cs in rows["centres"]],
            "toi_min": ref,
            "prior_min": m0,
            "fitted_min": m1,
            "cv_min": m_cv,
        }
    )
    res["fitted_err_pct"] = (res["fitted_min"] / res["toi_min"] - 1) * 100
    res["cv_err_pct"] = (res["cv_min"] / res["toi_min"] - 1) * 100
    worst = res.reindex(res["cv_err_pct"].abs().sort_values(ascending=False).index).head(10)
    lines += ["", "## Worst kommuner (by cross-validated error)", ""]
    lines.append("| " + " | ".join(worst.columns) + " |")
    lines.append("|" + "---|" * len(worst.columns))
    for r in worst.itertuples(index=False):
        lines.append(
            "| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r) + " |"
        )
    lines += ["", f"Total time {time.perf_counter() - t_all:.0f} s.", ""]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
