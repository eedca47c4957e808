"""Hostile but fair input, killed runs and shared output folders (issue 14).

Every case ends in a clear error (the CLI: exit code 2 and one line naming the input) or a
correct result; never a traceback for an expected failure, never a mixed set of outputs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smaby_geo.analysis.scenarios import (
    MAX_SCENARIO_EDITS,
    ScenarioFileError,
    read_scenario,
)
from smaby_geo.cli import BUG_REPORT, main
from smaby_geo.network.scenario import Scenario
from smaby_geo.places.services import ServicesFileError, read_services

REPO = Path(__file__).resolve().parents[1]


def cli(argv, capsys) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clear_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2, one line on stderr, no traceback, naming the input."""
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln]
    assert code == 2, (err, needles)
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("smaby-geo: error: "), (err, needles)
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ---------------------------------------------------------------- scenario files (security)


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


BILLION_LAUGHS = """name: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
description: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
edits: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
"""


def test_yaml_aliases_are_refused_before_expanding(tmp_path):
    with pytest.raises(ScenarioFileError, match=r"line 2: YAML aliases \(\*a\) are not allowed"):
        read_scenario(write(tmp_path, BILLION_LAUGHS))


def test_a_merge_key_alias_is_refused_too(tmp_path):
    text = "name: x\nedits:\n  - upgrade: &u {road: Rv3, speed_kmh: 90}\n  - upgrade: *u\n"
    with pytest.raises(ScenarioFileError, match="line 4: YAML aliases"):
        read_scenario(write(tmp_path, text))


def test_large_files_and_too_many_edits_are_refused(tmp_path):
    big = "name: big\nedits:\n" + "  - upgrade: {road: Rv3, speed_kmh: 90}\n" * 8000
    with pytest.raises(ScenarioFileError, match="more than a scenario file may hold"):
        read_scenario(write(tmp_path, big))
    many = "name: many\nedits:\n" + "  - upgrade: {road: Rv3, speed_kmh: 90}\n" * (
        MAX_SCENARIO_EDITS + 1
    )
    with pytest.raises(ScenarioFileError, match=f"{MAX_SCENARIO_EDITS + 1} edits"):
        read_scenario(write(tmp_path, many))
    ok = read_scenario(write(tmp_path, many), max_edits=10**4)
    assert len(ok.edits) == MAX_SCENARIO_EDITS + 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name: x\nedits:\n\t- upgrade: {road: Rv3}\n", r"line 3: not valid YAML .*not tabs"),
        ("name: x\nedits: [\n", r"line 3: not valid YAML"),
        ("[" * 20000 + "\n", "nested too deeply"),
        ("name: x\n", "needs 'name' and 'edits'"),
        ("- a\n- b\n", "a mapping with 'name' and 'edits'"),
        ("", "a mapping"),
        ("name: x\nedits: 3\n", "line 2: 'edits' must be a list"),
        ("name: x\nedits:\n  - teleport: {}\n", "line 3: unknown edit type 'teleport'"),
        ("name: x\nedits:\n  - upgrade: {road: Rv3, sped_kmh: 90}\n", "unknown key 'sped_kmh'"),
        ("name: x\nedits:\n  - upgrade: 5\n", "line 3: upgrade takes a mapping"),
        (
            "name: x\nedits:\n  - upgrade: {road: Rv3, speed_kmh: '90'}\n",
            r"speed_kmh must be a number",
        ),
        ("name: x\nedits:\n  - upgrade: {road: Rv3, speed_kmh: .inf}\n", "a finite number"),
        ("name: x\nedits:\n  - upgrade: {road: Rv3, speed_kmh: true}\n", "must be a number"),
        ("name: x\nedits:\n  - upgrade: {link_ids: 14257, speed_kmh: 90}\n", "list of whole"),
        ("name: x\nedits:\n  - upgrade: {area: 'POLYGON((1 2', speed_kmh: 90}\n", "valid WKT"),
        ("name: x\nedits:\n  - upgrade: {area: 12, speed_kmh: 90}\n", "WKT polygon text"),
        ("name: x\nedits:\n  - replace_ferry: {link_id: '14257'}\n", "link_id must be a whole"),
        ("name: x\nedits:\n  - new_link: {start: [1, 2, 3], end: [4, 5]}\n", "a point is"),
        ("name: x\nedits:\n  - new_link: {start: [.nan, 2], end: [4, 5]}\n", "a point is"),
        # a name is text as written (`name: 12` is the site "12"); a list is no name
        ("name: x\nedits:\n  - close_facility: {name: [12]}\n", "name must be a non-empty text"),
        ("name: x\nedits:\n  - upgrade: {road: Rv3, keep_faster: 'yes'}\n", "true or false"),
        ("name: [1, 2]\nedits: []\n", "'name' must be a text"),
        ("name: ' '\nedits: []\n", "'name' is empty"),
    ],
)
def test_bad_scenario_files_name_the_file_and_line(tmp_path, text, match):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioFileError, match=match) as e:
        read_scenario(p)
    assert str(p) in str(e.value)


def test_missing_folder_and_non_utf8_scenarios(tmp_path):
    with pytest.raises(ScenarioFileError, match="not found"):
        read_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioFileError, match="is a folder"):
        read_scenario(tmp_path)
    p = write(tmp_path, "name: Tromsø\nedits: []\n".encode("cp1252"))
    with pytest.raises(ScenarioFileError, match="line 1: not UTF-8"):
        read_scenario(p)


def test_the_shipped_scenarios_still_read():
    for f in sorted((REPO / "scenarios").glob("*.yaml")):
        sc = read_scenario(f)
        assert isinstance(sc, Scenario) and sc.edits, f


# Hypothesis: random scenario structures and random bytes either read or fail clearly.
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
_value = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_keys = st.sampled_from(
    [
        "road",
        "link_ids",
        "area",
        "buffer_m",
        "speed_kmh",
        "factor",
        "keep_faster",
        "kind",
        "link_id",
        "headway_min",
        "service_id",
        "name",
        "service_type",
        "x",
        "y",
        "max_snap_m",
        "start",
        "end",
        "near",
        "at",
        "bogus",
    ]
)
_edit = st.dictionaries(
    st.sampled_from(
        [
            "upgrade",
            "new_link",
            "replace_ferry",
            "ferry_headway",
            "close_facility",
            "open_facility",
            "zap",
        ]
    ),
    st.dictionaries(_keys, _value, max_size=4) | _value,
    min_size=1,
    max_size=2,
)
_doc = st.fixed_dictionaries(
    {"name": _value, "edits": st.lists(_edit, max_size=4) | _value},
    optional={"description": _value, "extra": _value},
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=_doc)
def test_generated_scenario_files_read_or_fail_clearly(tmp_path, doc):
    import yaml

    # place names stay out of it (they need the place-name file); points are lists
    def strip_names(v):
        if isinstance(v, dict):
            return {
                k: strip_names(x)
                for k, x in v.items()
                if k not in ("start", "end", "near", "at") or not isinstance(x, str)
            }
        if isinstance(v, list):
            return [strip_names(x) for x in v]
        return v

    p = write(tmp_path, yaml.safe_dump(strip_names(doc), allow_unicode=True))
    try:
        sc = read_scenario(p)
    except ScenarioFileError as exc:
        msg = str(exc)
    else:
        msg = None
    if msg is not None:
        assert str(p) in msg and "\n" not in msg
        return
    assert isinstance(sc, Scenario) and isinstance(sc.name, str) and sc.name.strip()
    for e in sc.edits:  # every number that reached an edit is finite
        for v in vars(e).values():
            if isinstance(v, float):
                assert np.isfinite(v)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_generated_bytes_read_or_fail_clearly(tmp_path, data):
    p = write(tmp_path, data)
    try:
        read_scenario(p)
    except ScenarioFileError as exc:
        msg = str(exc)
    else:
        msg = str(p)
    assert str(p) in msg


# ---------------------------------------------------------------- services tables


def test_a_cp1252_semicolon_file_with_decimal_commas_reads_correctly(tmp_path):
    p = tmp_path / "tjenester.csv"
    p.write_bytes(
        "navn;service_type;x_25833;y_25833\n"
        "Lægevakt Østby;hospital;281000,5;6913000\n"
        "Tingrett Årdal;court;90 000;6800000,25\n".replace("navn", "name").encode("cp1252")
    )
    g = read_services(p)
    assert list(g["name"]) == ["Lægevakt Østby", "Tingrett Årdal"]
    assert list(g["service_type"]) == ["hospital", "court"]
    assert g.geometry.x.tolist() == [281000.5, 90000.0]
    assert g.geometry.y.tolist() == [6913000.0, 6800000.25]
    assert g.attrs["counts"]["hospital"] == 1 and g.attrs["counts"]["court"] == 1


def test_utf8_bom_tab_separated_and_lon_lat_tables(tmp_path):
    p = tmp_path / "s.tsv"
    p.write_bytes("\ufeffname\tservice_type\tlon\tlat\nTynset\thospital\t10.78\t62.27\n".encode())
    g = read_services(p)
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True).transform(10.78, 62.27)
    assert g.geometry.x.iloc[0] == pytest.approx(x) and g.geometry.y.iloc[0] == pytest.approx(y)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            "name,service_type,x_25833\nA,hospital,281000\n",
            r"no coordinate columns; it has \['name', 'service_type', 'x_25833'\]",
        ),
        ("name,kind,x_25833,y_25833\nA,hospital,281000,6913000\n", "no 'service_type' column"),
        (
            "name,service_type,x_25833,y_25833\nA,hospital,281000,6913000\nB,hostpital,1,2\n",
            r"unknown or empty service types \['hostpital'\] at line 3",
        ),
        (
            "name,service_type,x_25833,y_25833\nA,hospital,10.78,62.27\n",
            "look like longitude/latitude",
        ),
        ("name,service_type,x_25833,y_25833\nA,hospital,abc,6913000\n", r"line 2 \('abc'\)"),
        ("name,service_type,x,y\nA,hospital,281000,6913000\n", "do not say their CRS"),
        ("", "empty"),
        ("name,service_type,x_25833,y_25833\n", "no sites"),
        ('name,service_type,x_25833,y_25833\n"A,hospital,1\n', "not a readable table"),
    ],
)
def test_bad_services_tables_name_file_row_and_fix(tmp_path, content, match):
    p = tmp_path / "mine.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ServicesFileError, match=match) as e:
        read_services(p)
    assert str(p) in str(e.value)


def test_services_missing_garbage_and_plain_dataframes(tmp_path):
    with pytest.raises(ServicesFileError, match="not found"):
        read_services(tmp_path / "none.csv")
    with pytest.raises(ServicesFileError, match="is a folder"):
        read_services(tmp_path)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage at all")
    with pytest.raises(ServicesFileError, match="not a readable vector file"):
        read_services(junk)
    with pytest.raises(ServicesFileError, match="no geometry"):
        read_services(pd.DataFrame({"name": ["a"]}))


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sep=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    cols=st.lists(
        st.sampled_from(["name", "service_type", "x_25833", "y_25833", "lon", "lat", "other"]),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "name": _cell,
                "service_type": st.sampled_from(
                    ["hospital", "court", "police", "study_centre", "x", ""]
                ),
                "x_25833": st.floats(-2e6, 2e6) | st.just("") | _cell,
                "y_25833": st.floats(6e6, 8.5e6) | st.just("") | _cell,
                "lon": st.floats(-200, 200),
                "lat": st.floats(-100, 100),
                "other": _cell,
            }
        ),
        max_size=6,
    ),
)
def test_generated_services_tables_read_correctly_or_fail_clearly(
    tmp_path, sep, encoding, cols, rows
):
    import csv
    import io

    def fmt(v):
        if isinstance(v, float):
            s = repr(v)
            return s.replace(".", ",") if sep == ";" else s
        return v

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([fmt(r[c]) for c in cols])
    p = tmp_path / "gen.csv"
    try:
        p.write_bytes(buf.getvalue().encode(encoding))
    except UnicodeEncodeError:
        return  # cp1252 cannot hold this text: not a file a spreadsheet would write
    try:
        g = read_services(p)
    except ServicesFileError as exc:
        msg = str(exc)
    else:
        msg = None
    if msg is not None:
        assert str(p) in msg and "\n" not in msg
        return
    # a correct result: one site per row (rows repeating type, name and point counted once),
    # the right types and coordinates
    metres = "x_25833" in cols and "y_25833" in cols
    xc, yc = ("x_25833", "y_25833") if metres else ("lon", "lat")

    def key(r):
        name = r["name"].lstrip(" ") or None if "name" in cols else None
        return (r["service_type"], name, float(r[xc]), float(r[yc]))

    first = list(dict.fromkeys(key(r) for r in rows))
    assert len(g) == len(first) and g.attrs["counts"][first[0][0]] >= 1
    assert list(g["service_type"]) == [k[0] for k in first]
    if metres:
        assert np.allclose(g.geometry.x, [k[2] for k in first])
        assert np.allclose(g.geometry.y, [k[3] for k in first])


# ---------------------------------------------------------------- HTML escaping

PAYLOADS = [
    "<img src=x onerror=\"document.body.classList.add('inj'+'ected')\">",
    "${document.body.classList.add('tl'+'fired')}",
    "`);document.body.classList.add('bt'+'fired');(`",
    "</script><script>document.body.classList.add('sc'+'fired')</script>",
]


def payload_layers():
    """A tiny travel-time table and service layer whose names are injection attempts."""
    from shapely.geometry import Point

    pts = [Point(281000 + 1000 * i, 6913000) for i in range(len(PAYLOADS))]
    sv = gpd.GeoDataFrame(
        {"service_type": "hospital", "name": PAYLOADS, "service_id": [f"h{i}" for i in range(4)]},
        geometry=pts,
        crs="EPSG:25833",
    )
    table = gpd.GeoDataFrame(
        {
            "population": [10, 20, 30, 40],
            "hospital_minutes": [5.0, 10.0, np.inf, 20.0],
            "hospital_name": PAYLOADS,
        },
        geometry=[Point(p.x + 300, p.y + 300) for p in pts],
        crs="EPSG:25833",
    )
    table.attrs.update(attribution="© Kartverket | Kilde: SSB", note="test <b>note</b>")
    return table, sv


def test_map_html_holds_no_raw_payload():
    from smaby_geo.outputs.maps import map_catchments, map_minutes

    table, sv = payload_layers()
    pages = [map_minutes(table, "hospital", services=sv, title=PAYLOADS[0])]
    catch = sv.copy()
    catch["population"] = 5
    catch["median_minutes"] = 3.0
    catch["geometry"] = catch.buffer(400)
    catch.attrs["service_type"] = "hospital"
    pages.append(map_catchments(catch, services=sv))
    for m in pages:
        page = m.get_root().render()
        for bad in ("<img src=x", "${document", "`);document", "</script><script>document"):
            assert bad not in page, bad
        assert "&lt;img src=x onerror=" in page


# ---------------------------------------------------------------- routing caches


def small_csr():
    from smaby_geo.routing.api import CSR

    rng = np.random.default_rng(0)
    n, m = 200, 900
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    order = np.argsort(src)
    indptr = np.searchsorted(src[order], np.arange(n + 1)).astype(np.int64)
    return CSR(indptr, dst[order].astype(np.int32), rng.random(m)[order] + 0.1)


def test_damaged_ch_files_are_detected_and_rebuilt(tmp_path):
    from smaby_geo.routing.api import prepare
    from smaby_geo.routing.ch import CHCacheError, ContractionHierarchy

    g = small_csr()
    path = tmp_path / "ch.npz"
    good = prepare(g, cache_path=path)
    raw = path.read_bytes()
    # truncated
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CHCacheError, match="cannot be read"):
        ContractionHierarchy.load(path)
    again = prepare(g, cache_path=path)
    assert np.array_equal(again.up_w, good.up_w) and np.array_equal(again.new_id, good.new_id)
    assert ContractionHierarchy.load(path).fingerprint == good.fingerprint
    # one bit flipped in the middle
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x04
    path.write_bytes(bytes(raw))
    with pytest.raises(CHCacheError):
        ContractionHierarchy.load(path)
    # a well-formed file whose arrays no longer match their checksum
    with np.load(good.save(tmp_path / "fresh.npz")) as z:
        d = {k: z[k] for k in z.files}
    d["up_w"] = d["up_w"] * 0.5
    bad = tmp_path / "tampered.npz"
    np.savez(bad, **d)
    with pytest.raises(CHCacheError, match="checksum differs"):
        ContractionHierarchy.load(bad)
    # garbage
    bad.write_bytes(b"garbage")
    with pytest.raises(CHCacheError):
        ContractionHierarchy.load(bad)


NUMBA_PROBE = """
import numpy as np
from smaby_geo.routing import _kernels  # noqa
from smaby_geo.routing.api import CSR, one_to_all
g = CSR(np.array([0, 1, 2, 2], np.int64), np.array([1, 2], np.int32), np.array([1.0, 2.0]))
print(np.asarray(one_to_all(g, 0, method="dijkstra")).tolist())
"""


def test_a_corrupted_numba_cache_is_rebuilt(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "nb")}
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-c", NUMBA_PROBE], capture_output=True, text=True, env=env, timeout=300
    )
    first = run()
    assert first.returncode == 0, first.stderr
    files = list((tmp_path / "nb").rglob("*.nb*"))
    assert files, "numba wrote no cache"
    for f in files:
        f.write_bytes(os.urandom(64))
    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "could not be read" in second.stderr
    rewritten = {f: f.read_bytes() for f in (tmp_path / "nb").rglob("*.nb*")}
    assert rewritten, "the damaged cache was not written again"
    assert all(len(b) != 64 for b in rewritten.values()), "damaged files were left in place"


# ---------------------------------------------------------------- CLI: clear errors


def test_cli_bad_inputs_are_one_line_and_exit_2(tmp_path, capsys):
    f = tmp_path / "a_file"
    f.write_text("x")
    sc = tmp_path / "s.yaml"
    sc.write_text("name: x\nedits:\n\t- upgrade: {}\n")
    junk = tmp_path / "roads.gpkg"
    junk.write_bytes(os.urandom(300))
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    cases = [
        (["scenario", tmp_path / "missing.yaml"], ["missing.yaml", "not found"]),
        (["scenario", tmp_path], [str(tmp_path), "is a folder"]),
        (["scenario", sc], [str(sc), "line 3", "tabs"]),
        (["run", "--region", "", "--out", tmp_path / "o"], ["--region ''", "empty"]),
        (
            ["run", "--region", "Herøy", "--out", tmp_path / "o"],
            ["1515", "1818", "Møre og Romsdal", "Nordland"],
        ),
        (
            ["run", "--region", "Våler", "--out", tmp_path / "o"],
            ["3114", "3419", "Østfold", "Innlandet"],
        ),
        (
            ["run", "--region", "Tynset", "--buffer-km", "-5", "--out", tmp_path / "o"],
            ["--buffer-km", ">= 0"],
        ),
        (
            ["run", "--region", "Tynset", "--buffer-km", "nan", "--out", tmp_path / "o"],
            ["--buffer-km"],
        ),
        (
            ["run", "--region", "Tynset", "--services", "hospitals", "--out", tmp_path / "o"],
            ["--services", "hospitals"],
        ),
        (["run", "--region", "Tynset", "--out", f / "sub"], [str(f), "is a file"]),
        (["run", "--region", "Tynset", "--out", f], [str(f), "is a file, not a folder"]),
        (["route", "Straume", "Oslo"], ["Straume", "Øygarden", "4626", "Bø"]),
        (["route", "Tynset"], ["pairs"]),
        (["network", "--path", junk], [str(junk), "cannot be read as n1000 road data"]),
        (["network", "--source", "osm", "--path", junk], [str(junk), "osm road data"]),
        (["network", "--path", empty], [str(empty), "cannot be read"]),
        (["route", "Tynsett", "Oslo"], ["Tynsett", "not found"]),
    ]
    for argv, needles in cases:
        code, _, err = cli(argv, capsys)
        assert_clear_error(code, err, *needles, f"{argv}" * 0)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_sami_and_norwegian_names_select_the_same_kommune():
    from smaby_geo.pipeline import select_region
    from smaby_geo.places.population import read_kommuner

    k = read_kommuner()
    for a, b, num in [
        ("Kautokeino", "Guovdageaidnu", "5612"),
        ("Karasjok", "Kárášjohka", "5610"),
        ("Tana", "Deatnu", "5628"),
        ("Røros", "Rosse", "5025"),
        ("kautokeino", "GUOVDAGEAIDNU", "5612"),
    ]:
        assert select_region(k, a)["kommunenummer"].tolist() == [num]
        assert select_region(k, b)["kommunenummer"].tolist() == [num]
    assert set(select_region(k, "Romsa")["fylkesnummer"]) == {"55"}


def test_route_with_a_kommune_qualifier_and_the_rule_printed(capsys):
    from smaby_geo.places.placenames import resolve_place

    a = resolve_place("Straume, Øygarden")
    b = resolve_place("Straume, 1867")
    assert (
        a["kommune"] == "4626" and b["kommune"] == "1867" and (a["x"], a["y"]) != (b["x"], b["y"])
    )
    assert resolve_place("Straume, Vaksdal")["kommune"] == "4628"
    with pytest.raises(KeyError, match="not in kommune 'Oslo'"):
        resolve_place("Straume, Oslo")


def test_a_bug_is_a_traceback_with_where_to_report(monkeypatch, capsys):
    import smaby_geo.cli as c

    def boom(_args):
        raise ZeroDivisionError("internal")

    monkeypatch.setattr(c, "_cmd_data", boom)
    code, _, err = cli(["data"], capsys)
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert BUG_REPORT.split("{")[0] in err


def test_a_type_without_sites_counts_everyone_unreachable():
    from smaby_geo.pipeline import run_travel_times

    # Rendalen has no hospital inside it; with no buffer none is left.
    res = run_travel_times(region="Rendalen", service_types=("hospital",), grid="1km", buffer_km=0)
    s = res.summary
    assert (
        res.cells["hospital_minutes"].isna() | ~np.isfinite(res.cells["hospital_minutes"])
    ).all()
    assert (s["sites_used"] == 0).all()
    assert (s["unreachable_population"] == s["population"]).all() and s["population"].sum() > 0


# ---------------------------------------------------------------- output folders


def test_staged_output_keeps_the_previous_set_on_failure_and_cleans_stale_files(tmp_path):
    from smaby_geo.outputs.outdir import staged_output

    out = tmp_path / "out"
    with staged_output(out) as st_dir:
        (st_dir / "a.csv").write_text("old a")
        (st_dir / "b.csv").write_text("old b")
    (out / "other_region.csv").write_text("kept")

    def fail_half_way():
        with staged_output(out) as st_dir:
            (st_dir / "a.csv").write_text("new a")
            raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert (out / "a.csv").read_text() == "old a" and (out / "b.csv").read_text() == "old b"
    # stale leftovers of killed runs (old versions wrote hidden .part files in place)
    (out / ".cells_x.abc.part.gpkg").write_bytes(b"x" * 1000)
    stale = tmp_path / ".out.smaby-staging-123-dead"
    stale.mkdir()
    (stale / "a.csv").write_text("half")
    with staged_output(out) as st_dir:
        (st_dir / "a.csv").write_text("new a")
        (st_dir / "b.csv").write_text("new b")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv", "other_region.csv"]
    assert (out / "a.csv").read_text() == "new a" and (
        out / "other_region.csv"
    ).read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name or "old" in p.name] == []


def test_a_second_writer_gets_folder_in_use(tmp_path):
    from smaby_geo._errors import OutputFolderInUseError
    from smaby_geo.outputs.outdir import staged_output

    def second_writer():
        with staged_output(tmp_path / "o"):
            pass

    with staged_output(tmp_path / "o"), pytest.raises(OutputFolderInUseError, match="in use"):
        second_writer()
    second_writer()  # released afterwards


@pytest.fixture
def read_only_out(tmp_path):
    """An --out the user may not write: under a chmod 500 folder, or for root (who may write
    anywhere) under the read-only /sys."""
    if os.geteuid() == 0:
        yield Path("/sys/smaby_out")
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        yield ro / "x"
    finally:
        ro.chmod(0o700)


def test_a_read_only_out_is_refused_before_computing(read_only_out, capsys):
    """A folder the user may not write is refused before any computing."""
    code, _, err = cli(["run", "--region", "Tynset", "--out", read_only_out], capsys)
    assert_clear_error(code, err, str(read_only_out), "not writable")
    assert not read_only_out.exists()


RUN = [
    sys.executable,
    "-m",
    "smaby_geo.cli",
    "run",
    "--region",
    "Tynset",
    "--grid",
    "1km",
    "--services",
    "hospital",
    "--no-map",
]


def check_complete_set(out: Path) -> str:
    """The folder holds one complete set: every file named in run_*.json, sha256 as listed,
    the parquet from the same run; returns the run id."""
    import hashlib

    import pyarrow.parquet as pq

    runs = list(out.glob("run_*.json"))
    assert len(runs) == 1, list(out.iterdir())
    meta = json.loads(runs[0].read_text())
    names = set(meta["files"])
    on_disk = {p.name for p in out.iterdir()}
    assert on_disk == names | {runs[0].name}, on_disk ^ (names | {runs[0].name})
    for name, digest in meta["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    pmeta = json.loads(pq.read_schema(next(out.glob("*.parquet"))).metadata[b"smaby_geo"])
    assert pmeta["run_id"] == meta["run_id"]
    return meta["run_id"]


def no_leftovers(out: Path) -> list[str]:
    return [
        p.name
        for p in [*out.parent.iterdir(), *out.rglob("*")]
        if "smaby-staging" in p.name or "smaby-old" in p.name or ".part" in p.name
    ]


def _newest_output_mtime(root: Path, lock_name: str) -> float:
    times = [p.stat().st_mtime for p in root.rglob("*") if p.is_file() and p.name != lock_name]
    return max(times, default=0.0)


def test_killed_runs_leave_the_previous_or_the_new_complete_set(tmp_path, capsys):
    """SIGKILL at random moments, most of them while files are being written (the moment a
    new file appears anywhere under the folder's parent, plus 0-250 ms): the folder always
    holds one complete set, and the next run leaves no temporary files."""
    out = tmp_path / "out"
    subprocess.run([*RUN, "--out", str(out)], check=True, capture_output=True, timeout=600)
    ids = {check_complete_set(out)}
    rng = random.Random(14)
    outcomes = []
    for i in range(4):
        before = _newest_output_mtime(tmp_path, ".out.smaby-lock")
        p = subprocess.Popen(
            [*RUN, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if i == 0:  # once while computing
            time.sleep(rng.uniform(0.5, 3.0))
        else:  # while writing: as soon as a new file shows up
            deadline = time.monotonic() + 300
            while p.poll() is None and time.monotonic() < deadline:
                if _newest_output_mtime(tmp_path, ".out.smaby-lock") > before:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait()
        rid = check_complete_set(out)  # never a mix, whatever the moment
        outcomes.append("previous" if rid in ids else "new")
        ids.add(rid)
    with capsys.disabled():
        print(f"\nkilled runs left: {outcomes}")
    done = subprocess.run([*RUN, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    check_complete_set(out)
    assert no_leftovers(out) == []


def test_two_runs_into_one_folder_one_succeeds_the_other_is_told_folder_in_use(tmp_path):
    """Both start at once; the folder is locked from before computing to the end of
    writing, so whichever comes second stops at once with "folder in use"."""
    out = tmp_path / "shared"
    runs = [
        subprocess.Popen(
            [*RUN, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errs = [p.communicate(timeout=600)[1] for p in runs]
    results = [(p.returncode, e) for p, e in zip(runs, errs, strict=True)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2)
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln]
    assert len(lines) == 1 and "folder in use" in lines[0] and str(out) in lines[0], err
    assert "Traceback" not in err
    check_complete_set(out)
    assert no_leftovers(out) == []


def test_too_little_free_space_is_refused_before_computing(tmp_path):
    from smaby_geo._errors import OutputFolderError
    from smaby_geo.outputs.outdir import staged_output

    def start():
        with staged_output(tmp_path / "o", min_free_bytes=2**62):
            pass

    with pytest.raises(OutputFolderError, match=r"MiB free on its disk.*free some space"):
        start()
    assert not (tmp_path / "o").exists()


def test_an_empty_service_type_cell_is_named(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("name,service_type,x_25833,y_25833\nA,,281000,6913000\n", encoding="utf-8")
    with pytest.raises(ServicesFileError, match=r"empty service types \[''\] at line 2"):
        read_services(p)


def test_names_that_look_like_missing_values_are_kept(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(
        "name;service_type;x_25833;y_25833\nNA;police;281000;6913000\nNone;police;282000;6913000\n",
        encoding="utf-8",
    )
    assert list(read_services(p)["name"]) == ["NA", "None"]


def test_sigterm_while_writing_stops_like_ctrl_c_and_leaves_no_writer(tmp_path):
    """``kill`` (SIGTERM) during the outputs: exit 143 with the one-line message, the previous
    complete set kept, and nothing left writing (the forked GeoPackage writer is stopped)."""
    out = tmp_path / "out"
    subprocess.run([*RUN, "--out", str(out)], check=True, capture_output=True, timeout=600)
    first = check_complete_set(out)
    codes = []
    for _ in range(3):  # the run may finish between two looks at the folder: try again
        p = subprocess.Popen([*RUN, "--out", str(out)], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while p.poll() is None and time.monotonic() < deadline:
            if any("smaby-staging" in q.name for q in tmp_path.iterdir()):
                break
            time.sleep(0.002)
        p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=120)[1]
        codes.append(p.returncode)
        if p.returncode == 143:
            assert "interrupted; no partial outputs were kept" in err
            assert check_complete_set(out) == first
            time.sleep(0.5)  # a writer left running would create its .part file again
            assert no_leftovers(out) == []
            break
        first = check_complete_set(out)
    assert 143 in codes, codes


def _run_into(out, files: dict[str, str], name="run_x.json", other=None):
    from smaby_geo.outputs.outdir import file_digests, staged_output

    with staged_output(out) as st_dir:
        for n, text in files.items():
            (st_dir / n).write_text(text)
        meta = {"files": file_digests(st_dir, list(files))}
        (st_dir / name).write_text(json.dumps(meta))


def test_a_rerun_replaces_its_previous_set_whole_and_keeps_other_files(tmp_path, monkeypatch):
    """A rerun that writes fewer files (``--no-map``) removes the previous run's map instead
    of leaving it beside the new table; files of other jobs stay."""
    from smaby_geo.outputs import outdir

    out = tmp_path / "o"
    _run_into(out, {"cells.parquet": "old", "map.html": "old map"})
    _run_into(out, {"other.csv": "another job"}, name="run_other.json")
    _run_into(out, {"cells.parquet": "new"})
    assert sorted(p.name for p in out.iterdir()) == [
        "cells.parquet", "other.csv", "run_other.json", "run_x.json"
    ]  # fmt: skip
    assert (out / "cells.parquet").read_text() == "new"
    # the same where the folder cannot be swapped (a mount point): file by file
    _run_into(out, {"cells.parquet": "old", "map.html": "old map"})
    monkeypatch.setattr(outdir.os.path, "ismount", lambda p: Path(p) == out)
    _run_into(out, {"cells.parquet": "newer"})
    assert sorted(p.name for p in out.iterdir()) == [
        "cells.parquet", "other.csv", "run_other.json", "run_x.json"
    ]  # fmt: skip
    assert (out / "cells.parquet").read_text() == "newer"
    assert no_leftovers(out) == []


@pytest.mark.parametrize("job", ["run", "towns"])
def test_an_empty_out_is_an_error_not_the_default_folder(job, capsys):
    from smaby_geo.cli import main

    assert main([job, "--region", "Tynset", "--out", " "]) == 2
    assert "--out is empty" in capsys.readouterr().err


# ------------------------------------------- one convention: inf minutes = unreachable


def test_a_type_with_no_site_is_inf_everywhere_and_everyone_is_counted_with_a_reason():
    """A type with no site once gave NaN minutes: ``unreachable_summary`` then skipped it (its
    people were counted nowhere), a scenario that opened the first site counted nobody
    "newly within", and the towns table left the type out. inf = unreachable, everywhere."""
    import warnings

    from smaby_geo.analysis.hinterlands import hinterlands
    from smaby_geo.analysis.scenarios import summarise_changes
    from smaby_geo.analysis.traveltimes import summarise, travel_times, unreachable_summary
    from smaby_geo.places.services import read_services
    from smaby_geo.places.towns import build_towns
    from tests.test_towns import Y0, hand_builtup, hand_cells, hand_names, hand_network

    net, cells = hand_network(), hand_cells()
    sv = read_services(
        gpd.GeoDataFrame(
            {"name": ["H"]}, geometry=[gpd.points_from_xy([0.0], [Y0])[0]], crs="EPSG:25833"
        ),
        service_type="hospital",
    )
    with pytest.warns(UserWarning, match="no sites connected"):
        t = travel_times(net, cells, sv, service_types=["hospital", "court"])
    # with k = 2 the second rank exists for the type without a site too (it was left out)
    with pytest.warns(UserWarning, match="no sites connected"):
        t2 = travel_times(net, cells, sv, service_types=["hospital", "court"], k=2)
    for col in ("court_minutes", "court_minutes_2", "hospital_minutes_2"):
        assert np.isinf(t2[col].to_numpy(float)).all(), col  # one hospital: no second one
    assert t2["court_site_2"].isna().all() and t2["hospital_site_2"].isna().all()
    np.testing.assert_array_equal(t2["hospital_minutes"], t["hospital_minutes"])
    m = t["court_minutes"].to_numpy(float)
    assert np.isinf(m).all() and not np.isnan(m).any()
    assert t["court_site"].isna().all() and t["court_name"].isna().all()
    pop = int(cells["population"].sum())
    s = summarise(t).set_index(["kommunenummer", "service_type"])
    court = s.xs("court", level="service_type")
    assert court["unreachable_population"].sum() == pop
    assert (court["unreachable_population"] == court["population"]).all()
    u = unreachable_summary(t)
    assert u["unreachable_people"]["court"] == pop  # was missing: nobody counted
    off_road = 10  # tests.test_towns.OFF_ROAD: beyond the snap distance
    why = u["unreachable_by_reason"]["court"]
    assert why["no court site on the network"] == pop - off_road
    assert sum(why.values()) == pop
    # the hospital: only the off-road cell is unreachable, for its own reason
    assert u["unreachable_people"]["hospital"] == off_road
    # opening the first court: everyone on the road is newly within 60 minutes of one
    base = m
    new = np.where(t["road_connected"], 5.0, np.inf)
    c = summarise_changes(
        t[["population", "kommunenummer"]].copy(),
        {"court": (base, new, np.isfinite(new))},
        [60.0],
    )
    th = c["thresholds"].set_index("service_type")
    assert th.loc["court", "newly_within"] == pop - off_road
    # the towns table lists every type: inf minutes where there is no site
    towns, cell_town = build_towns(
        cells, hand_builtup(), place_names=hand_names(), return_cells=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = hinterlands(net, cells, towns, cell_town, sv)
    assert np.isinf(h.towns["court_nearest_minutes"]).all()
    assert np.isfinite(h.towns["hospital_nearest_minutes"]).all()
    assert not h.cells["town_has_court"].any()


def test_the_cli_shows_a_warning_as_one_line_without_a_source_path(capsys, monkeypatch):
    import warnings

    import smaby_geo.cli as c

    def warn(args):
        warnings.warn("3 services lie more than 5000 m from the network", UserWarning, stacklevel=1)
        warnings.warn("old keyword", DeprecationWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(c, "_cmd_data", warn)
    monkeypatch.delenv("SMABY_GEO_TRACEBACK", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        before = warnings.showwarning
        code, _, err = cli(["data"], capsys)
        # the command puts the hook back (checked inside: catch_warnings restores it anyway)
        assert warnings.showwarning is before
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [
        "smaby-geo: warning: 3 services lie more than 5000 m from the network",
        "smaby-geo: warning: DeprecationWarning: old keyword",
    ]


def test_a_foreign_manifest_in_the_output_folder_is_left_alone(tmp_path):
    import json

    from smaby_geo.indicators_pipeline import _keep_other_part
    from smaby_geo.outputs.outdir import _superseded

    out, stage = tmp_path / "out", tmp_path / "stage"
    out.mkdir()
    stage.mkdir()
    for n in ("a", "b", "map.html"):
        (out / n).write_text("keep", encoding="utf-8")
    # an indicators manifest whose "files" is a list (not ours: {name: sha256})
    previous = out / "indicators_run_x.json"
    previous.write_text(
        json.dumps({"parts": {"centrality": ["map.html"]}, "files": ["map.html"]}), "utf-8"
    )
    parts: dict = {}
    _keep_other_part(previous, stage, parts, {})  # was a TypeError traceback
    assert parts == {} and not (stage / "map.html").exists()
    # a run manifest whose "files" is a string: its letters are not file names
    (stage / "run_x.json").write_text("{}", "utf-8")
    (out / "run_x.json").write_text(json.dumps({"files": "ab"}), "utf-8")
    assert _superseded(stage, out) == set()  # was {"a", "b"}: both deleted
    (out / "run_x.json").write_text(json.dumps({"files": ["a", "run_x.json"]}), "utf-8")
    assert _superseded(stage, out) == {"a"}


@pytest.mark.parametrize("job", ["towns", "indicators"])
def test_towns_and_indicators_refuse_a_read_only_out_before_reading_the_network(
    job, read_only_out, capsys, monkeypatch
):
    import smaby_geo.indicators_pipeline as ind
    import smaby_geo.towns_pipeline as tw

    def no_computing(*a, **k):
        raise AssertionError("the network was read before --out was checked")

    monkeypatch.setattr(tw, "load_network", no_computing)
    monkeypatch.setattr(ind, "load_network", no_computing)
    code, _, err = cli([job, "--region", "Tynset", "--no-map", "--out", read_only_out], capsys)
    assert_clear_error(code, err, str(read_only_out), "not writable")


def test_a_site_without_a_name_is_named_for_its_line_and_warned_of(tmp_path):
    """An empty name became NaN in `<type>_name`, which reads like "no site reached"."""
    p = tmp_path / "s.csv"
    p.write_text(
        "name,service_type,x_25833,y_25833\n"
        "Tynset,hospital,281000,6913000\n"
        ",police,282000,6914000\n"
        "  ,court,283000,6915000\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match=r"2 sites have no name.*line 3, line 4"):
        g = read_services(p)
    assert list(g["name"]) == ["Tynset", "unnamed police (line 3)", "unnamed court (line 4)"]
