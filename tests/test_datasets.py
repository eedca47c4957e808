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


def _old_file(path: Path, text: str) -> Path:
    """A file last changed long ago (a file changed in the last 2 s is never remembered)."""
    import os

    path.write_text(text)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def _memo_warnings(monkeypatch, files) -> list[str]:
    import warnings

    monkeypatch.setattr(datasets, "_checks", None)
    monkeypatch.setattr(datasets, "_checks_warned", set())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for f in files * 2:  # every file twice: new digests to remember each first time
            assert datasets.file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    return [str(w.message) for w in seen]


def test_an_unwritable_data_home_says_once_that_checksums_are_not_remembered(
    tmp_path, monkeypatch
):
    blocker = _old_file(tmp_path / "a_file", "not a folder\n")
    home = blocker / "cache"  # no folder can be made under a file, even by root
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    files = [_old_file(tmp_path / f"t{i}.csv", f"a;b\n{i};2\n") for i in range(2)]
    (w,) = _memo_warnings(monkeypatch, files)  # two digests not remembered: one line
    assert w == (
        f"cannot remember the checksums of the data files in $SMABY_GEO_CACHE_DIR={home} "
        f"({home / 'data_checks.json'}: Not a directory), so every run reads the files again "
        "to check them; set $SMABY_GEO_CACHE_DIR to a folder you may write, or make this one "
        "writable"
    )
    assert not home.exists()


def test_a_read_only_data_home_says_so_once(tmp_path, monkeypatch):
    """A chmod 500 data home; root may write there anyway, so for root the write is refused
    as the kernel refuses it to anyone else."""
    import os
    import tempfile

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    if os.geteuid() == 0:

        def refused(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refused)
    f = _old_file(tmp_path / "t.csv", "a;b\n1;2\n")
    home.chmod(0o500)
    try:
        (w,) = _memo_warnings(monkeypatch, [f])
    finally:
        home.chmod(0o700)
    assert f"in $SMABY_GEO_CACHE_DIR={home} ({home / 'data_checks.json'}: Permission denied)" in w
    assert "set $SMABY_GEO_CACHE_DIR to a folder you may write" in w
    assert list(home.iterdir()) == []
    # a writable data home remembers them, without a word
    monkeypatch.undo()
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    assert _memo_warnings(monkeypatch, [f]) == []
    assert (home / "data_checks.json").is_file()


def test_the_two_sha256_files_beside_a_file_have_one_name_each(tmp_path, monkeypatch):
    """A converted dataset's stamp names its upstream; a derived entry's sidecar its own bytes."""
    from smaby_geo import derived_cache

    assert datasets.stamp_path is datasets.source_stamp_path  # the earlier name still works
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    entry = derived_cache.entry_path("maps", "t", derived_cache.fingerprint("x"), "txt")
    derived_cache.cached(entry, lambda: "v", lambda p: p.read_text(), lambda v, p: p.write_text(v))
    side = datasets.checksum_sidecar_path(entry)
    assert side.read_text().strip() == datasets.hash_file(entry)
