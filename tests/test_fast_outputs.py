"""Fast outputs stay complete and correct: Arrow-path GeoParquet/GeoPackage with metadata, the
raster cell overlay (its inlined lookup decodes to each cell's minutes and population, also in
headless Chromium), lean offline maps, the CH engine in the main job equal to Dijkstra, and a
small scenario sweep on a Dask LocalCluster equal to the single-process one."""

import base64
import io
import json
import re
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import Point

from smaby_geo.outputs import io as sio
from smaby_geo.outputs.maps import map_minutes

MINUTES = [5.0, 20.0, np.inf, 33.3, 61.04, 95.5]


def _cells(minutes, x0=250000, y0=6900000, name="H", people_step=7):
    """A row of 250 m cells with the given hospital minutes (also used by test_output_speed)."""
    n = len(minutes)
    g = gpd.GeoDataFrame(
        {
            "population": np.arange(1, n + 1) * people_step,
            "hospital_minutes": minutes,
            "hospital_name": [name] * n,
            "x_sw": x0 + 250 * np.arange(n),
            "y_sw": y0,
            "cell_size_m": 250,
        },
        geometry=[Point(x0 + 125 + 250 * i, y0 + 125) for i in range(n)],
        crs="EPSG:25833",
    )
    g.attrs.update(attribution="© Kartverket | Kilde: SSB", note="lists are incomplete")
    return g


def _png(url):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def _lookup_info(html):
    m = re.search(r"info = (\{.*?\});\n", html)
    assert m, "the overlay's lookup script is missing"
    return json.loads(m.group(1))


def test_overlay_lookup_decodes_every_cells_minutes_and_population():
    cells = _cells(MINUTES)
    html = map_minutes(cells, "hospital", max_cells=0).get_root().render()
    assert '"fill": "#' not in html, "large tables must not be drawn as GeoJSON squares"
    info = _lookup_info(html)
    vals, pops = _png(info["values"]), _png(info["population"])
    tr = Transformer.from_crs("EPSG:25833", "EPSG:3857", always_xy=True)
    for i, want in enumerate(MINUTES):
        x, y = tr.transform(250125 + 250 * i, 6900125)
        col = int((x - info["x0"]) // info["px"])
        row = int((info["y1"] - y) // info["px"])
        r, g, _, a = vals[row, col]
        assert a == 255
        code = int(r) * 256 + int(g)
        if np.isinf(want):
            assert code == 65535
        else:
            assert (code - 32768) / 10 == pytest.approx(round(want, 1))
        p = pops[row, col]
        assert int(p[0]) * 65536 + int(p[1]) * 256 + int(p[2]) == 7 * (i + 1)
    assert (vals[..., 3] == 255).sum() == len(MINUTES), "one pixel per 250 m cell here"


def test_maps_load_nothing_from_outside_and_stay_small():
    html = map_minutes(_cells(MINUTES), "hospital", max_cells=0).get_root().render()
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html)
    external = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", t)]
    assert external == []
    assert "fontawesome" not in html.casefold() and "bootstrap" not in html.casefold()
    assert len(html) < 1_500_000  # base layer + Leaflet; folium's defaults alone were 1.47 MB


def test_overlay_lookup_answers_in_headless_chromium(tmp_path):
    from tests.test_browser import render

    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        pytest.fail("headless Chromium is needed: `make test` installs Debian's chromium")
    html = map_minutes(_cells(MINUTES), "hospital", max_cells=0).get_root().render()
    lon, lat = Transformer.from_crs(25833, 4326, always_xy=True).transform(250375, 6900125)
    probe = (
        "<script>setTimeout(function () { var f = Object.values(window.smabyLookup)[0];"
        f"document.body.setAttribute('data-probe', f({lat}, {lon})); }}, 1500);</script>"
    )
    page = tmp_path / "overlay.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom, errors = render(page, tmp_path)
    assert errors == []
    assert 'data-probe="Minutes to the nearest hospital: 20.0 min, 14 people"' in dom


def test_geoparquet_and_geopackage_keep_rows_columns_and_metadata(tmp_path):
    cells = _cells(MINUTES)
    cells.index = [f"c{i}" for i in range(len(cells))]
    meta = {"attribution": "© Kartverket", "note": "ø å"}
    p = sio.write_geoparquet(cells, tmp_path / "c.parquet", meta)
    back = gpd.read_parquet(p)
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(cells.drop(columns="geometry"))
    )
    assert back.crs == cells.crs and back.geometry.equals(cells.geometry)
    import pyarrow.parquet as pq

    assert json.loads(pq.read_schema(p).metadata[b"smaby_geo"]) == meta
    g = sio.write_gpkg(cells.reset_index(), tmp_path / "c.gpkg", "cells", meta)
    import pyogrio

    back = pyogrio.read_dataframe(g)
    assert len(back) == len(cells) and back["hospital_minutes"].tolist()[:2] == [5.0, 20.0]
    assert pyogrio.read_info(g)["layer_metadata"]["note"] == "ø å"


@pytest.fixture(scope="module")
def tynset(tmp_path_factory):
    from smaby_geo.pipeline import run_travel_times

    return run_travel_times(
        region="Tynset", grid="1km", service_types=("hospital",), engine="dijkstra"
    )


def test_main_job_on_the_contraction_hierarchy_equals_dijkstra(tmp_path, monkeypatch):
    from smaby_geo.cli import main
    from smaby_geo.pipeline import run_travel_times

    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "cache"))
    kw = {"region": "Tynset", "grid": "1km", "service_types": ("hospital", "police")}
    dj = run_travel_times(engine="dijkstra", **kw)
    ch = run_travel_times(engine="ch", **kw)
    assert dj.routing == {"engine": "Dijkstra"}
    assert ch.routing["engine"].startswith("contraction hierarchy")
    for t in ("hospital", "police"):
        a, b = dj.cells[f"{t}_minutes"].to_numpy(), ch.cells[f"{t}_minutes"].to_numpy()
        assert np.array_equal(np.isfinite(a), np.isfinite(b))
        assert np.abs(a[np.isfinite(a)] - b[np.isfinite(b)]).max() <= 1e-9
        assert (dj.cells[f"{t}_site"].fillna("") == ch.cells[f"{t}_site"].fillna("")).all()
    out = tmp_path / "out"
    args = ["run", "--region", "Tynset", "--grid", "1km", "--services", "hospital"]
    assert main([*args, "--out", str(out), "--no-gpkg", "--no-map"]) == 0
    meta = json.loads((out / "run_tynset_1km.json").read_text())
    assert meta["routing"]["cache"] in ("built and saved", "loaded")
    assert (
        not (out / "cells_tynset_1km.gpkg").exists() and (out / "cells_tynset_1km.parquet").exists()
    )
    assert main([*args, "--out", str(out), "--no-map"]) == 0
    meta = json.loads((out / "run_tynset_1km.json").read_text())
    assert meta["routing"]["cache"] == "loaded" and (out / "cells_tynset_1km.gpkg").exists()


def test_a_small_sweep_on_a_local_cluster_equals_the_single_process_one(tynset, tmp_path):
    from dask.distributed import Client, LocalCluster

    from smaby_geo.analysis.scenarios import read_scenario
    from smaby_geo.sweep import sweep

    scen = [read_scenario(f"scenarios/{n}.yaml") for n in ("rv3_upgrade", "close_tynset_hospital")]
    local = sweep(tynset.network, tynset.cells, tynset.services, scen, within_min=60)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        remote = sweep(
            tynset.network,
            tynset.cells,
            tynset.services,
            scen,
            within_min=60,
            client=client,
        )
    cols = [c for c in local.columns if c != "seconds"]
    pd.testing.assert_frame_equal(local[cols], remote[cols])
    # closing Tynset's hospital pushes its residents past 60 minutes: ranked below Rv3
    assert local["scenario"].tolist() == ["rv3_upgrade", "close_tynset_hospital"]
    assert local.loc[1, "pushed_outside"] > 0 and local.loc[1, "net_within"] < 0
