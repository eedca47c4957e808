"""What the calibration scripts read (the network, the 250 m grid, kommune centres and the
TØI table) and the fit they all make: on every row, then k-fold cross-validated
(``calibrate_speeds.py``, ``shrinkage_cv.py``, ``compare_speed_models.py``,
``compare_roadside.py``).

The table comes from the data registry (``toi_calibration``: ``$SMABY_GEO_DATA_DIR``, the data
home, or the project's data release) unless a path is given.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from smaby_geo import datasets
from smaby_geo.analysis.calibration import (
    CalibrationSet,
    cross_validate,
    error_summary,
    fit_profile,
    read_calibration_table,
    retime,
    trip_minutes,
)
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers import load_network
from smaby_geo.places.centres import kommune_centres
from smaby_geo.places.population import read_kommuner, read_population_grid


def add_row_model_arguments(ap: argparse.ArgumentParser) -> None:
    """``--table``, ``--centre-rule`` and ``--origin``: which rows, and how a row is timed."""
    ap.add_argument(
        "--table", default=None, help="calibration CSV (default: the registry's toi_calibration)"
    )
    ap.add_argument(
        "--centre-rule",
        default="population_weighted",
        choices=["population_weighted", "densest_km"],
        help="kommune centre rule (kommune_centres)",
    )
    ap.add_argument(
        "--origin",
        default="cells",
        choices=["cells", "centre"],
        help="row time from the origin kommune's populated cells (mean) or its centre point",
    )


@dataclass
class CalibrationInputs:
    """The inputs of a calibration run; ``left_out`` are the table's rows without a centre."""

    network: RoadNetwork
    kommuner: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    centres: gpd.GeoDataFrame
    rows: pd.DataFrame
    left_out: pd.DataFrame
    table: str


def load_calibration_inputs(
    table: str | os.PathLike | None = None, centre_rule: str = "population_weighted"
) -> CalibrationInputs:
    """Read everything a calibration run needs.

    Raises
    ------
    ValueError
        A table that ``read_calibration_table`` refuses (the message names it).
    """
    registry = table is None  # the data registry finds the project's table
    path = str(datasets.locate_dataset("toi_calibration")) if registry else os.fspath(table)
    net = load_network()
    kom = read_kommuner()
    cells = read_population_grid("250m", kommuner=kom)
    centres = kommune_centres(cells, centre_rule)
    rows, left_out = read_calibration_table(path, centres.index)
    return CalibrationInputs(net, kom, cells, centres, rows, left_out, path)


@dataclass
class FitResult:
    """A profile fitted on every row, and the rows predicted by folds that never saw them.

    ``network`` is the base re-timed with ``fitted``; ``on_set`` and ``cv`` are
    ``error_summary`` of the fit on the set and of the cross-validated minutes.
    """

    fitted: CarProfile
    fitted_values: dict[str, float]
    network: RoadNetwork
    on_set: dict
    cv_minutes: object
    fold_values: list[dict[str, float]]
    cv: dict
    fit_seconds: float


def fit_and_cross_validate(
    base: RoadNetwork,
    cal: CalibrationSet,
    *,
    profile: CarProfile,
    parameters: list,
    folds: int,
    max_evaluations: int,
    order: tuple = (),
    shrinkage: float = 0.0,
) -> FitResult:
    """``fit_profile`` on every row, then ``cross_validate`` with the same options."""
    opts = {
        "profile": profile,
        "parameters": parameters,
        "max_evaluations": max_evaluations,
        "order": order,
        "shrinkage": shrinkage,
    }
    t0 = time.perf_counter()
    fitted, values = fit_profile(base, cal, **opts)
    fit_s = time.perf_counter() - t0
    net1 = retime(base, fitted)
    on_set = error_summary(trip_minutes(cal.model_minutes(net1), values), cal.reference)
    m_cv, fold_values = cross_validate(base, cal, folds=folds, **opts)
    return FitResult(
        fitted, values, net1, on_set, m_cv, fold_values, error_summary(m_cv, cal.reference), fit_s
    )


# issue #12's targets for the cross-validated errors
TARGET_MEDIAN_ABS_PCT, TARGET_BIAS_PCT, TARGET_WORST_PCT = 10.0, 3.0, 50.0


def worse_than(old: dict, new: dict) -> list[str]:
    """What of ``new`` (CV ``error_summary``) is worse than ``old``: ``median``, ``bias`` (|bias|
    above both ``old``'s and the ±3 % target) and ``worst``."""
    out = []
    if new["median_abs_pct"] > old["median_abs_pct"]:
        out.append("median")
    if abs(new["median_bias_pct"]) > max(abs(old["median_bias_pct"]), TARGET_BIAS_PCT):
        out.append("bias")
    if new["max_abs_pct"] > old["max_abs_pct"]:
        out.append("worst")
    return out


def adopt(old: dict, new: dict) -> bool:
    """The adoption rule for a change to the model: ``new`` (CV ``error_summary``) meets the
    targets and nothing of it is worse than ``old`` (``worse_than``)."""
    return (
        new["median_abs_pct"] <= TARGET_MEDIAN_ABS_PCT
        and abs(new["median_bias_pct"]) <= TARGET_BIAS_PCT
        and new["max_abs_pct"] <= TARGET_WORST_PCT
        and not worse_than(old, new)
    )
