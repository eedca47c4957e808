"""Open generated maps in headless Chromium with no network: Leaflet must load, the layers and
legend must be there, and the page must log no console errors. Screenshots go to
data/processed/ for a person to look at.

The network is really blocked, not just unused: every request, loopback included
(``--proxy-bypass-list=<-loopback>``), goes to a proxy on a port where nothing listens
(127.0.0.1:9, "discard"), so any file a page asks for fails. A test below proves it by
asking for an image from an HTTP server that this test starts on 127.0.0.1."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from smaby_geo.cli import main
from smaby_geo.datasets import project_raw_dir
from tests.offline import external_refs

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--proxy-server=127.0.0.1:9",  # a refusing port: every request fails
    "--proxy-bypass-list=<-loopback>",  # loopback too
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "headless Chromium is needed: `make test` installs Debian's chromium package"
    return exe


def render(html: Path, tmp_path: Path, screenshot: Path | None = None):
    """Return (DOM after scripts ran, console error lines)."""
    args = [
        chromium(),
        *FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
    ]
    dom = subprocess.run(
        [*args, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    errors = [
        ln
        for ln in dom.stderr.splitlines()
        if "CONSOLE" in ln and ("Uncaught" in ln or "Error" in ln)
    ]
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*args, "--window-size=1200,900", f"--screenshot={screenshot}", html.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return dom.stdout, errors


def test_console_error_detection_works(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    _, errors = render(page, tmp_path)
    assert errors, "the check must see a console error when there is one"


def test_the_browser_has_no_network(tmp_path):
    """An image served by a local HTTP server loads without the flags, never with them."""
    import functools
    import http.server
    import threading

    (tmp_path / "pixel.gif").write_bytes(
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
        b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pixel.gif"
        page = tmp_path / "fetch.html"
        page.write_text(
            f'<html><body><img src="{url}" '
            "onload=\"document.body.setAttribute('data-net','loaded')\" "
            "onerror=\"document.body.setAttribute('data-net','blocked')\"></body></html>"
        )
        dom, _ = render(page, tmp_path)
        assert 'data-net="blocked"' in dom, "the page reached the network"
        # the same page with no proxy flags does load it: the check can tell the difference
        free = [f for f in FLAGS if not f.startswith("--proxy")]
        out = subprocess.run(
            [
                chromium(),
                *free,
                f"--user-data-dir={tmp_path / 'p2'}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert 'data-net="loaded"' in out.stdout
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    assert (
        main(
            [
                "run",
                "--region",
                "Tynset",
                "--grid",
                "1km",
                "--services",
                "hospital",
                "--catchments",
                "--regions",
                "ba",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        (
            "map_hospital_tynset_1km.html",
            [
                "Base: fylker and kommuner (offline)",
                "Populated cells: minutes to nearest hospital",
                "hospital sites",
            ],
        ),
        ("map_catchments_hospital_tynset_1km.html", ["Catchments (", "Isochrone 60 min"]),
        ("map_regions_ba_tynset_1km.html", ["Labour-market regions ("]),
    ],
)
def test_map_renders_offline_with_layers_and_no_errors(maps, tmp_path, name, layers):
    html = maps / name
    assert external_refs(html.read_text()) == []
    shot = project_raw_dir().parent / "processed" / "browser_check" / name.replace(".html", ".png")
    dom, errors = render(html, tmp_path, shot)
    assert "leaflet-container" in dom, "Leaflet did not start"
    assert dom.count("leaflet-interactive") > 0, "no vector layer was drawn"
    for layer in layers:
        assert layer in dom, f"layer {layer!r} missing from the layer control"
    assert "smaby-legend" in dom and "Kilde: SSB" in dom
    assert errors == []
    assert shot.stat().st_size > 20_000


# Injection attempts: each would add a class to <body> if it ran (the class name is built by
# concatenation, so the escaped text itself never contains it).
INJECTIONS = [
    "<img src=x onerror=\"document.body.classList.add('inj'+'ected')\">",
    "${document.body.classList.add('tl'+'fired')}",
    "`);document.body.classList.add('bt'+'fired');(`",
    "</script><script>document.body.classList.add('sc'+'fired')</script>",
]
FIRED = ("injected", "tlfired", "btfired", "scfired")
# Opens every tooltip and popup once the page has loaded, so their HTML is rendered.
OPEN_ALL = """<script>
window.addEventListener('load', function () {
  for (const k of Object.keys(window)) {
    const m = window[k];
    if (!k.startsWith('map_') || !m || !m.eachLayer) continue;
    const visit = (layer, parent) => {
      if (layer.getTooltip && layer.getTooltip()) { try { layer.openTooltip(); } catch (e) {} }
      if (parent && parent.getTooltip && parent.getTooltip()) {
        try { parent.openTooltip(layer); } catch (e) {}
      }
      if (layer.getPopup && layer.getPopup()) { try { layer.openPopup(); } catch (e) {} }
      if (layer.eachLayer) layer.eachLayer((sub) => visit(sub, layer));
    };
    m.eachLayer((l) => visit(l, null));
  }
  document.body.setAttribute('data-opened', 'yes');
});
</script>"""


def _with_tooltips_opened(html: Path) -> Path:
    text = html.read_text(encoding="utf-8")
    out = html.with_name("opened_" + html.name)
    out.write_text(text.replace("</body>", OPEN_ALL + "</body>"), encoding="utf-8")
    return out


def test_the_injection_check_sees_script_that_runs(tmp_path):
    page = tmp_path / "unsafe.html"
    page.write_text(
        "<html><body><div id=t></div><script>document.getElementById('t').innerHTML = "
        + json.dumps(INJECTIONS[0])
        + ";</script></body></html>"
    )
    dom, _ = render(page, tmp_path)
    assert "injected" in dom, "the check must see an injection that runs"


def test_user_strings_in_maps_never_run_in_the_browser(tmp_path):
    """Facility and nearest-site names that are script injections show as text."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    from smaby_geo.outputs.maps import map_catchments, map_minutes

    pts = [Point(281000 + 1500 * i, 6913000) for i in range(len(INJECTIONS))]
    sv = gpd.GeoDataFrame(
        {"service_type": "hospital", "name": INJECTIONS, "service_id": ["a", "b", "c", "d"]},
        geometry=pts,
        crs="EPSG:25833",
    )
    table = gpd.GeoDataFrame(
        {
            "population": [10, 20, 30, 40],
            "hospital_minutes": [5.0, 10.0, np.inf, 20.0],
            "hospital_name": INJECTIONS,
        },
        geometry=[Point(p.x + 300, p.y + 300) for p in pts],
        crs="EPSG:25833",
    )
    table.attrs.update(attribution="© Kartverket | Kilde: SSB", note=INJECTIONS[0])
    catch = sv.assign(population=5, median_minutes=3.0)
    catch["geometry"] = catch.buffer(500)
    catch.attrs.update(service_type="hospital", attribution="Kilde: SSB", note="")
    for name, m in [
        ("minutes.html", map_minutes(table, "hospital", services=sv, title=INJECTIONS[1])),
        ("catchments.html", map_catchments(catch, services=sv, title=INJECTIONS[3])),
    ]:
        page = tmp_path / name
        page.write_text(m.get_root().render(), encoding="utf-8")
        dom, errors = render(_with_tooltips_opened(page), tmp_path)
        assert 'data-opened="yes"' in dom, "the tooltip opener did not run"
        assert "leaflet-tooltip" in dom, "no tooltip was opened"
        assert "&lt;img src=x onerror=" in dom, "the name should show as text"
        for fired in FIRED:
            assert fired not in dom, f"{fired}: an injection ran in {name}"
        assert errors == []
