import hashlib
import shutil
import socket
from pathlib import Path

import pytest

from smaby_geo import datasets
from smaby_geo.datasets import DatasetNotFoundError, locate_dataset


def test_every_dataset_is_found_and_matches_its_checksum():
    for name, ds in datasets.DATASETS.items():
        p = locate_dataset(name, download=False)
        assert p.name == Path(ds.relpath).name
        assert hashlib.sha256(p.read_bytes()).hexdigest() == ds.sha256, name
        assert ds.licence and ds.attribution and ds.source


def test_explicit_path_wins(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("ru250m;pop_tot\n")
    assert locate_dataset("popgrid_250m", f) == f


def test_explicit_path_missing_is_an_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="explicit path"):
        locate_dataset("popgrid_250m", tmp_path / "nope.csv")


def test_raw_dir_is_used_when_env_has_no_copy(tmp_path, monkeypatch):
    shipped = locate_dataset("courts", download=False)  # the data folder's copy
    (tmp_path / "empty").mkdir()  # an empty data folder (one that is not there is an error)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "empty"))
    raw = tmp_path / "raw"
    target = raw / datasets.DATASETS["courts"].relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(b"an older courts table\n")
    with pytest.raises(DatasetNotFoundError):  # a copy with another checksum is out of date
        locate_dataset("courts", raw_dir=raw, download=False)
    shutil.copyfile(shipped, target)
    assert locate_dataset("courts", raw_dir=raw, download=False) == target


def _unreachable() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def test_missing_everywhere_names_dataset_places_and_fix(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()  # an empty data folder (one that is not there is an error)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, _unreachable())
    with pytest.raises(DatasetNotFoundError) as e:
        locate_dataset("n1000_roads", raw_dir=tmp_path / "raw")
    msg = str(e.value)
    assert "'n1000_roads'" in msg
    assert str(tmp_path / "env") in msg and str(tmp_path / "raw") in msg
    assert "SMABY_GEO_DATA_DIR" in msg and "hmalmedal/N1000" in msg
    assert "fetch failed" in msg and "smaby-geo data fetch n1000_roads" in msg
    assert not [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]


def test_default_data_home_is_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert datasets.data_home() == tmp_path / "xdg" / "smaby_geo"
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "mine"))
    assert datasets.data_home() == tmp_path / "mine"


def test_new_datasets_are_registered_under_their_names():
    assert datasets.DATASETS["builtup_areas"].relpath == "places/n1000_tettbebyggelse.gpkg"
    assert datasets.DATASETS["toi_calibration"].relpath == "tables/toi_reisetid_calibration.csv"
    rel = datasets.DATASETS["hospital_status_changes"].relpath
    assert rel == "services/hospitals_status_changes.csv"


def _copier(src):
    def download(url, output_file, pooch_):
        shutil.copyfile(src, output_file)

    return download


def test_download_verifies_checksum(tmp_path, monkeypatch):
    src = tmp_path / "src.pbf"
    shutil.copyfile(locate_dataset("osm_test", download=False), src)
    (tmp_path / "env").mkdir()  # an empty data folder (one that is not there is an error)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    raw = tmp_path / "raw"
    got = locate_dataset("osm_test", raw_dir=raw, downloader=_copier(src))
    entry = datasets.DATASETS["osm_test"]
    assert got == raw / entry.relpath
    assert hashlib.sha256(got.read_bytes()).hexdigest() == entry.sha256


def test_download_with_wrong_content_fails_and_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()  # an empty data folder (one that is not there is an error)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    bad = tmp_path / "bad.pbf"
    bad.write_bytes(b"not the file")
    raw = tmp_path / "raw"
    with pytest.raises(DatasetNotFoundError, match=r"does not match the pinned sha256"):
        locate_dataset("osm_test", raw_dir=raw, downloader=_copier(bad))
    assert not (raw / datasets.DATASETS["osm_test"].relpath).exists()


def test_unknown_dataset_lists_known():
    with pytest.raises(KeyError, match="n1000_roads"):
        datasets.get_dataset("n3000")


def test_attribution_joins_unique():
    assert datasets.attribution(["n1000_roads", "kommuner", "popgrid_250m"]) == (
        "© Kartverket | Kilde: SSB"
    )
