"""The project's own tables while its data release is unpublished: say so, do not retry."""

import pytest

from smaby_geo import datasets
from smaby_geo.cli import main
from smaby_geo.datasets import DatasetFetchError, DatasetNotFoundError, locate_dataset
from smaby_geo.fetch import fetch_dataset


def _no_download(*_args, **_kwargs):
    raise AssertionError("a download was tried")


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A newcomer's machine: no data folder, an empty data home, no release mirror."""
    (tmp_path / "env").mkdir()
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(datasets.RELEASE_URL_ENV, raising=False)
    return tmp_path


def test_a_release_table_is_not_downloaded_and_the_error_says_why(no_data):
    with pytest.raises(DatasetFetchError, match="release is not published yet") as e:
        fetch_dataset("toi_calibration", downloader=_no_download)
    msg = str(e.value)
    assert "SMABY_GEO_DATA_DIR" in msg and "tables/toi_reisetid_calibration.csv" in msg
    assert "SMABY_GEO_RELEASE_URL" in msg and "retry" not in msg
    with pytest.raises(DatasetNotFoundError, match="not published yet") as e:
        locate_dataset("hospitals", downloader=_no_download)
    assert "with internet access" not in str(e.value)


def test_a_mirror_of_the_release_is_still_fetched_from(no_data, monkeypatch):
    monkeypatch.setenv(datasets.RELEASE_URL_ENV, "http://127.0.0.1:9/mirror")
    calls = []

    def downloader(url, output_file, pooch):
        calls.append(url)
        raise OSError("mirror down")

    with pytest.raises(DatasetFetchError, match="mirror down"):
        fetch_dataset("toi_calibration", downloader=downloader)
    assert calls == ["http://127.0.0.1:9/mirror/toi_reisetid_calibration.csv"]


def test_an_upstream_dataset_is_unaffected(no_data, monkeypatch):
    monkeypatch.setenv(datasets.UPSTREAM_URL_ENV, "http://127.0.0.1:9/upstream")
    with pytest.raises(DatasetFetchError, match="check the internet connection"):
        fetch_dataset("kommuner_simplified")


def test_data_listing_names_the_tables_held_back(no_data, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "release is not published yet" in ln)
    for name in ("hospitals", "courts", "police", "study_centres", "toi_calibration"):
        assert name in line
    assert "n1000_roads" not in line
