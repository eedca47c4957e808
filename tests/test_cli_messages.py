"""What the command line says when it fails: one line naming the input at fault and the fix,
exit code 2, the fix fitting the fault (a time-out is no disk problem, ``route`` has no
``--out``), and nothing at all when the reader of standard output has gone."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import tiny_network

REPO = Path(__file__).resolve().parents[1]


def _cli(capsys, *argv):
    from smaby_geo.cli import main

    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _run_module(*argv, stdout):
    return subprocess.run(
        [sys.executable, "-m", "smaby_geo.cli", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )


# --- 1. OSErrors: the fix fits the fault; a closed pipe on standard output is silent ----------


def test_a_closed_pipe_on_standard_output_ends_silently():
    """``smaby-geo data | head -1``: the reader has gone; no message, 141 (128 + SIGPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        r = _run_module("data", stdout=write_end)
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (141, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_under_standard_output_names_it_not_out():
    """``smaby-geo data >/dev/full``: one line on standard output, without ``--out``."""
    with open("/dev/full", "w") as full:
        r = _run_module("data", stdout=full)
    assert r.returncode == 2
    (line,) = r.stderr.splitlines()
    assert line == (
        "smaby-geo: error: standard output: No space left on device; free some space where "
        "the output is redirected, or redirect it to another place"
    )


@pytest.mark.parametrize(
    ("exc", "want"),
    [
        (
            FileExistsError(errno.EEXIST, "File exists", "/x/out"),
            "/x/out: File exists; remove it or choose another path",
        ),
        (
            TimeoutError("Timed out trying to connect to tcp://10.0.0.5:8786 after 30 s"),
            "Timed out trying to connect to tcp://10.0.0.5:8786 after 30 s; check the address "
            "and that the other end is running and reachable",
        ),
        (OSError("Timed out trying to connect"), "Timed out trying to connect"),
        (
            BrokenPipeError(errno.EPIPE, "Broken pipe"),
            "Broken pipe; the other end closed the connection; check it and try again",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "/x/out/a.csv"),
            "/x/out/a.csv: No space left on device; free some disk space or choose --out on "
            "another disk",
        ),
    ],
)
def test_os_errors_get_a_fix_that_fits_them(exc, want):
    from smaby_geo.cli import describe_expected_error

    assert describe_expected_error(exc) == want


def test_a_full_disk_in_a_command_without_out_does_not_suggest_it():
    from smaby_geo.cli import describe_expected_error

    exc = OSError(errno.ENOSPC, "No space left on device", "/x/cache/a.npz")
    assert describe_expected_error(exc, out_option=None) == (
        "/x/cache/a.npz: No space left on device; free some disk space"
    )


def test_route_on_a_full_disk_does_not_suggest_out(capsys, monkeypatch):
    """``route`` has no ``--out``: an ENOSPC with a file name there suggests no option."""
    from smaby_geo.places import placenames

    def full(name):
        raise OSError(errno.ENOSPC, "No space left on device", "/x/cache/names.json")

    monkeypatch.setattr(placenames, "resolve_place", full)
    rc, _, err = _cli(capsys, "route", "Tynset", "Alvdal")
    assert rc == 2
    assert err == (
        "smaby-geo: error: /x/cache/names.json: No space left on device; free some disk space\n"
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_with_an_unreachable_scheduler_names_the_option_before_computing(
    tmp_path, capsys, monkeypatch
):
    # dask.distributed's defaults are loaded before the config is set: a key first set in a
    # `with dask.config.set` is removed on leaving it, with all that came under it meanwhile
    import dask
    import dask.distributed

    from smaby_geo import pipeline

    def no_base(**kw):
        raise AssertionError("the base was computed before the scheduler was reached")

    monkeypatch.setattr(pipeline, "run_travel_times", no_base)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        rc, _, err = _cli(
            capsys, "sweep", "scenarios/rv3_upgrade.yaml", "--scheduler", address
        )
    assert rc == 2 and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith(f"smaby-geo: error: --scheduler {address}: cannot connect (")
    assert line.endswith(
        "check the address (tcp://host:8786) and that the scheduler is running there, or "
        "leave out --scheduler to run in this process"
    )
    assert "disk" not in line


# --- 3. options are checked before any work ---------------------------------------------------


def _no_work(*args, **kwargs):
    raise AssertionError("the command started its work before checking its options")


@pytest.mark.parametrize(
    ("argv", "module", "job"),
    [
        (["run"], "smaby_geo.pipeline", "main_job"),
        (["scenario", "scenarios/rv3_upgrade.yaml"], "smaby_geo.scenario_job", "scenario_job"),
        (["sweep", "scenarios/rv3_upgrade.yaml"], "smaby_geo.sweep", "sweep_scenarios"),
        (["serve"], "smaby_geo.explorer", "check_address"),
        (["towns"], "smaby_geo.towns_pipeline", "run_towns_job"),
    ],
)
@pytest.mark.parametrize("value", ["1e308", "3001", "-1", "nan"])
def test_a_bad_buffer_is_refused_before_any_work(capsys, monkeypatch, argv, module, job, value):
    import importlib

    monkeypatch.setattr(importlib.import_module(module), job, _no_work)
    rc, _, err = _cli(capsys, *argv, f"--buffer-km={value}")
    assert rc == 2 and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("smaby-geo: error: --buffer-km ")
    if float(value) > 0:  # finite but too large: the cap, and the fix
        assert line == (
            f"smaby-geo: error: --buffer-km {float(value):g}: give at most 3,000 km (Norway "
            "spans under 2,000 km, so a larger buffer clips nothing); leave out --buffer-km "
            "for no clip"
        )


def test_a_buffer_within_the_cap_reaches_the_command(capsys, monkeypatch):
    from smaby_geo import pipeline

    seen = []
    monkeypatch.setattr(
        pipeline, "main_job", lambda args: seen.append(args.buffer_km) or _no_work()
    )
    rc, _, _ = _cli(capsys, "run", "--buffer-km", "3000")
    assert rc == 1 and seen == [3000.0]  # reached the job (stopped there by the test)


# --- 4. network --path given a folder --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [("n1000", "an N1000 road GeoPackage (.gpkg)"), ("osm", "an OpenStreetMap extract (.osm.pbf)")],
)
def test_network_path_of_a_folder_says_it_is_a_folder_and_what_file_is_wanted(
    tmp_path, capsys, source, expected
):
    rc, _, err = _cli(capsys, "network", "--source", source, "--path", tmp_path)
    assert rc == 2
    assert err == (
        f"smaby-geo: error: --path {tmp_path}: is a folder; give the road data file itself: "
        f"{expected} for --source {source}\n"
    )


# --- 5. sweep --workers has a cap --------------------------------------------------------------


@pytest.mark.parametrize("workers", [100_000, -1])
def test_sweep_workers_beyond_the_cores_are_refused_before_any_work(
    capsys, monkeypatch, workers
):
    from smaby_geo import pipeline, sweep
    from smaby_geo._errors import InputError

    monkeypatch.setattr(pipeline, "run_travel_times", _no_work)
    monkeypatch.setattr(sweep, "local_client", _no_work)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(6)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the host's; the process may use 6
    want = (
        f"--workers {workers}: give 0 (run in this process) to 6 (the CPU cores this process "
        "may use: each worker is a process with its own copy of the base, so more workers "
        "than cores only add memory); for more, start a Dask cluster and give --scheduler"
    )
    rc, _, err = _cli(capsys, "sweep", "scenarios/rv3_upgrade.yaml", "--workers", workers)
    assert rc == 2 and err == f"smaby-geo: error: {want}\n"
    with pytest.raises(InputError) as e:  # the library refuses it as well, naming its parameter
        sweep.sweep_scenarios(["scenarios/rv3_upgrade.yaml"], n_workers=workers)
    assert str(e.value) == want.replace(f"--workers {workers}", f"n_workers={workers}").replace(
        "give --scheduler", "give its address as scheduler= (or a client=)"
    )
    assert sweep.check_workers(6) == 6 and sweep.check_workers(0) == 0


# --- 6. no change prints as 0, not 6e-16 or -0 ------------------------------------------------


def test_a_no_op_scenario_prints_no_change_as_zero(capsys):
    from types import SimpleNamespace

    import pandas as pd

    from smaby_geo.console import print_scenario_job

    summary = pd.DataFrame(
        {
            "service_type": ["hospital", "court"],
            "population_faster": [0, 3],
            "population_slower": [0, 0],
            "mean_change_minutes": [6.020725e-16, -1.25],
            "person_minutes_saved": [-3.357759e-12, 1234.5],
        }
    )
    thresholds = pd.DataFrame(
        {"service_type": ["hospital"], "minutes": [30], "newly_within": [0], "newly_outside": [0]}
    )
    job = SimpleNamespace(
        scenario=SimpleNamespace(name="noop", description=""),
        comparison=SimpleNamespace(summary=summary, thresholds=thresholds, benefit=None),
        scenario_network=SimpleNamespace(report={"scenario": {"edits": []}}),
        written=[],
        stage_seconds={},
        seconds=0.0,
        meta={"attribution": "© Kartverket"},
    )
    print_scenario_job(job)
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()[2:5]}
    assert rows["hospital"] == ["0", "0", "0.00", "0.0"]
    assert rows["court"] == ["3", "0", "-1.25", "1234.5"]
    assert "e-" not in out and "-0.0" not in out


def test_a_sweep_prints_no_change_as_zero(capsys):
    import pandas as pd

    from smaby_geo.sweep import print_ranking

    table = pd.DataFrame(
        {
            "rank": [1, 2],
            "scenario": ["noop", "faster"],
            "brought_within": [0, 5],
            "pushed_outside": [0, 0],
            "net_within": [0, 5],
            "person_minutes_saved": [-3.357759e-12, 1234.4],
            "error": ["", ""],
        }
    )
    print_ranking(table, service="hospital", within_min=60)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "| 1 | noop | 0 | 0 | 0 | 0 |"
    assert lines[-1] == "| 2 | faster | 5 | 0 | 5 | 1,234 |"


# --- 7. a cache folder that cannot be written is said once -----------------------------------




def test_an_unwritable_cache_folder_is_said_once(tmp_path, monkeypatch):
    import warnings

    from smaby_geo import datasets, derived_cache
    from smaby_geo.job_setup import choose_engine

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    home = blocker / "cache"  # no folder can be made under a file, even by root
    monkeypatch.setenv(datasets.CACHE_DIR_ENV, str(home))
    monkeypatch.setattr(derived_cache, "_warned_folders", set())
    key = derived_cache.fingerprint("test")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(2):
            value = derived_cache.cached(
                derived_cache.entry_path("test", "x", key, "txt"),
                lambda: "computed",
                lambda p: p.read_text(),
                lambda v, p: p.write_text(v),
            )
            assert value == "computed"
        net = tiny_network()
        assert choose_engine(net)["cache"] == "built"  # still routed, in memory only
    (w,) = [str(x.message) for x in seen]
    assert w.startswith(
        f"cannot keep derived data (prepared networks, population cells, maps) in "
        f"$SMABY_GEO_CACHE_DIR={home} ({home / 'test'}: Not a directory), so every run "
        "computes them again; set $SMABY_GEO_CACHE_DIR to a folder you may write"
    )
    # the same from the routing index alone (a run whose other entries are all cached)
    monkeypatch.setattr(derived_cache, "_warned_folders", set())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        choose_engine(tiny_network())
    (w,) = [str(x.message) for x in seen]
    assert f"$SMABY_GEO_CACHE_DIR={home} ({home / 'routing'}: Not a directory)" in w


def test_a_library_caller_gets_the_same_buffer_cap():
    from smaby_geo._errors import InputError
    from smaby_geo.places.admin import MAX_BUFFER_KM, check_buffer_km

    assert check_buffer_km(MAX_BUFFER_KM) == MAX_BUFFER_KM
    with pytest.raises(InputError, match=r"--buffer-km 1e\+308: give at most 3,000 km"):
        check_buffer_km(1e308)


def test_workers_are_not_capped_when_a_scheduler_runs_them():
    """With --scheduler the cluster's own workers run the sweep: --workers is unused there."""
    from argparse import Namespace

    from smaby_geo._errors import InputError
    from smaby_geo.cli_options import check_options

    check_options(Namespace(command="sweep", workers=100_000, scheduler="tcp://host:8786"))
    with pytest.raises(InputError, match="--workers 100000"):
        check_options(Namespace(command="sweep", workers=100_000, scheduler=None))


def test_a_long_quoted_input_is_shown_by_its_start_and_length():
    from smaby_geo._errors import QUOTED_INPUT_MAX_CHARS, describe_expected_error

    name = "x" * 5000
    msg = describe_expected_error(KeyError(f"place name {name!r} not found; check the spelling"))
    start = "x" * (QUOTED_INPUT_MAX_CHARS // 2)
    assert msg == f"place name '{start}…' (5,000 characters) not found; check the spelling"
    long_path = "/" + "d" * (QUOTED_INPUT_MAX_CHARS + 1)
    msg = describe_expected_error(ValueError(f'services "{long_path}": no rows; give a table'))
    assert f"({len(long_path)} characters)" in msg and "d" * QUOTED_INPUT_MAX_CHARS not in msg
    fits = "'" + "y" * QUOTED_INPUT_MAX_CHARS + "'"  # at the limit: shown whole
    assert describe_expected_error(ValueError(f"bad {fits}; fix")) == f"bad {fits}; fix"


def test_route_with_a_pasted_file_as_name_says_one_short_line(capsys):
    rc, out, err = _cli(capsys, "route", "Tynset " * 2000, "Hamar")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and len(err) < 400
    assert "(13,999 characters)" in err and "not found" in err


def test_an_apostrophe_in_the_message_is_no_quote():
    from smaby_geo._errors import describe_expected_error

    tail = "d" * 300
    text = f"dataset 'hospitals': /data/h.csv is not the registry's file ({tail}); fix it's path"
    assert describe_expected_error(ValueError(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "the registry's file (" + "d" * 300 + ") and the users' files stay",  # lookbehind
        "a name may not hold (' or \") and " + "e" * 300 + " so don't use them",  # lookahead
        # the closing quote of a short value is no opening quote of the text after it
        "path '/data/dir/' is a folder; " + "y" * 170 + "; give '/data/x.csv'",
    ],
)
def test_text_between_quotes_and_apostrophes_is_left_whole(text):
    from smaby_geo._errors import shorten_quoted

    assert shorten_quoted(text) == text


def test_a_long_name_with_both_quote_marks_is_shortened_too():
    from smaby_geo._errors import describe_expected_error

    name = "O'Brien \"x\" " + "z" * 300  # repr quotes it with ' and escapes the inner '
    msg = describe_expected_error(KeyError(f"place name {name!r} not found"))
    assert msg.startswith("place name 'O\\'Brien") and "(313 characters) not found" in msg
    assert "z" * 100 not in msg
