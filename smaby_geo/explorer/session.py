"""The state behind ``smaby-geo serve``: a base computed once, a list of edits, their result.

The explorer keeps a scenario as the list of edits *in the YAML form* that ``smaby-geo
scenario`` reads (``{"replace_ferry": {"link_id": 14257, "speed_kmh": 80}}``). Every change
is checked by writing the whole scenario as YAML and reading it back with
:func:`smaby_geo.analysis.scenarios.read_scenario` (the same rules as a file), then applied
with :func:`~smaby_geo.network.scenario.apply_scenario` and
:func:`~smaby_geo.network.scenario.apply_service_edits` — the code path of ``smaby-geo
scenario`` — and compared with the base as :func:`~smaby_geo.analysis.scenarios.compare`
does, re-using what the edits cannot change (the base's snapping and searches:
:mod:`smaby_geo.explorer.cells`, :mod:`smaby_geo.explorer.incremental`), so the figures are
the same (the tests compare every edit type with ``compare``). The base travel times come from
:func:`smaby_geo.pipeline.run_travel_times` once, at start.

Longer than 500 lines because the explorer's whole state machine (edits, undo, YAML round trip,
results and tables) is kept in one class so that every change goes through one checked path.
"""

from __future__ import annotations

import math
import re
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smaby_geo.analysis.scenario_file import _EXPONENT_FLOAT, read_scenario_data
from smaby_geo.analysis.scenarios import (
    SCENARIO_THRESHOLDS_MIN,
    check_opened_sites,
    read_scenario,
)
from smaby_geo.explorer.cells import CellCache, compare_cells_cached, prepare_cell_cache
from smaby_geo.explorer.incremental import (
    RegionCache,
    compare_regions_cached,
    prepare_region_cache,
    warm_up,
)
from smaby_geo.network.scenario import Scenario, apply_scenario, apply_service_edits
from smaby_geo.places.services import SERVICE_TYPES

if TYPE_CHECKING:
    import geopandas as gpd

    from smaby_geo.network.core import RoadNetwork

MAX_EDITS = 50  # edits in one scenario (each edit re-evaluates the whole scenario)
MAX_YAML_BYTES = 64_000  # an uploaded scenario file
MAX_HISTORY = 200  # undo steps kept
MAX_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 2_000
ROUTE_CHANGE_MINUTES = 10_000.0  # delta sent for a cell that gained (-) or lost (+) its route
TABLES = ("summary", "thresholds", "kommuner", "catchments", "regions", "base_summary", "cells")


class ExplorerError(ValueError):
    """A request the explorer cannot honour; the message is shown to the planner as is."""


def _yaml_dumper():
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data) -> bool:  # never write anchors/aliases
            return True

    # the scenario reader reads 1e9 as a number: a text that looks so is written quoted
    _Dumper.yaml_implicit_resolvers = {
        k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }
    _Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789")
    )
    return _Dumper


def scenario_yaml(name: str, description: str, edits: list[dict]) -> str:
    """Write a scenario as the YAML text ``smaby-geo scenario`` reads.

    Parameters
    ----------
    name, description : str
    edits : list of dict
        Each ``{edit_type: {parameter: value}}``, as in a scenario file.

    Returns
    -------
    str
        ``name``, ``description`` and ``edits`` (one flow-style line per edit).
    """
    import yaml

    head = yaml.dump(
        {"name": name, "description": description},
        Dumper=_yaml_dumper(),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    lines = ["  - " + edit_text(e) for e in edits]
    return head + "edits:" + ("\n" + "\n".join(lines) if lines else " []") + "\n"


def edit_text(edit: dict) -> str:
    """One edit as the line it takes in a scenario file (``replace_ferry: {link_id: 1}``)."""
    import yaml

    return yaml.dump(
        edit,
        Dumper=_yaml_dumper(),
        default_flow_style=True,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
    ).strip()[1:-1]


def _check_text(value, what: str, limit: int, *, empty_ok: bool) -> str:
    if not isinstance(value, str):
        raise ExplorerError(f"{what} must be text, got {type(value).__name__}")
    value = value.strip()
    if not value and not empty_ok:
        raise ExplorerError(f"{what} is empty; give the scenario a name")
    if len(value) > limit:
        raise ExplorerError(f"{what} is {len(value)} characters long; the limit is {limit}")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ExplorerError(f"{what} contains control characters; remove them")
    return value


def _yaml_error(exc) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"scenario file{where} is not valid YAML: {problem}"


def _reject_aliases(text: str) -> None:
    """Refuse YAML anchors and aliases (a few hundred bytes of aliases expand to gigabytes)."""
    import yaml

    try:
        for tok in yaml.scan(text):
            if isinstance(tok, yaml.AliasToken | yaml.AnchorToken):
                raise ExplorerError(
                    f"scenario file, line {tok.start_mark.line + 1}: YAML anchors and aliases "
                    "(& and *) are not accepted; write each edit out"
                )
    except yaml.YAMLError as exc:
        raise ExplorerError(_yaml_error(exc)) from None


def read_scenario_text(text: str) -> tuple[Scenario, list[dict]]:
    """Read scenario YAML text with ``read_scenario``'s rules; also return the raw edits.

    Returns
    -------
    (Scenario, list of dict)
        The parsed scenario and its edits as written (place names kept as names).

    Raises
    ------
    ExplorerError
        The reader's message, with the temporary file's path replaced by "scenario".
    """
    import yaml

    _reject_aliases(text)
    with tempfile.TemporaryDirectory(prefix="smaby-explorer-") as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            sc = read_scenario(path)
        except yaml.YAMLError as exc:
            raise ExplorerError(_yaml_error(exc)) from None
        except (ValueError, TypeError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise ExplorerError(str(msg).replace(str(path), "scenario")) from None
        # the edits as written, with the reader's rules (plain yaml.safe_load read `1e9` as
        # text and `service_id: 0301` as 193, so writing them back changed the scenario)
        data = read_scenario_data(path)
    sc.source = "scenario"  # errors applying an edit name "scenario, line n", not the temp file
    raw = list(data.get("edits") or [])
    if len(raw) != len(sc.edits):
        raise ExplorerError("scenario: the edits could not be read one by one")
    return sc, raw


def _jsonable(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            row[str(k)] = v
        out.append(row)
    return out


@dataclass
class Explorer:
    """A base computed once and the scenario being edited.

    Build one with :meth:`from_region`. Methods that change the scenario are thread-safe and
    return :meth:`state`; a request that fails leaves the scenario as it was.

    Attributes
    ----------
    network : RoadNetwork
        Base network (the whole network, or clipped to the region plus ``buffer_km`` when
        one is given, as ``smaby-geo scenario``).
    base : GeoDataFrame
        Base travel-time table (``travel_times``) of every populated cell.
    services : GeoDataFrame
        Base service layer.
    kommuner : GeoDataFrame
        Kommune polygons (for the labour-market region comparison and the benefit).
    types : list of str
        Service types.
    region_name : str
    summary : DataFrame
        Base kommune summary (``summarise``).
    regions : bool
        Compare labour-market regions and compute the rule-of-half benefit (as
        ``smaby-geo scenario`` without ``--no-regions``).
    region_cache : RegionCache, optional
        The base half of the region comparison with its searches
        (:func:`~smaby_geo.explorer.incremental.prepare_region_cache`), computed once; each
        scenario searches again only what its edits can change.
    history : list
        Earlier (name, description, edits), newest last, at most ``MAX_HISTORY``.
    """

    network: RoadNetwork
    base: gpd.GeoDataFrame
    services: gpd.GeoDataFrame
    kommuner: gpd.GeoDataFrame
    types: list[str]
    region_name: str
    summary: pd.DataFrame
    regions: bool = True
    grid: str = "250m"
    region: str | None = None
    buffer_km: float | None = None
    name: str = "scenario"
    description: str = ""
    edits: list[dict] = field(default_factory=list)
    history: list[tuple[str, str, list[dict]]] = field(default_factory=list)
    result: dict | None = None
    scenario_network: RoadNetwork | None = None  # set together with ``result``
    scenario_services: gpd.GeoDataFrame | None = None
    seconds: float = 0.0
    seconds_regions: float = 0.0
    region_cache: RegionCache | None = field(default=None, repr=False)
    cell_cache: CellCache | None = field(default=None, repr=False)
    region_search: dict | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _names: dict | None = field(default=None, repr=False)

    @classmethod
    def from_region(
        cls,
        region: str | None = None,
        services: tuple[str, ...] = SERVICE_TYPES,
        *,
        grid: str = "250m",
        buffer_km: float | None = None,
        regions: bool = True,
    ) -> Explorer:
        """Compute the base exactly as ``smaby-geo scenario`` does (``run_travel_times``).

        Parameters
        ----------
        region : str, optional
            Kommune/fylke number or name (default: Norway).
        services : tuple of str
            Service types.
        grid : {"250m", "1km"}
        buffer_km : float, optional
            Clip the network and services this far beyond the region, km (``run_travel_times``);
            default None: no clip.
        regions : bool, default True
            Also compare labour-market regions and compute the rule-of-half benefit.
        """
        from smaby_geo.pipeline import run_travel_times

        res = run_travel_times(
            region=region, service_types=tuple(services), grid=grid, buffer_km=buffer_km
        )
        cell_cache = prepare_cell_cache(res.network, res.cells, list(services))
        region_cache = None
        if regions:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                region_cache = prepare_region_cache(
                    res.network, res.cells, res.kommuner
                )
                warm_up()
        return cls(
            network=res.network,
            base=res.cells,
            services=res.services,
            kommuner=res.kommuner,
            types=list(services),
            region_name=res.region_name,
            summary=res.summary,
            regions=regions,
            grid=grid,
            region=region,
            buffer_km=buffer_km,
            region_cache=region_cache,
            cell_cache=cell_cache,
        )

    # ----------------------------------------------------------------- evaluation
    def _evaluate(self, name: str, description: str, edits: list[dict], label: str = ""):
        """Check and evaluate a candidate scenario; nothing is stored here."""
        if len(edits) > MAX_EDITS:
            raise ExplorerError(
                f"a scenario holds at most {MAX_EDITS} edits; this one would have {len(edits)}"
            )
        sc, _ = read_scenario_text(scenario_yaml(name, description, edits))
        if not edits:
            return sc, None, None, None, 0.0
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net1 = apply_scenario(self.network, sc)
                check_opened_sites(net1, sc)  # as `smaby-geo scenario` does: no silent no-op
                sv1 = apply_service_edits(self.services, sc)
                if self.cell_cache is None:
                    self.cell_cache = prepare_cell_cache(self.network, self.base, self.types)
                # compare(..., regions=False) on the base's snapping; the region half follows
                # in complete_regions()
                cmp = compare_cells_cached(self.cell_cache, net1, sv1, SCENARIO_THRESHOLDS_MIN)
        except (ValueError, TypeError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            where = label or (next(iter(edits[-1]), "edit") if edits else "edit")
            raise ExplorerError(f"{where}: {msg}") from None
        return sc, net1, sv1, cmp, time.perf_counter() - t0

    def _commit(self, name, description, edits, net1, sv1, cmp, seconds) -> None:
        self._remember()
        self.name, self.description, self.edits = name, description, list(edits)
        self.scenario_network, self.scenario_services, self.result = net1, sv1, cmp
        self.seconds = seconds

    def _remember(self) -> None:
        self.history.append((self.name, self.description, list(self.edits)))
        del self.history[:-MAX_HISTORY]

    def _check_edit(self, edit) -> dict:
        if not isinstance(edit, dict) or len(edit) != 1:
            raise ExplorerError(
                "an edit is one object {edit_type: {parameters}}, e.g. "
                '{"replace_ferry": {"link_id": 14257}}'
            )
        ((kind, params),) = edit.items()
        if not isinstance(params, dict):
            raise ExplorerError(f"{kind}: the parameters must be an object {{key: value}}")
        return {str(kind): params}

    # ----------------------------------------------------------------- actions
    def add_edit(self, edit: dict) -> dict:
        """Add one edit (YAML form), re-evaluate, and return :meth:`state`.

        Raises
        ------
        ExplorerError
            The edit breaks a rule of the scenario reader or cannot be applied (unknown link,
            point too far from the network ...); the scenario is left unchanged.
        """
        edit = self._check_edit(edit)
        with self._lock:
            edits = [*self.edits, edit]
            _, net1, sv1, cmp, s = self._evaluate(self.name, self.description, edits)
            self._commit(self.name, self.description, edits, net1, sv1, cmp, s)
            return self.state()

    def undo(self) -> dict:
        """Go back one step (an edit, a rename or a load)."""
        with self._lock:
            if not self.history:
                raise ExplorerError("nothing to undo")
            name, description, edits = self.history.pop()
            _, net1, sv1, cmp, s = self._evaluate(name, description, edits)
            self.name, self.description, self.edits = name, description, list(edits)
            self.scenario_network, self.scenario_services, self.result = net1, sv1, cmp
            self.seconds = s
            return self.state()

    def rename(self, name, description="") -> dict:
        """Set the scenario's name and description (checked as the reader checks a file)."""
        name = _check_text(name, "name", MAX_NAME_CHARS, empty_ok=False)
        description = _check_text(description, "description", MAX_DESCRIPTION_CHARS, empty_ok=True)
        with self._lock:
            read_scenario_text(scenario_yaml(name, description, self.edits))
            self._remember()
            self.name, self.description = name, description
            return self.state()

    def load_yaml(self, text: str | bytes) -> dict:
        """Replace the scenario with a scenario file's content (the format ``read_scenario`` reads).

        Raises
        ------
        ExplorerError
            Too large, not UTF-8, anchors/aliases, anything ``read_scenario`` refuses, too
            many edits, or an edit that cannot be applied to this region's network.
        """
        if isinstance(text, bytes):
            if len(text) > MAX_YAML_BYTES:
                raise ExplorerError(
                    f"scenario file is {len(text):,} bytes; the limit is {MAX_YAML_BYTES:,}"
                )
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ExplorerError("scenario file is not UTF-8 text") from None
        if len(text.encode("utf-8")) > MAX_YAML_BYTES:
            raise ExplorerError(f"scenario file is larger than {MAX_YAML_BYTES:,} bytes")
        sc, raw = read_scenario_text(text)
        name = _check_text(sc.name, "name", MAX_NAME_CHARS, empty_ok=False)
        description = _check_text(
            sc.description, "description", MAX_DESCRIPTION_CHARS, empty_ok=True
        )
        edits = [self._check_edit(e) for e in raw]
        with self._lock:
            _, net1, sv1, cmp, s = self._evaluate(name, description, edits, "scenario file")
            self._commit(name, description, edits, net1, sv1, cmp, s)
            return self.state()

    def complete_regions(self) -> dict:
        """Add the region half of ``compare`` (BA regions, rule-of-half benefit) to the result.

        An edit answers first with the cell figures (the difference layer, thresholds,
        kommuner, catchments); this adds what ``compare(..., regions=True)`` adds
        (``compare_regions``), re-using the base's searches where the edits cannot change
        them (:func:`~smaby_geo.explorer.incremental.compare_regions_cached`), and returns
        :meth:`state`. Nothing to do when regions are off, already done, or there is no edit.
        """
        with self._lock:
            cmp = self.result
            if cmp is None or not self.regions or "benefit" in cmp:
                return self.state()
            assert self.scenario_network is not None  # _commit sets it with the result
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if self.region_cache is None:
                        self.region_cache = prepare_region_cache(
                            self.network, self.base, self.kommuner
                        )
                    half = compare_regions_cached(self.region_cache, self.scenario_network)
                    self.region_search = half.pop("search")
                    cmp.update(half)
            except (ValueError, KeyError) as exc:
                raise ExplorerError(f"regions and benefit: {exc}") from None
            self.seconds_regions = time.perf_counter() - t0
            return self.state()

    def reset(self) -> dict:
        """Drop every edit (undoable)."""
        with self._lock:
            self._commit(self.name, self.description, [], None, None, None, 0.0)
            return self.state()

    # ----------------------------------------------------------------- outputs
    def to_yaml(self) -> str:
        """The scenario as a file for ``smaby-geo scenario``."""
        with self._lock:
            return scenario_yaml(self.name, self.description, self.edits)

    def _kommune_names(self) -> dict:
        if self._names is None:
            b = self.base
            if "kommunenavn" not in b:
                self._names = {}
            else:
                k = pd.DataFrame(b[["kommunenummer", "kommunenavn"]]).drop_duplicates()
                self._names = dict(zip(k["kommunenummer"], k["kommunenavn"], strict=True))
        return self._names

    def state(self) -> dict:
        """The scenario and the figures ``smaby-geo scenario`` prints, as plain JSON types."""
        with self._lock:
            out = {
                "name": self.name,
                "description": self.description,
                "edits": [{"edit": e, "text": edit_text(e)} for e in self.edits],
                "can_undo": bool(self.history),
                "max_edits": MAX_EDITS,
                "result": None,
            }
            cmp = self.result
            if cmp is None:
                return out
            assert self.scenario_network is not None  # _commit sets it with the result
            names = self._kommune_names()
            k = cmp["kommuner"]
            if len(k):
                k = k[k["mean_change_minutes"].abs() > 1e-9].copy()
                k.insert(1, "kommunenavn", k["kommunenummer"].map(names))
                k = k.sort_values("mean_change_minutes")
            regions = cmp.get("regions")
            touched = sorted(
                {
                    str(i)
                    for e in self.scenario_network.report.get("scenario", {}).get("edits", [])
                    for i in e.get("links", [])
                }
            )
            out["result"] = {
                "seconds": round(self.seconds, 3),
                "summary": _jsonable(cmp["summary"]),
                "thresholds": _jsonable(cmp["thresholds"]),
                "kommuner": _jsonable(k),
                "catchments": _jsonable(cmp["catchments"]),
                "regions": None if regions is None else _jsonable(regions),
                "benefit": cmp.get("benefit"),
                "regions_pending": bool(self.regions and "benefit" not in cmp),
                "seconds_regions": round(self.seconds_regions, 3) if "benefit" in cmp else None,
                "region_search": self.region_search if "benefit" in cmp else None,
                "touched_links": touched,
            }
            return out

    def cell_values(self, service_type: str) -> dict[str, np.ndarray]:
        """Minutes per cell for one type, as float32 arrays in the order of the base table.

        Returns
        -------
        dict
            ``base`` minutes (NaN = no route); after an edit also ``scenario`` minutes and
            ``delta`` = scenario - base (negative = faster; ``+/-ROUTE_CHANGE_MINUTES`` where a
            cell lost/gained its route).
        """
        if service_type not in self.types:
            raise ExplorerError(
                f"service type {service_type!r} is not served; choose from {self.types}"
            )

        def f32(a) -> np.ndarray:
            a = np.asarray(a, dtype=np.float64)
            return np.where(np.isfinite(a), a, np.nan).astype("<f4")

        with self._lock:
            out = {"base": f32(self.base[f"{service_type}_minutes"])}
            cmp = self.result
            if cmp is None:
                return out
            d = cmp["cells"][f"{service_type}_delta"].to_numpy(float)
            d = np.where(np.isposinf(d), ROUTE_CHANGE_MINUTES, d)
            d = np.where(np.isneginf(d), -ROUTE_CHANGE_MINUTES, d)
            out["scenario"] = f32(cmp["cells"][f"{service_type}_minutes_scenario"])
            out["delta"] = f32(d)
            return out

    def table(self, name: str) -> pd.DataFrame:
        """One of ``TABLES`` as a DataFrame (what ``smaby-geo scenario`` writes as CSV)."""
        if name not in TABLES:
            raise ExplorerError(f"unknown table {name!r}; choose from {list(TABLES)}")
        with self._lock:
            if name == "base_summary":
                return self.summary
            cmp = self.result
            if cmp is None:
                raise ExplorerError(f"table {name!r} exists once the scenario has an edit")
            if name == "cells":
                return pd.DataFrame(cmp["cells"].drop(columns="geometry"))
            if name == "regions":
                self.complete_regions()
                if "regions" not in cmp:
                    raise ExplorerError(
                        "regions were not compared (server started with --no-regions)"
                    )
                return cmp["regions"]
            return cmp[name]


def slug(text: str) -> str:
    """A file-name-safe version of a scenario name."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return s[:60] or "scenario"
