"""Folium maps that open anywhere, with a legend and the data attribution on every map.

Maps are built with ``offlinefolium`` (the folium-offline package: folium 0.20 with Leaflet,
jQuery, Bootstrap and the other web resources inlined), so a saved HTML file renders with no
network. The base layer is drawn from the shipped fylke and kommune boundaries; OpenStreetMap
tiles are an optional extra layer, off by default.
"""

from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import offlinefolium as folium
import pandas as pd
import shapely

from smaby_geo.outputs.rasters import MAX_OVERLAY_SIDE_PX, mercator_grid, png_bytes
from smaby_geo.places.grid import cell_squares

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
# Vertices drawn on one catchment map (catchments and isochrones together), about 20 bytes
# each in the HTML: with the base layers' 1.1 MB, a catchment map stays under about 3.5 MB.
# Sizes measured by benchmarks/pipeline.py (benchmarks/README.md).
MAX_MAP_VERTICES = 120_000
# Cell tables up to this many rows are drawn as GeoJSON squares (one tooltip each); larger
# ones as one raster image overlay with a hover/click lookup, whose size is capped by
# ``rasters.MAX_OVERLAY_SIDE_PX``. 5,000 squares are about 1.3 MB of HTML.
MAX_VECTOR_CELLS = 5_000
# Decimal places kept in map coordinates (degrees): 4 places = at most 11 m, far below the
# simplification of every layer drawn (0.002-0.003 degrees) and a 250 m cell.
COORD_DECIMALS = 4
# Web resources the maps use: Leaflet only. folium's defaults also inline jQuery, Bootstrap
# and Font Awesome (about 1.3 MB per map) that none of these layers needs.
_MAP_JS = ("leaflet",)
_MAP_CSS = ("leaflet_css",)


BASE_ATTRIBUTION = "© Kartverket (fylke and kommune boundaries)"


class _Text(folium.Element):
    """Markup or script already rendered: written out as is, never compiled as a template.

    branca wraps every rendered layer script in a new ``Element``, whose template compiles
    the whole text with jinja (data included): for a map with megabytes of GeoJSON or an
    inlined PNG that compile cost more than drawing the layers.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class _RawScripts(folium.MacroElement):
    """``MacroElement.render`` that hands its rendered parts to the page as ``_Text``."""

    def render(self, **kwargs) -> Any:
        figure: Any = self.get_root()
        module = self._template.module.__dict__
        for part, target in (
            ("header", figure.header),
            ("html", figure.html),
            ("script", figure.script),
        ):
            macro = module.get(part)
            if macro is not None:
                target.add_child(_Text(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _GeoJson(folium.GeoJson, _RawScripts):
    """``folium.GeoJson`` whose (large) script is not compiled as a template."""


class _ImageOverlay(folium.raster_layers.ImageOverlay, _RawScripts):
    """``folium.raster_layers.ImageOverlay`` whose inlined image is not compiled."""


class _CircleMarker(folium.CircleMarker, _RawScripts):  # type: ignore[misc]  # Marker.render takes no kwargs; ours is the one called
    """``folium.CircleMarker`` rendered without a template compile per marker."""


class _Tooltip(folium.Tooltip, _RawScripts):
    """``folium.Tooltip`` rendered without a template compile per tooltip."""


def _feature_collection(gdf: gpd.GeoDataFrame, fields) -> dict:
    """GeoJSON FeatureCollection of ``gdf`` (EPSG:4326) with ``fields`` as properties.

    Geometries are written by GEOS (``shapely.to_geojson``, vectorised) instead of one
    Python mapping per coordinate; each feature gets its row number as ``id``; missing
    numbers (NaN) become ``null``.
    """
    geoms = shapely.to_geojson(np.asarray(gdf.geometry.to_numpy()))
    props = gdf[list(fields)].astype(object)
    props = props.where(pd.notna(props), None).to_dict("records")
    return {
        "type": "FeatureCollection",
        "features": [
            {"id": str(i), "type": "Feature", "properties": p, "geometry": json.loads(g)}
            for i, (p, g) in enumerate(zip(props, geoms, strict=True))
        ],
    }


# Simplification of the base layer's boundaries, degrees.
BASE_SIMPLIFY_DEG = 0.003


@lru_cache(maxsize=1)
def _boundaries() -> tuple[dict, dict]:
    """Fylke and kommune boundaries as GeoJSON dicts (EPSG:4326, simplified).

    Kept in the data home as JSON (``derived_cache``), named by the two boundary files'
    bytes, the simplification, the rounding and the library versions; later runs read it.
    """
    from smaby_geo import datasets
    from smaby_geo.derived_cache import cached, entry_path, fingerprint

    files = (
        datasets.locate_dataset("fylker_simplified"),
        datasets.locate_dataset("kommuner_simplified"),
    )
    key = fingerprint(
        "map-base-v1",
        *files,
        Path(__file__),  # the simplifying code itself
        BASE_SIMPLIFY_DEG,
        COORD_DECIMALS,
        shapely.__version__,
        shapely.geos_version_string,
        gpd.__version__,
    )

    def compute() -> tuple[dict, dict]:
        fylker, kommuner = (gpd.read_file(f) for f in files)
        fylker["geometry"] = round_coordinates(fylker.geometry.simplify(BASE_SIMPLIFY_DEG))
        kommuner["geometry"] = round_coordinates(
            kommuner.geometry.boundary.simplify(BASE_SIMPLIFY_DEG)
        )
        return _feature_collection(fylker, []), _feature_collection(kommuner, [])

    def load(path) -> tuple[dict, dict]:
        fylker, kommuner = json.loads(path.read_text(encoding="utf-8"))
        return fylker, kommuner

    def save(value, path) -> None:
        path.write_text(json.dumps(list(value)), encoding="utf-8")

    return cached(entry_path("maps", "base_boundaries", key, "json"), compute, load, save)


def round_coordinates(geoms, decimals: int = COORD_DECIMALS):
    """Round coordinates (degrees) to ``decimals`` places so the GeoJSON text stays short."""
    import shapely

    out = shapely.transform(np.asarray(geoms), lambda c: np.round(c, decimals))
    return gpd.GeoSeries(out, index=getattr(geoms, "index", None), crs=getattr(geoms, "crs", None))


def new_map(bounds_wgs84) -> folium.Map:
    """An offline map fitted to ``(minx, miny, maxx, maxy)`` with the boundary base layer.

    The base layer (fylker as land, kommune borders) needs no network; OpenStreetMap tiles are
    added as an optional layer, hidden by default.
    """
    minx, miny, maxx, maxy = bounds_wgs84
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    m.default_js = [r for r in m.default_js if r[0] in _MAP_JS]
    m.default_css = [r for r in m.default_css if r[0] in _MAP_CSS]
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    # shared by every map of the process: folium reads these dicts and never changes them
    fylker, kommuner = _boundaries()
    base = folium.FeatureGroup(name="Base: fylker and kommuner (offline)", control=True)
    _GeoJson(
        fylker,
        style_function=lambda f: {
            "fillColor": "#efe9dc",
            "color": "#8c8c8c",
            "weight": 1.0,
            "fillOpacity": 1.0,
        },
        interactive=False,
    ).add_to(base)
    _GeoJson(
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


def _bounds_wgs84(table: gpd.GeoDataFrame) -> np.ndarray:
    """(minx, miny, maxx, maxy) in degrees of the layer's bounding box.

    Points along the box's outline are reprojected, so no row of the layer is.
    """
    from pyproj import Transformer

    x0, y0, x1, y1 = table.total_bounds
    t = np.linspace(0.0, 1.0, 51)
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(51, x1), x0 + (x1 - x0) * t, np.full(51, x0)])
    ys = np.concatenate([np.full(51, y0), y0 + (y1 - y0) * t, np.full(51, y1), y0 + (y1 - y0) * t])
    lon, lat = Transformer.from_crs(table.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    return np.array([np.min(lon), np.min(lat), np.max(lon), np.max(lat)])
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
        _CircleMarker(
            [r.geometry.y, r.geometry.x],
            radius=radius,
            color=edge,
            fill=True,
            fill_color=fill,
            fill_opacity=1.0,
            tooltip=_Tooltip(escape_html(r.get("name", ""))),
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
    m.get_root().html.add_child(  # type: ignore[attr-defined]  # folium's Figure has .html
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


_LOOKUP_JS = """
(function () {
  var map = %(map)s, layer = %(layer)s, info = %(info)s;
  var box = document.getElementById(info.box);
  var vals = null, pops = null;
  function load(src, done) {
    var img = new Image();
    img.onload = function () {
      var c = document.createElement("canvas");
      c.width = info.w; c.height = info.h;
      var ctx = c.getContext("2d");
      ctx.drawImage(img, 0, 0);
      done(ctx.getImageData(0, 0, info.w, info.h).data);
    };
    img.src = src;
  }
  load(info.values, function (d) { vals = d; });
  load(info.population, function (d) { pops = d; });
  function lookup(lat, lng) {
    if (!vals || !pops || !map.hasLayer(layer)) { return null; }
    var R = 6378137, x = R * lng * Math.PI / 180;
    var y = R * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
    var col = Math.floor((x - info.x0) / info.px), row = Math.floor((info.y1 - y) / info.px);
    if (col < 0 || row < 0 || col >= info.w || row >= info.h) { return null; }
    var i = 4 * (row * info.w + col);
    if (vals[i + 3] === 0) { return null; }
    var code = vals[i] * 256 + vals[i + 1];
    var text = code === 65535 ? info.none : ((code - 32768) / 10).toFixed(1) + " " + info.unit;
    var p = pops[i] * 65536 + pops[i + 1] * 256 + pops[i + 2];
    return info.label + ": " + text + ", " + p.toLocaleString("en") + " people";
  }
  window.smabyLookup = window.smabyLookup || {};
  window.smabyLookup[info.box] = lookup;
  map.on("mousemove", function (e) {
    var r = lookup(e.latlng.lat, e.latlng.lng);
    if (box) { box.textContent = r || info.hint; }
  });
  map.on("click", function (e) {
    var r = lookup(e.latlng.lat, e.latlng.lng);
    if (r) { L.popup().setLatLng(e.latlng).setContent(document.createTextNode(r)).openOn(map); }
  });
})();
"""


class _Script(_RawScripts):
    """A map child whose script runs after the map and earlier children are created."""

    _template = jinja2.Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

    def __init__(self, js: str) -> None:
        super().__init__()
        self._name = "SmabyScript"
        self.js = js


def _hex_rgb(colours) -> np.ndarray:
    """(n, 3) uint8 from '#rrggbb' strings (converted once per distinct colour)."""
    uniq, inv = np.unique(np.asarray(colours, dtype=str), return_inverse=True)
    rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in uniq], np.uint8)
    return rgb.reshape(-1, 3)[inv.ravel()]


def _data_url(rgba: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgba)).decode("ascii")


def add_cell_overlay(
    m: folium.Map,
    table: pd.DataFrame,
    column: str,
    *,
    name: str,
    colour,
    label: str = "Minutes",
    unit: str = "min",
    max_side_px: int = MAX_OVERLAY_SIDE_PX,
    opacity: float = 0.85,
) -> str:
    """Draw a grid-cell column as one image overlay with a hover and click lookup.

    The cells are binned onto Web Mercator pixels (``rasters.mercator_grid``; pixel sides
    capped at ``max_side_px``), coloured by ``colour`` and inlined as a PNG. Two more inlined
    PNGs carry each pixel's value (0.1 precision) and population, read back in the page
    through a canvas: moving the pointer writes them into the legend, a click opens a popup.
    Everything is inlined; the page stays offline.

    Parameters
    ----------
    m : folium.Map
    table : DataFrame
        Grid cells (``x_sw``, ``y_sw``, ``cell_size_m``, ``population``, ``column``).
    column : str
        Values to draw (``inf`` = no route).
    name : str
        Layer name in the layer control.
    colour : callable
        Array of values -> array of '#rrggbb' (e.g. ``minute_colour``).
    label, unit : str
        How the lookup names the value.
    max_side_px : int
        Cap on the overlay's width and height in pixels.
    opacity : float

    Returns
    -------
    str
        HTML of the legend line the lookup writes into (add it to the legend body).
    """
    g = mercator_grid(table, column, max_side_px=max_side_px)
    v = g.value
    has = ~np.isnan(v)
    h, w = v.shape
    img = np.zeros((h, w, 4), np.uint8)
    img[has, :3] = _hex_rgb(colour(v[has]))
    img[has, 3] = 255
    fin = np.where(np.isfinite(v), v, 0.0).astype(np.float64)
    code = np.where(np.isinf(v), 65535, np.clip(np.round(fin * 10) + 32768, 0, 65534))
    code = code.astype(np.int64)
    val = np.zeros((h, w, 4), np.uint8)
    val[..., 0], val[..., 1] = code >> 8, code & 255
    val[..., 3] = np.where(has, 255, 0)
    p = np.clip(np.round(g.population), 0, 2**24 - 1).astype(np.int64)
    pop = np.zeros((h, w, 4), np.uint8)
    pop[..., 0], pop[..., 1], pop[..., 2] = p >> 16, (p >> 8) & 255, p & 255
    pop[..., 3] = 255
    layer = _ImageOverlay(
        _data_url(img),
        [list(g.bounds_wgs84[0]), list(g.bounds_wgs84[1])],
        name=name,
        opacity=opacity,
        pixelated=True,
        interactive=False,
    )
    layer.add_to(m)
    box = f"smaby-lookup-{layer.get_name()}"
    hint = f"Point at a cell for its {label.lower()} ({w}x{h} px, {g.pixel_m / 1000:.2f} km pixels)"
    info = {
        "box": box,
        "w": w,
        "h": h,
        "x0": g.bounds_m[0],
        "y1": g.bounds_m[3],
        "px": g.pixel_m,
        "label": label,
        "unit": unit,
        "none": "no road/ferry route",
        "hint": hint,
        "values": _data_url(val),
        "population": _data_url(pop),
    }
    js = _LOOKUP_JS % {"map": m.get_name(), "layer": layer.get_name(), "info": json.dumps(info)}
    _Script(js).add_to(m)  # rendered after the map and the overlay exist
    return f'<div id="{box}" style="margin-top:4px">{html.escape(hint)}</div>'


def map_minutes(
    table: gpd.GeoDataFrame,
    service_type: str,
    *,
    kommune_summary: pd.DataFrame | None = None,
    kommuner: gpd.GeoDataFrame | None = None,
    services: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    max_cells: int = MAX_VECTOR_CELLS,
    max_side_px: int = MAX_OVERLAY_SIDE_PX,
) -> folium.Map:
    """Map minutes to the nearest service of one type.

    Parameters
    ----------
    table : GeoDataFrame
        ``travel_times`` output (grid cells with ``x_sw``/``y_sw``/``cell_size_m`` are drawn
        as squares up to ``max_cells`` rows and as an image overlay with a hover/click lookup
        beyond; other origins as dots).
    service_type : str
        Which ``<type>_minutes`` column to map.
    kommune_summary : DataFrame, optional
        ``summarise`` output; with ``kommuner`` it draws kommuner by weighted median minutes.
    kommuner : GeoDataFrame, optional
        Kommune polygons with ``kommunenummer``.
    services : GeoDataFrame, optional
        Sites to mark.
    title : str, optional
    max_cells : int, default ``MAX_VECTOR_CELLS``
        Largest grid table drawn as GeoJSON squares.
    max_side_px : int, default ``rasters.MAX_OVERLAY_SIDE_PX``
        Cap on the overlay image's width and height.

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
    m = new_map(_bounds_wgs84(table))

    if kommune_summary is not None and kommuner is not None:
        ks = kommune_summary[kommune_summary["service_type"] == service_type]
        k = kommuner.merge(ks, on="kommunenummer", how="inner").to_crs("EPSG:4326")
        k["geometry"] = round_coordinates(k.geometry.simplify(0.002))
        k["fill"] = minute_colour(k["median_minutes"].to_numpy())
        k["median_min"] = k["median_minutes"].round(1)
        k = escape_columns(k, ["kommunenummer", "kommunenavn"])
        _GeoJson(
            _feature_collection(
                k, ["kommunenummer", "kommunenavn", "median_min", "population", "fill"]
            ),
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

    lookup_html = ""
    if len(table) <= max_cells or (not _is_grid(table) and len(table) <= MAX_CELLS_ON_MAP):
        cells = table[[col, "population", "geometry"]].copy()
        name_col = f"{service_type}_name"
        cells["nearest"] = table[name_col].fillna("-") if name_col in table else "-"
        if _is_grid(table):
            cells["geometry"] = cell_squares(table)
        cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=table.crs).to_crs("EPSG:4326")
        cells["geometry"] = round_coordinates(cells.geometry)
        cells["fill"] = minute_colour(cells[col].to_numpy())
        cells["minutes"] = cells[col].round(1).astype(str)
        cells = escape_columns(cells, ["nearest"])
        _GeoJson(
            _feature_collection(cells, ["minutes", "population", "nearest", "fill"]),
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
    elif _is_grid(table):
        lookup_html = add_cell_overlay(
            m,
            table,
            col,
            name=f"Populated cells: minutes to nearest {service_type} ({len(table):,} cells, "
            "image)",
            colour=minute_colour,
            label=f"Minutes to the nearest {service_type.replace('_', ' ')}",
            max_side_px=max_side_px,
        )

    add_sites(m, services, service_type, fill="#2171b5", edge="#08306b", radius=6)

    add_legend(m, title, _minute_swatches() + lookup_html, note, attribution)
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


def _category_colours(layer: gpd.GeoDataFrame, simplify_m: float | None) -> gpd.GeoDataFrame:
    """Simplify (metres; None: already simplified), reproject to EPSG:4326, one ``fill`` each."""
    out = layer.copy()
    if simplify_m is not None:
        out["geometry"] = out.geometry.simplify(simplify_m)
    out = out.to_crs("EPSG:4326")
    out["geometry"] = round_coordinates(out.geometry)
    out["fill"] = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(out))]
    return out


def _add_category_layer(m, layer, name, fields, aliases, *, edge, weight, opacity) -> None:
    """One GeoJson layer coloured by ``fill`` with a tooltip of ``fields`` (text escaped)."""
    layer = escape_columns(layer, fields)
    add_fill_layer(m, layer, name, fields, aliases, edge=edge, weight=weight, opacity=opacity)


def add_fill_layer(m, layer, name, fields, aliases, *, edge, weight, opacity) -> None:
    """One GeoJson layer coloured by its ``fill`` column, tooltip ``fields`` (already escaped).

    Callers escape user text first (``escape_columns`` / ``escape_html``).
    """
    _GeoJson(
        _feature_collection(layer.to_crs("EPSG:4326"), [*fields, "fill"]),
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": edge,
            "weight": weight,
            "fillOpacity": opacity,
        },
        tooltip=folium.GeoJsonTooltip(fields, aliases=aliases),
    ).add_to(m)


def _simplify_within(
    catchment_geoms: np.ndarray,
    isochrone_geoms: np.ndarray | None,
    simplify_m: float,
    max_vertices: int,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Simplify catchments and isochrones for a map, doubling the tolerance to fit the cap.

    Catchments keep their topology (they tile the region) unless no tolerance fits the cap
    (then plain Douglas-Peucker, which lets the smallest pieces go); isochrone outlines take
    plain Douglas-Peucker after dropping collinear vertices, several times faster on
    raster-traced outlines with thousands of holes (display only).

    Returns
    -------
    catchments, isochrones, tolerance_m used
    """
    iso0 = (
        None
        if isochrone_geoms is None
        else shapely.simplify(isochrone_geoms, 0.0, preserve_topology=False)
    )
    tol = max(float(simplify_m), 0.0)
    keep_topology = True
    while True:
        c = shapely.simplify(catchment_geoms, tol, preserve_topology=keep_topology)
        iso = None if iso0 is None else shapely.simplify(iso0, tol, preserve_topology=False)
        n = int(shapely.get_num_coordinates(c).sum())
        n += 0 if iso is None else int(shapely.get_num_coordinates(iso).sum())
        if n <= max_vertices or tol <= 0:
            return c, iso, tol
        if tol > 1e6:  # many small pieces keep >= 4 vertices each: let the smallest go
            if not keep_topology:
                return c, iso, tol
            keep_topology, tol = False, max(float(simplify_m), 1.0)
            continue
        tol *= 2.0


def map_catchments(
    catchment_layer: gpd.GeoDataFrame,
    *,
    isochrone_layer: gpd.GeoDataFrame | None = None,
    services: gpd.GeoDataFrame | None = None,
    simplify_m: float | None = None,
    title: str | None = None,
    max_vertices: int = MAX_MAP_VERTICES,
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
    max_vertices : int, default ``MAX_MAP_VERTICES``
        Cap on the vertices drawn (catchments and isochrones together): the tolerance is
        doubled until the simplified outlines fit, which caps the file size.

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
    iso = None
    if isochrone_layer is not None and len(isochrone_layer):
        iso = isochrone_layer.dropna(subset=["geometry"]).copy()
    shown_c, shown_iso, simplify_m = _simplify_within(
        c.geometry.to_numpy(),
        None if iso is None else iso.geometry.to_numpy(),
        float(simplify_m),
        int(max_vertices),
    )
    c["geometry"] = shown_c
    c = _category_colours(c, None)
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
    if iso is not None:
        iso["geometry"] = shown_iso
        iso = iso[~iso.geometry.is_empty & iso.geometry.notna()]
        iso = iso.to_crs("EPSG:4326")
        iso["geometry"] = round_coordinates(iso.geometry)
        colours = minute_colour(iso["minutes"].to_numpy() - 1e-9)
        outlines = shapely.to_geojson(iso.geometry.to_numpy())
        for (_, r), col, outline in zip(iso.iterrows(), colours, outlines, strict=True):
            _GeoJson(
                json.loads(outline),
                name=f"Isochrone {r['minutes']:g} min",
                style_function=lambda f, col=col: {"color": col, "weight": 2, "fillOpacity": 0.0},
                tooltip=f"within {r['minutes']:g} min",
            ).add_to(m)
    add_sites(m, services, stype, fill="#fff", edge="#000", radius=5)
    add_legend(
        m,
        title,
        "<div>Each colour is the area whose residents are nearest (by car time) to one "
        "site; lines are isochrones from populated cells. Outlines drawn simplified to "
        f"{simplify_m:,.0f} m (the GeoPackages keep full detail).</div>",
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
        _GeoJson(
            _feature_collection(sel, ["change", "population", "fill"]),
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
