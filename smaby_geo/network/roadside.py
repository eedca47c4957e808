"""Roadside settlement: residents near each road link, per km (the speed model's village term).

Norwegian roads outside towns are signed down from the general 80 km/h to 60 (or 50) where
they run through roadside settlement: Statens vegvesen's speed-limit criteria
("Fartsgrensekriterier", NA-rundskriv 2018/10) set the limit from the roadside development
(dwellings, accesses, junctions, people walking along the road). Kartverket's N1000/N2000
carry no speed limits, and their built-up polygons (``Tettbebyggelse``) cover towns, not the
villages and ribbon settlement along valley roads; the SSB 250 m population grid sees both.

Rule (``roadside_residents_per_km``): the residents of every populated SSB 250 m cell whose
centre lies within ``ROADSIDE_DISTANCE_M`` (250 m) of a link's line, divided by the length
of the band that distance draws around the line, ``length + pi * distance / 2`` (the band's
area, ``2 d L + pi d^2``, over its width ``2 d``), in km. The band length keeps a short link
in a village at the density of its neighbours instead of dividing a whole village by a few
metres. A cell near several links counts for each of them: the figure is a density along the
road, not a share of the population (which stays with the origins, ``places``).

The grid is read here through ``smaby_geo.datasets`` and pandas (the network layer reads no
module above it), and the per-link figures are kept in the data home (``derived_cache``),
named by the grid file's bytes, the links' coordinates and the rule, so that a later run
reads them instead of measuring them again.

The densities are measured only when a profile uses them. A network read with the registry's
grid (``population="default"``) and a profile whose roadside term is off leaves the column
NaN; ``linktimes.compute_link_times`` (and so ``RoadNetwork.with_profile``) fills it with
``measure_roadside_densities`` the first time a profile with the term on times the links.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import shapely

from smaby_geo import ssb_grid
from smaby_geo.ssb_grid import read_grid_cells

# Cells whose centre lies within this distance of a link's line count as its roadside, m:
# the grid's cell size, so that a cell the line passes through or touches (centre at most
# 177 m away, half the cell's diagonal) always counts, and N1000's generalised lines (moved up
# to a few hundred metres at 1:1,000,000) still see the settlement beside the real road.
ROADSIDE_DISTANCE_M = 250.0
# Format of the cached per-link densities; change it when the rule or the reading changes.
ROADSIDE_CACHE_FORMAT = "roadside-v1"
# Sentinel: the registry's SSB 250 m population grid (fetched when missing).
DEFAULT_POPULATION = "default"
# The link table's column of the densities (NaN: not measured yet).
ROADSIDE_COLUMN = "roadside_residents_per_km"
_GRID_DATASET = "popgrid_250m"


def with_grid_attribution(attribution: str, report: dict | None) -> str:
    """``attribution`` plus "Kilde: SSB" when ``report`` says densities came from a grid."""
    from smaby_geo.datasets import SSB

    if not report or "source" not in report:
        return attribution
    parts = [a.strip() for a in attribution.split("|") if a.strip()]
    return " | ".join(dict.fromkeys([*parts, SSB]))


def roadside_residents_per_km(
    geometry: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    residents: np.ndarray,
    distance_m: float = ROADSIDE_DISTANCE_M,
) -> np.ndarray:
    """Residents of the grid cells near each line, per km of the band around it.

    Parameters
    ----------
    geometry : ndarray of shapely LineStrings (EPSG:25833)
    x, y : ndarray of float
        Cell centres (EPSG:25833 metres).
    residents : ndarray of float
        Persons per cell.
    distance_m : float, default ``ROADSIDE_DISTANCE_M`` (250 m)
        A cell counts for a line when its centre lies within this distance of it.

    Returns
    -------
    ndarray of float
        Residents per km: the residents of the cells near the line over
        ``(length + pi * distance_m / 2) / 1000`` (0 for a line with no cell near it or an
        empty line).
    """
    residents = np.asarray(residents, dtype=float)
    keep = residents > 0
    pts = shapely.points(np.asarray(x, float)[keep], np.asarray(y, float)[keep])
    return _density(geometry, shapely.STRtree(pts), residents[keep], distance_m)


def _density(
    geometry: np.ndarray, tree: shapely.STRtree, pop: np.ndarray, distance_m: float
) -> np.ndarray:
    """``roadside_residents_per_km`` over a tree of the populated cell centres."""
    if not (isinstance(distance_m, int | float) and np.isfinite(distance_m) and distance_m > 0):
        raise ValueError(f"distance_m must be a finite number > 0, got {distance_m!r}")
    geometry = np.asarray(geometry, dtype=object)
    out = np.zeros(len(geometry), dtype=float)
    if len(geometry) == 0 or len(pop) == 0:
        return out
    valid = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    idx = np.flatnonzero(valid)
    li, pi = tree.query(geometry[idx], predicate="dwithin", distance=distance_m)
    near = np.bincount(idx[li], weights=pop[pi], minlength=len(geometry))
    band_km = (shapely.length(geometry[valid]) + np.pi * distance_m / 2) / 1000.0
    out[valid] = near[valid] / band_km
    return out


@functools.lru_cache(maxsize=2)
def _grid_tree(path: str, size: int, mtime_ns: int) -> tuple[shapely.STRtree, np.ndarray]:
    """Tree of a grid file's populated cell centres and their residents (kept per process)."""
    x, y, pop = read_grid_cells(path)
    keep = pop > 0
    return shapely.STRtree(shapely.points(x[keep], y[keep])), pop[keep]


def roadside_for_links(
    geometry: np.ndarray,
    population: str | os.PathLike | None = DEFAULT_POPULATION,
    *,
    distance_m: float = ROADSIDE_DISTANCE_M,
) -> tuple[np.ndarray | None, dict]:
    """Roadside residents per km of each link from the SSB grid, cached in the data home.

    Parameters
    ----------
    geometry : ndarray of shapely LineStrings (EPSG:25833)
    population : "default", path-like or None
        ``"default"``: the registry's ``popgrid_250m``, fetched when missing (else None, with
        the cause in the report); a path: an SSB 250 m grid CSV of your own; None: no
        roadside term.
    distance_m : float, default 250

    Returns
    -------
    (residents per km or None, report) : the report says the source, or why the term is off.
    """
    from smaby_geo import datasets
    from smaby_geo.derived_cache import cached, entry_path, fingerprint

    if population is None:
        return None, {"off": "population=None"}
    if isinstance(population, str) and population == DEFAULT_POPULATION:
        try:
            file = datasets.locate_dataset(_GRID_DATASET)  # fetched when missing, as any input
        except datasets.DatasetNotFoundError as exc:
            cause = getattr(exc, "reason", "") or "not on this machine"
            return None, {"off": f"the {_GRID_DATASET} dataset was not found ({cause})"}
        source = f"{_GRID_DATASET} ({file.name})"
    elif isinstance(population, str | os.PathLike):
        file = Path(population)
        if not file.is_file():
            raise ValueError(f"population grid {os.fspath(population)} does not exist")
        source = f"population grid {file.name}"
    else:
        raise ValueError(
            f"population must be 'default', a path to an SSB 250 m grid CSV or None; got "
            f"{type(population).__name__}"
        )
    geometry = np.asarray(geometry, dtype=object)
    coords, part = shapely.get_coordinates(geometry, return_index=True)
    key = fingerprint(
        ROADSIDE_CACHE_FORMAT,
        float(distance_m),
        Path(file),
        np.ascontiguousarray(coords).tobytes(),
        np.ascontiguousarray(part).tobytes(),
        len(geometry),
        Path(__file__),  # the rule itself: a change to it is a new entry
        Path(ssb_grid.__file__),  # and the reading of the grid
        shapely.__version__,
    )

    def compute() -> np.ndarray:
        st = os.stat(file)
        tree, pop = _grid_tree(os.fspath(file), st.st_size, st.st_mtime_ns)
        return _density(geometry, tree, pop, float(distance_m))

    def load(p: Path) -> np.ndarray:
        a = np.load(p, allow_pickle=False)
        if a.shape != (len(geometry),):
            raise ValueError(f"{p.name}: {a.shape} values for {len(geometry)} links")
        return a

    def save(a: np.ndarray, p: Path) -> None:
        with open(p, "wb") as f:
            np.save(f, a, allow_pickle=False)

    rho = cached(entry_path("network", "roadside", key, "npy"), compute, load, save)
    if source.startswith("population grid") and len(geometry) and not (rho > 0).any():
        _refuse_grid_far_from_links(file, len(geometry), float(distance_m))
    return rho, {"source": source, "distance_m": float(distance_m)}


def _refuse_grid_far_from_links(file: Path, n_links: int, distance_m: float) -> None:
    """Raise for a grid of one's own that puts no resident near any link (said, not zeros)."""
    st = os.stat(file)
    _, pop = _grid_tree(os.fspath(file), st.st_size, st.st_mtime_ns)
    if len(pop) == 0:
        why = (
            "has no residents (no rows, or every cell 0): an empty or wrong file; give the "
            "SSB 250 m grid CSV (ru250m;pop_tot)"
        )
    else:
        why = (
            f"puts none of its {int(pop.sum()):,} residents within {distance_m:g} m of any of "
            f"the network's {n_links:,} links: the grid and the network do not overlap (a "
            "grid of another area, or cell ids / network coordinates not in EPSG:25833)"
        )
    raise ValueError(
        f"population grid {os.fspath(file)} {why}; or read the network with population=None "
        "to switch the roadside densities off"
    )


def measure_roadside_densities(
    geometry: np.ndarray,
    ferry: np.ndarray,
    population: str | os.PathLike | None = DEFAULT_POPULATION,
) -> tuple[np.ndarray, dict]:
    """Roadside residents per km of each link of a network, ferries 0 (``roadside_for_links``).

    Parameters
    ----------
    geometry : ndarray of shapely LineStrings (EPSG:25833)
    ferry : ndarray of bool
        Car-ferry links (no roadside: 0).
    population : "default", path-like or None
        As ``roadside_for_links``; None gives 0 everywhere (the term then changes nothing).

    Returns
    -------
    (residents per km, report) : ndarray of float (one per link), and the report of
    ``roadside_for_links`` (its source, or ``{"off": "population=None"}``).

    Raises
    ------
    smaby_geo.datasets.DatasetNotFoundError
        ``population="default"`` while ``popgrid_250m`` is not on this machine and cannot be
        fetched (naming the cause and the fixes).
    ValueError
        A grid file ``roadside_for_links`` refuses.
    """
    from smaby_geo import datasets

    rho, report = roadside_for_links(geometry, population)
    if rho is None:
        if population is not None:
            raise datasets.DatasetNotFoundError(
                "the roadside term (CarProfile.roadside_density_scale_residents_per_km, on by "
                "default) needs each link's residents per km from the SSB 250 m grid, and "
                f"{report['off']}. To fix: run `smaby-geo data fetch {_GRID_DATASET}` with "
                f"internet access, or set {datasets.DATA_DIR_ENV} to a folder holding it, or "
                "read the network with population=<an SSB 250 m grid CSV> (read_kartverket), "
                "or switch the term off: "
                "CarProfile(roadside_density_scale_residents_per_km=None)"
            )
        return np.zeros(len(geometry), dtype=float), report
    rho = rho.copy()
    rho[np.asarray(ferry, dtype=bool)] = 0.0
    return rho, report
