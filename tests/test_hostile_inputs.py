"""Hostile inputs found by a probe: each gives one clear error or a correct result, never a
traceback, a doubled population or silently damaged data."""

from __future__ import annotations

import numpy as np
import pytest

# --- labour-market regions of kommuner with no centre or nothing to join (island kommuner) ---


def test_time_regions_of_one_kommune_with_no_centre():
    from smaby_geo.analysis.regions import delineate_by_time

    mem, reg = delineate_by_time(["1151"], np.array([[100.0]]), np.array([[0.0]]), [])
    assert mem["kommunenummer"].tolist() == ["1151"]
    assert mem["centre"].tolist() == ["1151"] and mem["step"].tolist() == ["alone"]
    assert len(reg) == 1


def test_time_regions_of_unconnected_kommuner_stay_alone():
    from smaby_geo.analysis.regions import delineate_by_time

    codes = ["1151", "1835", "1856"]
    times = np.full((3, 3), np.inf)
    np.fill_diagonal(times, 0.0)
    mem, _ = delineate_by_time(codes, np.eye(3) * 10, times, ["1835"])
    assert mem.set_index("kommunenummer")["centre"].to_dict() == {
        "1151": "1151",
        "1835": "1835",
        "1856": "1856",
    }
    assert mem["step"].tolist() == ["alone", "centre", "alone"]


@pytest.mark.parametrize("with_options", [False, True])
def test_lma_of_one_kommune_is_one_residual_area(with_options):
    from smaby_geo.analysis.lma import delineate_lma

    opts = (
        {"adjacency_matrix": np.zeros((1, 1), bool), "times": np.zeros((1, 1)), "max_minutes": 75}
        if with_options
        else {}
    )
    mem, reg = delineate_lma(["1151"], np.array([[150.0]]), population=[200.0], **opts)
    assert mem["kommunenummer"].tolist() == ["1151"] and mem["centre"].tolist() == ["1151"]
    assert mem["step"].tolist() == ["residual"]  # 150 residents: below the minimum size
    assert len(reg) == 1


def test_lma_of_unconnected_kommuner_keeps_each_alone():
    from smaby_geo.analysis.lma import delineate_lma

    times = np.full((2, 2), np.inf)
    np.fill_diagonal(times, 0.0)
    mem, _ = delineate_lma(
        ["1151", "1835"],
        np.diag([150.0, 400.0]),
        adjacency_matrix=np.zeros((2, 2), bool),
        times=times,
        max_minutes=75,
        population=[200.0, 450.0],
    )
    assert mem["centre"].tolist() == ["1151", "1835"]
    assert mem["region"].nunique() == 2


# --- the SSB population grid: each cell once, whole persons, on the grid ----------------------


def _grid_file(tmp_path, rows: str, header: str = "ru250m;pop_tot"):
    p = tmp_path / "grid.csv"
    p.write_text(header + "\n" + rows)
    return p


def _one_kommune():
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {
            "kommunenummer": ["4601"],
            "kommunenavn": ["Bergen"],
            "fylkesnummer": ["46"],
            "fylkesnavn": ["Vestland"],
        },
        geometry=[box(270_000, 6_900_000, 290_000, 6_920_000)],
        crs="EPSG:25833",
    )


def test_population_grid_with_a_repeated_cell_id_is_refused_not_doubled(tmp_path):
    from smaby_geo import read_population_grid

    f = _grid_file(tmp_path, "22805006911250;10\n22805006911250;5\n22805006911500;1\n")
    with pytest.raises(ValueError, match="repeated") as e:
        read_population_grid("250m", path=f, kommuner=_one_kommune())
    msg = str(e.value)
    assert "repeated at lines 2, 3" in msg and "22805006911250" in msg and str(f) in msg
    # the same cells listed once each are read whole: 3 rows, 16 people (was 5 rows, 31)
    f.write_text("ru250m;pop_tot\n22805006911250;10\n22805006911000;5\n22805006911500;1\n")
    g = read_population_grid("250m", path=f, kommuner=_one_kommune())
    assert len(g) == 3 and int(g["population"].sum()) == 16
    assert g["kommunenummer"].tolist() == ["4601"] * 3


def test_population_grid_with_a_fractional_population_is_refused(tmp_path):
    from smaby_geo.ssb_grid import read_grid_csv

    f = _grid_file(tmp_path, "22805006911250;3\n22805006911500;2,5\n")
    msg = r"not a whole number of residents at line 3 \(e\.g\. 2\.5"
    with pytest.raises(ValueError, match=msg):
        read_grid_csv(f, "ru250m")


@pytest.mark.parametrize(
    ("header", "bad_id"),
    [("ru250m", "22805006911510"), ("ru250m", "22805106911250"), ("ssbid_1000m", "22805006911250")],
)
def test_population_grid_with_an_id_off_the_grid_is_refused(tmp_path, header, bad_id):
    from smaby_geo.ssb_grid import read_grid_csv

    f = _grid_file(tmp_path, f"22800006911000;3\n{bad_id};1\n", header=f"{header};pop_tot")
    size = 250 if header == "ru250m" else 1000
    with pytest.raises(ValueError, match=rf"off the {size} m grid at line 3 \(e\.g\. {bad_id}"):
        read_grid_csv(f, header)


def test_population_grid_nan_population_names_the_line(tmp_path):
    from smaby_geo.ssb_grid import read_grid_csv

    f = _grid_file(tmp_path, "22805006911250;3\n22805006911500;\n22805006911750;-1\n")
    with pytest.raises(ValueError, match=r"NaN or negative values at lines 3, 4"):
        read_grid_csv(f, "ru250m")


# --- the data folder ($SMABY_GEO_DATA_DIR): its files must be the registry's -----------------


def _data_folder_with(tmp_path, damaged: str | None = None):
    """A data folder linking to every file of the real one; ``damaged`` truncated to half."""
    from smaby_geo import datasets

    real = datasets.data_dir()
    assert real is not None
    folder = tmp_path / "data"
    for ds in datasets.DATASETS.values():
        target = folder / ds.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if ds.name == damaged:
            data = (real / ds.relpath).read_bytes()
            target.write_bytes(data[: len(data) // 2])
        else:
            target.symlink_to(real / ds.relpath)
    return folder


def test_damaged_data_folder_file_stops_naming_file_and_checksums(tmp_path, monkeypatch):
    from smaby_geo import datasets

    folder = _data_folder_with(tmp_path, damaged="courts")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(folder))
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    bad = folder / datasets.DATASETS["courts"].relpath
    with pytest.raises(datasets.DatasetChecksumError) as e:
        datasets.locate_dataset("courts", download=False)
    found = datasets.hash_file(bad)
    msg = str(e.value)
    assert str(bad) in msg and datasets.DATASETS["courts"].sha256 in msg and found in msg
    assert "smaby-geo data fetch courts" in msg and "explicit path" in msg
    # the other files of the folder are the registry's and are used
    assert datasets.locate_dataset("police", download=False) == folder / "services/police.csv"
    # a file of one's own is still taken as an explicit path
    assert datasets.locate_dataset("courts", bad) == bad


def test_a_converted_file_of_another_conversion_is_taken_with_its_stamp(tmp_path, monkeypatch):
    """A GeoPackage records when it was written, so a conversion made by ``smaby-geo data
    fetch`` has other bytes than the registry's: copied with its stamp beside it (as the
    message says), it is the registry's dataset, as in the data home; without it, refused."""
    from smaby_geo import datasets

    name = "nvdb_oslo_sample"
    ds = datasets.DATASETS[name]
    assert ds.convert is not None
    folder = _data_folder_with(tmp_path)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(folder))
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    f = folder / ds.relpath
    data = f.read_bytes()
    f.unlink()
    f.write_bytes(data + b"\0")  # stands for another conversion's bytes
    with pytest.raises(datasets.DatasetChecksumError, match=f"with {f.name}.sha256 beside it"):
        datasets.locate_dataset(name, download=False)
    datasets.stamp_path(f).write_text(ds.upstream_sha256 + "\n")
    assert datasets.locate_dataset(name, download=False) == f
    datasets.stamp_path(f).write_text("0" * 64 + "\n")  # made from another upstream
    with pytest.raises(datasets.DatasetChecksumError):
        datasets.locate_dataset(name, download=False)


def test_cli_data_and_run_flag_a_damaged_data_folder_file(tmp_path, monkeypatch, capsys):
    from smaby_geo import datasets
    from smaby_geo.cli import main

    folder = _data_folder_with(tmp_path, damaged="hospitals")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(folder))
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    bad = folder / datasets.DATASETS["hospitals"].relpath
    assert main(["data"]) == 2
    out, err = capsys.readouterr()
    assert f"hospitals                DAMAGED {bad}" in out
    assert "courts                   " + str(folder / "services/courts.csv") in out
    (line,) = err.strip().splitlines()
    assert line.startswith("smaby-geo: error: dataset 'hospitals': " + str(bad))
    args = ["run", "--no-map", "--no-gpkg", "--services", "hospital", "--region", "Utsira"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == line


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_data_folder_variable_naming_no_folder_is_one_line_exit_2(
    tmp_path, monkeypatch, capsys, kind
):
    from smaby_geo import datasets
    from smaby_geo.cli import main

    target = tmp_path / "nowhere"
    if kind == "file":
        target.write_text("not a folder\n")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(target))
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    with pytest.raises(datasets.DataFolderError):
        datasets.locate_dataset("courts", download=False)
    for argv in (["data"], ["run", "--no-map", "--services", "hospital", "--out", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        what = "is a file, not a folder" if kind == "file" else "does not exist"
        assert err == f"smaby-geo: error: $SMABY_GEO_DATA_DIR={target} {what}; set it to " \
            "the folder holding the data (with population/, roads/, services/ ... inside), " \
            "or unset it to use the data home\n"
    assert not (tmp_path / "home").exists()  # nothing was fetched


def test_file_checksums_are_remembered_by_size_and_time(tmp_path, monkeypatch):
    import os

    from smaby_geo import datasets

    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(tmp_path / "home"))
    monkeypatch.setattr(datasets, "_checks", None)
    reads = []
    real_hash = datasets.hash_file
    monkeypatch.setattr(datasets, "hash_file", lambda p: reads.append(p) or real_hash(p))
    f = tmp_path / "table.csv"
    f.write_bytes(b"a;b\n1;2\n")
    old = 1_600_000_000
    os.utime(f, (old, old))
    first = datasets.file_sha256(f)
    assert first == real_hash(f) and len(reads) == 1
    assert datasets.file_sha256(f) == first and len(reads) == 1  # remembered
    monkeypatch.setattr(datasets, "_checks", None)  # a later process: read from the data home
    assert datasets.file_sha256(f) == first and len(reads) == 1
    f.write_bytes(b"a;b\n1;3\n")  # same size, edited: another time
    os.utime(f, (old + 10, old + 10))
    assert datasets.file_sha256(f) == real_hash(f) != first and len(reads) == 2
    # same size and the same modification time put back (cp -p, tar, rsync -t): the change
    # time differs, so it is read again, not taken for the file remembered
    f.write_bytes(b"a;b\n1;5\n")
    os.utime(f, (old + 10, old + 10))
    assert datasets.file_sha256(f) == real_hash(f) and len(reads) == 3
    f.write_bytes(b"a;b\n1;4\n")  # changed just now: read on every use
    datasets.file_sha256(f)
    datasets.file_sha256(f)
    assert len(reads) == 5


# --- small functions of the public API: bad arguments are named, not answered ----------------


@pytest.mark.parametrize(
    ("values", "weights", "q", "match"),
    [
        ([1.0, 2.0, 3.0], [1, 1, 1], 2, r"q must be in \[0, 1\].*got 2"),
        ([1.0, 2.0, 3.0], [1, 1, 1], float("nan"), r"q must be in \[0, 1\]"),
        ([1.0, np.nan, 3.0], [1, 1, 1], 0.5, r"1 values are NaN \(positions \[1\]\)"),
        ([1.0, 2.0, 3.0], [1, -1, 1], 0.5, r"weights must be finite and >= 0.*positions \[1\]"),
        ([1.0, 2.0, 3.0], [1, np.nan, 1], 0.5, r"weights must be finite and >= 0"),
        ([1.0, 2.0, 3.0], [1, 1], 0.5, r"give one weight per value"),
    ],
)
def test_weighted_quantile_refuses_bad_arguments(values, weights, q, match):
    from smaby_geo import weighted_quantile

    with pytest.raises(ValueError, match=match):
        weighted_quantile(np.array(values), np.array(weights, float), q)


def test_weighted_quantile_still_answers_good_arguments():
    from smaby_geo import weighted_quantile

    v, w = np.array([3.0, 1.0, np.inf, 2.0]), np.array([1.0, 1.0, 5.0, 1.0])
    assert weighted_quantile(v, w, 0.0) == 1.0
    # cumulative weights 1, 2, 3, 8 of 8 at 1, 2, 3, inf
    assert weighted_quantile(v, w, 0.25) == 2.0 and weighted_quantile(v, w, 0.3) == 3.0
    assert weighted_quantile(v, w, 1.0) == np.inf
    assert np.isnan(weighted_quantile(v, np.zeros(4), 0.5))


def test_coverage_curve_refuses_nan_and_negative_minutes():
    import pandas as pd

    from smaby_geo import coverage_curve

    tab = pd.DataFrame({"hospital_minutes": [10.0, 50.0, np.inf], "population": [1, 2, 3]})
    for bad in ([np.nan], [-1.0], [10.0, np.inf]):
        with pytest.raises(ValueError, match="minutes must be finite and >= 0"):
            coverage_curve(tab, "hospital", minutes=bad)
    ok = coverage_curve(tab, "hospital", minutes=[0, 10, 60])
    assert ok["share"].tolist() == [0.0, 1 / 6, 0.5]


def _services_gdf(geoms):
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"name": [f"s{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:25833"
    )


def test_read_services_refuses_sites_that_are_not_one_point(tmp_path):
    from shapely.geometry import LineString, MultiPoint, Point

    from smaby_geo.places.services import ServicesFileError, read_services

    two = MultiPoint([(262_000, 6_650_000), (300_000, 6_700_000)])
    line = LineString([(262_000, 6_650_000), (263_000, 6_651_000)])
    g = _services_gdf([Point(262_000, 6_650_000), two, line])
    with pytest.raises(
        ServicesFileError,
        match=r"sites must be points, one per site; found \{'MultiPoint': 1, 'LineString': 1\} "
        r"at row 1, row 2; .*explode",
    ):
        read_services(g, service_type="police")
    f = tmp_path / "sites.gpkg"
    g.to_file(f)
    with pytest.raises(ServicesFileError, match=rf"{f}: sites must be points"):
        read_services(f, service_type="police")
    # a MultiPoint of one point is that point
    one = read_services(
        _services_gdf([MultiPoint([(262_000, 6_650_000)]), Point(300_000, 6_700_000)]),
        service_type="police",
    )
    assert one.geometry.geom_type.tolist() == ["Point", "Point"]
    assert (one.geometry.x.tolist(), one.geometry.y.tolist()) == (
        [262_000.0, 300_000.0],
        [6_650_000.0, 6_700_000.0],
    )


def test_read_services_refuses_coordinate_pairs_that_disagree(tmp_path):
    from smaby_geo.places.services import ServicesFileError, read_services

    f = tmp_path / "sites.csv"
    # Oslo in both pairs on line 2; line 3's lon/lat are Bergen's while x/y are Oslo's
    f.write_text(
        "name,service_type,x_25833,y_25833,lon,lat\n"
        "A,police,262000,6650000,10.7461,59.9127\n"
        "B,police,262000,6650000,5.3221,60.3913\n"
    )
    with pytest.raises(
        ServicesFileError,
        match=r"'x_25833'/'y_25833' \(used\) and 'lon'/'lat' place sites more than 1 km apart "
        r"at line 3 \(3\d\d\.\d km\); correct them",
    ):
        read_services(f)
    f.write_text(  # agreeing pairs (and a blank lon/lat) are read, from x_25833/y_25833
        "name,service_type,x_25833,y_25833,lon,lat\n"
        "A,police,262000,6650000,10.7461,59.9127\n"
        "B,police,262000,6650000,,\n"
    )
    g = read_services(f)
    assert g.geometry.x.tolist() == [262_000.0, 262_000.0]


@pytest.mark.parametrize(
    ("value", "shown"), [("0", False), ("off", False), ("1", True), ("", False)]
)
def test_traceback_variable_zero_means_off(tmp_path, monkeypatch, capsys, value, shown):
    from smaby_geo.cli import main

    monkeypatch.setenv("SMABY_GEO_TRACEBACK", value)
    code = main(["run", "--region", "", "--no-map", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines()[-1].startswith("smaby-geo: error: ")
    assert ("Traceback (most recent call last)" in err) is shown


def test_population_grid_lines_count_blank_lines_and_text_is_named(tmp_path):
    """Lines are the file's own (a blank line had shifted every line after it), and a
    population that is no number ("1 234") is named as such, with what was read (it was
    "NaN or negative")."""
    from smaby_geo.ssb_grid import read_grid_csv

    # line 1 header, 2 blank, 3 fine, 4 blank (spaces), 5 "1 234", 6 empty
    f = _grid_file(tmp_path, "\n22805006911250;3\n   \n22805006911500;1 234\n22805006911750;\n")
    with pytest.raises(ValueError, match="not a number") as e:
        read_grid_csv(f, "ru250m")
    assert str(e.value) == (
        f"population grid {f}: pop_tot is not a number at line 5 (read '1 234'); write the "
        "residents as a whole number, without spaces or thousands separators"
    )
    f = _grid_file(tmp_path, "\n22805006911250;3\n\n22805006911500;\n22805006911750;-1\n")
    with pytest.raises(ValueError, match=r"NaN or negative values at lines 5, 6;"):
        read_grid_csv(f, "ru250m")
    f = _grid_file(tmp_path, "22805006911250;3\n\n\n22805006911250;5\n")
    with pytest.raises(ValueError, match=r"cell ids repeated at lines 2, 5 "):
        read_grid_csv(f, "ru250m")
