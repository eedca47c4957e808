"""Fetch + convert every registered dataset from a local server, as a fresh machine would.

A mirror of the upstream layout (``<owner>/<repo>/<commit>/<path>`` for GitHub raw files,
``release/<file>`` for the project's data release) is built from ``shared/data/upstream`` (the
R data files, with their MANIFEST.csv) and the plain files of ``shared/data``, and served by
``http.server`` on 127.0.0.1; the registry's base URLs point there. Nothing leaves the machine.

Every converted GeoPackage reproduces the shipped one exactly: same layer name, field types,
rows, attribute values and coordinates — including the two derived files (place-name points:
settlement types only, midpoint of the label line; kommune polygons: attributes as in
Kommune.rda). Byte-level checksums of converted GeoPackages differ (GDAL writes timestamps),
so those are compared by content; plain files are compared by sha256.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from smaby_geo import datasets
from smaby_geo.cli import main
from smaby_geo.fetch import ensure_datasets, fetch_dataset, fetch_datasets

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not (SHARED / "upstream" / "MANIFEST.csv").is_file(), reason="needs ../shared/data/upstream"
)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _manifest() -> dict[str, dict]:
    with open(SHARED / "upstream" / "MANIFEST.csv", encoding="utf-8") as f:
        return {r["raw_url"]: r for r in csv.DictReader(f)}


def _mirror_path(url: str) -> str:
    if url.startswith(datasets.GITHUB_RAW_URL + "/"):
        return "github/" + url[len(datasets.GITHUB_RAW_URL) + 1 :]
    assert url.startswith(datasets.RELEASE_URL + "/"), url
    return "release/" + url[len(datasets.RELEASE_URL) + 1 :]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serve the mirror; yields (base url, mirror folder)."""
    mirror = tmp_path_factory.mktemp("mirror")
    manifest = _manifest()
    for ds in datasets.DATASETS.values():
        if ds.convert:
            src = SHARED / "upstream" / manifest[ds.url]["local_file"]
        else:
            src = SHARED / ds.relpath
        dst = mirror / _mirror_path(ds.url)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(mirror))
    )
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", mirror
    httpd.shutdown()
    httpd.server_close()


def _point_at(mp, base: str) -> None:
    mp.setenv(datasets.UPSTREAM_URL_ENV, f"{base}/github")
    mp.setenv(datasets.RELEASE_URL_ENV, f"{base}/release")


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fetched(server, tmp_path_factory):
    """Every dataset fetched (and converted) into an empty default data home."""
    base, _ = server
    xdg = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(datasets.DATA_DIR_ENV, raising=False)
        mp.delenv(datasets.CACHE_DIR_ENV, raising=False)
        mp.setenv("XDG_CACHE_HOME", str(xdg))
        _point_at(mp, base)
        home = datasets.data_home()
        assert home == xdg / "smaby_geo"  # pooch.os_cache, not the current folder
        assert not home.exists()
        paths = fetch_datasets(progressbar=False)
    return xdg, home, paths


def test_registry_pins_the_manifest_commits():
    manifest = _manifest()
    converted = [d for d in datasets.DATASETS.values() if d.convert]
    assert {d.url for d in converted} == set(manifest)
    for d in converted:
        row = manifest[d.url]
        assert d.url_sha256 == row["sha256"], d.name
        assert _sha(SHARED / "upstream" / row["local_file"]) == row["sha256"]
    for d in datasets.DATASETS.values():
        assert d.url, f"{d.name} has no pinned upstream"
        if d.url.startswith(datasets.GITHUB_RAW_URL):
            commit = d.url[len(datasets.GITHUB_RAW_URL) + 1 :].split("/")[2]
            assert len(commit) == 40 and int(commit, 16) >= 0, d.name


@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_fetched_dataset_reproduces_the_shipped_file(fetched, name):
    _, home, paths = fetched
    ds = datasets.DATASETS[name]
    got, ref = paths[name], SHARED / ds.relpath
    assert got == home / ds.relpath
    if ds.convert is None:
        assert _sha(got) == ds.sha256 == _sha(ref)
        return
    a_info, b_info = pyogrio.read_info(got), pyogrio.read_info(ref)
    for key in ("layer_name", "geometry_type", "crs", "features"):
        assert a_info[key] == b_info[key], (name, key)
    assert list(a_info["fields"]) == list(b_info["fields"])
    assert a_info["ogr_types"] == b_info["ogr_types"]
    a, b = pyogrio.read_dataframe(got), pyogrio.read_dataframe(ref)
    for c in b.columns.drop("geometry"):
        pd.testing.assert_series_equal(a[c], b[c], check_dtype=True, obj=f"{name}.{c}")
    same = shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), tolerance=0.0)
    assert same.all(), f"{name}: {int((~same).sum())} geometries differ"
    # upstream kept beside, nothing temporary left over
    assert (home / "upstream" / name / ds.url.rsplit("/", 1)[-1]).is_file()
    assert not [p for p in home.rglob("*") if "tmp" in p.name or p.name.startswith(".")]


def test_cli_runs_from_any_folder_with_the_cache_and_matches_shipped_data(
    fetched, tmp_path, monkeypatch, capsys
):
    xdg, home, _ = fetched
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.delenv(datasets.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    # any fetch would fail: the run must use the primed cache only
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, _closed_port_url())
    monkeypatch.setenv(datasets.RELEASE_URL_ENV, _closed_port_url())
    assert main(["data"]) == 0
    listing = capsys.readouterr().out
    assert "MISSING" not in listing and str(home) in listing
    args = ["run", "--region", "Tynset", "--no-map"]
    assert main([*args, "--out", "cache_run"]) == 0
    out = capsys.readouterr().out
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(SHARED))
    assert main([*args, "--out", "shipped_run"]) == 0
    capsys.readouterr()
    a = pd.read_csv(tmp_path / "cache_run" / "kommune_summary_tynset_250m.csv")
    b = pd.read_csv(tmp_path / "shipped_run" / "kommune_summary_tynset_250m.csv")
    pd.testing.assert_frame_equal(a, b)
    ca = pd.read_parquet(tmp_path / "cache_run" / "cells_tynset_250m.parquet")
    cb = pd.read_parquet(tmp_path / "shipped_run" / "cells_tynset_250m.parquet")
    pd.testing.assert_frame_equal(ca.drop(columns="geometry"), cb.drop(columns="geometry"))
    meta = json.loads((tmp_path / "cache_run" / "run_tynset_250m.json").read_text())
    near = meta["service_sites_nearest"]
    used = ", ".join(
        f"{k} {v} ({near[k]} nearest for someone here)" for k, v in meta["service_sites"].items()
    )
    assert f"Service sites used: {used}" in out
    assert "not official registers" in meta["note"]


def test_first_use_fetches_and_says_so(server, tmp_path, monkeypatch, capsys):
    base, _ = server
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    _point_at(monkeypatch, base)
    p = datasets.locate_dataset("courts")
    assert p == tmp_path / "home" / "services" / "courts.csv"
    assert _sha(p) == datasets.DATASETS["courts"].sha256
    err = capsys.readouterr().err
    assert "'courts'" in err and "fetching" in err and str(p) in err


def test_offline_run_names_every_missing_dataset_and_the_command(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, _closed_port_url())
    monkeypatch.setenv(datasets.RELEASE_URL_ENV, _closed_port_url())
    rc = main(["run", "--services", "hospital,police", "--grid", "1km"])
    err = capsys.readouterr().err
    assert rc != 0
    # the 250 m grid is not asked for: --grid 1km routes the 1 km grid, and the default
    # profile's roadside term, which would measure on the 250 m grid, is off
    expected = [
        "n1000_roads", "builtup_areas", "popgrid_1km", "kommuner", "hospitals", "police",
        "fylker_simplified", "kommuner_simplified",
    ]  # fmt: skip
    assert "smaby-geo data fetch " + " ".join(expected) in err
    assert "Traceback" not in err
    assert not list((tmp_path / "empty").rglob("*.*"))


def test_out_of_date_cache_is_fetched_again(server, tmp_path, monkeypatch):
    base, _ = server
    _point_at(monkeypatch, base)
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    old = home / "services" / "police.csv"
    old.parent.mkdir(parents=True)
    old.write_text("service_type,name\npolice_politistasjon,closed in 2017\n")
    assert datasets.find_local("police") is None
    assert _sha(datasets.locate_dataset("police")) == datasets.DATASETS["police"].sha256
    # a converted file without the stamp of the pinned upstream counts as missing too
    gpkg = home / datasets.DATASETS["builtup_areas"].relpath
    gpkg.parent.mkdir(parents=True)
    gpkg.write_bytes((SHARED / "places" / "n1000_tettbebyggelse.gpkg").read_bytes())
    assert datasets.find_local("builtup_areas") is None
    fetch_dataset("builtup_areas")
    assert datasets.find_local("builtup_areas") == gpkg
    assert datasets.stamp_path(gpkg).read_text().strip() == datasets.DATASETS[
        "builtup_areas"
    ].url_sha256


def test_copy_from_a_local_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, _closed_port_url())
    got = fetch_datasets(["kommuner", "hospitals"], source_dir=SHARED)
    assert _sha(got["kommuner"]) == _sha(SHARED / "admin" / "n1000_kommune_2024.gpkg")
    assert datasets.find_local("kommuner") == got["kommuner"]
    bad = tmp_path / "bad"
    (bad / "services").mkdir(parents=True)
    (bad / "services" / "courts.csv").write_text("not the courts\n")
    with pytest.raises(datasets.DatasetFetchError, match=r"'courts'.*sha256"):
        fetch_dataset("courts", source_dir=bad)
    assert not (tmp_path / "home" / "services" / "courts.csv").exists()


def test_data_fetch_cli_and_unknown_name(server, tmp_path, monkeypatch, capsys):
    base, _ = server
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    _point_at(monkeypatch, base)
    assert main(["data", "fetch", "police", "builtup_areas"]) == 0
    assert (tmp_path / "home" / "places" / "n1000_tettbebyggelse.gpkg").is_file()
    police = tmp_path / "home" / "services" / "police.csv"
    assert _sha(police) == _sha(SHARED / "services" / "police.csv")
    capsys.readouterr()
    assert main(["data", "fetch", "n3000"]) == 2
    err = capsys.readouterr().err
    assert "n3000" in err and "known datasets" in err and "n1000_roads" in err
    with pytest.raises(KeyError, match="n3000"):
        fetch_datasets(["n3000"])
    assert main(["data", "fetch"]) == 2


# ---- bad input: each a clear error naming the dataset and the fix, nothing left behind ----


def _leftovers(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()] if home.exists() else []


def _fake(monkeypatch, name: str, **changes) -> None:
    monkeypatch.setitem(
        datasets.DATASETS, name, dataclasses.replace(datasets.DATASETS[name], **changes)
    )


def test_checksum_mismatch_is_an_error_and_keeps_nothing(server, tmp_path, monkeypatch):
    base, _ = server
    _point_at(monkeypatch, base)
    _fake(monkeypatch, "courts", sha256="0" * 64)
    with pytest.raises(datasets.DatasetFetchError) as e:
        fetch_dataset("courts", raw_dir=tmp_path / "home")
    msg = str(e.value)
    assert "'courts'" in msg and "sha256" in msg and "To fix" in msg
    assert _leftovers(tmp_path / "home") == []


def _serve_bad(mirror: Path, fname: str, data: bytes) -> tuple[str, str]:
    p = mirror / "github" / "test" / "bad" / ("0" * 40) / fname
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    url = f"{datasets.GITHUB_RAW_URL}/test/bad/{'0' * 40}/{fname}"
    return url, hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("truncated", "not a readable R data file"),
        ("not_r", "not a readable R data file"),
        ("wrong_object", r"Tettbebyggelse.*not the expected 'Kommune'"),
    ],
)
def test_bad_rda_is_an_error_and_keeps_nothing(server, tmp_path, monkeypatch, case, match):
    base, mirror = server
    _point_at(monkeypatch, base)
    n1000 = SHARED / "upstream" / "hmalmedal_N1000"
    kommune = (n1000 / "Kommune.rda").read_bytes()
    data = {
        "truncated": kommune[: len(kommune) // 2],
        "not_r": (SHARED / "services" / "courts.csv").read_bytes(),
        "wrong_object": (n1000 / "Tettbebyggelse.rda").read_bytes(),
    }[case]
    url, sha = _serve_bad(mirror, f"{case}.rda", data)
    _fake(monkeypatch, "kommuner", url=url, url_sha256=sha)
    with pytest.raises(datasets.DatasetFetchError, match=match) as e:
        fetch_dataset("kommuner", raw_dir=tmp_path / "home")
    assert "'kommuner'" in str(e.value) and "To fix" in str(e.value)
    assert _leftovers(tmp_path / "home") == []


def test_unwritable_data_home_is_an_error(server, tmp_path, monkeypatch):
    base, _ = server
    _point_at(monkeypatch, base)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(blocker / "cache"))
    with pytest.raises(datasets.DatasetFetchError) as e:
        fetch_dataset("police")
    msg = str(e.value)
    assert "'police'" in msg and "cannot write" in msg and datasets.CACHE_DIR_ENV in msg


def test_ensure_datasets_lists_all_missing(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path))
    with pytest.raises(datasets.DatasetNotFoundError) as e:
        ensure_datasets(["courts", "kommuner"], download=False)
    assert "smaby-geo data fetch courts kommuner" in str(e.value)


def test_base_url_overrides(monkeypatch):
    ds = datasets.DATASETS["n1000_roads"]
    monkeypatch.delenv(datasets.UPSTREAM_URL_ENV, raising=False)
    monkeypatch.delenv(datasets.RELEASE_URL_ENV, raising=False)
    assert datasets.resolve_url(ds) == ds.url
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, "http://127.0.0.1:1/m/")
    tail = ds.url[len(datasets.GITHUB_RAW_URL) :]
    assert datasets.resolve_url(ds) == "http://127.0.0.1:1/m" + tail
    h = datasets.DATASETS["hospitals"]
    assert datasets.resolve_url(h) == h.url  # release URL untouched by the upstream override
    monkeypatch.setenv(datasets.RELEASE_URL_ENV, "http://127.0.0.1:1/r")
    assert datasets.resolve_url(h) == "http://127.0.0.1:1/r/hospitals.csv"


def test_release_folder_holds_the_project_tables_with_checksums(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(SHARED))
    assert main(["data", "release", str(tmp_path / "rel")]) == 0
    text = (tmp_path / "rel" / "SHA256SUMS").read_text()
    sums = {f: h for h, f in (line.split("  ") for line in text.splitlines())}
    release = {
        d.url.rsplit("/", 1)[-1]: d
        for d in datasets.DATASETS.values()
        if d.url.startswith(datasets.RELEASE_URL + "/")
    }
    assert set(sums) == set(release)
    assert {"hospitals.csv", "police.csv", "toi_reisetid_calibration.csv"} <= set(release)
    for fname, d in release.items():
        assert sums[fname] == d.sha256 == _sha(tmp_path / "rel" / fname)


def test_a_network_read_fetches_the_grid_and_the_builtup_layer_it_needs(
    server, tmp_path, monkeypatch, capsys
):
    """The default profile's urban speeds need the built-up layer, and a profile with the
    roadside term on the SSB grid: a read on a machine without them fetches them, as any other
    input, and a default read (the term off) leaves the grid alone."""
    from smaby_geo.analysis.calibration import set_parameters
    from smaby_geo.network import read_kartverket
    from smaby_geo.network.profile import ROADSIDE_FIT, prior_profile

    from .conftest import lines

    base, _ = server
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    _point_at(monkeypatch, base)
    areas = pyogrio.read_dataframe(SHARED / datasets.DATASETS["builtup_areas"].relpath)
    town = areas.to_crs("EPSG:25833").geometry.area.idxmax()  # the largest built-up area
    x, y = areas.to_crs("EPSG:25833").geometry[town].representative_point().coords[0]

    def road():
        return lines([[(x - 3000, y), (x + 3000, y)]], typeVeg=["enkelBilveg"],
                     vegkategori=["E"], vegnummer=[6.0])  # fmt: skip

    net = read_kartverket(road())
    grid = home / datasets.DATASETS["popgrid_250m"].relpath
    assert not grid.exists() and net.links["roadside_residents_per_km"].isna().all()
    net = read_kartverket(road(), profile=set_parameters(prior_profile(), dict(ROADSIDE_FIT)))
    for name in ("popgrid_250m", "builtup_areas"):
        ds = datasets.DATASETS[name]
        p = home / ds.relpath
        assert p.is_file(), name  # a converted file has bytes of its own; the grid is verbatim
        assert ds.convert or _sha(p) == ds.sha256, name
    assert f"'{'popgrid_250m'}'" in capsys.readouterr().err  # said so
    assert net.links["roadside_residents_per_km"].iloc[0] > 0
    assert net.links["urban_fraction"].iloc[0] > 0 and "off" not in net.report["urban"]
