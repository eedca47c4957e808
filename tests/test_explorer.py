"""The scenario explorer (``smaby-geo serve``): its HTTP API and a real browser.

Region: Austevoll kommune (416 populated 250 m cells), network and services kept 30 km around
it, hospitals and police. The Fv546 ferry Krokeide-Hufthamar (N1000 link 14302) turned into a
bridge brings people within 60 minutes of a hospital (found by the library; every test
compares the explorer with the library, not with a number).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from smaby_geo.analysis.scenarios import compare, read_scenario
from smaby_geo.cli import main
from smaby_geo.explorer import MAX_EDITS, MAX_YAML_BYTES, Explorer, create_app
from smaby_geo.network.scenario import (
    ReplaceFerry,
    Scenario,
    apply_scenario,
    apply_service_edits,
)

REGION, TYPES, BUFFER_KM = "Austevoll", ("hospital", "police"), 30.0
FERRY = 14302  # Fv546 Krokeide-Hufthamar


@pytest.fixture(scope="module")
def base() -> Explorer:
    return Explorer.from_region(REGION, TYPES, buffer_km=BUFFER_KM)


def fresh(ex: Explorer) -> Explorer:
    """A new scenario on the same base (the base is computed once per module)."""
    import threading as th

    return dataclasses.replace(
        ex,
        name="scenario",
        description="",
        edits=[],
        history=[],
        result=None,
        scenario_network=None,
        scenario_services=None,
        _lock=th.RLock(),
    )


@pytest.fixture
def client(base):
    ex = fresh(base)
    c = TestClient(create_app(ex))
    c.explorer = ex
    return c


def library(ex: Explorer, sc: Scenario) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net1 = apply_scenario(ex.network, sc)
        sv1 = apply_service_edits(ex.services, sc)
        return compare(
            ex.network,
            net1,
            ex.base,
            ex.services,
            sv1,
            service_types=list(TYPES),
            base_table=ex.base,
            kommuner=ex.kommuner,
        )


def thresholds(rows) -> dict:
    return {
        (r["service_type"], r["minutes"]): (r["newly_within"], r["newly_outside"]) for r in rows
    }


def get_cells(client, service_type: str) -> dict:
    r = client.get("/api/cells", params={"type": service_type})
    assert r.status_code == 200, r.text
    names, n = r.headers["x-arrays"].split(","), int(r.headers["x-cells"])
    a = np.frombuffer(r.content, dtype="<f4")
    assert len(a) == n * len(names)
    return {k: a[i * n : (i + 1) * n] for i, k in enumerate(names)}


def post(client, edit):
    return client.post("/api/edits", content=json.dumps(edit))


def busiest_route(ex: Explorer):
    """The fastest route from the most populous cell to its nearest police office, with that
    office's row: an edit on either changes the police figures."""
    from smaby_geo import route

    net = ex.network

    def nearest_node(x: float, y: float) -> int:
        return int(np.argmin((net.node_x - x) ** 2 + (net.node_y - y) ** 2))

    cell = ex.base.loc[ex.base["population"].idxmax(), "geometry"]
    police = ex.services[ex.services["service_type"] == "police"]
    start = nearest_node(cell.x, cell.y)
    paths = [route(net, start, nearest_node(p.x, p.y)) for p in police.geometry]
    best = int(np.argmin([r.seconds for r in paths]))
    return paths[best], police.iloc[best]


def a_road_link(ex: Explorer) -> int:
    """A road link the base trips use: the longest road link on ``busiest_route``, so
    upgrading or closing it changes the figures."""
    path, _ = busiest_route(ex)
    links = ex.network.links.set_index("link_id").loc[path.link_ids]
    road = links[~links["ferry"].astype(bool)]
    return int(road["length_m"].idxmax())


# ----------------------------------------------------------------------------- the page
def test_page_and_static_files_are_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "/static/leaflet/leaflet.js" in html and "/static/explorer.js" in html
    # no external src/href anywhere in the page or its script
    js = client.get("/static/explorer.js").text
    for text in (html, js):
        assert "http://" not in text and "https://" not in text
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    assert "BSD 2-Clause" in client.get("/static/leaflet/LICENSE").text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "innerHTML" not in js  # user strings go in as text only


def test_info_grid_links_and_sites_describe_the_base(client):
    ex = client.explorer
    info = client.get("/api/info").json()
    assert info["types"] == list(TYPES)
    assert info["population"] == int(ex.base["population"].sum())
    assert "Kartverket" in info["attribution"] and "SSB" in info["attribution"]
    assert "--region 'Austevoll'" in info["command"] and "--buffer-km 30" in info["command"]
    grid = client.get("/api/grid").json()
    assert len(grid["lat"]) == len(ex.base) and sum(grid["population"]) == info["population"]
    links = client.get("/api/links").json()["features"]
    props = {f["properties"]["link_id"]: f["properties"] for f in links}
    assert props[FERRY]["ferry"] is True and props[FERRY]["road_number"] == "Fv546"
    assert len(props) == len(ex.network.links)
    sites = client.get("/api/sites").json()
    assert {s["service_type"] for s in sites["sites"]} == set(TYPES)
    cells = get_cells(client, "police")
    m = np.where(np.isnan(cells["base"]), np.inf, cells["base"])
    np.testing.assert_allclose(m, ex.base["police_minutes"].to_numpy(), rtol=1e-6)
    assert set(cells) == {"base"}
    summ = client.get("/api/summary", params={"type": "police"}).json()["rows"]
    assert {r["kommunenummer"] for r in summ} == set(ex.base["kommunenummer"])


# ----------------------------------------------------------------------------- every edit
def test_replace_ferry_gives_the_library_figures(client):
    r = post(client, {"replace_ferry": {"link_id": FERRY, "speed_kmh": 80, "kind": "bridge"}})
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    lib = library(client.explorer, Scenario("x", [ReplaceFerry(link_id=FERRY, speed_kmh=80)]))
    assert thresholds(res["thresholds"]) == thresholds(lib.thresholds.to_dict("records"))
    assert thresholds(res["thresholds"])[("hospital", 60)][0] > 0
    # the region half follows on request, from the same library function
    assert res["regions_pending"] is True and res["benefit"] is None
    done = client.get("/api/regions").json()["result"]
    assert done["regions_pending"] is False
    assert done["thresholds"] == res["thresholds"]
    assert done["regions"] == [] and len(lib.regions) == 0
    res = done
    # one kommune in the region whose internal time the bridge does not change: the benefit is
    # exactly 0 in both (base and scenario kommune times from the same engine,
    # scenarios.REGION_SEARCH_METHOD); test_scenario_benefit.py checks the value itself on a
    # hand-computed case
    assert res["benefit"]["person_minutes_per_day"] == 0.0
    assert lib.benefit.person_minutes_per_day == 0.0
    assert res["touched_links"] == [str(FERRY)]
    faster = {r["service_type"]: r["population_faster"] for r in res["summary"]}
    assert faster == dict(
        zip(lib.summary["service_type"], lib.summary["population_faster"], strict=True)
    )
    # the kommuner that change, with their names
    assert {k["kommunenavn"] for k in res["kommuner"]} == {"Austevoll"}
    d = get_cells(client, "hospital")["delta"]
    np.testing.assert_allclose(d, lib.cells["hospital_delta"].to_numpy(), rtol=1e-6, atol=1e-4)
    assert (d < 0).any() and (d <= 0).all()


def test_ferry_headway_upgrade_close_new_link_and_facilities(client):
    ex = client.explorer
    road = a_road_link(ex)
    steps = [
        {"ferry_headway": {"link_id": FERRY, "headway_min": 15}},
        {"upgrade": {"link_ids": [road], "speed_kmh": 100, "keep_faster": False}},
        {"close_link": {"link_ids": [road]}},
    ]
    _, site = busiest_route(ex)  # the office most of the cells use
    x, y = float(ex.network.node_x[0]), float(ex.network.node_y[0])
    nx, ny = float(ex.network.node_x[5]), float(ex.network.node_y[5])
    cx = ex.base.geometry.x.mean()
    cy = ex.base.geometry.y.mean()
    steps += [
        {"new_link": {"start": [x, y], "end": [nx, ny], "speed_kmh": 60, "kind": "tunnel"}},
        {"close_facility": {"service_id": site["service_id"]}},
        {
            "open_facility": {
                "name": "<b>Ny</b> politistasjon",
                "service_type": "police",
                "x": float(cx),
                "y": float(cy),
            }
        },
    ]
    prev = None
    for i, e in enumerate(steps, 1):
        r = post(client, e)
        assert r.status_code == 200, (e, r.text)
        st = r.json()
        assert len(st["edits"]) == i and st["edits"][-1]["edit"] == e
        res = st["result"]
        sc = read_scenario_from(client)
        assert len(sc.edits) == i
        lib = library(ex, sc)
        assert thresholds(res["thresholds"]) == thresholds(lib.thresholds.to_dict("records"))
        res = {k: v for k, v in res.items() if k != "seconds"}  # wall-clock, not a figure
        assert res != prev, e
        prev = res
    # an opened site is listed as data (the page writes it as text, never as HTML)
    opened = client.get("/api/sites").json()["opened"]
    assert [s["name"] for s in opened] == ["<b>Ny</b> politistasjon"]
    assert site["service_id"] in client.get("/api/sites").json()["closed"]
    # the opened office sits amid the cells: police minutes fall somewhere
    assert np.nanmin(get_cells(client, "police")["delta"]) < 0


def read_scenario_from(client, tmp=None) -> Scenario:
    import tempfile

    text = client.get("/api/scenario.yaml").text
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        p.write_text(text, encoding="utf-8")
        return read_scenario(p)


def test_closing_a_link_closes_it_in_both_directions(client):
    ex = client.explorer
    road = a_road_link(ex)
    r = post(client, {"close_link": {"link_ids": [road]}})
    assert r.status_code == 200, r.text
    net1 = ex.scenario_network
    row = net1.links.index[net1.links["link_id"] == road][0]
    assert np.isinf(net1.links.loc[row, "seconds_fw"]) and np.isinf(
        net1.links.loc[row, "seconds_bw"]
    )
    assert not np.isin(row, net1.edge_link)  # no edge of the routing graph uses it


def test_undo_steps_back_and_reset(client):
    assert client.post("/api/undo").status_code == 400  # nothing to undo yet
    post(client, {"replace_ferry": {"link_id": FERRY}})
    first = client.get("/api/state").json()
    post(client, {"ferry_headway": {"link_id": 14383, "headway_min": 10}})
    r = client.post("/api/undo")
    assert r.status_code == 200
    st = r.json()
    assert (
        st["edits"] == first["edits"]
        and st["result"]["thresholds"] == first["result"]["thresholds"]
    )
    st = client.post("/api/undo").json()
    assert st["edits"] == [] and st["result"] is None
    assert set(get_cells(client, "police")) == {"base"}
    post(client, {"replace_ferry": {"link_id": FERRY}})
    assert client.post("/api/reset").json()["edits"] == []
    assert client.post("/api/undo").json()["edits"][0]["edit"] == {
        "replace_ferry": {"link_id": FERRY}
    }


# ----------------------------------------------------------------------------- save / load
def test_saved_yaml_runs_through_the_cli_with_the_same_numbers(client, tmp_path, capsys):
    ex = client.explorer
    assert (
        client.post(
            "/api/name", json={"name": "våge bridge", "description": "Fv549: ferry -> bridge"}
        ).status_code
        == 200
    )
    post(client, {"replace_ferry": {"link_id": FERRY, "speed_kmh": 80, "kind": "bridge"}})
    post(client, {"ferry_headway": {"link_id": 14302, "headway_min": 20}})
    r = client.get("/api/scenario.yaml")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    f = tmp_path / "saved.yaml"
    f.write_bytes(r.content)
    out = tmp_path / "out"
    code = main(
        [
            "scenario",
            str(f),
            "--region",
            REGION,
            "--services",
            ",".join(TYPES),
            "--buffer-km",
            str(BUFFER_KM),
            "--out",
            str(out),
            "--no-map",
        ]
    )
    assert code == 0
    folder = next(out.iterdir())
    for name in ("thresholds", "summary", "catchments", "kommuner"):
        cli = pd.read_csv(folder / f"{name}.csv")
        web = pd.read_csv(pd.io.common.StringIO(client.get(f"/api/tables/{name}.csv").text))
        pd.testing.assert_frame_equal(cli, web, check_dtype=False)
    benefit = client.get("/api/regions").json()["result"]["benefit"]["person_minutes_per_day"]
    assert f"rule-of-half benefit {benefit:,.0f} person-minutes/day" in capsys.readouterr().out
    # ... and the same file loads back into the explorer
    fresh_client = TestClient(create_app(fresh(ex)))
    st = fresh_client.post("/api/scenario", content=f.read_bytes()).json()
    assert st["name"] == "våge bridge" and st["description"] == "Fv549: ferry -> bridge"
    assert st["edits"] == client.get("/api/state").json()["edits"]
    assert st["result"]["thresholds"] == client.get("/api/state").json()["result"]["thresholds"]


def test_shipped_scenario_files_load(client):
    root = Path(__file__).resolve().parents[1] / "scenarios"
    st = client.post("/api/scenario", content=(root / "e39_hordfast.yaml").read_bytes())
    assert st.status_code == 200, st.text
    assert st.json()["edits"][0]["edit"]["replace_ferry"]["link_id"] == 14257


def test_tables_download(client):
    assert client.get("/api/tables/base_summary.csv").status_code == 200
    assert client.get("/api/tables/thresholds.csv").status_code == 400  # no edit yet
    post(client, {"replace_ferry": {"link_id": FERRY}})
    cells = pd.read_csv(pd.io.common.StringIO(client.get("/api/tables/cells.csv").text))
    assert len(cells) == len(client.explorer.base)
    assert "police_delta" in cells


# ----------------------------------------------------------------------------- bad requests
# Each refusal must name the input at fault (the messages come from the scenario reader and
# the edit functions; the explorer adds nothing but the edit type).
BAD_EDITS = [
    ("not json {", "not JSON"),
    ("[1, 2]", "one object"),
    ('{"replace_ferry": {"link_id": 14302}, "upgrade": {}}', "one object"),
    ('{"replace_ferry": 5}', "parameters must be an object"),
    ('{"teleport": {"to": "Oslo"}}', "teleport"),
    ('{"replace_ferry": {"link_id": 14302, "colour": "red"}}', "colour"),
    ('{"replace_ferry": {"link_id": 13000}}', "13000"),
    ('{"ferry_headway": {"near": "Atlantis", "headway_min": 10}}', "Atlantis"),
    ('{"upgrade": {"road": "Rv999", "speed_kmh": 90}}', "Rv999"),
    ('{"upgrade": {"link_ids": [14302], "speed_kmh": -5}}', "-5"),
    ('{"new_link": {"start": [0, 0], "end": [1, 1]}}', "start"),
    ('{"close_facility": {"name": "Nowhere hospital"}}', "Nowhere hospital"),
    ('{"close_link": {"link_ids": [14302]}}', "ferry"),
    ('{"close_link": {}}', "link_ids"),
]


@pytest.mark.parametrize(("body", "message"), BAD_EDITS)
def test_bad_edits_are_refused_with_one_clear_line(client, body, message):
    before = client.get("/api/state").json()
    r = client.post("/api/edits", content=body)
    assert r.status_code == 400, r.text
    msg = r.json()["error"]
    assert message in msg
    assert "Traceback" not in msg and "/tmp" not in msg and "\n" not in msg.strip()
    assert client.get("/api/state").json() == before  # nothing changed


def test_bad_requests_of_every_other_kind(client):
    big = "x" * 20_000
    r = client.post("/api/edits", content=json.dumps({"replace_ferry": {"kind": big}}))
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post("/api/scenario", content=b"a" * (MAX_YAML_BYTES + 1))
    assert r.status_code == 413
    cases = [
        ("/api/scenario", b"name: x\nedits: [\n", "not valid YAML"),
        ("/api/scenario", b"\xff\xfe", "UTF-8"),
        (
            "/api/scenario",
            b"name: a\nedits:\n  - &e {replace_ferry: {link_id: 14302}}\n  - *e\n",
            "aliases",
        ),
        (
            "/api/scenario",
            b"name: a\nedits:\n  - replace_ferry: {link_id: 14302, x: 1}\n",
            "line 3",
        ),
        (
            "/api/scenario",
            b"name: a\nedits:\n  - new_link: {start: Atlantis, end: [0, 0]}\n",
            "Atlantis",
        ),
        ("/api/scenario", b"edits: []\n", "needs 'name'"),
    ]
    for path, body, message in cases:
        r = client.post(path, content=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["error"], (body, r.json())
    too_many = "name: many\nedits:\n" + "".join(
        f"  - ferry_headway: {{link_id: {FERRY}, headway_min: {i + 1}}}\n"
        for i in range(MAX_EDITS + 1)
    )
    r = client.post("/api/scenario", content=too_many.encode())
    assert r.status_code == 400 and "at most" in r.json()["error"]
    assert client.get("/api/cells", params={"type": "pizza"}).status_code == 400
    assert client.get("/api/cells").status_code == 400
    assert client.get("/api/summary", params={"type": "court"}).status_code == 400
    assert client.get("/api/project", params={"lat": "north", "lon": 5}).status_code == 400
    assert client.get("/api/project", params={"lat": 0, "lon": 0}).status_code == 400
    assert client.get("/api/tables/secrets.csv").status_code == 404
    assert client.get("/api/nothing").status_code == 404
    assert client.post("/api/name", json={"name": ""}).status_code == 400
    assert client.post("/api/name", json={"name": "n" * 500}).status_code == 400
    assert client.post("/api/name", json={"nom": "x"}).status_code == 400
    r = client.get("/", headers={"host": "evil.example"})
    assert r.status_code == 400  # DNS rebinding: only local host names
    assert client.get("/api/state").json()["edits"] == []


def test_edit_count_is_capped(client):
    ex = client.explorer
    ex.edits = [
        {"ferry_headway": {"link_id": FERRY, "headway_min": i + 1}} for i in range(MAX_EDITS)
    ]
    r = post(client, {"ferry_headway": {"link_id": FERRY, "headway_min": 5}})
    assert r.status_code == 400 and f"at most {MAX_EDITS}" in r.json()["error"]


def test_project_gives_network_coordinates(client):
    r = client.get("/api/project", params={"lat": 60.0, "lon": 5.6}).json()
    import pyproj

    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True).transform(
        5.6, 60.0
    )
    assert r == {"x": round(x, 1), "y": round(y, 1)}


def test_serve_binds_to_localhost_by_default():
    from smaby_geo.cli import build_parser

    args = build_parser().parse_args(["serve", "--region", "Tysnes"])
    assert args.host == "127.0.0.1" and args.port == 8765


def test_serve_refuses_bad_options_before_computing(capsys):
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
    assert main(["serve", "--services", "pizza"]) != 0  # the CLI's bad-input code
    assert "unknown types ['pizza']" in capsys.readouterr().err


def test_serve_refuses_an_address_it_cannot_listen_on_before_computing(capsys, monkeypatch):
    """A port in use, or a host that is not this machine's, was found only after the base
    (minutes) had been computed and the page announced."""
    import socket

    from smaby_geo.explorer import Explorer

    def no_base(*args, **kwargs):
        raise AssertionError("the base was computed before the address was checked")

    monkeypatch.setattr(Explorer, "from_region", no_base)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--region", REGION, "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err
    assert main(["serve", "--region", REGION, "--host", "not a host"]) == 2
    assert "--host 'not a host' is not an address of this machine" in capsys.readouterr().err
    assert main(["serve", "--region", REGION, "--host", "8.8.8.8", "--port", str(port)]) == 2
    assert "cannot listen on 8.8.8.8" in capsys.readouterr().err


def test_serve_command_starts_a_local_server():
    import subprocess
    import sys
    import urllib.request

    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "smaby_geo.cli",
        "serve",
        "--region",
        REGION,
        "--services",
        "police",
        "--buffer-km",
        "30",
        "--no-regions",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        info = None
        for _ in range(600):
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2) as r:
                    info = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.25)
        assert info is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert info["region"] == REGION and info["types"] == ["police"]
        assert info["regions"] is False and "--no-regions" in info["command"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ----------------------------------------------------------------------------- real browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_browser_ferry_to_bridge_by_clicking(base, tmp_path):
    """Headless Chromium (Debian's) driven by Playwright: click the ferry, replace it by a
    bridge, wait for the difference layer, read the 60-minute figure, save, screenshot."""
    import shutil

    import uvicorn
    from playwright import sync_api

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(exe).exists(), "headless Chromium is needed: `make chromium` installs it"
    ex = fresh(base)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ex), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    lib = library(ex, Scenario("x", [ReplaceFerry(link_id=FERRY, speed_kmh=80)]))
    th = lib.thresholds.set_index(["service_type", "minutes"])
    links = ex.network.links
    ferry_line = links.loc[links["link_id"] == FERRY, "geometry"].iloc[0]
    road = links[~links["ferry"].to_numpy(bool)]
    road_ends = [
        int(road.loc[road.geometry.distance(shapely.Point(c)).idxmin(), "link_id"])
        for c in (ferry_line.coords[0], ferry_line.coords[-1])
    ]
    expected = int(th.loc[("hospital", 60), "newly_within"])
    external = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=exe,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(f"http://127.0.0.1:{port}/")
                    else (external.append(route.request.url), route.abort())
                ),
            )
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-ready='yes']", timeout=60_000)
            page.select_option("#type", "hospital")
            page.evaluate(f"window.explorer.zoomToLink({FERRY})")
            page.wait_for_timeout(500)
            pt = page.evaluate(f"window.explorer.linkScreenPoint({FERRY})")
            page.mouse.click(pt["x"], pt["y"])
            page.wait_for_selector("#replace-ferry", timeout=10_000)
            assert f"Ferry link {FERRY}" in page.inner_text("#selection")
            page.click("#replace-ferry")
            page.wait_for_selector("body[data-layer='difference']", timeout=60_000)
            assert page.inner_text("#legend-title").startswith("Change in minutes")
            page.wait_for_selector("body[data-benefit='yes']", timeout=60_000)
            benefit = lib.benefit.person_minutes_per_day
            assert f"{benefit:,.0f} person-minutes per day" in page.inner_text("#benefit")
            shown = page.inner_text("#thr-hospital-60-within")
            assert int(shown.replace(",", "")) == expected
            assert expected > 0
            assert page.inner_text("#edits").strip().startswith("replace_ferry")
            with page.expect_download() as dl:
                page.click("#save")
            saved = tmp_path / "saved.yaml"
            dl.value.save_as(saved)
            sc = read_scenario(saved)
            assert sc.edits == [ReplaceFerry(link_id=FERRY, speed_kmh=80.0, kind="bridge")]
            shot = Path(__file__).resolve().parents[1] / "data" / "processed" / "explorer.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            # draw a new link between two clicked points (road links near the ferry's ends)
            page.click("#modes button[data-mode='newlink']")
            for lid in road_ends:
                pt = page.evaluate(f"window.explorer.linkScreenPoint({lid})")
                page.mouse.click(pt["x"], pt["y"])
            page.click("#add-newlink")
            page.wait_for_selector("#edits li:nth-child(2)", timeout=60_000)
            assert page.inner_text("#edits li:nth-child(2)").startswith("new_link")
            assert page.inner_text("#error") == ""
            # a hostile facility name, typed into the page, stays text
            page.click("#modes button[data-mode='open']")
            box = page.locator("#map").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_selector("#open-name", timeout=10_000)
            hostile = '<img src=x onerror="window.__pwned=1">'
            page.fill("#open-name", hostile)
            page.click("#add-open")
            page.wait_for_selector("#edits li:nth-child(3)", timeout=60_000)
            assert hostile in page.inner_text("#edits")
            assert page.locator("#edits img, #selection img, #panel img").count() == 0
            assert page.evaluate("() => window.__pwned") is None
            assert not errors, errors
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert external == []  # the page asked for nothing outside the local server


def test_scenario_text_round_trips_with_the_readers_rules():
    """The explorer keeps the edits as written and writes them back: with the scenario
    reader's rules (1e9 a number, texts as written), not plain ``yaml.safe_load`` (which kept
    ``1e3`` as text and read ``service_id: 0301`` as the octal 193)."""
    from smaby_geo.explorer.session import read_scenario_text, scenario_yaml

    text = (
        "name: 1e3\nedits:\n"
        "  - ferry_headway: {link_id: 14257, headway_min: 1e3}\n"
        "  - close_facility: {name: 2e1}\n"
        "  - close_facility: {service_id: 0301}\n"
    )
    sc, raw = read_scenario_text(text)
    assert raw == [
        {"ferry_headway": {"link_id": 14257, "headway_min": 1000.0}},
        {"close_facility": {"name": "2e1"}},
        {"close_facility": {"service_id": "0301"}},
    ]
    saved = scenario_yaml(sc.name, sc.description, raw)
    again, raw_again = read_scenario_text(saved)
    assert (again.name, again.edits, raw_again) == ("1e3", sc.edits, raw)
    assert again.edits[2].service_id == "0301" and again.edits[1].name == "2e1"


def test_a_site_opened_at_sea_is_refused_as_the_scenario_command_refuses_it(client):
    """An opened site more than 5 km from every road would be routed to by nobody: the
    explorer refuses it with the scenario reader's line, not a scenario that saves and then
    fails in `smaby-geo scenario`."""
    edit = {"open_facility": {"name": "Sea", "service_type": "police", "x": -200000.0,
                              "y": 6700000.0}}
    r = post(client, edit)
    assert r.status_code == 400, r.text
    assert "more than 5,000 m from any road" in r.text
    assert client.explorer.edits == []
