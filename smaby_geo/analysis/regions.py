"""Labour-market regions (bo- og arbeidsmarkedsregioner) from commuting flows (METHODS §4).

Inputs are kommune-level: a flow matrix ``T[i, j]`` (employed persons living in i and working
in j), employed residents ``R = T.sum(1)``, jobs ``W = T.sum(0)``, and car times ``c[i, j]``
in minutes. Flows are observed (SSB table 03321, ``read_commuting_table``) or modelled with a
doubly-constrained gravity model (``gravity_flows``). Three delineations:

- ``delineate_ba``: TØI 1713/2019 rules R1-R5 from a list of centres, a second pass for the
  left-over kommuner, and repair of non-contiguous regions;
- ``delineate_lma``: the Eurostat/Istat LMA algorithm (Coombes & Bond 2008);
- ``delineate_by_time``: each kommune to the nearest centre within T minutes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

# --- parameters with their sources ----------------------------------------------------------

# Gravity decay exp(-beta t), per minute. Project default: with beta = 0.1 a 30-minute commute
# weighs 5 % of a local one, close to Norwegian commuting, where few commute beyond 30-45 min
# (the BA rules' 45/75-minute bounds). Calibrate with ``calibrate_beta`` when a mean commute
# time or observed flows are known.
DEFAULT_BETA_PER_MIN = 0.1


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


@dataclass(frozen=True)
class LMAParameters:
    """Coombes & Bond (2008) validity parameters.

    Defaults are the ONS travel-to-work-area values (minSZ 3,500, minSC 0.667, tarSZ 25,000,
    tarSC 0.75); the R package LabourMarketAreas' example uses 1,000 / 0.6667 / 10,000 / 0.75.
    """

    min_size: float = 3500.0
    min_sc: float = 0.667
    target_size: float = 25000.0
    target_sc: float = 0.75

    def __post_init__(self) -> None:
        if not (0 < self.min_size < self.target_size):
            raise ValueError("LMA parameters need 0 < min_size < target_size")
        if not (0 < self.min_sc <= self.target_sc <= 1):
            raise ValueError("LMA parameters need 0 < min_sc <= target_sc <= 1")


# --- inputs ---------------------------------------------------------------------------------

_CODE = re.compile(r"(\d{4})")


def _code(v) -> str | None:
    m = _CODE.search(str(v))
    return m.group(1) if m else None


def read_commuting_table(
    source, *, residence: str | None = None, work: str | None = None, persons: str | None = None
) -> pd.DataFrame:
    """Read a commuting table in SSB 03321 layout (residence kommune, work kommune, persons).

    Parameters
    ----------
    source : path-like or DataFrame
        CSV (``;`` or ``,``) as exported from SSB's statbank, or a DataFrame.
    residence, work, persons : str, optional
        Column names; by default guessed from SSB's headings ("bosted"/"residence",
        "arbeidssted"/"work", the last numeric column). Codes may carry names or a ``K-``
        prefix ("3401 Kongsvinger", "K-3401"); the 4-digit code is used.

    Returns
    -------
    DataFrame with ``home``, ``work`` (4-digit str) and ``persons`` (float).

    Raises
    ------
    ValueError
        Missing columns, codes without 4 digits, negative or NaN counts.
    """
    df = (
        source
        if isinstance(source, pd.DataFrame)
        else pd.read_csv(os.fspath(source), sep=None, engine="python", dtype=str)
    )
    cols = list(df.columns)

    def guess(keys):
        for c in cols:
            if any(k in c.lower() for k in keys):
                return c
        return None

    residence = residence or guess(["bosted", "residence", "home"])
    work = work or guess(["arbeidssted", "workplace", "work"])
    if persons is None:
        numeric = [
            c
            for c in cols
            if c not in (residence, work)
            and pd.to_numeric(df[c], errors="coerce").notna().mean() > 0.9
        ]
        persons = numeric[-1] if numeric else None
    if not residence or not work or not persons:
        raise ValueError(
            f"commuting table: cannot find the residence, work and persons columns in {cols}; pass "
            "residence=, work=, persons="
        )
    out = pd.DataFrame(
        {
            "home": df[residence].map(_code),
            "work": df[work].map(_code),
            "persons": pd.to_numeric(df[persons], errors="coerce"),
        }
    )
    bad = out["home"].isna() | out["work"].isna()
    if bad.any():
        raise ValueError(
            f"commuting table: {int(bad.sum())} rows have no 4-digit kommune code, "
            f"e.g. {df.loc[bad, [residence, work]].head(3).to_numpy().tolist()}"
        )
    if out["persons"].isna().any() or (out["persons"] < 0).any():
        raise ValueError("commuting table: persons must be numbers >= 0 (found NaN or negative)")
    return out


def flow_matrix(flows: pd.DataFrame, codes: list[str]) -> np.ndarray:
    """Turn long flows (``home``, ``work``, ``persons``) into a matrix over ``codes``.

    Raises
    ------
    ValueError
        Listing codes in the flows that are not in ``codes``, or negative flows.
    """
    idx = {c: i for i, c in enumerate(codes)}
    unknown = sorted((set(flows["home"]) | set(flows["work"])) - set(idx))
    if unknown:
        raise ValueError(f"flows name {len(unknown)} unknown kommune codes: {unknown[:20]}")
    if (flows["persons"] < 0).any():
        raise ValueError("flows must be >= 0; found negative persons")
    T = np.zeros((len(codes), len(codes)))
    np.add.at(
        T,
        (flows["home"].map(idx).to_numpy(), flows["work"].map(idx).to_numpy()),
        flows["persons"].to_numpy(float),
    )
    return T


def kommune_centres(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    """Centre point and population of every kommune (``places.centres.kommune_centres``)."""
    from smaby_geo.places.centres import kommune_centres as _centres

    return _centres(cells)


def kommune_times(network, cells: gpd.GeoDataFrame) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Car minutes between kommune centres, internal times on the diagonal.

    See ``places.centres.kommune_times`` (centre rule, access legs).
    """
    from smaby_geo.places.centres import kommune_times as _times

    return _times(network, cells)


# --- gravity model --------------------------------------------------------------------------


def gravity_flows(
    origins: np.ndarray,
    destinations: np.ndarray,
    times: np.ndarray,
    beta: float = DEFAULT_BETA_PER_MIN,
    *,
    tol: float = 1e-3,
    max_iter: int = 5000,
) -> np.ndarray:
    """Doubly-constrained gravity model solved by Furness (IPF) iterations.

    T_ij = A_i O_i B_j D_j exp(-beta c_ij), with A_i = 1 / sum_j B_j D_j f_ij and
    B_j = 1 / sum_i A_i O_i f_ij.

    Parameters
    ----------
    origins : (K,) employed residents O_i
    destinations : (K,) jobs D_j (rescaled to sum to sum orig)
    times : (K, K) minutes c_ij (diagonal = internal time; ``inf`` = no route, no flow)
    beta : float, per minute
    tol : float, default 1e-3
        Stop when every row and column sum is within ``tol`` (0.1 %) of its target. IPF
        converges slowly where kommuner are linked only by long ferry trips; after
        ``max_iter`` a result within 1 % is returned with a warning.
    max_iter : int

    Returns
    -------
    (K, K) flows whose row sums are ``origins`` and column sums ``destinations``.

    Raises
    ------
    ValueError
        Negative or NaN inputs, or margins that cannot be met (e.g. a kommune with residents
        but no reachable jobs).
    """
    orig = np.asarray(origins, float)
    D = np.asarray(destinations, float)
    c = np.asarray(times, float)
    if np.any(~np.isfinite(orig)) or np.any(orig < 0) or np.any(~np.isfinite(D)) or np.any(D < 0):
        raise ValueError("origins and destinations must be finite and >= 0")
    if np.isnan(c).any() or (c < 0).any():
        raise ValueError("times must be >= 0 minutes (inf for no route)")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if D.sum() > 0:
        D = D * (orig.sum() / D.sum())
    f = np.where(np.isfinite(c), np.exp(-beta * np.where(np.isfinite(c), c, 0.0)), 0.0)
    B = np.ones_like(D)
    for _ in range(max_iter):
        a_den = f @ (B * D)
        A = np.where(a_den > 0, 1.0 / np.where(a_den > 0, a_den, 1.0), 0.0)
        b_den = (A * orig) @ f
        B = np.where(b_den > 0, 1.0 / np.where(b_den > 0, b_den, 1.0), 0.0)
        T = (A * orig)[:, None] * f * (B * D)[None, :]
        err = max(
            (np.abs(T.sum(1) - orig) / np.maximum(orig, 1.0)).max(),
            (np.abs(T.sum(0) - D) / np.maximum(D, 1.0)).max(),
        )
        if err <= tol:
            return T
    if err <= 1e-2:
        import warnings

        warnings.warn(
            f"gravity model stopped after {max_iter} iterations with margins within "
            f"{err:.2%} of their targets",
            stacklevel=2,
        )
        return T
    stuck = np.flatnonzero((orig > 0) & (T.sum(1) < orig * 0.5))[:10].tolist()
    raise ValueError(
        f"gravity model did not converge in {max_iter} iterations (margin error {err:.2%}); "
        f"rows that cannot reach jobs: {stuck}"
    )


def calibrate_beta(
    origins,
    destinations,
    times,
    *,
    mean_minutes: float | None = None,
    observed: np.ndarray | None = None,
    bounds: tuple[float, float] = (1e-4, 2.0),
) -> float:
    """Fit beta so the model's mean commute time matches a target (bisection).

    Parameters
    ----------
    origins, destinations, times : as ``gravity_flows``
    mean_minutes : float, optional
        Target mean commute time, minutes.
    observed : (K, K) array, optional
        Observed flows: the target is their mean time (Hyman's method).
    bounds : (lo, hi) per minute

    Returns
    -------
    float
        beta per minute.
    """
    c = np.asarray(times, float)
    cf = np.where(np.isfinite(c), c, 0.0)
    if observed is not None:
        obs = np.asarray(observed, float)
        mean_minutes = float((obs * cf).sum() / obs.sum())
    if mean_minutes is None or not mean_minutes > 0:
        raise ValueError("give mean_minutes > 0 or observed flows")

    def mean_time(b):
        T = gravity_flows(origins, destinations, c, b)
        return float((T * cf).sum() / T.sum())

    lo, hi = bounds
    if not (mean_time(hi) <= mean_minutes <= mean_time(lo)):
        raise ValueError(
            f"mean_minutes={mean_minutes:.1f} is outside what beta in {bounds} can produce"
        )
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        if mean_time(mid) > mean_minutes:
            lo = mid
        else:
            hi = mid
    return float(np.sqrt(lo * hi))


# --- helpers --------------------------------------------------------------------------------


def adjacency(kommuner: gpd.GeoDataFrame, codes: list[str], tolerance_m: float = 50.0):
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


def _check_inputs(T, codes, population):
    T = np.asarray(T, float)
    K = len(codes)
    if T.shape != (K, K):
        raise ValueError(f"flows must be {K} x {K} for {K} kommuner, got {T.shape}")
    if np.isnan(T).any() or (T < 0).any():
        raise ValueError("flows must be >= 0 (found NaN or negative)")
    if population is not None:
        p = np.asarray(population, float)
        zero = [codes[i] for i in np.flatnonzero(p <= 0)]
        if zero:
            raise ValueError(
                f"kommuner with zero population: {zero[:10]}; drop them or give them a population"
            )
    return T


def _membership(codes, region, centre, step, T):
    df = pd.DataFrame(
        {
            "kommunenummer": codes,
            "region": region,
            "centre": [codes[c] for c in centre],
            "step": step,
        }
    )
    R = T.sum(1)
    W = T.sum(0)
    stats = []
    for r, idx in df.groupby("region").indices.items():
        inside = T[np.ix_(idx, idx)].sum()
        stats.append(
            {
                "region": r,
                "kommuner": len(idx),
                "employed_residents": R[idx].sum(),
                "jobs": W[idx].sum(),
                "self_containment": min(
                    inside / max(R[idx].sum(), 1e-12), inside / max(W[idx].sum(), 1e-12)
                ),
            }
        )
    return df, pd.DataFrame(stats)


# --- BA rules -------------------------------------------------------------------------------


def default_centres(
    codes, T, population, *, min_population: float = 5000.0, min_self_containment: float = 0.6
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
    population=None,
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
            cs = [x for x in candidates if x != k]
            if not cs:
                continue
            cs = np.array(cs)
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


# --- LMA ------------------------------------------------------------------------------------


def lma_validity(T_AA, R_A, W_A, params: LMAParameters):
    """Coombes & Bond validity V of areas (V >= 1 is valid), vectorised.

    SC = min(T_AA / R_A, T_AA / W_A); Y = min(SC / tarSC, 1);
    Z = 1 - (1 - minSC / tarSC) * max((tarSZ - R_A) / (tarSZ - minSZ), 0);
    V = Y * Z * tarSC / minSC.
    """
    T_AA, R_A, W_A = (np.asarray(a, float) for a in (T_AA, R_A, W_A))
    sc = np.minimum(T_AA / np.maximum(R_A, 1e-12), T_AA / np.maximum(W_A, 1e-12))
    y = np.minimum(sc / params.target_sc, 1.0)
    z = 1.0 - (1.0 - params.min_sc / params.target_sc) * np.maximum(
        (params.target_size - R_A) / (params.target_size - params.min_size), 0.0
    )
    return y * z * params.target_sc / params.min_sc


def delineate_lma(
    codes: list[str],
    T: np.ndarray,
    *,
    params: LMAParameters | None = None,
    adjacency_matrix: np.ndarray | None = None,
    times: np.ndarray | None = None,
    max_minutes: float | None = None,
    population=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LMA regions (Coombes & Bond 2008; Istat/Eurostat LabourMarketAreas).

    Start with one area per kommune; repeatedly dissolve the least valid area and give each
    of its kommuner to the area it is most cohesive with,
    cohesion(i, B) = T_iB^2 / (R_i W_B) + T_Bi^2 / (R_B W_i), until every area is valid. A
    kommune with no cohesive (or, with the options, no adjacent / no near enough) area keeps
    an area of its own and is marked ``residual``.

    Parameters
    ----------
    codes : list of K kommune codes
    T : (K, K) flows
    params : LMAParameters, optional
    adjacency_matrix : (K, K) bool, optional
        Only join areas adjacent to the kommune.
    times, max_minutes : optional
        Only join areas whose centre (largest employer) is within ``max_minutes``.
    population : (K,), optional, checked for zeros

    Returns
    -------
    membership, regions : as ``delineate_ba``; ``step`` is "valid" or "residual" and the
        region table has ``validity``.
    """
    params = params or LMAParameters()
    T = _check_inputs(T, codes, population)
    K = len(codes)
    area = np.arange(K)
    Ri, Wi = T.sum(1), T.sum(0)
    residual = np.zeros(K, dtype=bool)
    adj = None if adjacency_matrix is None else np.asarray(adjacency_matrix, bool)
    for _ in range(10 * K):
        labels = np.unique(area)
        onehot = (area[:, None] == labels[None, :]).astype(float)  # K x A
        T_AA = np.einsum("ia,ij,ja->a", onehot, T, onehot)
        R_A, W_A = Ri @ onehot, Wi @ onehot
        V = lma_validity(T_AA, R_A, W_A, params)
        fixed = np.array([residual[area == a].all() for a in labels])
        cand = np.flatnonzero((V < 1.0) & ~fixed)
        if len(cand) == 0:
            break
        worst = labels[cand[np.argmin(V[cand])]]
        members = np.flatnonzero(area == worst)
        others = labels[labels != worst]
        col = {a: j for j, a in enumerate(labels)}
        for k in members:
            oi = np.array([col[a] for a in others])
            t_kB = T[k] @ onehot[:, oi]
            t_Bk = onehot[:, oi].T @ T[:, k]
            coh = t_kB**2 / max(Ri[k], 1e-12) / np.maximum(W_A[oi], 1e-12) + t_Bk**2 / np.maximum(
                R_A[oi], 1e-12
            ) / max(Wi[k], 1e-12)
            ok = coh > 0
            if adj is not None:
                ok &= np.array([adj[k, area == a].any() for a in others])
            if times is not None and max_minutes is not None:
                ctr = np.array(
                    [np.flatnonzero(area == a)[np.argmax(Wi[area == a])] for a in others]
                )
                ok &= np.asarray(times, float)[k, ctr] <= max_minutes
            if ok.any():
                area[k] = others[np.flatnonzero(ok)[np.argmax(coh[ok])]]
            else:
                residual[k] = True
        still = np.flatnonzero(area == worst)
        residual[still] = True  # kommuner that could not move stay as their own area
    centre = np.array([np.flatnonzero(area == a)[np.argmax(Wi[area == a])] for a in area])
    step = np.where(
        residual & (np.bincount(area, minlength=K)[area] == 1), "residual", "valid"
    ).astype(object)
    region = pd.factorize(area)[0]
    mem, reg = _membership(codes, region, centre, step, T)
    labels = np.unique(region)
    onehot = (region[:, None] == labels[None, :]).astype(float)
    reg["validity"] = lma_validity(
        np.einsum("ia,ij,ja->a", onehot, T, onehot), Ri @ onehot, Wi @ onehot, params
    )
    return mem, reg


# --- travel time only -----------------------------------------------------------------------


def delineate_by_time(
    codes: list[str],
    times: np.ndarray,
    centres: list[str],
    max_minutes: float = 75.0,
    T: np.ndarray | None = None,
):
    """Each kommune joins the nearest centre within ``max_minutes`` (else stays alone).

    Returns
    -------
    membership, regions : as ``delineate_ba`` (``step`` "time" / "centre" / "alone").
    """
    idx = {k: i for i, k in enumerate(codes)}
    unknown = [k for k in centres if k not in idx]
    if unknown:
        raise ValueError(f"centre list has unknown kommune codes: {unknown}")
    c = np.asarray(times, float)
    cen = np.array([idx[k] for k in centres])
    K = len(codes)
    t = c[:, cen]
    near = np.argmin(t, axis=1)
    ok = t[np.arange(K), near] <= max_minutes
    centre_of = np.where(ok, cen[near], np.arange(K))
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


def delineate_regions(
    network,
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
) -> dict:
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
    dict
        ``membership``, ``regions``, ``polygons``, ``flows`` (K x K DataFrame), ``times``,
        ``centres`` and ``notes`` (what was modelled or proxied).
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
            codes, T, times.to_numpy(), centres, adjacency_matrix=adj, population=pop
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
        mem, reg = delineate_by_time(codes, times.to_numpy(), centres, max_minutes, T)
    reg["population"] = [pop[mem["region"].to_numpy() == r].sum() for r in reg["region"]]
    polys = region_polygons(mem, kommuner, reg)
    polys.attrs["notes"] = notes
    return {
        "membership": mem,
        "regions": reg,
        "polygons": polys,
        "flows": pd.DataFrame(T, index=codes, columns=codes),
        "times": times,
        "centres": centres,
        "notes": notes,
    }
