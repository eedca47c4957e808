"""The explorer's web application (FastAPI): a page, its static files and a small JSON API.

Routes
------
GET  /                      the page (Leaflet served from the package: works offline)
GET  /api/info              region, service types, bounds, limits, attribution
GET  /api/grid              cell centres, sizes and population
GET  /api/project?lat=&lon=  a clicked point in EPSG:25833 (scenario files use it)
GET  /api/cells?type=T      minutes per cell: float32 little-endian arrays, one after the
                            other, named in the X-Arrays header (base[,scenario,delta]);
                            NaN = no route
GET  /api/boundaries        fylker and kommune borders (the offline base layer)
GET  /api/links             road and ferry links (GeoJSON)
GET  /api/sites             service sites
GET  /api/summary?type=T    the base kommune summary
GET  /api/state             the scenario and its figures
POST /api/edits             add one edit ``{edit_type: {...}}`` (the YAML form): the cell
                            figures; ``result.regions_pending`` says the region half follows
GET  /api/regions           complete the result: BA regions and the rule-of-half benefit
POST /api/undo              undo the last change
POST /api/reset             drop every edit
POST /api/name              ``{"name": ..., "description": ...}``
POST /api/scenario          load a scenario file (its YAML text as the body)
GET  /api/scenario.yaml     the scenario as a file for ``smaby-geo scenario``
GET  /api/tables/NAME.csv   summary, thresholds, kommuner, catchments, regions, base_summary, cells

Errors are JSON ``{"error": "one line"}`` with status 400 (bad request), 404, 413 (too large)
or 500 (a bug: the line says so, with no stack trace).
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from smaby_geo.explorer.session import (
    MAX_EDITS,
    MAX_YAML_BYTES,
    TABLES,
    Explorer,
    ExplorerError,
    slug,
)

MAX_JSON_BYTES = 16_000  # one edit or a name: a few hundred bytes in practice
LOG = logging.getLogger("smaby_geo.explorer")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


class _Layers:
    """Layers computed once per explorer (they do not change with edits)."""

    def __init__(self, ex: Explorer) -> None:
        self.ex = ex

    @cached_property
    def grid(self) -> bytes:
        from smaby_geo.explorer.layers import grid_json

        return json.dumps(grid_json(self.ex.base)).encode()

    @cached_property
    def links(self) -> bytes:
        from smaby_geo.explorer.layers import links_geojson

        return json.dumps(links_geojson(self.ex.network)).encode()

    @cached_property
    def boundaries(self) -> bytes:
        from smaby_geo.explorer.layers import boundaries_json

        return json.dumps(boundaries_json()).encode()

    @cached_property
    def info(self) -> dict:
        from smaby_geo.analysis.scenarios import SCENARIO_THRESHOLDS_MIN
        from smaby_geo.explorer.layers import bounds_wgs84

        b = self.ex.base
        return {
            "region": self.ex.region_name,
            "grid": self.ex.grid,
            "types": self.ex.types,
            "bounds": bounds_wgs84(b),
            "cells": len(b),
            "population": int(b["population"].sum()),
            "thresholds": list(SCENARIO_THRESHOLDS_MIN),
            "max_edits": MAX_EDITS,
            "max_yaml_bytes": MAX_YAML_BYTES,
            "regions": self.ex.regions,
            "attribution": b.attrs.get("attribution", ""),
            "note": b.attrs.get("note", ""),
            "command": _command(self.ex),
        }


def _to_network_crs():
    import pyproj

    from smaby_geo.network.core import NETWORK_CRS

    return pyproj.Transformer.from_crs("EPSG:4326", NETWORK_CRS, always_xy=True)


def _command(ex: Explorer) -> str:
    parts = ["smaby-geo scenario", "SCENARIO.yaml"]
    if ex.region:
        parts.append(f"--region '{ex.region}'")
    parts.append(f"--services {','.join(ex.types)}")
    if ex.grid != "250m":
        parts.append(f"--grid {ex.grid}")
    if ex.buffer_km is not None:
        parts.append(f"--buffer-km {ex.buffer_km:g}")
    if not ex.regions:
        parts.append("--no-regions")
    return " ".join(parts)


def create_app(explorer: Explorer, *, allowed_hosts: list[str] | None = None):
    """Return the FastAPI application serving ``explorer``.

    Parameters
    ----------
    explorer : Explorer
        Base and scenario state (``Explorer.from_region``).
    allowed_hosts : list of str, optional
        Host headers accepted (against DNS rebinding); default ``127.0.0.1``, ``localhost``
        and ``testserver`` (the test client).
    """
    from fastapi.responses import JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = FastAPI(
        title="smaby_geo scenario explorer", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost", "testserver"],
    )
    static = resources.files("smaby_geo.explorer") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    layers = _Layers(explorer)

    def err(status: int, msg: str) -> JSONResponse:
        return JSONResponse({"error": msg}, status_code=status)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        length = request.headers.get("content-length")
        limit = MAX_YAML_BYTES if request.url.path == "/api/scenario" else MAX_JSON_BYTES
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                return err(400, "Content-Length is not a number")
            if too_big:
                return err(413, f"request body is {int(length):,} bytes; the limit is {limit:,}")
        try:
            resp = await call_next(request)
        except Exception:  # a bug: log it, answer one line
            LOG.exception("explorer request failed")
            resp = err(
                500, "internal error in the explorer (a bug: please report it with the steps)"
            )
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return err(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _bad_params(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:3]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return err(400, "bad request: " + "; ".join(parts))

    @app.exception_handler(ExplorerError)
    async def _explorer_error(request: Request, exc: ExplorerError):
        return err(400, str(exc))

    async def body(request: Request, limit: int) -> bytes:
        chunks, n = [], 0
        async for chunk in request.stream():
            n += len(chunk)
            if n > limit:
                raise ExplorerError(f"request body is larger than {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json_body(request: Request):
        raw = await body(request, MAX_JSON_BYTES)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ExplorerError(f"request body is not JSON: {exc}") from None

    @app.get("/")
    async def index():
        return Response((static / "index.html").read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/api/info")
    async def info():
        return layers.info

    @app.get("/api/grid")
    async def grid():
        return Response(layers.grid, media_type="application/json")

    @app.get("/api/boundaries")
    async def boundaries():
        data = await run_in_threadpool(lambda: layers.boundaries)
        return Response(data, media_type="application/json")

    @app.get("/api/links")
    async def links():
        return Response(layers.links, media_type="application/json")

    @app.get("/api/sites")
    async def sites():
        from smaby_geo.explorer.layers import sites_json

        ex = explorer
        base = sites_json(ex.services, ex.types)
        cur = ex.scenario_services
        if cur is None:
            return {"sites": base, "closed": [], "opened": []}
        now = sites_json(cur, ex.types)
        ids_now = {s["service_id"] for s in now}
        ids_base = {s["service_id"] for s in base}
        return {
            "sites": base,
            "closed": sorted(ids_base - ids_now),
            "opened": [s for s in now if s["service_id"] not in ids_base],
        }

    @app.get("/api/project")
    async def project(lat: float, lon: float):
        if not (50.0 <= lat <= 85.0 and -20.0 <= lon <= 45.0):
            raise ExplorerError(f"point ({lat}, {lon}) is not in or near Norway")
        x, y = _to_network_crs().transform(lon, lat)
        return {"x": round(float(x), 1), "y": round(float(y), 1)}

    @app.get("/api/cells")
    async def cells(type: str):
        arrays = await run_in_threadpool(explorer.cell_values, type)
        return Response(
            b"".join(a.tobytes() for a in arrays.values()),
            media_type="application/octet-stream",
            headers={"X-Arrays": ",".join(arrays), "X-Cells": str(len(arrays["base"]))},
        )

    @app.get("/api/summary")
    async def summary(type: str):
        from smaby_geo.explorer.session import _jsonable

        if type not in explorer.types:
            raise ExplorerError(
                f"service type {type!r} is not served; choose from {explorer.types}"
            )
        s = explorer.summary
        s = s[s["service_type"] == type] if "service_type" in s else s
        return {"type": type, "rows": _jsonable(s)}

    @app.get("/api/state")
    async def state():
        return explorer.state()

    @app.post("/api/edits")
    async def add_edit(request: Request):
        edit = await json_body(request)
        return await run_in_threadpool(explorer.add_edit, edit)

    @app.get("/api/regions")
    async def regions():
        return await run_in_threadpool(explorer.complete_regions)

    @app.post("/api/undo")
    async def undo():
        return await run_in_threadpool(explorer.undo)

    @app.post("/api/reset")
    async def reset():
        return await run_in_threadpool(explorer.reset)

    @app.post("/api/name")
    async def name(request: Request):
        data = await json_body(request)
        if not isinstance(data, dict) or set(data) - {"name", "description"} or "name" not in data:
            raise ExplorerError('give {"name": "...", "description": "..."}')
        return await run_in_threadpool(explorer.rename, data["name"], data.get("description", ""))

    @app.post("/api/scenario")
    async def load(request: Request):
        raw = await body(request, MAX_YAML_BYTES)
        return await run_in_threadpool(explorer.load_yaml, raw)

    @app.get("/api/scenario.yaml")
    async def save():
        text = explorer.to_yaml()
        return Response(
            text.encode("utf-8"),
            media_type="application/x-yaml; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{slug(explorer.name)}.yaml"'},
        )

    @app.get("/api/tables/{name}.csv")
    async def table(name: str):
        if name not in TABLES:
            return err(404, f"unknown table {name!r}; choose from {list(TABLES)}")
        df = await run_in_threadpool(explorer.table, name)
        return Response(
            df.to_csv(index=False).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{slug(explorer.name)}_{name}.csv"'
            },
        )

    return app


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_address(host: str, port: int) -> None:
    """Fail before the base is computed (minutes) when the explorer cannot listen there.

    Raises
    ------
    ValueError
        ``port`` outside 1-65535, a ``host`` this machine cannot resolve, or an address it
        cannot bind (in use, not one of its own), naming the option and the fix.
    """
    import socket

    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"--port {port} is not a port (1-65535)")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(
            f"--host {host!r} is not an address of this machine ({exc}): use 127.0.0.1"
        ) from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(addr)
        except OSError as exc:
            raise ValueError(
                f"the explorer cannot listen on {host}:{port} ({exc.strerror}): choose another "
                "--port, or --host 127.0.0.1"
            ) from None


def serve(
    explorer: Explorer, *, host: str = "127.0.0.1", port: int = 8765, log_level: str = "warning"
) -> None:
    """Run the explorer with uvicorn until interrupted (binds to 127.0.0.1 by default).

    Any other ``host`` opens it to other machines, with a warning on stderr: anyone who can
    reach the port can use it (for ``0.0.0.0`` or ``::`` every Host header is accepted).
    """
    import sys

    import uvicorn

    if host not in LOOPBACK_HOSTS:
        print(
            f"smaby-geo: warning: --host {host} opens the explorer to other machines: anyone "
            "who can reach this port can use it (it has no login); --host 127.0.0.1 keeps it "
            "on this machine",
            file=sys.stderr,
        )
    hosts = ["127.0.0.1", "localhost", host] if host not in ("0.0.0.0", "::") else ["*"]
    uvicorn.run(
        create_app(explorer, allowed_hosts=hosts), host=host, port=port, log_level=log_level
    )
