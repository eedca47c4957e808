"""Map functions: bad input gives a clear error or a sensible map, never a blank page."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from smaby_geo.outputs.maps import (
    DELTA_BINS,
    DELTA_COLOURS,
    map_catchments,
    map_difference,
    map_minutes,
    map_regions,
)
from smaby_geo.outputs.static import static_map
from tests.offline import external_refs


def _cells(minutes):
    n = len(minutes)
    g = gpd.GeoDataFrame(
        {
            "population": np.arange(1, n + 1),
            "hospital_minutes": minutes,
            "hospital_name": ["H"] * n,
            "x_sw": 250000 + 250 * np.arange(n),
            "y_sw": 6900000,
            "cell_size_m": 250,
        },
        geometry=[Point(250125 + 250 * i, 6900125) for i in range(n)],
        crs="EPSG:25833",
    )
    g.attrs.update(attribution="© Kartverket | Kilde: SSB", note="lists are incomplete")
    return g


def test_minutes_map_has_legend_attribution_and_offline_leaflet():
    html = map_minutes(_cells([5.0, 20.0, np.inf]), "hospital").get_root().render()
    assert "smaby-legend" in html and "Kilde: SSB" in html and "no road/ferry route" in html
    assert external_refs(html) == [] and "L.map(" in html


def test_the_offline_check_sees_any_external_file():
    page = (
        '<script src="https://unpkg.com/leaflet.js"></script><link href="//cdn.example/x.css">'
        '<img src="http://tiles.example/1.png"><style>@import "https://fonts.example/f.css";'
        "</style><a href='#local'>ok</a><script>var s = '<img src=\"https://in.js/string\">';"
        "</script>"
    )
    assert len(external_refs(page)) == 4


def test_single_value_colour_scale_still_draws():
    html = map_minutes(_cells([12.0, 12.0, 12.0]), "hospital").get_root().render()
    assert html.count('"fill": "#1a9850"') == 3


def test_empty_or_incomplete_layers_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        map_minutes(_cells([]), "hospital")
    with pytest.raises(ValueError, match="no column 'court_minutes'"):
        map_minutes(_cells([1.0]), "court")
    with pytest.raises(ValueError, match="empty"):
        map_catchments(
            gpd.GeoDataFrame({"service_id": [], "population": []}, geometry=[], crs="EPSG:25833")
        )
    with pytest.raises(ValueError, match="needs columns"):
        map_regions(
            gpd.GeoDataFrame({"region": [0]}, geometry=[Point(0, 0).buffer(1)], crs="EPSG:25833")
        )
    with pytest.raises(ValueError, match="empty"):
        static_map(_cells([]), "hospital_minutes", tmp_path / "x.png")


def test_difference_map_without_change_says_so():
    c = _cells([5.0, 6.0])
    c["hospital_delta"] = 0.0
    html = map_difference(c, "hospital").get_root().render()
    assert "No cell&#x27;s travel time changed" in html or "No cell's travel time" in html


def _rgb(hex_colour):
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def _colour_counts(png):
    """Pixels per exact RGB colour of a PNG."""
    from collections import Counter

    import matplotlib.image as mpimg

    img = (mpimg.imread(png)[..., :3] * 255).round().astype(int)
    return Counter(map(tuple, img.reshape(-1, 3)))


def test_static_maps_write_png(tmp_path):
    c = _cells([5.0, 50.0, np.inf])
    p = static_map(c, "hospital_minutes", tmp_path / "m.png", title="t", attribution="© Kartverket")
    assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the cells drawn as 10 km squares, so that their colours fill the image
    x = 250_000 + 10_000 * np.arange(3)
    sq = c.set_geometry(shapely.box(x, 6_900_000, x + 10_000, 6_910_000))
    sq["hospital_delta"] = [-3.0, 0.0, 2.0]
    counts = _colour_counts(static_map(sq, "hospital_delta", tmp_path / "d.png", kind="delta"))
    # each cell in the colour of its change's bin (-5..-1 faster, -0.05..0.05, 1..5 slower):
    # a square covers several % of the image, a legend swatch 0.03 %
    want = [
        DELTA_COLOURS[int(np.searchsorted(DELTA_BINS, v, side="right")) - 1]
        for v in (-3.0, 0.0, 2.0)
    ]
    assert len(set(want)) == 3
    n = [counts.get(_rgb(h), 0) for h in want]
    assert min(n) > 0.03 * sum(counts.values()), (want, n)
    sq["region"] = ["a", "a", "b"]
    counts = _colour_counts(static_map(sq, "region", tmp_path / "r.png", kind="category"))
    # two categories in two colours, "a" covering twice the area of "b"
    (ca, na), (cb, nb) = sorted(
        ((k, v) for k, v in counts.items() if k not in {(255, 255, 255), (0, 0, 0)}),
        key=lambda kv: -kv[1],
    )[:2]
    assert ca != cb and 1.7 < na / nb < 2.3, (na, nb)
    with pytest.raises(ValueError, match="kind"):
        static_map(sq, "region", tmp_path / "r.png", kind="heat")
