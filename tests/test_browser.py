"""Open generated maps in headless Chromium with no network: Leaflet must load, the layers and
legend must be there, and the page must log no console errors. Screenshots go to
data/processed/ for a person to look at."""

import shutil
import subprocess
from pathlib import Path

import pytest

from smaby_geo.cli import main
from smaby_geo.datasets import project_raw_dir

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
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
    assert "unpkg.com" not in html.read_text() and "cdn.jsdelivr" not in html.read_text()
    shot = project_raw_dir().parent / "processed" / "browser_check" / name.replace(".html", ".png")
    dom, errors = render(html, tmp_path, shot)
    assert "leaflet-container" in dom, "Leaflet did not start"
    assert dom.count("leaflet-interactive") > 0, "no vector layer was drawn"
    for layer in layers:
        assert layer in dom, f"layer {layer!r} missing from the layer control"
    assert "smaby-legend" in dom and "Kilde: SSB" in dom
    assert errors == []
    assert shot.stat().st_size > 20_000
