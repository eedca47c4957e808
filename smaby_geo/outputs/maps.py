"""Folium maps that open anywhere, with a legend and the data attribution on every map.

Maps are built with ``offlinefolium`` (the folium-offline package: folium 0.20 with Leaflet,
jQuery, Bootstrap and the other web resources inlined), so a saved HTML file renders with no
network. The base layer is drawn from the shipped fylke and kommune boundaries; OpenStreetMap
tiles are an optional extra layer, off by default.
"""

from __future__ import annotations

import html
from functools import lru_cache

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import pandas as pd

from smaby_geo.analysis.catchments import cell_squares

# Minute classes and colours (light = near, dark = far); grey = no route.
MINUTE_BINS: tuple[float, ...] = (0, 15, 30, 45, 60, 90, 120, np.inf)
MINUTE_COLOURS: tuple[str, ...] = (
    "#1a9850",
    "#91cf60",
    "#d9ef8b",
    "#fee08b",
    "#fc8d59",
    "#d73027",
    "#7f0000",
)
NO_ROUTE_COLOUR = "#9e9e9e"
MAX_CELLS_ON_MAP = 40_000


BASE_ATTRIBUTION = "© Kartverket (fylke and kommune boundaries)"


@lru_cache(maxsize=1)
def _boundaries() -> tuple[str, str]:
    """Fylke and kommune boundaries as GeoJSON strings (EPSG:4326, simplified)."""
    from smaby_geo import datasets

    fylker = gpd.read_file(datasets.locate_dataset("fylker_simplified"))
    kommuner = gpd.read_file(datasets.locate_dataset("kommuner_simplified"))
    fylker["geometry"] = fylker.geometry.simplify(0.003)
    kommuner["geometry"] = kommuner.geometry.boundary.simplify(0.003)
    return fylker[["geometry"]].to_json(), kommuner[["geometry"]].to_json()


def new_map(bounds_wgs84) -> folium.Map:
    """An offline map fitted to ``(minx, miny, maxx, maxy)`` with the boundary base layer.

    The base layer (fylker as land, kommune borders) needs no network; OpenStreetMap tiles are
    added as an optional layer, hidden by default.
    """
    minx, miny, maxx, maxy = bounds_wgs84
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    fylker, kommuner = _boundaries()
    base = folium.FeatureGroup(name="Base: fylker and kommuner (offline)", control=True)
    folium.GeoJson(
        fylker,
        style_function=lambda f: {
            "fillColor": "#efe9dc",
            "color": "#8c8c8c",
            "weight": 1.0,
            "fillOpacity": 1.0,
        },
        interactive=False,
    ).add_to(base)
    folium.GeoJson(
        kommuner, style_function=lambda f: {"color": "#b5b5b5", "weight": 0.5}, interactive=False
    ).add_to(base)
    base.add_to(m)
    folium.TileLayer(
        "OpenStreetMap",
        name="OpenStreetMap tiles (online)",
        attr="© OpenStreetMap contributors",
        show=False,
        overlay=True,
    ).add_to(m)
    return m


def escape_html(text) -> str:
    """Escape ``text`` for HTML and for the JavaScript template literals folium wraps it in.

    Besides ``& < > " '``, the backtick, ``$`` and backslash are replaced by character
    references, so a name such as ``${alert(1)}`` or ``<img src=x onerror=...>`` shows as text
    in a tooltip and never runs.
    """
    return (
        html.escape(str(text), quote=True)
        .replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
    )


def escape_columns(df: pd.DataFrame, columns) -> pd.DataFrame:
    """Return ``df`` with the text values of ``columns`` HTML-escaped (``<`` -> ``&lt;`` ...).

    Folium tooltips and popups render their text as HTML, so every user-supplied string
    (facility names from scenarios or services files, kommune names) goes through here
    before it reaches a map.
    """
    out = df.copy()
    for c in columns:
        if c in out.columns and not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(lambda v: escape_html(v) if isinstance(v, str) else v)
    return out


def _is_grid(table) -> bool:
    return {"x_sw", "y_sw", "cell_size_m"} <= set(table.columns)


def add_sites(
    m: folium.Map, services, service_type: str, *, fill: str, edge: str, radius: int
) -> None:
    """Mark the sites of one service type (a layer named with their count), names as tooltips."""
    if services is None or not len(services):
        return
    sv = services[services["service_type"] == service_type].to_crs("EPSG:4326")
    fg = folium.FeatureGroup(name=f"{service_type} sites ({len(sv)})")
    for _, r in sv.iterrows():
        folium.CircleMarker(
            [r.geometry.y, r.geometry.x],
            radius=radius,
            color=edge,
            fill=True,
            fill_color=fill,
            fill_opacity=1.0,
            tooltip=escape_html(r.get("name", "")),
        ).add_to(fg)
    fg.add_to(m)


def minute_colour(minutes: np.ndarray) -> np.ndarray:
    """Colour of each value by ``MINUTE_BINS`` (grey for inf/NaN)."""
    m = np.asarray(minutes, dtype=float)
    idx = np.clip(np.searchsorted(MINUTE_BINS, m, side="right") - 1, 0, len(MINUTE_COLOURS) - 1)
    out = np.asarray(MINUTE_COLOURS, dtype=object)[idx]
    out[~np.isfinite(m)] = NO_ROUTE_COLOUR
    return out


def add_legend(m: folium.Map, title: str, body_html: str, note: str, attribution: str) -> None:
    """Add the fixed legend box: title, body (swatches, text), the data note and attribution.

    ``body_html`` is trusted markup built by this module; the texts are escaped.
    """
    m.get_root().html.add_child(
        folium.Element(f"""
<div id="smaby-legend" style="position:fixed;bottom:44px;left:12px;z-index:1000;
 background:white;padding:8px 10px;border:1px solid #888;border-radius:4px;
 font:12px/1.4 sans-serif;max-width:330px">
 <b>{html.escape(title)}</b>
 <style>#smaby-legend span{{display:inline-block;width:14px;height:10px;margin-right:6px}}</style>
 {body_html}
 <div style="margin-top:6px;color:#444">{html.escape(note)}</div>
 <div class="smaby-attribution" style="margin-top:4px;color:#444">Data: {html.escape(attribution)}
 </div>
</div>""")
    )
    folium.LayerControl(collapsed=False).add_to(m)


def _swatches(colours, labels) -> str:
    return "".join(
        f'<div><span style="background:{c}"></span>{html.escape(lab)}</div>'
        for c, lab in zip(colours, labels, strict=True)
    )


def _minute_swatches() -> str:
    labels = [
        f"{MINUTE_BINS[i]:g}–{MINUTE_BINS[i + 1]:g} min"
        if np.isfinite(MINUTE_BINS[i + 1])
        else f"> {MINUTE_BINS[i]:g} min"
        for i in range(len(MINUTE_COLOURS))
    ]
    return _swatches([*MINUTE_COLOURS, NO_ROUTE_COLOUR], [*labels, "no road/ferry route"])


def map_minutes(
    table: gpd.GeoDataFrame,
    service_type: str,
    *,
    kommune_summary: pd.DataFrame | None = None,
    kommuner: gpd.GeoDataFrame | None = None,
    services: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    max_cells: int = MAX_CELLS_ON_MAP,
) -> folium.Map:
    """Map minutes to the nearest service of one type.

    Parameters
    ----------
    table : GeoDataFrame
        ``travel_times`` output (grid cells with ``x_sw``/``y_sw``/``cell_size_m`` are drawn
        as squares, other origins as dots). Drawn only up to ``max_cells`` rows (national runs
        show kommuner instead).
    service_type : str
        Which ``<type>_minutes`` column to map.
    kommune_summary : DataFrame, optional
        ``summarise`` output; with ``kommuner`` it draws kommuner by weighted median minutes.
    kommuner : GeoDataFrame, optional
        Kommune polygons with ``kommunenummer``.
    services : GeoDataFrame, optional
        Sites to mark.
    title : str, optional

    Returns
    -------
    folium.Map
        With a legend, tooltips (name, minutes, population) and the data attribution.

    Raises
    ------
    ValueError
        Empty table, or a table without ``<type>_minutes``.
    """
    col = f"{service_type}_minutes"
    if len(table) == 0:
        raise ValueError("cannot map an empty travel-time table")
    if col not in table.columns:
        raise ValueError(f"table has no column {col!r}; it has {list(table.columns)[:12]}")
    attribution = table.attrs.get("attribution", "")
    note = table.attrs.get("note", "")
    title = title or f"Minutes by car to the nearest {service_type.replace('_', ' ')}"
    m = new_map(table.to_crs("EPSG:4326").total_bounds)

    if kommune_summary is not None and kommuner is not None:
        ks = kommune_summary[kommune_summary["service_type"] == service_type]
        k = kommuner.merge(ks, on="kommunenummer", how="inner").to_crs("EPSG:4326")
        k["geometry"] = k.geometry.simplify(0.002)
        k["fill"] = minute_colour(k["median_minutes"].to_numpy())
        k["median_min"] = k["median_minutes"].round(1)
        k = escape_columns(k, ["kommunenummer", "kommunenavn"])
        folium.GeoJson(
            k[["kommunenummer", "kommunenavn", "median_min", "population", "fill", "geometry"]],
            name="Kommuner: population-weighted median minutes",
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": "#555",
                "weight": 0.5,
                "fillOpacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(
                ["kommunenavn", "median_min", "population"],
                aliases=["Kommune", "Median minutes", "Population"],
            ),
        ).add_to(m)

    if len(table) <= max_cells:
        cells = table[[col, "population", "geometry"]].copy()
        name_col = f"{service_type}_name"
        cells["nearest"] = table[name_col].fillna("-") if name_col in table else "-"
        if _is_grid(table):
            cells["geometry"] = cell_squares(table)
        cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=table.crs).to_crs("EPSG:4326")
        cells["fill"] = minute_colour(cells[col].to_numpy())
        cells["minutes"] = cells[col].round(1).astype(str)
        cells = escape_columns(cells, ["nearest"])
        folium.GeoJson(
            cells[["minutes", "population", "nearest", "fill", "geometry"]],
            name=f"Populated cells: minutes to nearest {service_type}",
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": None,
                "weight": 0,
                "fillOpacity": 0.8,
                "radius": 3,
            },
            marker=folium.CircleMarker(radius=3),
            tooltip=folium.GeoJsonTooltip(
                ["minutes", "population", "nearest"],
                aliases=["Minutes", "Population", "Nearest site"],
            ),
        ).add_to(m)

    add_sites(m, services, service_type, fill="#2171b5", edge="#08306b", radius=6)

    add_legend(m, title, _minute_swatches(), note, attribution)
    return m


CATEGORY_COLOURS: tuple[str, ...] = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#1f78b4",
    "#b2df8a",
    "#fb9a99",
    "#cab2d6",
)


def _category_colours(layer: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    """Simplify (metres), reproject to EPSG:4326 and give each row its own ``fill`` colour."""
    out = layer.copy()
    out["geometry"] = out.geometry.simplify(simplify_m)
    out = out.to_crs("EPSG:4326")
    out["fill"] = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(out))]
    return out


def _add_category_layer(m, layer, name, fields, aliases, *, edge, weight, opacity) -> None:
    """One GeoJson layer coloured by ``fill`` with a tooltip of ``fields`` (text escaped)."""
    layer = escape_columns(layer, fields)
    folium.GeoJson(
        layer[[*fields, "fill", "geometry"]],
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": edge,
            "weight": weight,
            "fillOpacity": opacity,
        },
        tooltip=folium.GeoJsonTooltip(fields, aliases=aliases),
    ).add_to(m)


def map_catchments(
    catchment_layer: gpd.GeoDataFrame,
    *,
    isochrone_layer: gpd.GeoDataFrame | None = None,
    services: gpd.GeoDataFrame | None = None,
    simplify_m: float | None = None,
    title: str | None = None,
) -> folium.Map:
    """Map catchment polygons (one colour per site) and optional isochrones.

    Parameters
    ----------
    catchment_layer : GeoDataFrame
        ``catchments`` output (``service_id``, ``name``, ``population``, ``median_minutes``).
    isochrone_layer : GeoDataFrame, optional
        ``isochrones`` output (``minutes``), drawn as outlines.
    services : GeoDataFrame, optional
        Sites to mark.
    simplify_m : float, optional
        Geometry simplification for the HTML (metres); default 1/2000 of the layer's extent
        (about 1 km nationally, 100 m for a county). The GeoPackages keep full detail.
    title : str, optional

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        Empty layer or missing columns.
    """
    need = {"service_id", "population", "geometry"}
    if len(catchment_layer) == 0 or catchment_layer.geometry.isna().all():
        raise ValueError("cannot map an empty catchment layer")
    if not need <= set(catchment_layer.columns):
        raise ValueError(f"catchment layer needs columns {sorted(need)}")
    stype = catchment_layer.attrs.get("service_type", "service")
    title = title or f"Catchments: nearest {stype.replace('_', ' ')} by car"
    c = catchment_layer.dropna(subset=["geometry"]).copy()
    if simplify_m is None:
        b = c.total_bounds
        simplify_m = max(50.0, float(np.hypot(b[2] - b[0], b[3] - b[1])) / 2000.0)
    c["median_min"] = c["median_minutes"].round(1) if "median_minutes" in c else None
    if "name" not in c:
        c["name"] = c["service_id"]
    c = _category_colours(c, simplify_m)
    m = new_map(c.total_bounds)
    _add_category_layer(
        m,
        c,
        f"Catchments ({len(c)})",
        ["name", "population", "median_min"],
        ["Site", "Population", "Median minutes"],
        edge="#333",
        weight=0.6,
        opacity=0.55,
    )
    if isochrone_layer is not None and len(isochrone_layer):
        iso = isochrone_layer.dropna(subset=["geometry"]).copy()
        iso["geometry"] = iso.geometry.simplify(simplify_m)
        iso = iso.to_crs("EPSG:4326")
        colours = minute_colour(iso["minutes"].to_numpy() - 1e-9)
        for (_, r), col in zip(iso.iterrows(), colours, strict=True):
            folium.GeoJson(
                r.geometry.__geo_interface__,
                name=f"Isochrone {r['minutes']:g} min",
                style_function=lambda f, col=col: {"color": col, "weight": 2, "fillOpacity": 0.0},
                tooltip=f"within {r['minutes']:g} min",
            ).add_to(m)
    add_sites(m, services, stype, fill="#fff", edge="#000", radius=5)
    add_legend(
        m,
        title,
        "<div>Each colour is the area whose residents are nearest (by car time) to one "
        "site; lines are isochrones from populated cells.</div>",
        catchment_layer.attrs.get("note", ""),
        catchment_layer.attrs.get("attribution", ""),
    )
    return m


def map_regions(
    polygons: gpd.GeoDataFrame, *, title: str | None = None, attribution: str = "", note: str = ""
) -> folium.Map:
    """Map labour-market regions: one colour per region, tooltips with centre and figures.

    Parameters
    ----------
    polygons : GeoDataFrame
        ``region_polygons`` output (``region``, ``centre_name``, ``n_kommuner``, optional
        ``population`` and ``self_containment``).
    title, attribution, note : str

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        Empty layer or missing columns.
    """
    need = {"region", "centre_name", "n_kommuner", "geometry"}
    if len(polygons) == 0:
        raise ValueError("cannot map an empty region layer")
    if not need <= set(polygons.columns):
        raise ValueError(f"region layer needs columns {sorted(need)}")
    p = polygons.copy()
    for col in ("population", "self_containment"):
        if col not in p:
            p[col] = np.nan
    p["self_containment"] = p["self_containment"].round(3)
    p = _category_colours(p, 500.0)
    m = new_map(p.total_bounds)
    _add_category_layer(
        m,
        p,
        f"Labour-market regions ({len(p)})",
        ["centre_name", "n_kommuner", "population", "self_containment"],
        ["Centre", "Kommuner", "Population", "Self-containment"],
        edge="#222",
        weight=0.8,
        opacity=0.6,
    )
    add_legend(
        m,
        title or f"Labour-market regions ({len(p)})",
        "<div>One colour per region; hover for its centre and figures.</div>",
        note,
        attribution,
    )
    return m


DELTA_BINS: tuple[float, ...] = (-np.inf, -30, -15, -5, -1, -0.05, 0.05, 1, 5, 15, 30, np.inf)
DELTA_COLOURS: tuple[str, ...] = (
    "#053061",
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#d1e5f0",
    "#f7f7f7",
    "#fddbc7",
    "#f4a582",
    "#d6604d",
    "#b2182b",
    "#67001f",
)


def map_difference(
    cells: gpd.GeoDataFrame,
    service_type: str,
    *,
    title: str | None = None,
    attribution: str = "",
    note: str = "",
    max_cells: int = MAX_CELLS_ON_MAP,
) -> folium.Map:
    """Map the change in minutes per cell (blue faster, red slower); unchanged cells omitted.

    Parameters
    ----------
    cells : GeoDataFrame
        ``compare(...)["cells"]`` with ``<type>_delta``.
    service_type : str
    title, attribution, note : str
    max_cells : int
        At most this many changed cells are drawn (the largest changes first).

    Returns
    -------
    folium.Map
        A map saying "no change" when nothing changed (never a blank page).
    """
    col = f"{service_type}_delta"
    if col not in cells.columns:
        raise ValueError(f"cells have no {col!r}")
    d = cells[col].to_numpy(float)
    changed = np.abs(d) > 0.05
    sel = cells.loc[changed].copy()
    if len(sel) > max_cells:
        sel = sel.iloc[np.argsort(-np.abs(sel[col].to_numpy()))[:max_cells]]
    base = cells if len(sel) == 0 else sel
    m = new_map(base.to_crs("EPSG:4326").total_bounds)
    title = title or f"Change in minutes to the nearest {service_type.replace('_', ' ')}"
    if len(sel):
        if _is_grid(sel):
            sel["geometry"] = cell_squares(sel)
        sel = gpd.GeoDataFrame(sel, geometry="geometry", crs=cells.crs).to_crs("EPSG:4326")
        idx = np.clip(
            np.searchsorted(DELTA_BINS, sel[col].to_numpy(), side="right") - 1,
            0,
            len(DELTA_COLOURS) - 1,
        )
        sel["fill"] = np.asarray(DELTA_COLOURS, dtype=object)[idx]
        sel["change"] = sel[col].round(1).astype(str)
        folium.GeoJson(
            sel[["change", "population", "fill", "geometry"]],
            name=f"Changed cells ({len(sel)})",
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": None,
                "weight": 0,
                "fillOpacity": 0.85,
            },
            tooltip=folium.GeoJsonTooltip(
                ["change", "population"], aliases=["Change (min)", "Population"]
            ),
        ).add_to(m)
        status = f"{len(sel):,} cells changed"
    else:
        status = "No cell's travel time changed in this scenario."
    labels = [f"{DELTA_BINS[i]:g} to {DELTA_BINS[i + 1]:g} min" for i in range(len(DELTA_COLOURS))]
    add_legend(
        m,
        title,
        f"<div>{html.escape(status)}</div>" + _swatches(DELTA_COLOURS, labels),
        note,
        attribution,
    )
    return m
