"""Does the roadside settlement term help? Current speed model against it, on one run.

    python benchmarks/compare_roadside.py [--folds 5] [--max-evaluations 250] [--shrinkage 0]

Both models are fitted exactly as ``benchmarks/calibrate_speeds.py`` fits them (54 usable rows
of ``tables/toi_reisetid_calibration.csv`` and nothing else, population-weighted kommune
centres, times from the origin kommune's populated cells, one urban factor, class order
E >= R >= F >= K with K at most 60, curvature term, the shrinkage lambda given (default
``SHRINKAGE_LAMBDA``, 0 since 27 Nov 2026) toward METHODS §1's prior, the same 5 folds), from
the same start:

- ``ordered+curvature``: the model without the term (the profile's defaults until the run of
  27 Nov 2026 adopted the term by the rule below);
- ``ordered+curvature+roadside``: plus ``CarProfile.roadside_density_scale_residents_per_km``
  on each link's ``roadside_residents_per_km`` (``smaby_geo.network.roadside``), the settled
  share driven at 60/80 of the open speed;
- ``ordered+curvature+roadside+ratio``: a sensitivity check, added after the first two were
  seen: the settled speed ratio fitted too (``roadside_settled_speed_ratio``, 50/80 to 1),
  to see whether the fixed 60/80 cap is what holds the term back.

For each: the errors on the set and cross-validated (median |error|, median bias, worst), the
fitted values, and five town-to-town trips routed with the profile fitted on all rows (these
trips are never part of any fit). Adoption rule (issue #12, fixed before the run): the new
model becomes the default only if its CV median |error| <= 10 %, CV bias within +-3 % and CV
worst <= 50 %, none of the three worse than today's model, and no speed above its legal limit.

Writes ``benchmarks/results/roadside.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_inputs import adopt, fit_and_cross_validate, load_calibration_inputs
from report import write_report

from smaby_geo.analysis.calibration import (
    CLASS_ORDER,
    SHRINKAGE_LAMBDA,
    CalibrationSet,
    default_parameters,
)
from smaby_geo.analysis.trips import trip
from smaby_geo.console import format_hmm
from smaby_geo.network.profile import prior_profile
from smaby_geo.network.roadside import measure_roadside_densities

RESULTS = Path(__file__).resolve().parent / "results" / "roadside.md"
MODELS = {
    "ordered+curvature": {"plausible": True, "curvature": True},
    "ordered+curvature+roadside": {"plausible": True, "curvature": True, "roadside": True},
    "ordered+curvature+roadside+ratio": {
        "plausible": True,
        "curvature": True,
        "roadside": True,
        "roadside_ratio": True,
    },
}
TRIPS = [
    ("Tynset", "Hamar"),
    ("Lillehammer", "Gjøvik"),
    ("Oslo", "Bergen"),
    ("Sykkylven", "Ålesund"),
    ("Rissa", "Trondheim"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-evaluations", type=int, default=250)
    ap.add_argument("--shrinkage", type=float, default=SHRINKAGE_LAMBDA)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    try:
        inputs = load_calibration_inputs()
    except (OSError, ValueError) as exc:
        print(f"compare_roadside: error: {exc}", file=sys.stderr)
        return 2
    net = inputs.network
    cal = CalibrationSet(net, inputs.rows, inputs.centres, origin="cells", cells=inputs.cells)
    profile0 = prior_profile()
    base = net.with_profile(profile0)
    lk = net.links
    cat = (lk["time_basis"] == "category").to_numpy()
    # the default read leaves the densities to the first profile with the term: measure here
    rho = measure_roadside_densities(lk.geometry.to_numpy(), lk["ferry"].to_numpy(dtype=bool))[0]
    rho = rho[cat]
    w = lk["length_m"].to_numpy()[cat]
    q = np.percentile(rho, [25, 50, 75, 90])
    lines = [
        "# Roadside settlement term: current speed model against the new one",
        "",
        f"Command: `python benchmarks/compare_roadside.py --folds {args.folds} "
        f"--shrinkage {args.shrinkage:g}`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; network "
        f"{net.source}; {len(inputs.rows)} usable rows of `{Path(inputs.table).name}` (the only "
        "data fitted; the trips below are never fitted).",
        "",
        f"Roadside residents per km of N1000 road links (250 m band, `network.roadside`): "
        f"quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f}, 90th percentile {q[3]:.0f}; "
        f"length-weighted mean {np.average(rho, weights=w):.0f}.",
        "",
        "| model | fitted values | on the set: median abs. / bias / worst | "
        f"{args.folds}-fold CV: median abs. / bias / worst | "
        + " | ".join(f"{a}-{b}" for a, b in TRIPS)
        + " |",
        "|---|---|---|---|" + "---:|" * len(TRIPS),
    ]
    results = {}
    for name, kw in MODELS.items():
        params = default_parameters(profile0, urban="factor", **kw)
        t0 = time.perf_counter()
        fit = fit_and_cross_validate(
            base,
            cal,
            profile=profile0,
            parameters=params,
            folds=args.folds,
            max_evaluations=args.max_evaluations,
            order=CLASS_ORDER,
            shrinkage=args.shrinkage,
        )
        values, net1, e1, ecv = fit.fitted_values, fit.network, fit.on_set, fit.cv
        trips = [trip(net1, a, b).minutes for a, b in TRIPS]
        results[name] = ecv
        short = ", ".join(
            f"{k.split(':')[-1].replace('_kmh', '')} {v:.1f}" for k, v in values.items()
        )
        row = (
            f"| `{name}` | {short} | {e1['median_abs_pct']:.1f} % / "
            f"{e1['median_bias_pct']:+.1f} % / {e1['max_abs_pct']:.0f} % | "
            f"{ecv['median_abs_pct']:.1f} % / {ecv['median_bias_pct']:+.1f} % / "
            f"{ecv['max_abs_pct']:.0f} % | " + " | ".join(format_hmm(m) for m in trips) + " |"
        )
        lines.append(row)
        print(f"{name}: {time.perf_counter() - t0:.0f} s\n{row}", flush=True)
    old, new = results["ordered+curvature"], results["ordered+curvature+roadside"]
    verdict = adopt(old, new)
    ratio = results["ordered+curvature+roadside+ratio"]
    lines += [
        "",
        "Adoption rule (issue #12): CV median |error| <= 10 %, CV bias within +-3 %, CV worst "
        "<= 50 %, none worse than today's model; every speed within its legal limit (the fit's "
        f"bounds). Verdict: **{'adopt' if verdict else 'do not adopt'}** the roadside term. "
        "The sensitivity check with the ratio fitted too (chosen after the first two were "
        f"seen, so not a candidate for adoption) would {'' if adopt(old, ratio) else 'not '}"
        "pass the same rule.",
        "",
        f"Total time {time.perf_counter() - t_all:.0f} s.",
        "",
    ]
    write_report(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
