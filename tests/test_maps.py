"""Map functions: bad input gives a clear error or a sensible map, never a blank page."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from smaby_geo.outputs.maps import map_catchments, map_difference, map_minutes, map_regions
from smaby_geo.outputs.static import static_map


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
    assert "unpkg.com" not in html and "L.map(" in html


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


def test_static_maps_write_png(tmp_path):
    c = _cells([5.0, 50.0, np.inf])
    p = static_map(c, "hospital_minutes", tmp_path / "m.png", title="t", attribution="© Kartverket")
    assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    c["hospital_delta"] = [-3.0, 0.0, 2.0]
    static_map(c, "hospital_delta", tmp_path / "d.png", kind="delta")
    c["region"] = ["a", "a", "b"]
    static_map(c, "region", tmp_path / "r.png", kind="category")
    with pytest.raises(ValueError, match="kind"):
        static_map(c, "region", tmp_path / "r.png", kind="heat")
