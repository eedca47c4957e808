"""Road transport performance, the European Commission's regional-policy indicator.

Source: L. Dijkstra, H. Poelman and L. Ackermans, "Road transport performance in Europe:
introducing a new accessibility framework", European Commission, DG REGIO Working Paper
01/2019. For each 1 km grid cell:

* **accessibility** = the population reachable by car within 90 minutes;
* **proximity** = the population within a 120 km straight-line radius;
* **transport performance** = 100 x accessibility / proximity.

A region's values are population-weighted means over its cells; this module reports the
weighted means of both parts and their ratio (``transport_performance``) and, beside it, the
weighted mean of the cells' own ratios (``mean_cell_performance``).

Differences from the published figures: the population is SSB's 2015 grid of Norway only
(the EU uses the GEOSTAT grid of all Europe, so border cells here miss Swedish, Finnish and
Russian neighbours in *both* parts); travel times are N1000 with METHODS §1 speeds and ferry
waits (the EU uses TomTom speed profiles); the 90-minute search counts every trip within the
limit exactly, with the main job's access model (``reach_population``: both ends of each
cell's link, partial link times, access legs).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.signal import fftconvolve

from smaby_geo.analysis.reach import DEFAULT_TIME_BIN_S, reach_population
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.snapping import AccessModel

# DG REGIO WP 01/2019: 90 minutes by car, 120 km radius.
TP_LIMIT_MIN = 90.0
PROXIMITY_RADIUS_KM = 120.0


def proximity_population(
    cells: pd.DataFrame,
    radius_km: float = PROXIMITY_RADIUS_KM,
    targets: pd.DataFrame | None = None,
) -> np.ndarray:
    """Population whose cell centre lies within ``radius_km`` of each cell's centre.

    The grid is rasterised and convolved with a disc (FFT), so the cost does not grow with
    the radius; the own cell is included. Results are rounded to whole persons.

    Parameters
    ----------
    cells : DataFrame
        Grid cells with ``x_sw``, ``y_sw``, ``cell_size_m`` (one size) and ``population``.
    radius_km : float, default 120
        DG REGIO's radius.
    targets : DataFrame, optional
        Where the population lives (same grid); default ``cells`` themselves.

    Returns
    -------
    ndarray of float (persons), one per cell.
    """
    need = {"x_sw", "y_sw", "cell_size_m", "population"}
    if not need <= set(cells.columns):
        raise ValueError(f"cells need columns {sorted(need)}")
    if not (np.isfinite(radius_km) and radius_km > 0):
        raise ValueError(f"radius_km must be positive, got {radius_km!r}")
    tg = cells if targets is None else targets
    if not need <= set(tg.columns):
        raise ValueError(f"targets need columns {sorted(need)}")
    sizes = pd.unique(np.r_[cells["cell_size_m"].to_numpy(), tg["cell_size_m"].to_numpy()])
    if len(sizes) != 1:
        raise ValueError(f"cells mix cell sizes {sorted(sizes)}")
    if len(cells) == 0:
        return np.zeros(0)
    size = float(sizes[0])
    x0 = min(cells["x_sw"].min(), tg["x_sw"].min())
    y0 = min(cells["y_sw"].min(), tg["y_sw"].min())
    col = ((cells["x_sw"].to_numpy() - x0) // size).astype(np.int64)
    row = ((cells["y_sw"].to_numpy() - y0) // size).astype(np.int64)
    tcol = ((tg["x_sw"].to_numpy() - x0) // size).astype(np.int64)
    trow = ((tg["y_sw"].to_numpy() - y0) // size).astype(np.int64)
    grid = np.zeros((max(row.max(), trow.max()) + 1, max(col.max(), tcol.max()) + 1))
    np.add.at(grid, (trow, tcol), tg["population"].to_numpy(dtype=float))
    r = int(np.floor(radius_km * 1000.0 / size))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = ((xx * size) ** 2 + (yy * size) ** 2 <= (radius_km * 1000.0) ** 2 + 1e-6).astype(float)
    conv = fftconvolve(grid, disc, mode="same")
    return np.maximum(np.rint(conv[row, col]), 0.0)


def transport_performance(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame | None = None,
    *,
    limit_min: float = TP_LIMIT_MIN,
    radius_km: float = PROXIMITY_RADIUS_KM,
    time_bin_s: float = DEFAULT_TIME_BIN_S,
    access: AccessModel | None = None,
) -> gpd.GeoDataFrame:
    """Accessibility, proximity and transport performance of every grid cell.

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        Population grid (DG REGIO uses 1 km cells: ``read_population_grid("1km")``).
    targets : GeoDataFrame, optional
        Where the population counted lives (same grid), e.g. the cells of a region plus a
        buffer of at least ``radius_km``; default ``cells``.
    limit_min : float, default 90
    radius_km : float, default 120
    time_bin_s : float, default 10
        Rounding of the many-to-all (``reach_population``).
    access : AccessModel, optional

    Returns
    -------
    GeoDataFrame
        Indexed like ``cells``: ``population``, kommune fields, ``road_connected``,
        ``accessibility`` (persons within ``limit_min``), ``proximity`` (persons within
        ``radius_km``), ``transport_performance`` (100 x accessibility / proximity); NaN where
        the cell is not road-connected.
    """
    reach = reach_population(
        network, cells, targets, limit_min=limit_min, time_bin_s=time_bin_s, access=access
    )
    prox = proximity_population(cells, radius_km, targets)
    keep = [
        c
        for c in ("kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn", "x_sw", "y_sw",
                  "cell_size_m")
        if c in cells.columns
    ]
    out = gpd.GeoDataFrame(
        {"population": cells["population"].to_numpy(), **{c: cells[c].to_numpy() for c in keep}},
        index=cells.index,
        geometry=cells.geometry.to_numpy(),
        crs=cells.crs,
    )
    acc = reach["population_within"].to_numpy()
    out["road_connected"] = reach["road_connected"].to_numpy()
    out["accessibility"] = acc
    out["proximity"] = prox
    out["transport_performance"] = 100.0 * acc / np.where(prox > 0, prox, np.nan)
    out.attrs["attribution"] = " | ".join(
        dict.fromkeys(
            a.strip()
            for p in (network.attribution, cells.attrs.get("attribution", ""))
            for a in p.split("|")
            if a.strip()
        )
    )
    out.attrs["parameters"] = {
        "limit_min": limit_min,
        "radius_km": radius_km,
        "time_bin_s": time_bin_s,
        "source": "Dijkstra, Poelman & Ackermans, DG REGIO Working Paper 01/2019",
    }
    return out


def summarise_transport_performance(
    tp_cells: pd.DataFrame, by: str = "kommunenummer"
) -> pd.DataFrame:
    """Population-weighted accessibility, proximity and transport performance per area.

    Parameters
    ----------
    tp_cells : DataFrame
        ``transport_performance`` output.
    by : str, default "kommunenummer"

    Returns
    -------
    DataFrame
        One row per area: ``population``, ``unconnected_population``, ``accessibility`` and
        ``proximity`` (population-weighted means over connected cells),
        ``transport_performance`` (100 x their ratio) and ``mean_cell_performance`` (weighted
        mean of the cells' ratios). The rows' populations sum to the cells' total.
    """
    if by not in tp_cells.columns:
        raise ValueError(f"cells have no column {by!r}")
    key = tp_cells[by].astype(object).where(tp_cells[by].notna(), "unknown")
    p = tp_cells["population"].to_numpy(dtype=float)
    acc = tp_cells["accessibility"].to_numpy(dtype=float)
    prox = tp_cells["proximity"].to_numpy(dtype=float)
    tp = tp_cells["transport_performance"].to_numpy(dtype=float)
    ok = np.isfinite(acc) & np.isfinite(tp)
    pc = np.where(ok, p, 0.0)
    g = pd.DataFrame(
        {
            "key": key.to_numpy(),
            "p": p,
            "pc": pc,
            "pa": pc * np.nan_to_num(acc),
            "pp": pc * np.nan_to_num(prox),
            "pt": pc * np.nan_to_num(tp),
        }
    ).groupby("key").sum()
    den = g["pc"].where(g["pc"] > 0)
    out = pd.DataFrame(
        {
            "population": g["p"].round().astype(np.int64),
            "unconnected_population": (g["p"] - g["pc"]).round().astype(np.int64),
            "accessibility": g["pa"] / den,
            "proximity": g["pp"] / den,
        },
        index=g.index.rename(by),
    )
    out["transport_performance"] = 100.0 * out["accessibility"] / out["proximity"]
    out["mean_cell_performance"] = g["pt"] / den
    return out.reset_index()
