"""NVDB "vegnett ruteplan" reader.

The schema: ``FromNodeID``, ``ToNodeID``, ``ONEWAY``, ``FT_MINUTES``, ``TF_MINUTES``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from smaby_geo import datasets
from smaby_geo.network._validate import check_line_layer, endpoints
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.ferry import check_same_boat_routes
from smaby_geo.network.profile import CarProfile
from smaby_geo.network.readers._common import (
    _check_profile,
    _finish_profiled,
    format_road_number,
)

NVDB_ONEWAY = {"B": (True, True), "FT": (True, False), "TF": (False, True), "N": (False, False)}

#: The columns the reader uses; only these (those the file has) are read from a file.
NVDB_COLUMNS = (
    "FromNodeID",
    "ToNodeID",
    "ONEWAY",
    "FT_MINUTES",
    "TF_MINUTES",
    "VEGTYPE",
    "VEGNUMMER",
    "METER_ORG",
    "ROUTEID",
)


def read_nvdb_layer(
    file: str | os.PathLike,
    *,
    columns: list[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read the columns the NVDB reader needs from a file (pyogrio, Arrow path when available).

    Only ``NVDB_COLUMNS`` (plus ``columns``) that the layer has are read, through GDAL's
    Arrow stream when pyarrow is installed; ``bbox`` and ``where`` filter rows in GDAL
    before they reach Python. The national ruteplan layer has some 30 attribute columns,
    of which the reader uses nine.

    Parameters
    ----------
    file : path-like
        GeoPackage, shapefile, FlatGeobuf ... (anything GDAL reads).
    columns : list of str, optional
        Further columns to read (e.g. a ferry column).
    bbox : (xmin, ymin, xmax, ymax), optional
        Keep links whose bounding box meets this box, in the layer's CRS.
    where : str, optional
        OGR SQL filter on attributes, e.g. ``"VEGTYPE IN ('E', 'R')"``.
    layer : str or int, optional
        Layer of a multi-layer file (default the first).

    Returns
    -------
    GeoDataFrame
        Indexed by the feature id (as ``read_dataframe(..., fid_as_index=True)``), in file
        order.
    """
    fields = [str(f) for f in pyogrio.read_info(file, layer=layer)["fields"]]
    want = [*NVDB_COLUMNS, *(columns or [])]
    cols = [c for c in fields if c in want]
    try:
        import pyarrow  # noqa: F401

        arrow = True
    except ImportError:  # pragma: no cover - pyarrow is a dependency of the outputs
        arrow = False
    gdf = pyogrio.read_dataframe(
        file,
        layer=layer,
        columns=cols,
        bbox=bbox,
        where=where,
        fid_as_index=True,
        use_arrow=arrow,
    )
    # a spatial filter returns rows in the order of the spatial index: back to file order,
    # so node numbering (and everything after it) does not depend on the filter
    return gdf if gdf.index.is_monotonic_increasing else gdf.sort_index(kind="stable")


def read_nvdb(
    path: str | os.PathLike | gpd.GeoDataFrame | None = None,
    *,
    ferry_column: str | None = None,
    keep: str = "all",
    profile: CarProfile | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
    same_boat_routes: Sequence[Sequence[str]] | None = None,
) -> RoadNetwork:
    """Read a network in the NVDB "vegnett ruteplan" schema.

    Parameters
    ----------
    path : path-like or GeoDataFrame, optional
        File or layer; default the registry's Oslo sample (``nvdb_oslo_sample``).
    ferry_column : str, optional
        A boolean column marking car ferries (the schema has none of its own). A ferry's
        ``FT_MINUTES`` (else ``TF_MINUTES``) is its crossing time; the wait comes from the
        profile's ferry model, charged once per crossing, and ferry ends that touch no road
        are joined by connectors, as for every reader (``smaby_geo.network.ferry``).
    keep : {"all", "largest"}
        As in ``read_kartverket``.
    profile : CarProfile, optional
        Used for ferries and connectors (road times are NVDB's); carried as ``net.profile``.
    bbox : (xmin, ymin, xmax, ymax), optional
        Read only links whose bounding box meets this box (in the file's CRS). Files only.
    where : str, optional
        OGR SQL attribute filter applied while reading, e.g. ``"VEGTYPE <> 'P'"``. Files
        only.
    same_boat_routes : sequence of sequences of str, optional
        Groups of road numbers (``VEGTYPE`` + ``VEGNUMMER``, e.g. ``"Fv57"``) whose ferry
        links are one boat, as in ``read_kartverket``; default none.

    Notes
    -----
    From a file only the columns the reader uses are read (``read_nvdb_layer``: column
    selection, the Arrow path, filters in GDAL), which reads a national layer in a fraction
    of the time and memory of reading every column (``benchmarks/readers.py``).

    Returns
    -------
    RoadNetwork
        Drive times from ``FT_MINUTES`` (From->To) and ``TF_MINUTES`` (To->From), directions
        allowed by ``ONEWAY`` (B both, FT, TF, N none). Nodes are ``FromNodeID``/``ToNodeID``;
        their coordinates are the geometry ends.
    """
    t0 = time.perf_counter()
    profile = _check_profile(profile)
    check_same_boat_routes(same_boat_routes)  # before the file is read
    if isinstance(path, gpd.GeoDataFrame):
        if bbox is not None or where is not None:
            raise ValueError(
                "read_nvdb: bbox and where filter a file while it is read; for a GeoDataFrame "
                "select the rows first (gdf.cx[...] or gdf.query(...))"
            )
        gdf, src = path, "GeoDataFrame"
    else:
        file = datasets.locate_dataset("nvdb_oslo_sample", path)
        gdf = read_nvdb_layer(
            file, columns=[ferry_column] if ferry_column else None, bbox=bbox, where=where
        )
        if len(gdf) == 0 and (bbox is not None or where is not None):
            raise ValueError(
                f"NVDB file {file}: no links match bbox={bbox!r} where={where!r}; widen the filter"
            )
        src = f"NVDB ruteplan ({file.name})"
    name = f"NVDB layer {src}"
    gdf = check_line_layer(gdf, name)
    need = ["FromNodeID", "ToNodeID", "ONEWAY", "FT_MINUTES", "TF_MINUTES"]
    missing = [c for c in need if c not in gdf.columns]
    if missing:
        raise ValueError(f"{name} is missing NVDB ruteplan columns {missing}")
    oneway = gdf["ONEWAY"].astype(str).str.strip()
    bad = ~oneway.isin(list(NVDB_ONEWAY))
    if bad.any():
        raise ValueError(
            f"{name}: ONEWAY must be one of B/FT/TF/N; found {sorted(oneway[bad].unique())} "
            f"in {int(bad.sum())} rows"
        )
    ft_ok = np.array([NVDB_ONEWAY[o][0] for o in oneway])
    tf_ok = np.array([NVDB_ONEWAY[o][1] for o in oneway])
    ft = gdf["FT_MINUTES"].to_numpy(dtype=float) * 60.0
    tf = gdf["TF_MINUTES"].to_numpy(dtype=float) * 60.0
    for col, arr, ok in (("FT_MINUTES", ft, ft_ok), ("TF_MINUTES", tf, tf_ok)):
        bad = ok & ~(arr >= 0)
        if bad.any():
            raise ValueError(
                f"{name}: {int(bad.sum())} open links have a NaN or negative {col} "
                f"(row labels {gdf.index[bad][:10].tolist()})"
            )
    codes, uniques = pd.factorize(
        pd.concat([gdf["FromNodeID"].astype(str), gdf["ToNodeID"].astype(str)], ignore_index=True)
    )
    k = len(gdf)
    first, last = endpoints(gdf.geometry.to_numpy())
    xy = np.vstack([first, last])
    node_xy = np.zeros((len(uniques), 2))
    node_xy[codes[::-1]] = xy[::-1]  # first occurrence wins
    category = gdf["VEGTYPE"].to_numpy(dtype=object) if "VEGTYPE" in gdf else np.full(k, None)
    number = gdf["VEGNUMMER"] if "VEGNUMMER" in gdf else pd.Series(np.nan, index=gdf.index)
    length = gdf["METER_ORG"].to_numpy(dtype=float) if "METER_ORG" in gdf else gdf.length.to_numpy()
    if ferry_column is not None and ferry_column not in gdf.columns:
        raise ValueError(f"{name} has no ferry column {ferry_column!r}")
    ferry = (
        gdf[ferry_column].fillna(False).to_numpy(dtype=bool)
        if ferry_column is not None
        else np.zeros(k, bool)
    )
    links = pd.DataFrame(
        {
            "link_id": gdf["ROUTEID"].to_numpy() if "ROUTEID" in gdf else gdf.index.to_numpy(),
            "u": codes[:k],
            "v": codes[k:],
            "seconds_fw": np.where(ft_ok, ft, np.inf),
            "seconds_bw": np.where(tf_ok, tf, np.inf),
            "length_m": length,
            "category": category,
            "road_number": [
                format_road_number(c, n if n and n > 0 else None)
                for c, n in zip(category, number, strict=False)
            ],
            "ferry": ferry,
            "time_basis": np.where(ferry, "ferry", "given").astype(object),
            "fw_open": ft_ok,
            "bw_open": tf_ok,
            "duration_s": np.where(ferry, np.where(ft_ok, ft, tf), np.nan),
            "from_node_id": uniques[codes[:k]],
            "to_node_id": uniques[codes[k:]],
        }
    )
    report = {"links_read": k, "excluded": {}, "closed_both_ways": int((~ft_ok & ~tf_ok).sum())}
    return _finish_profiled(
        links,
        gdf.geometry.to_numpy(),
        node_xy,
        profile=profile,
        builtup=None,
        source=src,
        attribution=datasets.NVDB,
        report=report,
        keep=keep,
        t0=t0,
        same_boat_routes=same_boat_routes,
    )
