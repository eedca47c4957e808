"""Commuting flows between kommuner: the observed table, the gravity model and its calibration.

Inputs are kommune-level (METHODS §4): a flow matrix ``T[i, j]`` (employed persons living in
i and working in j), employed residents ``R = T.sum(1)``, jobs ``W = T.sum(0)``, and car times
``c[i, j]`` in minutes. Flows are observed (SSB table 03321, ``read_commuting_table``) or
modelled with a doubly-constrained gravity model (``gravity_flows``) whose decay is fitted to a
mean commute time or to observed flows (``calibrate_beta``). The helpers at the end check a
flow matrix and summarise regions by their flows; the delineations in ``regions`` and ``lma``
use them.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "DEFAULT_BETA_PER_MIN",
    "calibrate_beta",
    "flow_matrix",
    "gravity_flows",
    "read_commuting_table",
]

# Gravity decay exp(-beta t), per minute. Project default: with beta = 0.1 a 30-minute commute
# weighs 5 % of a local one, close to Norwegian commuting, where few commute beyond 30-45 min
# (the BA rules' 45/75-minute bounds). Calibrate with ``calibrate_beta`` when a mean commute
# time or observed flows are known.
DEFAULT_BETA_PER_MIN = 0.1


_CODE = re.compile(r"(\d{4})")


def _code(v) -> str | None:
    m = _CODE.search(str(v))
    return m.group(1) if m else None


def read_commuting_table(
    source: str | os.PathLike | pd.DataFrame,
    *,
    residence: str | None = None,
    work: str | None = None,
    persons: str | None = None,
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


# --- gravity model ------------------------------------------------------------------------


def gravity_flows(
    origins: ArrayLike,
    destinations: ArrayLike,
    times: ArrayLike,
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
    origins: ArrayLike,
    destinations: ArrayLike,
    times: ArrayLike,
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


# --- region summaries shared by the delineations -------------------------------------------


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
