"""The main job's speed-ups keep its results: the GeoPackage written by a forked process equals
the one written in place (and fails, or is cancelled, without leaving a file), and the
population grid and the map's base boundaries read from the data cache equal the computed ones
and follow every change of their inputs."""

import os
import sys
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from smaby_geo import derived_cache
from smaby_geo.outputs import io as sio
from smaby_geo.places import population
from tests.test_fast_outputs import _cells


def _table(n=50):
    return gpd.GeoDataFrame(
        {
            "cell_id": [f"c{i}" for i in range(n)],
            "population": np.arange(n),
            "hospital_minutes": np.where(np.arange(n) % 7 == 0, np.inf, np.arange(n) * 1.5),
            "hospital_name": ["Sykehus æøå"] * n,
        },
        geometry=[Point(250_000 + 250 * i, 6_900_000) for i in range(n)],
        crs="EPSG:25833",
    )


def _parts(folder):
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_forked_geopackage_equals_the_one_written_in_place(tmp_path):
    meta = {"attribution": "© Kartverket | Kilde: SSB", "grid": "250m"}
    a = sio.write_gpkg(_table(), tmp_path / "a.gpkg", "cells", meta)
    job = sio.start_gpkg(_table(), tmp_path / "b.gpkg", "cells", meta)
    b = job.result()
    assert b == tmp_path / "b.gpkg" and b.is_file()
    ra, rb = pyogrio.read_dataframe(a), pyogrio.read_dataframe(b)
    assert_geodataframe_equal(ra, rb)
    assert len(rb) == 50 and np.isinf(rb["hospital_minutes"]).sum() == 8
    assert pyogrio.read_info(b)["layer_metadata"] == pyogrio.read_info(a)["layer_metadata"]
    assert pyogrio.read_info(b)["layer_metadata"]["attribution"] == meta["attribution"]
    assert _parts(tmp_path) == []


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="elsewhere a thread writes the file"
)
def test_the_geopackage_is_written_by_another_process(tmp_path, monkeypatch):
    def write_pid(gdf, tmp, layer, metadata):
        tmp.write_text(str(os.getpid()))

    monkeypatch.setattr(sio, "_write_gpkg_file", write_pid)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fork warning reaches the user
        path = sio.start_gpkg(_table(), tmp_path / "x.gpkg", "cells", {}).result()
    assert int(path.read_text()) != os.getpid()


def test_a_failed_background_write_raises_and_leaves_no_file(tmp_path, monkeypatch):
    def fail(gdf, tmp, layer, metadata):
        tmp.write_bytes(b"half a file")
        raise ValueError("disk full while writing")

    monkeypatch.setattr(sio, "_write_gpkg_file", fail)
    job = sio.start_gpkg(_table(), tmp_path / "x.gpkg", "cells", {})
    with pytest.raises(ValueError, match="disk full while writing"):
        job.result()
    assert not (tmp_path / "x.gpkg").exists() and _parts(tmp_path) == []


def test_a_cancelled_background_write_leaves_no_file(tmp_path, monkeypatch):
    def slow(gdf, tmp, layer, metadata):
        tmp.write_bytes(b"half a file")
        time.sleep(30)

    monkeypatch.setattr(sio, "_write_gpkg_file", slow)
    job = sio.start_gpkg(_table(), tmp_path / "x.gpkg", "cells", {})
    for _ in range(200):  # until the writer has begun
        if _parts(tmp_path):
            break
        time.sleep(0.02)
    job.cancel()
    assert not (tmp_path / "x.gpkg").exists() and _parts(tmp_path) == []


# a hand-made grid: SSB ids encode the south-west corner (x + 2,000,000, y)
def _ssb_id(x, y):
    return f"{x + 2_000_000:07d}{y:07d}"


CORNERS = [(250_000, 6_900_000), (250_250, 6_900_000), (260_000, 6_900_000), (262_000, 6_900_000)]
CORNERS += [(271_000, 6_900_000), (300_000, 6_900_000)]  # 1.75 km and 30 km outside


def _grid_csv(path, pops):
    ids = [_ssb_id(x, y) for x, y in CORNERS]
    pd.DataFrame({"ru250m": ids, "pop_tot": pops}).to_csv(path, sep=";", index=False)
    return path


def _kommuner(name_b="Bkommune"):
    return gpd.GeoDataFrame(
        {
            "kommunenummer": ["0001", "0002"],
            "kommunenavn": ["Akommune", name_b],
            "fylkesnummer": ["01", "01"],
            "fylkesnavn": ["Fylke", "Fylke"],
        },
        geometry=[
            box(245_000, 6_895_000, 255_000, 6_905_000),
            box(255_000, 6_895_000, 269_000, 6_905_000),
        ],
        crs="EPSG:25833",
    )


def _read(csv, kom):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g = population.read_population_grid("250m", csv, kommuner=kom)
    return g, [str(x.message) for x in w if "outside every kommune" in str(x.message)]


def _entries():
    return sorted(derived_cache.cache_folder("population").glob("cells_250m_*.parquet"))


def test_population_grid_from_the_data_cache_equals_the_computed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    csv = _grid_csv(tmp_path / "grid.csv", [5, 7, 11, 13, 17, 19])
    first, warned = _read(csv, _kommuner())
    assert len(_entries()) == 1
    assert first["kommunenavn"].tolist()[:5] == ["Akommune", "Akommune"] + ["Bkommune"] * 3
    assert pd.isna(first["kommunenummer"].iloc[5]) and len(warned) == 1

    def no_labelling(*a, **k):
        raise AssertionError("computed again although the cache holds the grid")

    monkeypatch.setattr(population, "label_kommune", no_labelling)
    again, warned_again = _read(csv, _kommuner())
    assert_geodataframe_equal(again, first)
    assert list(again.dtypes) == list(first.dtypes) and again.index.name == "cell_id"
    assert again.attrs == first.attrs and again.attrs["attribution"] == "Kilde: SSB"
    assert warned_again == warned, "the unlabelled cells are still reported"


def test_population_grid_cache_follows_every_input_change(tmp_path, monkeypatch):
    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    csv = _grid_csv(tmp_path / "grid.csv", [5, 7, 11, 13, 17, 19])
    _read(csv, _kommuner())
    renamed, _ = _read(csv, _kommuner("Nykommune"))
    assert renamed["kommunenavn"].iloc[2] == "Nykommune"
    _grid_csv(csv, [5, 7, 11, 13, 17, 23])
    more, _ = _read(csv, _kommuner("Nykommune"))
    assert more["population"].iloc[5] == 23
    assert len(_entries()) == 3
    for e in _entries():  # a damaged entry is computed again and replaced
        e.write_bytes(b"not parquet")
    again, _ = _read(csv, _kommuner("Nykommune"))
    assert_geodataframe_equal(again, more)


def test_map_base_boundaries_from_the_data_cache_equal_the_computed_ones(tmp_path, monkeypatch):
    from smaby_geo.outputs import maps

    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    maps._boundaries.cache_clear()
    computed = maps._boundaries()
    maps._boundaries.cache_clear()
    assert len(list(derived_cache.cache_folder("maps").glob("base_boundaries_*.json"))) == 1

    def no_reading(*a, **k):
        raise AssertionError("read the boundary files although the cache holds them")

    monkeypatch.setattr(gpd, "read_file", no_reading)
    assert maps._boundaries() == computed
    assert len(computed[0]["features"]) == 15 and len(computed[1]["features"]) == 357
    maps._boundaries.cache_clear()


def _minutes_cells(minutes):
    return _cells(minutes, name="Sykehus <b>", people_step=3)


def _without_ids(html):
    import re

    return re.sub(r"_[0-9a-f]{32}", "_ID", html)


def test_minutes_map_from_the_data_cache_equals_a_fresh_drawing(tmp_path, monkeypatch):
    from smaby_geo.outputs import map_cache, maps

    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    cells = _minutes_cells([5.0, 20.0, np.inf, 61.5])
    first = map_cache.minutes_map_html(cells, "hospital")
    fresh = maps.map_minutes(cells, "hospital").get_root().render()
    assert _without_ids(first) == _without_ids(fresh)
    assert "Kilde: SSB" in first and "Sykehus" in first

    real = maps.map_minutes

    def no_drawing(*a, **k):
        raise AssertionError("drawn again although the cache holds the map")

    monkeypatch.setattr(maps, "map_minutes", no_drawing)
    same = _minutes_cells([5.0, 20.0, np.inf, 61.5])
    assert map_cache.minutes_map_html(same, "hospital") == first
    monkeypatch.setattr(maps, "map_minutes", real)
    changed = map_cache.minutes_map_html(_minutes_cells([5.0, 20.0, np.inf, 61.6]), "hospital")
    assert _without_ids(changed) != _without_ids(first)
    renamed = _minutes_cells([5.0, 20.0, np.inf, 61.5])
    renamed["hospital_name"] = "Annet sykehus"
    assert "Annet sykehus" in map_cache.minutes_map_html(renamed, "hospital")
    entries = list(derived_cache.cache_folder("maps").glob("minutes_hospital_*.html"))
    assert len(entries) == 3


def test_inside_a_daemonic_worker_a_thread_writes_the_geopackage(tmp_path, monkeypatch):
    import multiprocessing
    import types

    def write_pid(gdf, tmp, layer, metadata):
        tmp.write_text(str(os.getpid()))

    monkeypatch.setattr(sio, "_write_gpkg_file", write_pid)
    monkeypatch.setattr(
        multiprocessing, "current_process", lambda: types.SimpleNamespace(daemon=True)
    )
    path = sio.start_gpkg(_table(), tmp_path / "x.gpkg", "cells", {}).result()
    assert int(path.read_text()) == os.getpid(), "a daemonic process may not fork children"


def test_the_data_cache_keeps_only_the_most_recently_used_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))

    def entry(name, i):
        return derived_cache.entry_path("maps", name, derived_cache.fingerprint(i), "txt")

    def use(path, value):
        return derived_cache.cached(
            path, lambda: value, lambda q: q.read_text(), lambda v, q: q.write_text(v)
        )

    keep = derived_cache.KEEP_ENTRIES
    paths = [entry("minutes_x", i) for i in range(keep + 1)]
    for i, p in enumerate(paths[:keep]):  # saved long ago, one after the other
        use(p, str(i))
        os.utime(p, (1_000 + i, 1_000 + i))
    other = entry("minutes_y", 0)  # another name in the same folder
    use(other, "y")
    os.utime(other, (1, 1))
    assert use(paths[0], "recomputed") == "0"  # read from the cache: used now
    use(paths[keep], str(keep))  # one entry too many: the least recently used goes
    assert [p.exists() for p in paths] == [True, False] + [True] * (keep - 1)
    assert other.read_text() == "y"


def test_a_damaged_cache_entry_is_computed_again_not_served(tmp_path, monkeypatch):
    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    page = "<html>" + "x" * 10_000 + "</html>"
    p = derived_cache.entry_path("maps", "minutes_hospital", derived_cache.fingerprint(1), "html")

    def use(value):
        return derived_cache.cached(
            p, lambda: value, lambda q: q.read_text(), lambda v, q: q.write_text(v)
        )

    assert use(page) == page
    assert use("computed again") == page  # read from the cache
    with open(p, "r+") as f:  # cut short, still readable text
        f.truncate(5_000)
    assert use(page) == page  # not the 5,000 damaged bytes: computed again and replaced
    assert p.read_text() == page and use("computed again") == page
    assert oct(p.stat().st_mode & 0o777) == oct(0o644)
