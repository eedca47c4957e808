"""What every job needs around its computation: options, data, output folder, stage timings.

Shared by the main job (``pipeline``), the scenario job (``scenario_job``), the towns and
indicators jobs, the explorer and the sweep: parsing ``--services``, choosing a
``--region``, fetching the datasets a run reads, the output folder, the name part of the
output files, the metadata of every output file, the stage timers (with a progress bar
for the main job), and the routing engine (a contraction hierarchy cached on disk, or
Dijkstra). ``smaby_geo.pipeline`` re-exports these names.
"""

from __future__ import annotations

import argparse
import re
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

from smaby_geo import datasets
from smaby_geo._compat import renamed_kwargs
from smaby_geo._errors import OutputFolderError
from smaby_geo._version import __version__
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.services import SERVICE_TYPES

SLUG_MAX_CHARS = 60  # as the explorer's scenario slug; far below any file system's 255 bytes


def _slug(text: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """The file-name part of a region or scenario name: lower case, ``_`` between words.

    Norwegian letters are spelt out (ø -> o, å -> a, æ -> ae), accents are dropped
    (Kárášjohka -> karasjohka) and letters of other scripts are kept (Гора -> гора), so two
    different names in another script no longer share one name; at most ``max_chars``
    characters and twice that in UTF-8 bytes (default ``SLUG_MAX_CHARS``, 60: a 300-character
    scenario name once ended a finished run with "File name too long"). ``region`` where
    nothing is left.
    """
    s = text.casefold().replace("ø", "o").replace("å", "a").replace("æ", "ae")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = re.sub(r"[\W_]+", "_", s).strip("_")[:max_chars]
    while len(s.encode()) > 2 * max_chars:  # other scripts: 2-4 bytes a letter
        s = s[:-1]
    return s.rstrip("_") or "region"


class _Stages:
    """Stage timings and a progress bar.

    The bar starts at the first stage (errors found before computing print on a clean line)
    and is closed by ``close`` or by an exception inside a stage.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._bar = None

    @property
    def bar(self):
        if self._bar is None:
            self._bar = tqdm(total=10, desc="smaby-geo run", unit="stage", leave=False)
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    @contextmanager
    def __call__(self, name: str):
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            self.close()
            raise
        self.seconds[name] = time.perf_counter() - t0
        self.bar.update(1)


ENGINES = ("auto", "ch", "dijkstra")


def land_or_none():
    """Landmasses for the unreachable reasons (island or gap); None when the layer is absent."""
    from smaby_geo.places.snapping import read_land

    try:
        return read_land()
    except datasets.DatasetNotFoundError:
        return None


def routing_cache_dir() -> Path:
    """Folder of prepared networks: ``routing/`` in the data home (``datasets.data_home()``)."""
    return datasets.data_home() / "routing"


@renamed_kwargs(net="network")
def choose_engine(network: RoadNetwork, engine: str = "auto") -> dict:
    """Attach the routing engine the job's queries use and say which it is.

    Parameters
    ----------
    network : RoadNetwork
    engine : {"auto", "ch", "dijkstra"}
        ``auto``/``ch``: the contraction hierarchy, loaded from ``routing_cache_dir()`` when
        it holds one for this network's fingerprint, else built and saved there (a cache
        folder that cannot be written only costs the saving). ``dijkstra``: plain searches.

    Returns
    -------
    dict
        ``routing_engine(network)``: the engine and, for a hierarchy, how it was obtained.
    """
    from smaby_geo.routing.api import prepare, routing_engine

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "dijkstra":
        network.routing_index = None
        return routing_engine(network)
    if network.routing_index is None:
        try:
            prepare(network, cache_dir=routing_cache_dir())
        except OSError as exc:  # read-only or full cache folder: build in memory only
            from smaby_geo.derived_cache import warn_cache_unwritable

            warn_cache_unwritable(routing_cache_dir(), exc)
            prepare(network)
    return routing_engine(network)
def parse_services(text: str) -> tuple[str, ...]:
    """Parse ``--services`` (comma-separated); unknown types are an error listing the known.

    A type given twice counts once (first place kept); no type at all is an error.
    """
    services = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not services:
        raise ValueError(
            f"--services {text!r} names no service type; give one or more of "
            f"{list(SERVICE_TYPES)} separated by commas, e.g. --services hospital,court"
        )
    bad = [s for s in services if s not in SERVICE_TYPES]
    if bad:
        raise ValueError(f"--services: unknown types {bad}; choose from {list(SERVICE_TYPES)}")
    return services


@contextmanager
def _noop():
    yield


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is None:
        return datasets.project_raw_dir().parent / "processed"
    if not str(args.out).strip():
        raise OutputFolderError(
            "--out is empty; give a folder, or leave --out out for the default data/processed"
        )
    return Path(args.out)


def _ensure_run_data(services, args) -> None:
    """Fetch the datasets the main job reads when they are not on this machine (says so)."""
    from smaby_geo.fetch import ensure_datasets
    from smaby_geo.network.profile import CarProfile

    # the network model's inputs (urban speeds; the 250 m grid for roadside densities when the
    # default profile has that term on), whatever --grid routes
    names = ["n1000_roads", "builtup_areas", f"popgrid_{args.grid}", "kommuner"]
    if CarProfile().roadside_density_scale_residents_per_km is not None:
        names.insert(2, "popgrid_250m")
    names += [_SERVICE_DATASET[t] for t in services]
    if getattr(args, "include_unverified_hospitals", False) and "hospital" in services:
        names.append("hospital_candidates")
    if not getattr(args, "no_map", False):
        names += ["fylker_simplified", "kommuner_simplified"]
    ensure_datasets(names)


_SERVICE_DATASET = {
    "hospital": "hospitals",
    "court": "courts",
    "police": "police",
    "study_centre": "study_centres",
}


def read_kommuner_for_region(region: str | None):
    """Read the kommuner and fail early (before any heavy step) on an unknown ``region``.

    Returns
    -------
    geopandas.GeoDataFrame
        Every kommune (the region is chosen later by :func:`region_cells`).
    """
    from smaby_geo.places.admin import select_region
    from smaby_geo.places.population import read_kommuner

    kom = read_kommuner()
    if region:
        select_region(kom, region)
    return kom


def region_cells(kommuner, cells, region: str | None, buffer_km: float | None = None):
    """The cells of ``region``, its name, and its area buffered by ``buffer_km``.

    Parameters
    ----------
    kommuner
        Every kommune (:func:`read_kommuner_for_region`).
    cells
        Population cells with a ``kommunenummer`` column.
    region
        A kommune or fylke name or number; ``None`` or empty for the whole country.
    buffer_km
        Buffer around the region's area in km; ``None`` skips building the area.

    Returns
    -------
    tuple
        ``(cells in the region, region name, buffered area or None)``; for the whole country
        ``(cells, "Norway", None)``.
    """
    from smaby_geo.places.admin import select_region

    if not region:
        return cells, "Norway", None
    sel = select_region(kommuner, region)
    name = sel["kommunenavn"].iloc[0] if len(sel) == 1 else sel["fylkesnavn"].iloc[0]
    area = None if buffer_km is None else sel.geometry.union_all().buffer(buffer_km * 1000.0)
    inside = cells["kommunenummer"].isin(sel["kommunenummer"]).to_numpy()
    return cells[inside], name, area


def output_meta(attribution: str, **extra) -> dict:
    """The metadata every output file of a job carries: tool and version, data attribution."""
    return {"tool": f"smaby_geo {__version__}", "attribution": attribution, **extra}


def plain_frame(gdf):
    """A copy of ``gdf`` ready for a file: no ``attrs``, the index as strings."""
    out = gdf.copy()
    out.attrs = {}
    out.index = out.index.astype(str)
    return out


def stage_done(stages: dict[str, float], name: str, t0: float) -> float:
    """Record stage ``name`` as the seconds since ``t0`` in ``stages``; return the time now."""
    t = time.perf_counter()
    stages[name] = round(t - t0, 2)
    return t
