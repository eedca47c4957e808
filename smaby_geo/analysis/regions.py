"""Labour-market regions (bo- og arbeidsmarkedsregioner) from commuting flows (METHODS §4).

This module holds the travel-time side and the orchestration; the flows and the gravity model
live in ``smaby_geo.analysis.flows`` and the Coombes & Bond algorithm in
``smaby_geo.analysis.lma`` (their names are re-exported here so old imports keep working).
Three delineations:

- ``delineate_ba``: TØI 1713/2019 rules R1-R5 from a list of centres, a second pass for the
  left-over kommuner, and repair of non-contiguous regions;
- ``delineate_lma``: the Eurostat/Istat LMA algorithm (Coombes & Bond 2008), in ``lma``;
- ``delineate_by_time``: each kommune to the nearest centre within T minutes.

``delineate_regions`` routes between population-weighted kommune centres, reads or models the
flows and runs one of them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smaby_geo._compat import LegacyMapping
from smaby_geo.analysis.flows import (
    DEFAULT_BETA_PER_MIN,
    _check_inputs,
    _membership,
    calibrate_beta,
    flow_matrix,
    gravity_flows,
    read_commuting_table,
)
from smaby_geo.analysis.lma import LMAParameters, delineate_lma, lma_validity
from smaby_geo.network.core import RoadNetwork

__all__ = [
    "DEFAULT_BETA_PER_MIN",
    "BARules",
    "LMAParameters",
    "Regions",
    "adjacency",
    "calibrate_beta",
    "default_centres",
    "delineate_ba",
    "delineate_by_time",
    "delineate_lma",
    "delineate_regions",
    "flow_matrix",
    "gravity_flows",
    "kommune_centres",
    "kommune_times",
    "lma_validity",
    "read_commuting_table",
    "region_polygons",
]


@dataclass(frozen=True)
class BARules:
    """TØI 1713/2019 rules for joining kommune k to centre c (the 2020 BA regions).

    Attributes (shares are fractions of k's employed residents; times minutes)
    ----------
    r1_out_share, r1_minutes : out-commuting to c > 8 % and car time <= 75 min
    r2_minutes, r2_share : time < 75 and out+in commuting > 8 %
    r3_minutes, r3_share : time < 45 and out+in > 6 %
    r4_minutes : time < 30
    r5_minutes, r5_share : time < 90 by another mode (boat) and commuting > 8 %
    """

    r1_out_share: float = 0.08
    r1_minutes: float = 75.0
    r2_minutes: float = 75.0
    r2_share: float = 0.08
    r3_minutes: float = 45.0
    r3_share: float = 0.06
    r4_minutes: float = 30.0
    r5_minutes: float = 90.0
    r5_share: float = 0.08


# --- inputs ---------------------------------------------------------------------------------


def kommune_centres(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    """Centre point and population of every kommune (``places.centres.kommune_centres``)."""
    from smaby_geo.places.centres import kommune_centres as _centres

    return _centres(cells)


def kommune_times(
    network: RoadNetwork, cells: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Car minutes between population-weighted kommune centres, with internal times.

    See ``places.centres.kommune_times`` (centre rule, access legs).
    """
    from smaby_geo.places.centres import kommune_times as _times

    return _times(network, cells)


# --- helpers --------------------------------------------------------------------------------


def adjacency(
    kommuner: gpd.GeoDataFrame, codes: list[str], tolerance_m: float = 50.0
) -> np.ndarray:
    """Boolean (K, K) matrix of kommuner whose polygons touch (within ``tolerance_m``)."""
    k = kommuner.set_index("kommunenummer").loc[codes]
    geoms = k.geometry.buffer(tolerance_m).to_numpy()
    tree = gpd.GeoSeries(geoms).sindex
    a, b = tree.query(geoms, predicate="intersects")
    adj = np.zeros((len(codes), len(codes)), dtype=bool)
    adj[a, b] = True
    np.fill_diagonal(adj, False)
    return adj


def _components(members: np.ndarray, adj: np.ndarray) -> list[np.ndarray]:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    sub = adj[np.ix_(members, members)]
    n, lab = connected_components(csr_matrix(sub), directed=False)
    return [members[lab == i] for i in range(n)]


# --- BA rules -------------------------------------------------------------------------------


def default_centres(
    codes: list[str],
    T: ArrayLike,
    population: ArrayLike,
    *,
    min_population: float = 5000.0,
    min_self_containment: float = 0.6,
) -> list[str]:
    """Data-driven default centre list.

    A kommune is a centre when it has at least ``min_population`` residents (SSB's old
    centrality level 1 uses tettsteder of 5,000) and keeps at least ``min_self_containment``
    of its employed residents at work at home (so it is not itself a commuter suburb).
    """
    T = np.asarray(T, float)
    R = T.sum(1)
    sc = np.diag(T) / np.maximum(R, 1e-12)
    p = np.asarray(population, float)
    return [
        c
        for c, pp, s in zip(codes, p, sc, strict=True)
        if pp >= min_population and s >= min_self_containment
    ]


def delineate_ba(
    codes: list[str],
    T: np.ndarray,
    times: np.ndarray,
    centres: list[str],
    *,
    rules: BARules | None = None,
    other_mode_times: np.ndarray | None = None,
    adjacency_matrix: np.ndarray | None = None,
    population: ArrayLike | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """BA regions by the TØI 2019 rules.

    Parameters
    ----------
    codes : list of kommune codes (K)
    T : (K, K) flows, persons (home x work)
    times : (K, K) car minutes
    centres : list of centre kommune codes
    rules : BARules, optional
    other_mode_times : (K, K) minutes by boat etc. for rule R5, optional
    adjacency_matrix : (K, K) bool, optional; when given, non-contiguous regions are repaired
    population : (K,), optional; checked for zeros

    Returns
    -------
    membership : DataFrame ``kommunenummer``, ``region``, ``centre``, ``step`` (R1..R5, "centre",
        "pass2:R..", "alone", "contiguity")
    regions : DataFrame per region: ``kommuner``, ``employed_residents``, ``jobs``,
        ``self_containment``.
    """
    rules = rules or BARules()
    T = _check_inputs(T, codes, population)
    c = np.asarray(times, float)
    idx = {k: i for i, k in enumerate(codes)}
    unknown = [k for k in centres if k not in idx]
    if unknown:
        raise ValueError(f"centre list has unknown kommune codes: {unknown}")
    K = len(codes)
    R = np.maximum(T.sum(1), 1e-12)
    out_share = T / R[:, None]
    both_share = (T + T.T) / R[:, None]
    centre_of = np.full(K, -1)
    step = np.array([""] * K, dtype=object)
    cen = [idx[k] for k in centres]
    for ci in cen:
        centre_of[ci] = ci
        step[ci] = "centre"

    def assign(candidates: list[int], unassigned: np.ndarray, prefix: str):
        for k in np.flatnonzero(unassigned):
            others = [x for x in candidates if x != k]
            if not others:
                continue
            cs = np.array(others)
            t, o, b = c[k, cs], out_share[k, cs], both_share[k, cs]
            tests = [
                ("R1", (o > rules.r1_out_share) & (t <= rules.r1_minutes)),
                ("R2", (t < rules.r2_minutes) & (b > rules.r2_share)),
                ("R3", (t < rules.r3_minutes) & (b > rules.r3_share)),
                ("R4", t < rules.r4_minutes),
            ]
            if other_mode_times is not None:
                tests.append(
                    (
                        "R5",
                        (np.asarray(other_mode_times)[k, cs] < rules.r5_minutes)
                        & (b > rules.r5_share),
                    )
                )
            for name, ok in tests:
                if ok.any():
                    pick = cs[ok]
                    if name == "R4":  # by time alone: the nearest centre, then flows
                        best = pick[np.lexsort((-out_share[k, pick], c[k, pick]))[0]]
                    else:
                        best = pick[np.argmax(out_share[k, pick])]
                    centre_of[k] = centre_of[best] if centre_of[best] >= 0 else best
                    step[k] = prefix + name
                    break

    assign(cen, centre_of < 0, "")
    # second pass: left-over kommuner anchor each other, the larger (by employed) first
    left = np.flatnonzero(centre_of < 0)
    for k in left[np.argsort(-R[left])]:
        if centre_of[k] >= 0:
            continue
        centre_of[k] = k
        step[k] = "alone"
        rest = np.zeros(K, dtype=bool)
        rest[left] = True
        rest &= centre_of < 0
        assign([k], rest, "pass2:")
    if adjacency_matrix is not None:
        _repair_contiguity(centre_of, step, np.asarray(adjacency_matrix, bool), T)
    region = pd.factorize(centre_of)[0]
    return _membership(codes, region, centre_of, step, T)


def _repair_contiguity(centre_of, step, adj, T):
    """Move members cut off from their centre to the adjacent region they commute most to."""
    isolated = ~adj.any(axis=1)  # islands without land neighbours: exempt
    for _ in range(len(centre_of)):
        changed = False
        for ce in np.unique(centre_of):
            members = np.flatnonzero(centre_of == ce)
            if len(members) < 2:
                continue
            for comp in _components(members, adj):
                if ce in comp or isolated[comp].all():
                    continue
                for k in comp:
                    nb = np.flatnonzero(adj[k] & (centre_of != ce))
                    if len(nb) == 0:
                        continue
                    targets = np.unique(centre_of[nb])
                    flow = [
                        T[k, centre_of == tc].sum() + T[centre_of == tc, k].sum() for tc in targets
                    ]
                    centre_of[k] = targets[int(np.argmax(flow))]
                    step[k] = "contiguity"
                    changed = True
        if not changed:
            return


# --- travel time only -----------------------------------------------------------------------


def delineate_by_time(
    codes: list[str],
    T: np.ndarray | None,
    times: np.ndarray,
    centres: list[str] | None = None,
    *args,
    max_minutes: float = 75.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each kommune joins the nearest centre within ``max_minutes`` (else stays alone).

    The arguments come in the order of ``delineate_ba``: codes, flows, times, centres.

    Parameters
    ----------
    codes : list of kommune codes (K)
    T : (K, K) flows, persons (home x work), or None
        Only used for the region table's self-containment columns (zeros when None).
    times : (K, K) car minutes between kommune centres
    centres : list of kommune codes
    max_minutes : float, default 75
        A kommune joins the nearest centre within this many minutes (inclusive).

    Returns
    -------
    membership, regions : as ``delineate_ba`` (``step`` "time" / "centre" / "alone").
    """
    if args or (isinstance(times, list | tuple) and not isinstance(centres, list | tuple)):
        warnings.warn(  # the order before 0.2: (codes, times, centres, max_minutes=75, T=None)
            "delineate_by_time(codes, times, centres, max_minutes, T) is deprecated; use the "
            "order of delineate_ba: (codes, T, times, centres, max_minutes=...)",
            DeprecationWarning,
            stacklevel=2,
        )
        old: list[Any] = [T, times, centres, *args, None]
        times, centres, T = old[0], old[1], old[3]
        max_minutes = max_minutes if old[2] is None else old[2]
    if centres is None:
        raise TypeError("delineate_by_time() needs the centres (a list of kommune codes)")
    idx = {k: i for i, k in enumerate(codes)}
    unknown = [k for k in centres if k not in idx]
    if unknown:
        raise ValueError(f"centre list has unknown kommune codes: {unknown}")
    c = np.asarray(times, float)
    cen = np.array([idx[k] for k in centres], dtype=np.intp)
    K = len(codes)
    # no centre (e.g. one island kommune): every kommune is a region of its own
    t = c[:, cen] if len(cen) else np.full((K, 1), np.inf)
    near = np.argmin(t, axis=1)
    ok = t[np.arange(K), near] <= max_minutes
    centre_of = np.where(ok, cen[near] if len(cen) else 0, np.arange(K))
    step = np.where(ok, "time", "alone").astype(object)
    centre_of[cen] = cen
    step[cen] = "centre"
    T = np.zeros((K, K)) if T is None else np.asarray(T, float)
    return _membership(codes, pd.factorize(centre_of)[0], centre_of, step, T)


def region_polygons(
    membership: pd.DataFrame, kommuner: gpd.GeoDataFrame, regions: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Dissolve kommune polygons into region polygons (with the region table's columns)."""
    g = kommuner.merge(membership, on="kommunenummer", how="inner")
    out = g.dissolve(by="region", aggfunc={"centre": "first", "kommunenummer": "count"})
    out = out.rename(columns={"kommunenummer": "n_kommuner"}).reset_index()
    centre_names = kommuner.set_index("kommunenummer")["kommunenavn"]
    out["centre_name"] = out["centre"].map(centre_names)
    if regions is not None:
        out = out.merge(regions, on="region", how="left")
    return out


@dataclass(frozen=True, eq=False)
class Regions(LegacyMapping):
    """Labour-market regions delineated by ``delineate_regions``.

    Attributes
    ----------
    membership : DataFrame
        One row per kommune: ``kommunenummer``, ``region``, ``centre``, ``step`` (how it
        joined).
    regions : DataFrame
        One row per region: ``region``, ``centre``, ``n_kommuner``, residents, jobs,
        self-containment and (BA) ``population``.
    polygons : GeoDataFrame
        Region polygons (EPSG:25833) with the region table's columns and ``centre_name``.
    flows : DataFrame
        K x K commuting flows, persons per day (home in rows, work in columns), observed or
        modelled.
    times : DataFrame
        K x K car minutes between population-weighted kommune centres.
    centres : list of str or None
        Centre kommuner used (BA and time methods; None for LMA).
    notes : list of str
        What was modelled or stood in for missing data.
    """

    membership: pd.DataFrame
    regions: pd.DataFrame
    polygons: gpd.GeoDataFrame
    flows: pd.DataFrame
    times: pd.DataFrame
    centres: list[str] | None
    notes: list[str]


def delineate_regions(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    kommuner: gpd.GeoDataFrame,
    *,
    method: str = "ba",
    flows: pd.DataFrame | None = None,
    jobs: pd.Series | None = None,
    centres: list[str] | None = None,
    beta: float = DEFAULT_BETA_PER_MIN,
    max_minutes: float = 75.0,
    contiguous: bool = True,
    lma_params: LMAParameters | None = None,
) -> Regions:
    """Delineate labour-market regions for all kommuner in ``cells``.

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        Population grid with ``kommunenummer`` (``read_population_grid``).
    kommuner : GeoDataFrame
        Kommune polygons (``read_kommuner``).
    method : {"ba", "lma", "time"}
    flows : DataFrame, optional
        Observed commuting (``read_commuting_table``); else a gravity model is used.
    jobs : Series, optional
        Jobs per kommune; else residents stand in for jobs (said in ``notes``).
    centres : list of str, optional
        BA / time centres; default ``default_centres`` on the flows.
    beta : float
        Gravity decay per minute when flows are modelled.
    max_minutes : float
        Time limit of the "time" method (and of LMA joins).
    contiguous : bool
        Repair (BA) or require (LMA) contiguity over touching kommune polygons.
    lma_params : LMAParameters, optional

    Returns
    -------
    Regions
        ``membership``, ``regions``, ``polygons``, ``flows`` (K x K DataFrame, persons),
        ``times`` (K x K minutes), ``centres`` and ``notes`` (what was modelled or proxied).
    """
    if method not in ("ba", "lma", "time"):
        raise ValueError(f"method must be 'ba', 'lma' or 'time', got {method!r}")
    times, cen = kommune_times(network, cells)
    codes = list(times.index)
    pop = cen["population"].to_numpy(float)
    notes = []
    if flows is not None:
        T = flow_matrix(flows, codes)
        notes.append("observed commuting flows")
    else:
        if jobs is not None:
            missing = sorted(set(codes) - set(jobs.index))
            if missing:
                raise ValueError(f"jobs are missing for kommuner {missing[:10]}")
            D = jobs.reindex(codes).to_numpy(float)
        else:
            D = pop
            notes.append("jobs unknown: residents used as a proxy for jobs")
        T = gravity_flows(pop, D, times.to_numpy(), beta)
        notes.append(
            f"flows modelled by a doubly-constrained gravity model, beta={beta:g}/min;"
            " residents stand in for employed residents"
        )
    adj = adjacency(kommuner, codes) if contiguous else None
    if centres is None and method != "lma":
        centres = default_centres(codes, T, pop)
        notes.append(
            f"default centres: {len(centres)} kommuner with >= 5,000 residents that "
            "keep >= 60 % of their employed at home"
        )
    if method == "ba":
        mem, reg = delineate_ba(
            codes, T, times.to_numpy(), centres or [], adjacency_matrix=adj, population=pop
        )
    elif method == "lma":
        mem, reg = delineate_lma(
            codes,
            T,
            params=lma_params,
            adjacency_matrix=adj,
            times=times.to_numpy(),
            max_minutes=max_minutes,
            population=pop,
        )
    else:
        mem, reg = delineate_by_time(
            codes, T, times.to_numpy(), centres or [], max_minutes=max_minutes
        )
    reg["population"] = [pop[mem["region"].to_numpy() == r].sum() for r in reg["region"]]
    polys = region_polygons(mem, kommuner, reg)
    polys.attrs["notes"] = notes
    return Regions(
        membership=mem,
        regions=reg,
        polygons=polys,
        flows=pd.DataFrame(T, index=codes, columns=codes),
        times=times,
        centres=centres,
        notes=notes,
    )
