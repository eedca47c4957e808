"""``smaby-geo indicators`` writes one complete set (staged, with a manifest), like ``run``.

A run failing while it writes leaves the previous set; a rerun replaces its previous set
whole (a map it no longer draws goes too); a run with ``--only`` keeps the other part.
Real data on a small region (Tynset).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from smaby_geo.cli import main
from smaby_geo.outputs import io

ARGS = ["indicators", "--region", "Tynset"]
MANIFEST = "indicators_run_tynset.json"


def _snapshot(out: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.iterdir())
        if p.is_file()
    }


def _leftovers(out: Path) -> list[str]:
    return [
        p.name
        for p in [*out.parent.iterdir(), *out.rglob("*")]
        if "smaby-staging" in p.name or "smaby-old" in p.name or ".part" in p.name
    ]


def _one_complete_set(out: Path) -> dict:
    """Every file on disk is listed in the manifest with its sha256, and nothing else."""
    meta = json.loads((out / MANIFEST).read_text())
    on_disk = _snapshot(out)
    assert set(on_disk) == set(meta["files"]) | {MANIFEST}, set(on_disk) ^ set(meta["files"])
    for name, digest in meta["files"].items():
        assert on_disk[name] == digest, name
    listed = [n for names in meta["parts"].values() for n in names]
    assert sorted(listed) == sorted(meta["files"])
    return meta


@pytest.fixture(scope="module")
def first_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("ind") / "out"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_a_run_failing_while_writing_leaves_the_previous_set(
    first_set, tmp_path, monkeypatch, capsys
):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first_set, out)
    before = _snapshot(out)
    assert any(n.startswith("map_") for n in before) and len(before) == 7
    real = io.write_csv

    def half_then_fail(df, path, **kw):
        if Path(path).name.startswith("transport_performance_kommuner"):
            Path(path).write_text("kommunenummer,transp")  # half a file, then the disk is full
            raise OSError(28, "No space left on device")
        return real(df, path, **kw)

    monkeypatch.setattr(io, "write_csv", half_then_fail)
    # the centrality files are already written (into the staging folder) when it fails
    assert main([*ARGS, "--limit-min", "60", "--out", str(out)]) != 0
    capsys.readouterr()
    assert _snapshot(out) == before
    assert _leftovers(out) == []
    meta = _one_complete_set(out)
    assert {"centrality", "transport_performance"} == set(meta["parts"])


def test_a_rerun_replaces_its_previous_set_whole_and_keeps_other_files(
    first_set, tmp_path, capsys
):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first_set, out)
    (out / "notes.txt").write_text("the user's own file")
    assert main([*ARGS, "--no-map", "--out", str(out)]) == 0
    capsys.readouterr()
    assert not list(out.glob("map_*.html"))  # the previous run's maps went with its set
    assert (out / "notes.txt").read_text() == "the user's own file"
    (out / "notes.txt").unlink()
    meta = _one_complete_set(out)
    assert {"centrality", "transport_performance"} == set(meta["parts"])
    assert _leftovers(out) == []


def test_only_one_part_keeps_the_other_part_of_the_previous_set(first_set, tmp_path, capsys):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first_set, out)
    old = json.loads((out / MANIFEST).read_text())
    cent = {n: d for n, d in old["files"].items() if n in old["parts"]["centrality"]}
    assert main([*ARGS, "--only", "transport-performance", "--limit-min", "60",
                 "--no-map", "--out", str(out)]) == 0
    capsys.readouterr()
    meta = _one_complete_set(out)
    # centrality carried over unchanged, its summary too; transport performance is new
    assert {n: meta["files"][n] for n in meta["parts"]["centrality"]} == cent
    assert meta["summary"]["centrality"] == old["summary"]["centrality"]
    tp_new = meta["summary"]["transport_performance"]
    assert tp_new["accessibility"] < old["summary"]["transport_performance"]["accessibility"]
    # the manifest says which limit each part was computed with (a mixed set is visible)
    assert meta["summary"]["centrality"]["parameters"]["limit_min"] == 90
    assert tp_new["parameters"]["limit_min"] == 60
    assert not any(n.startswith("map_transport") for n in meta["files"])
    # a carried-over file changed on disk since is not vouched for: that part is dropped
    (out / meta["parts"]["centrality"][0]).write_text("edited by hand")
    assert main([*ARGS, "--only", "transport-performance", "--no-map",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    meta = _one_complete_set(out)
    assert set(meta["parts"]) == {"transport_performance"}
    assert not list(out.glob("centrality_*"))


def test_only_one_part_reads_each_file_once_for_the_manifest(
    first_set, tmp_path, capsys, monkeypatch
):
    """The carried-over files are checked against the previous manifest once; the new
    manifest reuses those digests rather than reading each file a second time."""
    import shutil
    from collections import Counter

    from smaby_geo import datasets

    out = tmp_path / "out"
    shutil.copytree(first_set, out)
    old = json.loads((out / MANIFEST).read_text())
    reads: Counter[str] = Counter()
    real = datasets.hash_file

    def counting(path):
        reads[Path(path).name] += 1
        return real(path)

    monkeypatch.setattr(datasets, "hash_file", counting)
    assert main([*ARGS, "--only", "transport-performance", "--no-map",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    meta = _one_complete_set(out)  # every listed digest is the file's sha256 on disk
    carried = meta["parts"]["centrality"]
    assert carried == old["parts"]["centrality"] and len(carried) >= 2
    assert {n: meta["files"][n] for n in carried} == {n: old["files"][n] for n in carried}
    assert {n: reads[n] for n in meta["files"]} == dict.fromkeys(meta["files"], 1)


def test_a_region_reaches_the_residents_and_sites_beyond_the_old_100_km_buffer(
    tmp_path, capsys
):
    """90 minutes reach 150 km at 100 km/h: Hamar's cells reach Oslo's residents, which a
    network clipped 100 km beyond the region cut off (up to 13 % fewer residents per cell).
    The region's cells must reach what they reach on a network clipped far beyond any 90
    minutes (400 km)."""
    import geopandas as gpd
    import numpy as np

    from smaby_geo.analysis.centrality import centrality
    from smaby_geo.analysis.transport_performance import transport_performance
    from smaby_geo.network.core import clip_network
    from smaby_geo.network.readers import load_network
    from smaby_geo.places.admin import select_region
    from smaby_geo.places.population import read_kommuner, read_population_grid
    from smaby_geo.places.services import load_services

    out = tmp_path / "out"
    assert main(["indicators", "--region", "Hamar", "--no-map", "--buffer-km", "60",
                 "--out", str(out)]) == 0
    assert "Note: --buffer-km has no effect on indicators" in capsys.readouterr().out
    got = gpd.read_parquet(out / "centrality_cells_hamar_250m.parquet")
    got_tp = gpd.read_parquet(out / "transport_performance_cells_hamar_1km.parquet")

    kom = read_kommuner()
    sel = select_region(kom, "Hamar")
    net = load_network()
    sv_all = load_services()

    def clipped(km, grid):
        cells_all = read_population_grid(grid, kommuner=kom)
        buf = sel.geometry.union_all().buffer(km * 1000.0)
        cells = cells_all[cells_all["kommunenummer"].isin(sel["kommunenummer"])]
        sv = sv_all[sv_all.intersects(buf)]
        sv.attrs.update(sv_all.attrs)
        return clip_network(net, buf), cells, cells_all[cells_all.intersects(buf)], sv

    n, cells, near, sv = clipped(400, "250m")
    ref = centrality(n, cells, sv, near).cells
    assert got.index.equals(ref.index) and len(got) > 500
    np.testing.assert_array_equal(got["population_within"], ref["population_within"])
    np.testing.assert_allclose(got["weighted_population"], ref["weighted_population"])
    np.testing.assert_allclose(got["score"], ref["score"])
    # what this guards against: the old 100 km clip reached far fewer residents
    n, cells, near, sv = clipped(100, "250m")
    short = centrality(n, cells, sv, near).cells
    assert (ref["population_within"] - short["population_within"]).max() > 100_000
    n, cells, near, _ = clipped(400, "1km")
    ref_tp = transport_performance(n, cells, near)
    np.testing.assert_array_equal(got_tp["accessibility"], ref_tp["accessibility"])
    np.testing.assert_array_equal(got_tp["proximity"], ref_tp["proximity"])


def test_a_region_run_says_its_centrality_index_is_scaled_within_the_region(first_set):
    """A region's index and classes take the region's own top and lowest kommune (Tynset
    alone gets 1000, class 1): the run JSON and the file metadata say so, not only the code."""
    import pandas as pd

    meta = json.loads((first_set / MANIFEST).read_text())
    scaling = meta["summary"]["centrality"]["scaling"]
    assert scaling.startswith("Scaled within Tynset, not nationally")
    areas = pd.read_csv(first_set / "centrality_kommuner_tynset.csv")
    assert areas["centrality_index"].max() == pytest.approx(1000.0)  # what the note explains
    import pyarrow.parquet as pq

    schema = pq.read_schema(first_set / "centrality_cells_tynset_250m.parquet")
    assert json.loads(schema.metadata[b"smaby_geo"])["scaling"] == scaling
