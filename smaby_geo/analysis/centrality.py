"""A centrality index in the manner of SSB's *sentralitetsindeks*.

SSB's index (Høydahl, "Ny sentralitetsindeks for kommunene", SSB Notater 2017/40; updated for
the 2020 kommuner in SSB Notater 2020/4; summarised in the government's "Regionale
utviklingstrekk", appendix 1) scores every inhabited grunnkrets by the **jobs** and the
**service functions** reachable by car within **90 minutes**, each weighted by travel time
(near counts more than far); access to jobs weighs **2/3** and to services **1/3**; the
kommune value is the population-weighted mean of its grunnkretser, scaled **0-1000** (0 =
nothing within 90 minutes; the most central kommune gets 1000) and grouped into **six
classes** (1 = most central).

This module keeps that structure, with what the project has:

=======================  ===========================================  ========================
part                     SSB                                          here
=======================  ===========================================  ========================
origins                  inhabited grunnkretser                        populated 250 m cells
jobs part (2/3)          jobs reachable (register-based employment)   **residents** reachable
                                                                      (stand-in: no jobs data)
services part (1/3)      ~ a few dozen service functions (shops,      the 4 service types
                         public services, ...)                        (hospital, court, police,
                                                                      study centre), nearest
                                                                      site of each
travel time              car, signposted speeds, NVDB                 car on N1000, METHODS §1
                                                                      speeds and ferry waits
time weights             SSB's decay, cut at 90 min                   exp decay, half-life
                                                                      ``half_life_min`` (30),
                                                                      cut at ``limit_min`` (90)
scaling                  0-1000, most central kommune = 1000          the same; jobs part on a
                                                                      log scale (see below)
classes                  six, SSB's published cut points              six equal-width classes
                                                                      between the lowest
                                                                      kommune and 1000
=======================  ===========================================  ========================

**Jobs part.** ``J_i = sum_j P_j w(t_ij)`` over cells within the limit (own cell included;
``t_ij`` with the main job's access model, both ends of each cell's link: ``reach_population``),
``w(t) = 2^(-t / half_life_min)``. Reachable residents span three orders of magnitude
(a few hundred in the far north, two million around Oslo), so the part is taken on a log
scale, ``ln(1 + J_i) / ln(1 + J_ref)`` with ``J_ref`` the largest ``J`` of any cell: a
project choice, not SSB's documented formula. **Services part.** ``S_i = mean over the four
types of w(t to the nearest site)`` (0 beyond the limit), i.e. the service *functions*
reachable, weighted by time, as SSB counts functions rather than outlets.
**Cell score** ``c_i = 2/3 * jobs part + 1/3 * S_i`` in [0, 1]; **kommune score** = the
population-weighted mean over its road-connected cells; **index** = 1000 x score / the
highest kommune score (cells are on the same scale, so a few cells in the top kommune can
exceed 1000).

**What to expect against SSB's published index.** The ranking of kommuner should largely
agree (Oslo and its neighbours on top, the large-city kommuner next, remote kommuner in the
north and on islands last), because residents and jobs cluster together and the 90-minute,
2/3 : 1/3 and scaling structure is the same. It cannot agree where jobs and residents part
(commuter suburbs score higher here than jobs would give them; job hubs with few residents,
such as airports or industrial sites, lower), where SSB's richer list of service functions
differs from our four incomplete lists (courts, police and study centres are sparse, and
hospitals miss sites), where N1000 times differ from NVDB's, and in the class cut points,
which are ours (equal-width) and were not fitted to SSB's. No parameter here was tuned to
SSB's published values.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo._compat import LegacyMapping
from smaby_geo.analysis.reach import DEFAULT_LIMIT_MIN, DEFAULT_TIME_BIN_S, reach_population
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.services import SERVICE_TYPES
from smaby_geo.places.snapping import AccessModel

# SSB's weights of the two parts (Høydahl 2017; "Regionale utviklingstrekk", appendix 1).
JOB_SHARE = 2.0 / 3.0
SERVICE_SHARE = 1.0 / 3.0
# Half-life of the travel-time weight, minutes. SSB documents a decay (near counts more) but
# this project chose its shape: half weight at 30 minutes, the one-way commute that TØI's BA
# rules treat as certainly within a labour market (R4: < 30 min; METHODS §4).
DEFAULT_HALF_LIFE_MIN = 30.0
N_CLASSES = 6
INDEX_MAX = 1000.0


def time_weight(
    minutes, half_life_min: float = DEFAULT_HALF_LIFE_MIN, limit_min: float = DEFAULT_LIMIT_MIN
) -> np.ndarray:
    """Travel-time weight ``2^(-t / half_life_min)`` for ``t <= limit_min``, else 0.

    Parameters
    ----------
    minutes : array of float
        Travel times in minutes (``inf`` / NaN weigh 0).
    half_life_min : float, default 30
        Minutes at which the weight halves (see ``DEFAULT_HALF_LIFE_MIN``).
    limit_min : float, default 90
        Nothing beyond this counts (SSB's 90 minutes).
    """
    if not (np.isfinite(half_life_min) and half_life_min > 0):
        raise ValueError(f"half_life_min must be a positive number, got {half_life_min!r}")
    t = np.asarray(minutes, dtype=float)
    ok = np.isfinite(t) & (t <= limit_min)
    return np.where(ok, np.exp2(-np.where(ok, t, 0.0) / half_life_min), 0.0)


def centrality_scores(
    weighted_population,
    service_minutes: pd.DataFrame,
    *,
    reference_population: float | None = None,
    half_life_min: float = DEFAULT_HALF_LIFE_MIN,
    limit_min: float = DEFAULT_LIMIT_MIN,
    job_share: float = JOB_SHARE,
) -> pd.DataFrame:
    """Cell scores from the weighted reachable residents and the minutes to each service.

    Parameters
    ----------
    weighted_population : array of float
        ``J_i`` per cell (``reach_population(..., weight=time_weight)``); NaN = not connected.
    service_minutes : DataFrame
        Minutes from each cell to the nearest site of each service type (one column per
        type; ``inf`` = none).
    reference_population : float, optional
        ``J_ref`` of the log scale; default the largest ``J`` among the cells.
    half_life_min, limit_min : float
        See ``time_weight``.
    job_share : float, default 2/3
        Weight of the jobs (residents) part; the services part weighs ``1 - job_share``.

    Returns
    -------
    DataFrame
        ``jobs_part``, ``services_part`` (both 0-1) and ``score`` (0-1), NaN where ``J`` is NaN.
    """
    if not (0.0 <= job_share <= 1.0):
        raise ValueError(f"job_share must lie in [0, 1], got {job_share!r}")
    j = np.asarray(weighted_population, dtype=float)
    if np.any(j[np.isfinite(j)] < 0):
        raise ValueError("weighted_population must be >= 0")
    ref = np.nanmax(j) if reference_population is None else float(reference_population)
    if not (np.isfinite(ref) and ref > 0):
        raise ValueError(f"reference_population must be > 0, got {ref!r}")
    jobs = np.log1p(j) / np.log1p(ref)
    if service_minutes.shape[1]:
        w = time_weight(service_minutes.to_numpy(dtype=float), half_life_min, limit_min)
        services = w.mean(axis=1)
    else:
        services = np.zeros(len(j))
    services = np.where(np.isnan(j), np.nan, services)
    score = job_share * jobs + (1.0 - job_share) * services
    return pd.DataFrame(
        {"jobs_part": jobs, "services_part": services, "score": score},
        index=service_minutes.index,
    )


def class_thresholds(index_values, n_classes: int = N_CLASSES) -> np.ndarray:
    """Lower bounds of classes 1..n: equal-width steps from the lowest value up to 1000.

    Class 1 (most central) is ``index >= bounds[0]``, class n is below ``bounds[n-2]``.
    """
    v = np.asarray(index_values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        raise ValueError("no finite index values to class")
    lo = float(v.min())
    step = (INDEX_MAX - lo) / n_classes
    return np.array([INDEX_MAX - step * k for k in range(1, n_classes)])


def assign_classes(index_values, bounds: np.ndarray) -> np.ndarray:
    """Class 1..len(bounds)+1 of each value (1 = highest); NaN values get class 0."""
    v = np.asarray(index_values, dtype=float)
    cls = 1 + np.sum(v[:, None] < np.asarray(bounds)[None, :], axis=1)
    return np.where(np.isfinite(v), cls, 0).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Centrality(LegacyMapping):
    """The centrality index of every cell and area (``centrality``).

    Attributes
    ----------
    cells : GeoDataFrame
        One row per grid cell: ``weighted_population`` (residents reached, weighted by time),
        ``jobs_part``, ``services_part``, ``score`` and ``centrality_index`` (0-1000), and the
        minutes to each service type.
    areas : DataFrame
        One row per area (``by``): ``population``, ``unconnected_population``, ``score``,
        ``centrality_index`` (0-1000) and ``centrality_class`` (1-6).
    thresholds : ndarray
        Lower bound of each class on the index.
    """

    cells: gpd.GeoDataFrame
    areas: pd.DataFrame
    thresholds: np.ndarray


def centrality(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame | None = None,
    *,
    limit_min: float = DEFAULT_LIMIT_MIN,
    half_life_min: float = DEFAULT_HALF_LIFE_MIN,
    job_share: float = JOB_SHARE,
    n_classes: int = N_CLASSES,
    time_bin_s: float = DEFAULT_TIME_BIN_S,
    access: AccessModel | None = None,
    by: str = "kommunenummer",
) -> Centrality:
    """Centrality index per cell and per kommune, in the manner of SSB (module note).

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        Population grid with kommune fields (``read_population_grid``).
    services : GeoDataFrame
        Service layer (``load_services``); each type in ``SERVICE_TYPES`` present counts.
    targets : GeoDataFrame, optional
        Where the reachable residents live (e.g. a region plus a 100 km buffer); default
        ``cells``.
    limit_min : float, default 90
        SSB's limit.
    half_life_min : float, default 30
        Half-life of the time weight (``DEFAULT_HALF_LIFE_MIN``).
    job_share : float, default 2/3
        SSB's weight of jobs (here residents).
    n_classes : int, default 6
    time_bin_s : float, default 10
        Rounding of the many-to-all (``reach_population``).
    access : AccessModel, optional
    by : str, default "kommunenummer"
        Area column of ``cells``.

    Returns
    -------
    Centrality
        ``cells``: ``population``, area fields, ``road_connected``,
        ``weighted_population``, ``jobs_part``, ``services_part``, ``score``,
        ``centrality_index``; ``areas``: per area ``population``,
        ``unconnected_population``, ``score``, ``centrality_index`` (0-1000),
        ``centrality_class`` (1-6); ``thresholds``: the class lower bounds.
    """
    if by not in cells.columns:
        raise ValueError(f"cells have no column {by!r} to aggregate by")
    reach = reach_population(
        network,
        cells,
        targets,
        limit_min=limit_min,
        weight=lambda m: time_weight(m, half_life_min, limit_min),
        time_bin_s=time_bin_s,
        access=access,
    )
    types = [t for t in SERVICE_TYPES if (services["service_type"] == t).any()]
    tt = travel_times(network, cells, services, service_types=types, access=access)
    sm = tt[[f"{t}_minutes" for t in types]]
    sc = centrality_scores(
        reach["weighted_population"].to_numpy(),
        sm,
        half_life_min=half_life_min,
        limit_min=limit_min,
        job_share=job_share,
    )
    pop = cells["population"].to_numpy(dtype=float)
    keep = [
        c
        for c in (by, "kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn", "x_sw",
                  "y_sw", "cell_size_m")
        if c in cells.columns
    ]
    out = gpd.GeoDataFrame(
        {"population": cells["population"].to_numpy(), **{c: cells[c].to_numpy() for c in
                                                           dict.fromkeys(keep)}},
        index=cells.index,
        geometry=cells.geometry.to_numpy(),
        crs=cells.crs,
    )
    out["road_connected"] = reach["road_connected"].to_numpy()
    out["population_within"] = reach["population_within"].to_numpy()
    out["weighted_population"] = reach["weighted_population"].to_numpy()
    for c in sc.columns:
        out[c] = sc[c].to_numpy()
    for t in types:
        out[f"{t}_minutes"] = tt[f"{t}_minutes"].to_numpy()
    key = out[by].astype(object).where(out[by].notna(), "unknown")
    ok = np.isfinite(out["score"].to_numpy())
    s = out["score"].to_numpy()
    g = pd.DataFrame({"key": key, "p": pop, "ps": np.where(ok, pop * np.nan_to_num(s), 0.0),
                      "pc": np.where(ok, pop, 0.0)})
    agg = g.groupby("key").agg(population=("p", "sum"), ps=("ps", "sum"), pc=("pc", "sum"))
    areas = pd.DataFrame(
        {
            "population": agg["population"].round().astype(np.int64),
            "unconnected_population": (agg["population"] - agg["pc"]).round().astype(np.int64),
            "score": np.where(agg["pc"] > 0, agg["ps"] / agg["pc"].where(agg["pc"] > 0), np.nan),
        },
        index=agg.index.rename(by),
    )
    top = float(np.nanmax(areas["score"].to_numpy()))
    areas["centrality_index"] = INDEX_MAX * areas["score"] / top
    bounds = class_thresholds(areas["centrality_index"].to_numpy(), n_classes)
    areas["centrality_class"] = assign_classes(areas["centrality_index"].to_numpy(), bounds)
    out["centrality_index"] = INDEX_MAX * out["score"] / top
    names = [c for c in ("kommunenavn", "fylkesnavn") if c in cells.columns and by != c]
    if names:
        first = out.drop_duplicates(by).set_index(by)[names]
        areas = areas.join(first)
    areas = areas.reset_index()
    attribution = " | ".join(
        dict.fromkeys(
            a.strip()
            for p in (network.attribution, cells.attrs.get("attribution", ""),
                      services.attrs.get("attribution", ""))
            for a in p.split("|")
            if a.strip()
        )
    )
    params = {
        "limit_min": limit_min,
        "half_life_min": half_life_min,
        "job_share": job_share,
        "service_types": types,
        "time_bin_s": time_bin_s,
        "class_lower_bounds": [round(float(b), 1) for b in bounds],
        "jobs_stand_in": "residents (no jobs data)",
    }
    for d in (out, areas):
        d.attrs["attribution"] = attribution
        d.attrs["parameters"] = params
        d.attrs["note"] = services.attrs.get("note", "")
    return Centrality(cells=out, areas=areas, thresholds=bounds)
