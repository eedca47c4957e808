"""Square grid cells: their polygons and coarser aggregates (used by analysis and outputs).

Grid tables carry the south-west corner of each cell (``x_sw``, ``y_sw``, EPSG:25833 metres)
and its side ``cell_size_m``, as ``read_population_grid`` and ``travel_times`` write them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

__all__ = ["cell_squares", "coarsen_cells"]


def cell_squares(table: pd.DataFrame) -> np.ndarray:
    """Square polygons of grid cells from ``x_sw``, ``y_sw``, ``cell_size_m`` (EPSG:25833)."""
    need = {"x_sw", "y_sw", "cell_size_m"}
    if not need <= set(table.columns):
        raise ValueError(f"table needs grid columns {sorted(need)} to draw cells")
    x = table["x_sw"].to_numpy(float)
    y = table["y_sw"].to_numpy(float)
    s = table["cell_size_m"].to_numpy(float)
    return shapely.box(x, y, x + s, y + s)


def coarsen_cells(table: pd.DataFrame, service_type: str, resolution_m: int) -> pd.DataFrame:
    """Aggregate a grid-cell table to coarser square cells (for light national maps).

    Each coarse cell takes the summed population, the population-weighted mean minutes of its
    reachable fine cells and the site serving most of its people.

    Parameters
    ----------
    table : DataFrame
        ``travel_times`` output over grid cells.
    service_type : str
    resolution_m : int
        Multiple of the table's cell size.

    Returns
    -------
    DataFrame with ``x_sw``, ``y_sw``, ``cell_size_m``, ``population``, ``<type>_minutes``,
    ``<type>_site``.
    """
    base = int(table["cell_size_m"].iloc[0])
    if resolution_m % base:
        raise ValueError(f"resolution_m={resolution_m} must be a multiple of {base} m")
    mcol, scol = f"{service_type}_minutes", f"{service_type}_site"
    d = pd.DataFrame(
        {
            "x_sw": table["x_sw"].to_numpy() // resolution_m * resolution_m,
            "y_sw": table["y_sw"].to_numpy() // resolution_m * resolution_m,
            "population": table["population"].to_numpy(),
            "m": table[mcol].to_numpy(float),
            "site": table[scol].to_numpy(),
        }
    )
    ok = np.isfinite(d["m"])
    d["pm"] = np.where(ok, d["m"] * np.maximum(d["population"], 1e-9), 0.0)
    d["w"] = np.where(ok, np.maximum(d["population"], 1e-9), 0.0)
    g = d.groupby(["x_sw", "y_sw"], sort=False)
    out = g.agg(population=("population", "sum"), pm=("pm", "sum"), w=("w", "sum"))
    out[mcol] = np.where(out["w"] > 0, out["pm"] / out["w"].where(out["w"] > 0), np.inf)
    best = (
        d[ok]
        .groupby(["x_sw", "y_sw", "site"], sort=False)["population"]
        .sum()
        .reset_index()
        .sort_values("population", ascending=False)
        .drop_duplicates(["x_sw", "y_sw"])
        .set_index(["x_sw", "y_sw"])["site"]
    )
    out[scol] = best.reindex(out.index)
    out = out.drop(columns=["pm", "w"]).reset_index()
    out["cell_size_m"] = resolution_m
    return out
