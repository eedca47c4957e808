"""Scenario sweeps on a Dask LocalCluster equal the single-process sweep exactly, and the
cluster that ``local_client`` starts is set up for it (one numba thread per worker, glibc's
malloc thresholds instead of Dask's trim setting, the work done in the workers)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from smaby_geo.analysis.scenarios import read_scenario
from smaby_geo.sweep import WORKER_MALLOC_ENV, local_client, sweep


@pytest.fixture(scope="module")
def tynset():
    from smaby_geo.pipeline import run_travel_times

    return run_travel_times(
        region="Tynset", grid="1km", service_types=("hospital",), engine="dijkstra"
    )


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    d = tmp_path_factory.mktemp("scen")
    out = [read_scenario(f"scenarios/{n}.yaml") for n in ("rv3_upgrade", "close_tynset_hospital")]
    for road, kmh in (("Rv3", 110), ("Fv30", 100), ("Fv29", 30)):
        f = d / f"{road}_{kmh}.yaml"
        f.write_text(
            f"name: {road}_{kmh}\nedits:\n  - upgrade: {{road: {road}, speed_kmh: {kmh}}}\n",
            encoding="utf-8",
        )
        out.append(read_scenario(f))
    return out


def _worker_setup():
    import numba

    return numba.config.NUMBA_NUM_THREADS, {k: os.environ.get(k) for k in WORKER_MALLOC_ENV}


def test_sweep_on_a_local_cluster_equals_the_single_process_sweep(tynset, scenarios, monkeypatch):
    net, cells, services = tynset.network, tynset.cells, tynset.services
    local = sweep(net, cells, services, scenarios, within_min=30)
    # what an earlier plain LocalCluster in this process leaves behind: must not reach ours
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    with local_client(2) as client:
        setup = client.run(_worker_setup)
        worker_pids = set(client.run(os.getpid).values())
        remote = sweep(net, cells, services, scenarios, within_min=30, client=client, chunk_size=1)
    cols = [c for c in local.columns if c != "seconds"]
    pd.testing.assert_frame_equal(local[cols], remote[cols])
    assert sorted(local["scenario"]) == sorted(s.name for s in scenarios)
    # the ranking has content: Rv3 at 110 km/h brings the most within 30 minutes, closing
    # the hospital pushes people outside
    assert local.loc[0, "scenario"] == "Rv3_110" and local.loc[0, "brought_within"] > 0
    closed = local.set_index("scenario").loc["close_tynset_hospital"]
    assert closed["pushed_outside"] > 0 and closed["rank"] == len(scenarios)
    # the evaluations ran in the workers, each worker set up for one thread and glibc's malloc
    assert set(remote.attrs["timing"]["pid"]) <= worker_pids
    assert os.getpid() not in worker_pids
    assert set(local.attrs["timing"]["pid"]) == {os.getpid()}
    expected_env = {k: str(v) for k, v in WORKER_MALLOC_ENV.items()}
    assert all(s == (1, expected_env) for s in setup.values()), setup
    assert (remote.attrs["timing"]["cpu_seconds"] > 0).all()
    # ... and this process's environment is as it was
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ


def test_sweep_rejects_a_bad_chunk_size_and_repeated_names(tynset, scenarios):
    net, cells, services = tynset.network, tynset.cells, tynset.services
    with pytest.raises(ValueError, match="chunk_size"):
        sweep(net, cells, services, scenarios, client=object(), chunk_size=0)
    with pytest.raises(ValueError, match="unique"):
        sweep(net, cells, services, [scenarios[0], scenarios[0]])
    with pytest.raises(ValueError, match="n_workers"):
        local_client(0)


def _scenario_files(tmp_path):
    f = tmp_path / "Rv3_110.yaml"
    f.write_text("name: Rv3_110\nedits:\n  - upgrade: {road: Rv3, speed_kmh: 110}\n", "utf-8")
    return ["scenarios/rv3_upgrade.yaml", "scenarios/close_tynset_hospital.yaml", f]


def test_sweep_scenarios_on_workers_equals_one_process(tmp_path):
    from smaby_geo.sweep import sweep_scenarios

    kw = {"region": "Tynset", "grid": "1km", "within_min": 30}
    files = _scenario_files(tmp_path)
    local = sweep_scenarios(files, **kw)
    remote = sweep_scenarios(files, n_workers=1, **kw)
    cols = [c for c in local.columns if c != "seconds"]
    pd.testing.assert_frame_equal(local[cols], remote[cols])
    assert local.loc[0, "scenario"] == "Rv3_110" and local.loc[0, "brought_within"] > 0



@pytest.mark.parametrize("n", [100_000, -1, 2.0, "2", True])
def test_a_library_caller_is_told_the_parameter_and_the_cli_the_option(monkeypatch, n):
    """``sweep_scenarios(n_workers=)`` names ``n_workers=``; ``smaby-geo sweep`` ``--workers``."""
    from argparse import Namespace

    from smaby_geo import pipeline
    from smaby_geo import sweep as sweep_module
    from smaby_geo._errors import InputError
    from smaby_geo.cli_options import check_options

    def no_work(*args, **kwargs):
        raise AssertionError("started the work before checking n_workers")

    monkeypatch.setattr(pipeline, "run_travel_times", no_work)
    monkeypatch.setattr(sweep_module, "local_client", no_work)
    monkeypatch.setattr(sweep_module, "max_local_workers", lambda: 4)
    with pytest.raises(InputError) as lib:
        sweep_module.sweep_scenarios(["scenarios/rv3_upgrade.yaml"], n_workers=n)
    assert str(lib.value) == (
        f"n_workers={n!r}: give 0 (run in this process) to 4 (the CPU cores this process may "
        "use: each worker is a process with its own copy of the base, so more workers than "
        "cores only add memory); for more, start a Dask cluster and give its address as "
        "scheduler= (or a client=)"
    )
    assert "--" not in str(lib.value)
    with pytest.raises(InputError) as cli:
        check_options(Namespace(command="sweep", workers=n, scheduler=None))
    assert str(cli.value).startswith(f"--workers {n}: give 0 (run in this process) to 4 ")
    assert str(cli.value).endswith("start a Dask cluster and give --scheduler")
    assert "n_workers" not in str(cli.value) and "scheduler=" not in str(cli.value)
    assert sweep_module.check_workers(4) == 4 and sweep_module.check_workers(0) == 0
