"""What the calibration scripts read: the network, the 250 m grid, kommune centres and the
TØI table (``calibrate_speeds.py``, ``shrinkage_cv.py``, ``compare_speed_models.py``).

The table comes from the data registry (``toi_calibration``: ``$SMABY_GEO_DATA_DIR``, the data
home, or the project's data release) unless a path is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from smaby_geo import datasets
from smaby_geo.analysis.calibration import read_calibration_table
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.readers import load_network
from smaby_geo.places.centres import kommune_centres
from smaby_geo.places.population import read_kommuner, read_population_grid


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
