"""Offline maps of towns, hinterlands, centrality and transport performance.

Built on the shared helpers of ``smaby_geo.outputs.maps`` (``new_map``, ``add_legend``,
minute colours): each map opens without network and carries a legend with the data
attribution. Every name that reaches a tooltip is HTML-escaped first.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import pandas as pd
import shapely

from smaby_geo.analysis.traveltimes import weighted_quantile
from smaby_geo.outputs.maps import (
    CATEGORY_COLOURS,
    MINUTE_BINS,
    MINUTE_COLOURS,
    NO_ROUTE_COLOUR,
    add_fill_layer,
    add_legend,
    escape_html,
    minute_colour,
    new_map,
)

CLASS_COLOURS = {
    "large_city": "#67000d",
    "town": "#cb181d",
    "small_town": "#fb6a4a",
    "village": "#fcbba1",
}
CENTRALITY_COLOURS = ("#08306b", "#2171b5", "#6baed6", "#c6dbef", "#fdd0a2", "#e6550d")
TP_BINS: tuple[float, ...] = (0, 20, 40, 60, 80, np.inf)
TP_COLOURS: tuple[str, ...] = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")


def _swatches(colours, labels) -> str:
    return "".join(
        f'<div><span style="background:{c}"></span>{html.escape(str(lab))}</div>'
        for c, lab in zip(colours, labels, strict=True)
    )


def _join_kommuner(kommuner: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Kommune polygons joined with a per-kommune table (the polygons' names win)."""
    drop = [c for c in ("kommunenavn", "fylkesnavn", "fylkesnummer") if c in table.columns]
    k = kommuner.merge(table.drop(columns=drop), on="kommunenummer", how="inner")
    if len(k) == 0:
        raise ValueError("no kommune of the table is among the kommune polygons")
    return k


def _escape(df: pd.DataFrame, cols) -> pd.DataFrame:
    """Names escaped for tooltips: HTML and the JS template literals folium wraps them in."""
    out = df.copy()
    for c in cols:
        out[c] = [escape_html(v) if v is not None else "-" for v in out[c]]
    return out


def _layer(m, gdf, name, fields, aliases, *, edge="#555", weight=0.5, opacity=0.7) -> None:
    """A fill layer of already-escaped ``fields`` (``_escape``) with this module's styling."""
    add_fill_layer(m, gdf, name, fields, aliases, edge=edge, weight=weight, opacity=opacity)


def _town_markers(m, towns: pd.DataFrame, name: str, extra: tuple[str, str] | None = None):
    """Circle markers at town centres (EPSG:25833 ``centre_x``/``centre_y``), sized by class."""
    if towns is None or len(towns) == 0:
        return
    pts = gpd.GeoSeries(
        gpd.points_from_xy(towns["centre_x"], towns["centre_y"]), crs="EPSG:25833"
    ).to_crs("EPSG:4326")
    fg = folium.FeatureGroup(name=name)
    radius = {"large_city": 8, "town": 6, "small_town": 5, "village": 3}
    for (_, r), p in zip(towns.iterrows(), pts, strict=True):
        tip = f"{r['name']} ({r['town_class']}, {int(r['population']):,} residents)"
        if extra is not None and extra[0] in r:
            tip += f"; {extra[1]}: {int(r[extra[0]]):,}"
        folium.CircleMarker(
            [p.y, p.x],
            radius=radius.get(r["town_class"], 3),
            color="#222",
            weight=1,
            fill=True,
            fill_color=CLASS_COLOURS.get(r["town_class"], "#999"),
            fill_opacity=1.0,
            tooltip=escape_html(tip),
        ).add_to(fg)
    fg.add_to(m)


def map_towns(towns: gpd.GeoDataFrame, *, title: str | None = None, note: str = "") -> folium.Map:
    """Map the towns: outlines coloured by class, centres marked, names in tooltips.

    Raises
    ------
    ValueError
        Empty layer or missing columns.
    """
    need = {"name", "town_class", "population", "centre_x", "centre_y"}
    if len(towns) == 0:
        raise ValueError("cannot map an empty towns layer")
    if not need <= set(towns.columns):
        raise ValueError(f"towns need columns {sorted(need)}")
    t = _escape(towns, ["name"])
    t["geometry"] = t.geometry.simplify(100.0)
    t = t.to_crs("EPSG:4326")
    t["fill"] = t["town_class"].map(CLASS_COLOURS).fillna("#999")
    m = new_map(t.total_bounds)
    _layer(
        m,
        t,
        f"Town outlines ({len(t)})",
        ["name", "town_class", "population"],
        ["Town", "Class", "Residents"],
        weight=0.5,
        opacity=0.8,
    )
    big = towns[towns["town_class"] != "village"]
    _town_markers(m, big, f"Centres of towns of 5,000+ ({len(big)})")
    counts = towns["town_class"].value_counts()
    th = towns.attrs.get("thresholds", {})
    labels = [
        f"large city (>= {th.get('large_city_min_population', 50000):,}): "
        f"{counts.get('large_city', 0)}",
        f"town (>= {th.get('town_min_population', 15000):,}): {counts.get('town', 0)}",
        f"small town / småby (>= {th.get('small_town_min_population', 5000):,}): "
        f"{counts.get('small_town', 0)}",
        f"village (>= {th.get('village_min_population', 200):,}): {counts.get('village', 0)}",
    ]
    add_legend(
        m,
        title or "Towns from N1000 built-up areas and the SSB grid",
        _swatches(list(CLASS_COLOURS.values()), labels),
        note,
        towns.attrs.get("attribution", ""),
    )
    return m


def hinterland_polygons(cell_table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve grid cells into one polygon per nearest centre (cells with no route apart).

    Returns
    -------
    GeoDataFrame
        ``nearest_town_id``, ``nearest_town``, ``population``, ``rural_population``,
        ``median_minutes`` (population-weighted median), polygon geometry (EPSG:25833).
    """
    need = {"x_sw", "y_sw", "cell_size_m", "nearest_town_id", "population", "minutes_to_town"}
    if not need <= set(cell_table.columns):
        raise ValueError(f"cell table needs columns {sorted(need)}")
    x = cell_table["x_sw"].to_numpy(float)
    y = cell_table["y_sw"].to_numpy(float)
    s = cell_table["cell_size_m"].to_numpy(float)
    boxes = shapely.box(x, y, x + s, y + s)
    rows = []
    for tid, idx in cell_table.groupby("nearest_town_id").indices.items():
        sub = cell_table.iloc[idx]
        p = sub["population"].to_numpy(float)
        mins = sub["minutes_to_town"].to_numpy(float)
        ok = np.isfinite(mins)
        rows.append(
            {
                "nearest_town_id": tid,
                "nearest_town": sub["nearest_town"].iloc[0] if tid >= 0 else "no road route",
                "population": int(p.sum()),
                "rural_population": int(p[sub["rural"].to_numpy(bool)].sum()),
                "median_minutes": round(weighted_quantile(mins[ok], p[ok], 0.5), 1)
                if ok.any()
                else np.inf,
                "geometry": shapely.union_all(boxes[idx]),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:25833")


def map_hinterlands(
    cell_table: gpd.GeoDataFrame,
    centres: pd.DataFrame,
    *,
    title: str,
    attribution: str = "",
    note: str = "",
    simplify_m: float = 100.0,
) -> folium.Map:
    """Map hinterlands: one colour per nearest centre, centres marked with their figures.

    Parameters
    ----------
    cell_table : GeoDataFrame
        ``hinterlands(...).cells`` (or the cells of one county).
    centres : DataFrame
        ``hinterlands(...).towns``. Its markers show each centre's exclusive rural residents:
        of the region, where ``hinterlands(..., region=)`` made the cells a region's
        (``region_exclusive_rural_population``, the residents of the areas drawn), else of
        every cell (``exclusive_rural_population``).
    title, attribution, note : str
    simplify_m : float, default 100
        Outline simplification in metres.
    """
    if len(cell_table) == 0:
        raise ValueError("cannot map an empty cell table")
    poly = hinterland_polygons(cell_table)
    poly["geometry"] = poly.geometry.simplify(simplify_m)
    poly = _escape(poly, ["nearest_town"]).to_crs("EPSG:4326")
    poly["fill"] = [
        CATEGORY_COLOURS[int(t) % len(CATEGORY_COLOURS)] if t >= 0 else NO_ROUTE_COLOUR
        for t in poly["nearest_town_id"]
    ]
    m = new_map(poly.total_bounds)
    _layer(
        m,
        poly,
        f"Hinterlands: nearest centre ({len(poly)})",
        ["nearest_town", "population", "rural_population", "median_minutes"],
        ["Nearest centre", "Residents", "Rural residents", "Median minutes (cells)"],
        edge="#333",
        weight=0.6,
        opacity=0.55,
    )
    shown = centres[centres.index.isin(poly["nearest_town_id"])]
    figure = (
        ("region_exclusive_rural_population", "exclusive rural in the region")
        if "region_exclusive_rural_population" in shown
        else ("exclusive_rural_population", "exclusive rural")
    )
    _town_markers(m, shown, f"Centres ({len(shown)})", figure)
    add_legend(
        m,
        title,
        "<div>One colour per centre (a town of 5,000+): the area whose residents have it as "
        "their nearest centre by car. Grey: no road route. Hover for figures.</div>",
        note,
        attribution,
    )
    return m


def _minute_legend() -> str:
    labels = [
        f"{MINUTE_BINS[i]:g}–{MINUTE_BINS[i + 1]:g} min"
        if np.isfinite(MINUTE_BINS[i + 1])
        else f"> {MINUTE_BINS[i]:g} min"
        for i in range(len(MINUTE_COLOURS))
    ]
    return _swatches([*MINUTE_COLOURS, NO_ROUTE_COLOUR], [*labels, "no road/ferry route"])


def map_minutes_to_town(
    kommune_summary: pd.DataFrame,
    kommuner: gpd.GeoDataFrame,
    centres: pd.DataFrame | None = None,
    *,
    title: str = "Rural residents: median minutes by car to the nearest town of 5,000+",
    attribution: str = "",
    note: str = "",
) -> folium.Map:
    """National map: kommuner coloured by the rural median minutes to the nearest centre."""
    k = _join_kommuner(kommuner, kommune_summary)
    k = _escape(k, ["kommunenavn", "nearest_towns"]).to_crs("EPSG:4326")
    k["geometry"] = k.geometry.simplify(0.002)
    k["fill"] = minute_colour(k["rural_median_minutes"].to_numpy(float))
    k["median"] = k["rural_median_minutes"].round(1)
    k["within_45"] = (100 * k["rural_share_within_45"]).round(1)
    m = new_map(k.total_bounds)
    _layer(
        m,
        k,
        "Kommuner: rural median minutes to the nearest centre",
        ["kommunenavn", "rural_population", "median", "within_45", "nearest_towns"],
        ["Kommune", "Rural residents", "Median minutes", "% within 45 min", "Nearest centres"],
    )
    _town_markers(m, centres, "Centres (towns of 5,000+)")
    add_legend(m, title, _minute_legend(), note, attribution)
    return m


def map_centrality(
    areas: pd.DataFrame,
    kommuner: gpd.GeoDataFrame,
    *,
    title: str = "Centrality index in the manner of SSB (residents stand in for jobs)",
    attribution: str = "",
    note: str = "",
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> folium.Map:
    """Kommuner coloured by centrality class (1 = most central), index in the tooltip."""
    k = _join_kommuner(kommuner, areas)
    k = _escape(k, ["kommunenavn"]).to_crs("EPSG:4326")
    k["geometry"] = k.geometry.simplify(0.002)
    cls = k["centrality_class"].to_numpy(int)
    k["fill"] = [CENTRALITY_COLOURS[c - 1] if 1 <= c <= 6 else NO_ROUTE_COLOUR for c in cls]
    k["index"] = k["centrality_index"].round(0)
    m = new_map(k.total_bounds)
    _layer(
        m,
        k,
        "Kommuner: centrality class",
        ["kommunenavn", "population", "index", "centrality_class"],
        ["Kommune", "Residents", "Index (0-1000)", "Class"],
    )
    b = [] if thresholds is None else [float(v) for v in thresholds]
    labels = []
    for c in range(1, 7):
        if len(b) == 5:
            lo = f">= {b[c - 1]:.0f}" if c <= 5 else f"< {b[4]:.0f}"
            labels.append(f"class {c} ({lo})")
        else:
            labels.append(f"class {c}")
    add_legend(m, title, _swatches(CENTRALITY_COLOURS, labels), note, attribution)
    return m


def map_transport_performance(
    summary: pd.DataFrame,
    kommuner: gpd.GeoDataFrame,
    *,
    title: str = "Road transport performance (DG REGIO): 100 x pop. within 90 min / within 120 km",
    attribution: str = "",
    note: str = "",
) -> folium.Map:
    """Kommuner coloured by transport performance, both parts in the tooltip."""
    k = _join_kommuner(kommuner, summary)
    k = _escape(k, ["kommunenavn"]).to_crs("EPSG:4326")
    k["geometry"] = k.geometry.simplify(0.002)
    tp = k["transport_performance"].to_numpy(float)
    idx = np.clip(np.searchsorted(TP_BINS, tp, side="right") - 1, 0, len(TP_COLOURS) - 1)
    colours = np.asarray(TP_COLOURS, dtype=object)[idx]
    k["fill"] = np.where(np.isfinite(tp), colours, NO_ROUTE_COLOUR)
    k["tp"] = k["transport_performance"].round(1)
    k["acc"] = k["accessibility"].round(0)
    k["prox"] = k["proximity"].round(0)
    m = new_map(k.total_bounds)
    _layer(
        m,
        k,
        "Kommuner: transport performance",
        ["kommunenavn", "population", "tp", "acc", "prox"],
        ["Kommune", "Residents", "Transport performance", "Accessibility (90 min)",
         "Proximity (120 km)"],
    )
    labels = [
        f"{TP_BINS[i]:g}–{TP_BINS[i + 1]:g}"
        if np.isfinite(TP_BINS[i + 1])
        else f">= {TP_BINS[i]:g}"
        for i in range(len(TP_COLOURS))
    ]
    add_legend(m, title, _swatches(TP_COLOURS, labels), note, attribution)
    return m
