"""Kommune centre rules for the speed calibration, compared on the same fit and folds.

    python benchmarks/centre_rules.py [--rules population_weighted largest_builtup]
        [--model ordered+curvature] [--shrinkage 0]

Each rule places the kommune centres (the rows' destinations, and the origins with
``--origin centre``); everything else is ``benchmarks/calibrate_speeds.py`` with its defaults
(origin cells, ``--model ordered+curvature``, shrinkage ``SHRINKAGE_LAMBDA``, the prior's
ferry headway ``PRIOR_HEADWAY_MIN``, the same 5 folds; ``--model`` and ``--shrinkage`` pass
other values on, e.g. ``--model ordered+curvature+roadside`` for the form of the earlier
runs, ``--shrinkage 0.1`` for their shrinkage). The full report of each
rule goes to ``results/centre_rules/<rule>.md``, the comparison to ``results/centre_rules.md``.

Rules:

- ``population_weighted`` (the default of ``places.centres.kommune_centres``): the kommune's
  population centre of gravity;
- ``densest_km``: the population-weighted centre of its most populous 1 km square;
- ``largest_builtup`` (a candidate, defined here only): the population-weighted centre of
  the kommune's cells inside its most populous N1000 built-up area (``Tettbebyggelse``), the
  ``densest_km`` point where no cell lies in one. Meant for merged kommuner whose centre of
  gravity falls between towns (Tønsberg + Re: 3 km north of Tønsberg).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibrate_speeds
import calibration_inputs
from report import describe_machine, write_report

from smaby_geo.analysis.calibration import SHRINKAGE_LAMBDA
from smaby_geo.network.linktimes import read_builtup
from smaby_geo.network.profile import PRIOR_HEADWAY_MIN
from smaby_geo.places import centres as place_centres

RESULTS = Path(__file__).resolve().parent / "results"
RULES = ("population_weighted", "densest_km", "largest_builtup")
MODELS = ("ordered+curvature", "ordered+curvature+roadside", "ordered", "free+curvature", "free")


def largest_builtup_centres(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Centre of each kommune's most populous built-up area (``densest_km`` where none)."""
    out = place_centres.kommune_centres(cells, "densest_km")
    bu = read_builtup()
    c = cells[cells["kommunenummer"].notna() & (cells["population"] > 0)]
    pts = c.geometry if c.geometry.geom_type.eq("Point").all() else c.geometry.centroid
    people = gpd.GeoDataFrame(
        {"k": c["kommunenummer"].to_numpy(), "p": c["population"].to_numpy(float)},
        geometry=pts.to_numpy(),
        crs=c.crs,
    )
    areas = gpd.GeoDataFrame(geometry=bu.geometry.reset_index(drop=True), crs=bu.crs)
    j = gpd.sjoin(people, areas, predicate="within")
    j["px"], j["py"] = j.geometry.x * j["p"], j.geometry.y * j["p"]
    g = j.groupby(["k", "index_right"])[["p", "px", "py"]].sum().reset_index()
    best = g.sort_values(["k", "p"], ascending=[True, False]).groupby("k").first()
    best = best[best.index.isin(out.index)]
    out.loc[best.index, "geometry"] = gpd.points_from_xy(
        best["px"] / best["p"], best["py"] / best["p"], crs=out.crs
    )
    return out


def _centres_for(rule: str):
    def centres(cells, _rule="population_weighted", **_):
        return largest_builtup_centres(cells)

    return centres


def _errors(report: str) -> dict[str, str]:
    rows = {}
    for label in ("prior profile", "fitted, on the calibration set", "fitted, 5-fold"):
        m = re.search(rf"^\| {re.escape(label)}[^|]*\| ([^|]+)\| ([^|]+)\| ([^|]+)\|", report, re.M)
        rows[label] = " / ".join(x.strip() for x in m.groups()) if m else "?"
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES)
    ap.add_argument(
        "--model", default=MODELS[0], choices=MODELS, help="calibrate_speeds.py --model"
    )
    ap.add_argument(
        "--shrinkage",
        type=float,
        default=SHRINKAGE_LAMBDA,
        help=f"calibrate_speeds.py --shrinkage (default {SHRINKAGE_LAMBDA:g})",
    )
    args = ap.parse_args()
    lines = [
        "# Kommune centre rules for the speed calibration",
        "",
        f"Command: `python benchmarks/centre_rules.py --rules {' '.join(args.rules)} "
        f"--model {args.model} --shrinkage {args.shrinkage:g}`  ",
        f"Machine: {describe_machine()}. Each rule: `calibrate_speeds.py` (origin cells, "
        f"model {args.model}, shrinkage {args.shrinkage:g}, prior ferry headway "
        f"{PRIOR_HEADWAY_MIN:g} min, 5 folds); full reports in `results/centre_rules/`.",
        "",
        "| centre rule | prior profile | fitted, on the set | fitted, 5-fold CV |",
        "|---|---|---|---|",
    ]
    (RESULTS / "centre_rules").mkdir(parents=True, exist_ok=True)
    own = calibration_inputs.kommune_centres
    for rule in args.rules:
        out = RESULTS / "centre_rules" / f"{rule}.md"
        argv = ["--out", str(out), "--model", args.model, "--shrinkage", f"{args.shrinkage!r}"]
        if rule == "largest_builtup":  # defined here, not a rule of kommune_centres
            calibration_inputs.kommune_centres = _centres_for(rule)
        else:
            calibration_inputs.kommune_centres = own
            argv += ["--centre-rule", rule]
        if calibrate_speeds.main(argv) != 0:
            raise SystemExit(f"centre_rules: the fit with {rule} failed")
        if rule == "largest_builtup":
            text = out.read_text(encoding="utf-8")
            out.write_text(
                "Centres of this run: `largest_builtup` (`benchmarks/centre_rules.py`), not the "
                "rule the command line below names.\n\n" + text,
                encoding="utf-8",
            )
        e = _errors(out.read_text(encoding="utf-8"))
        lines.append(
            f"| `{rule}` | {e['prior profile']} | {e['fitted, on the calibration set']} | "
            f"{e['fitted, 5-fold']} |"
        )
    lines += [
        "",
        "Each cell: median abs. error / median bias / worst row. The rule's points are the "
        "rows' destinations (the centre kommuner); the origins are the kommune's populated "
        "cells in every rule.",
    ]
    write_report(lines, RESULTS / "centre_rules.md")


if __name__ == "__main__":
    main()
