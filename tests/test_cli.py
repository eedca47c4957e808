import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from smaby_geo.analysis.lma import LMAParameters
from smaby_geo.cli import main
from smaby_geo.outputs.io import atomic_path


def test_main_job_on_a_kommune_writes_all_outputs(tmp_path, capsys):
    rc = main(["run", "--region", "Tynset", "--grid", "1km", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Outputs:" in out and "Stage timings" in out and "incomplete" in out
    # nobody in Tynset is off the main network: the count, and no dangling "by reason:"
    assert "People off the main network: 0\n" in out and "by reason:" not in out
    cells = gpd.read_parquet(tmp_path / "cells_tynset_1km.parquet")
    # road-connected cells all reach a hospital; the others are inf, never dropped or NaN
    ok = cells["road_connected"].to_numpy()
    minutes = cells["hospital_minutes"].to_numpy()
    assert len(cells) > 50 and ok.sum() > 50
    assert np.isfinite(minutes[ok]).all() and np.isposinf(minutes[~ok]).all()
    meta = json.loads(pq.read_schema(tmp_path / "cells_tynset_1km.parquet").metadata[b"smaby_geo"])
    assert "© Kartverket" in meta["attribution"] and "Kilde: SSB" in meta["attribution"]
    gpkg = gpd.read_file(tmp_path / "cells_tynset_1km.gpkg")
    assert len(gpkg) == len(cells)
    summary = pd.read_csv(tmp_path / "kommune_summary_tynset_1km.csv", dtype={"kommunenummer": str})
    assert set(summary["kommunenummer"]) == {"3427"}
    assert summary["population"].iloc[0] == cells["population"].sum()
    html = (tmp_path / "map_hospital_tynset_1km.html").read_text()
    assert "Kilde: SSB" in html and "smaby-legend" in html
    assert not list(tmp_path.glob(".*part*"))
    # the region is routed to every site of the country, and the run says how many of them
    # are the nearest for someone in it (Tynset's people all go to Tynset's hospital)
    run = json.loads((tmp_path / "run_tynset_1km.json").read_text())
    assert run["service_sites"]["hospital"] > 40
    assert run["service_sites_nearest"]["hospital"] == 1  # Sykehuset Innlandet, Tynset
    assert run["service_sites_nearest"]["police"] == 2  # Tynset and, for the north, Oppdal
    live = ok & (cells["population"] > 0).to_numpy()
    for t in ("hospital", "police", "court", "study_centre"):
        assert run["service_sites_nearest"][t] == cells.loc[live, f"{t}_site"].nunique()
    assert f"hospital {run['service_sites']['hospital']} (1 nearest for someone here)" in out


def test_unknown_region_is_a_clear_error(capsys):
    assert main(["run", "--region", "Tynsett", "--grid", "1km"]) == 2
    assert "close matches" in capsys.readouterr().err


def test_route_command(capsys):
    assert main(["route", "Lillehammer", "Gjøvik"]) == 0
    assert "| Lillehammer | Gjøvik |" in capsys.readouterr().out


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.csv"

    def interrupted_write():
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_write()
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_main_job_catchments_outputs(tmp_path, capsys):
    import rasterio

    rc = main(
        [
            "run",
            "--region",
            "Tynset",
            "--grid",
            "1km",
            "--services",
            "hospital,police",
            "--catchments",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    capsys.readouterr()
    layers = {
        name
        for name, _ in __import__("pyogrio").list_layers(tmp_path / "catchments_tynset_1km.gpkg")
    }
    assert layers == {"hospital", "police"}
    c = gpd.read_file(tmp_path / "catchments_tynset_1km.gpkg", layer="hospital")
    cells = gpd.read_parquet(tmp_path / "cells_tynset_1km.parquet")
    reach = cells["hospital_minutes"] < float("inf")
    assert c["population"].sum() == cells.loc[reach, "population"].sum()
    with rasterio.open(tmp_path / "minutes_hospital_tynset_1km.tif") as src:
        assert src.res == (1000.0, 1000.0) and "Kartverket" in src.tags()["attribution"]
    iso = gpd.read_file(tmp_path / "isochrones_tynset_1km.gpkg")
    assert set(iso["service_type"]) == {"hospital", "police"}
    html = (tmp_path / "map_catchments_hospital_tynset_1km.html").read_text()
    assert "Kilde: SSB" in html and "Catchments" in html


@pytest.mark.parametrize("method", ["ba", "lma", "time"])
def test_main_job_regions_national(tmp_path, capsys, method):
    rc = main(
        [
            "run",
            "--grid",
            "1km",
            "--services",
            "hospital",
            "--regions",
            method,
            "--no-map",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    capsys.readouterr()
    mem = pd.read_csv(
        tmp_path / f"regions_{method}_membership_norway_1km.csv",
        dtype={"kommunenummer": str, "centre": str},
    )
    assert len(mem) == 357 and mem["kommunenummer"].is_unique
    # every centre is a member of its own region
    centres = mem[mem["kommunenummer"] == mem["centre"]]
    assert set(centres["region"]) == set(mem["region"])
    reg = gpd.read_file(tmp_path / f"regions_{method}_norway_1km.gpkg")
    assert reg["n_kommuner"].sum() == 357
    # each region has exactly one anchor: a centre or a kommune left alone (BA, time); an
    # LMA region is valid or a lone residual kommune
    if method in ("ba", "time"):
        anchors = mem[mem["step"].isin(["centre", "alone"])]
        assert len(reg) == len(anchors) == anchors["region"].nunique()
    else:
        # the membership marks exactly the kommuner of invalid areas "residual", and each
        # region's validity is Coombes & Bond's formula on its own self-containment and size
        residual = set(mem.loc[mem["step"] == "residual", "region"])
        assert set(reg.loc[reg["validity"] < 1, "region"]) == residual
        p = LMAParameters()
        sc, size = reg["self_containment"], reg["employed_residents"]
        z = 1 - (1 - p.min_sc / p.target_sc) * np.maximum(
            (p.target_size - size) / (p.target_size - p.min_size), 0
        )
        v = np.minimum(sc / p.target_sc, 1) * z * p.target_sc / p.min_sc
        assert np.allclose(reg["validity"], v, rtol=1e-9)
    assert len(reg) == mem["region"].nunique()
    assert reg["population"].sum() == pytest.approx(5_146_614)
