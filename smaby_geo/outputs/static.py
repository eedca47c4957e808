"""Static maps (matplotlib PNG) for reports: legend, scale bar and attribution on each."""

from __future__ import annotations

import os

import geopandas as gpd
import matplotlib as mpl
import numpy as np

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from smaby_geo.outputs.io import atomic_path
from smaby_geo.outputs.maps import (
    DELTA_BINS,
    DELTA_COLOURS,
    MINUTE_BINS,
    MINUTE_COLOURS,
    NO_ROUTE_COLOUR,
)


def _scale_bar(ax, length_m: float | None = None) -> None:
    """Draw a scale bar in the lower right (axes in metres, EPSG:25833)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    if length_m is None:
        raw = span / 5
        length_m = float(
            10 ** np.floor(np.log10(raw))
            * (
                5
                if raw / 10 ** np.floor(np.log10(raw)) >= 5
                else 2
                if raw / 10 ** np.floor(np.log10(raw)) >= 2
                else 1
            )
        )
    xs = x1 - span * 0.05 - length_m
    ys = y0 + (y1 - y0) * 0.05
    ax.plot([xs, xs + length_m], [ys, ys], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(xs + length_m / 2, ys + (y1 - y0) * 0.015, label, ha="center", va="bottom", fontsize=8)


def static_map(
    layer: gpd.GeoDataFrame,
    column: str,
    path: str | os.PathLike,
    *,
    kind: str = "minutes",
    title: str = "",
    attribution: str = "",
    kommuner: gpd.GeoDataFrame | None = None,
    dpi: int = 150,
) -> str:
    """Write a PNG map of one column of a layer.

    Parameters
    ----------
    layer : GeoDataFrame (EPSG:25833)
    column : str
        Minutes (``kind="minutes"``), change in minutes (``"delta"``) or a category
        (``"category"``, e.g. a region or catchment id).
    path : path-like, .png
    kind : {"minutes", "delta", "category"}
    title, attribution : str
    kommuner : GeoDataFrame, optional
        Drawn as grey outlines underneath.
    dpi : int

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        Empty layer, missing column, unknown kind.
    """
    if len(layer) == 0:
        raise ValueError("cannot draw an empty layer")
    if column not in layer.columns:
        raise ValueError(f"layer has no column {column!r}")
    if kind not in ("minutes", "delta", "category"):
        raise ValueError(f"kind must be minutes, delta or category, got {kind!r}")
    fig, ax = plt.subplots(figsize=(7, 8))
    bounds = layer.total_bounds
    if kommuner is not None:
        kommuner.boundary.plot(ax=ax, color="#bbbbbb", linewidth=0.3, zorder=1)
    vals = layer[column]
    if kind == "category":
        codes, uniq = vals.factorize()
        cmap = plt.get_cmap("tab20", max(len(uniq), 1))
        layer.assign(_c=codes).plot(
            ax=ax, column="_c", cmap=cmap, linewidth=0.2, edgecolor="white", zorder=2
        )
        handles = []
    else:
        bins, colours = (
            (MINUTE_BINS, MINUTE_COLOURS) if kind == "minutes" else (DELTA_BINS, DELTA_COLOURS)
        )
        v = vals.to_numpy(float)
        finite_bins = np.array([b if np.isfinite(b) else (1e9 if b > 0 else -1e9) for b in bins])
        norm = BoundaryNorm(finite_bins, len(colours))
        ok = np.isfinite(v)
        if ok.any():
            layer[ok].plot(
                ax=ax,
                column=column,
                cmap=ListedColormap(colours),
                norm=norm,
                markersize=2,
                linewidth=0,
                zorder=2,
            )
        if (~ok).any() and kind == "minutes":
            layer[~ok].plot(ax=ax, color=NO_ROUTE_COLOUR, markersize=2, linewidth=0, zorder=2)
        handles = [
            Patch(
                color=c,
                label=(
                    f"{bins[i]:g}–{bins[i + 1]:g}"
                    if np.isfinite(bins[i + 1]) and np.isfinite(bins[i])
                    else (f"> {bins[i]:g}" if np.isfinite(bins[i]) else f"< {bins[i + 1]:g}")
                ),
            )
            for i, c in enumerate(colours)
        ]
        if kind == "minutes":
            handles.append(Patch(color=NO_ROUTE_COLOUR, label="no route"))
        ax.legend(
            handles=handles,
            title="minutes" if kind == "minutes" else "change, min",
            loc="upper left",
            fontsize=7,
            title_fontsize=8,
            frameon=True,
        )
    pad_x, pad_y = (bounds[2] - bounds[0]) * 0.05, (bounds[3] - bounds[1]) * 0.05
    ax.set_xlim(bounds[0] - pad_x, bounds[2] + pad_x)
    ax.set_ylim(bounds[1] - pad_y, bounds[3] + pad_y)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax)
    ax.set_title(title, fontsize=11)
    fig.text(0.01, 0.01, f"Data: {attribution}", fontsize=7, color="#444")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return str(path)
