"""Any line GeoDataFrame with a speed or time column."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo.network._validate import check_line_layer, endpoints
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.readers._common import _finish, node_points


def network_from_lines(
    gdf: gpd.GeoDataFrame,
    *,
    speed_column: str | None = None,
    time_column: str | None = None,
    time_unit: str = "s",
    oneway_column: str | None = None,
    ferry_column: str | None = None,
    category_column: str | None = None,
    road_number_column: str | None = None,
    id_column: str | None = None,
    tolerance_m: float = 0.5,
    keep: str = "all",
    attribution: str = "",
) -> RoadNetwork:
    """Build a network from any line GeoDataFrame with a speed or a time column.

    Parameters
    ----------
    gdf : GeoDataFrame
        Lines, noded at junctions (lines are joined only where endpoints meet).
    speed_column : str, optional
        km/h per line; time = geometry length / speed.
    time_column : str, optional
        Travel time per line in ``time_unit`` (``"s"`` or ``"min"``).
    oneway_column : str, optional
        Boolean: True means only in digitised direction.
    ferry_column, category_column, road_number_column, id_column : str, optional
        Columns copied into the link table.
    tolerance_m : float, default 0.5
        Endpoint snapping tolerance in metres.
    keep : {"all", "largest"}
        As in ``read_kartverket``.
    attribution : str
        Attribution of the data.

    Returns
    -------
    RoadNetwork
    """
    t0 = time.perf_counter()
    name = "line layer"
    if (speed_column is None) == (time_column is None):
        raise ValueError("network_from_lines needs exactly one of speed_column or time_column")
    gdf = check_line_layer(gdf, name)
    col = speed_column or time_column
    if col not in gdf.columns:
        raise ValueError(f"{name} has no column {col!r}; columns are {list(gdf.columns)}")
    vals = gdf[col].to_numpy(dtype=float)
    bad = ~np.isfinite(vals) | (vals < 0) | ((vals == 0) if speed_column else False)
    if bad.any():
        raise ValueError(
            f"{name}: column {col!r} has {int(bad.sum())} NaN, infinite, negative"
            f"{' or zero' if speed_column else ''} values (row labels "
            f"{gdf.index[bad][:10].tolist()})"
        )
    length = gdf.geometry.length.to_numpy()
    if speed_column:
        seconds = length / (vals / 3.6)
    else:
        units = {"s": 1.0, "min": 60.0}
        if time_unit not in units:
            raise ValueError(f"time_unit must be 's' or 'min', got {time_unit!r}")
        seconds = vals * units[time_unit]
    k = len(gdf)
    oneway = gdf[oneway_column].to_numpy(dtype=bool) if oneway_column else np.zeros(k, bool)
    first, last = endpoints(gdf.geometry.to_numpy())
    labels, node_xy = node_points(np.vstack([first, last]), tolerance_m)

    def _col(c, default):
        return gdf[c].to_numpy() if c else np.full(k, default, dtype=object)

    links = pd.DataFrame(
        {
            "link_id": _col(id_column, None) if id_column else gdf.index.to_numpy(),
            "u": labels[:k],
            "v": labels[k:],
            "seconds_fw": seconds,
            "seconds_bw": np.where(oneway, np.inf, seconds),
            "length_m": length,
            "category": _col(category_column, None),
            "road_number": _col(road_number_column, None),
            "ferry": _col(ferry_column, False).astype(bool),
        }
    )
    return _finish(
        links,
        gdf.geometry,
        node_xy,
        source="line GeoDataFrame",
        attribution=attribution,
        report={"links_read": k, "excluded": {}},
        keep=keep,
        t0=t0,
    )
