"""Accessibility measures over an origin x facility travel-time matrix (METHODS §2).

All functions are pure: ``t`` is an (n_origins, n_facilities) array of minutes (``inf`` = no
route), demand ``P`` has one value per origin and supply ``S`` one per facility. Thresholds
are inclusive (``t <= T``), like every cutoff in smaby_geo. PySAL ``access`` filters with a
strict ``cost < max_cost``; the two agree whenever no time equals a threshold exactly (the
tests compare them on such matrices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from smaby_geo._compat import renamed_kwargs

if TYPE_CHECKING:
    import pandas as pd

# PySAL access's default E2SFCA steps (weights.step_fn({10: 1, 20: 0.68, 30: 0.22})), minutes.
PYSAL_E2SFCA_BANDS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))
# The same weights on bands scaled for rural Norway (METHODS §2): 0-20 / 20-40 / 40-60 min.
RURAL_E2SFCA_BANDS: tuple[tuple[float, float], ...] = ((20.0, 1.0), (40.0, 0.68), (60.0, 0.22))


def _check(t, P=None, S=None) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if t.ndim != 2:
        raise ValueError(f"t must be a 2-d origins x facilities matrix, got shape {t.shape}")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("t must hold minutes >= 0 (inf for no route); found NaN or negative")
    if P is not None:
        P = np.asarray(P, dtype=float)
        if P.shape != (t.shape[0],):
            raise ValueError(f"demand has {P.shape} values for {t.shape[0]} origins")
        if np.any(~np.isfinite(P)) or np.any(P < 0):
            raise ValueError("demand must be finite and >= 0")
    if S is not None:
        S = np.asarray(S, dtype=float)
        if S.shape != (t.shape[1],):
            raise ValueError(f"supply has {S.shape} values for {t.shape[1]} facilities")
        if np.any(~np.isfinite(S)) or np.any(S <= 0):
            bad = np.flatnonzero(~np.isfinite(S) | (S <= 0))[:10].tolist()
            raise ValueError(f"supply must be > 0 at every facility; not at positions {bad}")
    return t


def _threshold(T: float) -> float:
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"threshold must be a finite number of minutes >= 0, got {T!r}")
    return float(T)


def step_weights(t: np.ndarray, bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Stepped distance-decay weights: the weight of the first band whose upper bound >= t.

    Parameters
    ----------
    t : ndarray of minutes
    bands : tuple of (upper bound minutes, weight), ascending bounds

    Returns
    -------
    ndarray of weights (0 beyond the last band).
    """
    bounds = [b for b, _ in bands]
    if bounds != sorted(bounds) or any(b < 0 for b in bounds):
        raise ValueError(f"band bounds must be sorted and >= 0 minutes, got {bounds}")
    if any(w < 0 for _, w in bands):
        raise ValueError("band weights must be >= 0")
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    for bound, w in reversed(bands):
        out = np.where(t <= bound, w, out)
    return out


@renamed_kwargs(threshold="threshold_min")
def cumulative_opportunities(
    t: ArrayLike, opportunities: ArrayLike, threshold_min: float
) -> np.ndarray:
    """A_i = sum_j O_j [t_ij <= T].

    Parameters
    ----------
    t : (n_i, n_j) minutes
    opportunities : (n_j,) e.g. jobs, beds, 1 per site
    threshold_min : float, minutes (inclusive)

    Returns
    -------
    ndarray (n_i,)
    """
    t = _check(t)
    opp = np.asarray(opportunities, dtype=float)
    if opp.shape != (t.shape[1],):
        raise ValueError(f"opportunities has {opp.shape} values for {t.shape[1]} facilities")
    return (t <= _threshold(threshold_min)) @ opp


def gravity(
    t: ArrayLike,
    opportunities: ArrayLike,
    *,
    beta: float | None = None,
    gamma: float | None = None,
    min_minutes: float = 1.0,
) -> np.ndarray:
    """Hansen gravity accessibility A_i = sum_j O_j f(t_ij).

    Parameters
    ----------
    t : (n_i, n_j) minutes
    opportunities : (n_j,)
    beta : float, optional
        Exponential decay f = exp(-beta t), per minute.
    gamma : float, optional
        Power decay f = t^-gamma, with t floored at ``min_minutes`` (avoids infinity at 0).
    min_minutes : float, default 1

    Returns
    -------
    ndarray (n_i,); unreachable pairs contribute 0.
    """
    t = _check(t)
    opp = np.asarray(opportunities, dtype=float)
    if (beta is None) == (gamma is None):
        raise ValueError("give exactly one of beta (exponential) or gamma (power)")
    if beta is not None:
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        f = np.exp(-beta * t)
    else:
        assert gamma is not None  # exactly one of beta and gamma was given
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        f = np.where(np.isfinite(t), np.maximum(t, min_minutes) ** -gamma, 0.0)
    return f @ opp


@renamed_kwargs(threshold="threshold_min")
def two_step_fca(
    t: ArrayLike, demand: ArrayLike, supply: ArrayLike, threshold_min: float
) -> tuple[np.ndarray, np.ndarray]:
    """2SFCA (Luo & Wang 2003): R_j = S_j / sum_{i: t_ij<=T} P_i; A_i = sum_{j: t_ij<=T} R_j.

    Parameters
    ----------
    t : (n_i, n_j) minutes
    demand : (n_i,) population
    supply : (n_j,) capacity (> 0)
    threshold_min : float, minutes (inclusive)

    Returns
    -------
    A : (n_i,) accessibility (supply per person)
    R : (n_j,) supply-to-demand ratio per facility (``inf`` where no demand is within reach)
    """
    t = _check(t, demand, supply)
    w = (t <= _threshold(threshold_min)).astype(float)
    return _fca(w, np.asarray(demand, float), np.asarray(supply, float))


def enhanced_two_step_fca(
    t: ArrayLike,
    demand: ArrayLike,
    supply: ArrayLike,
    bands: tuple[tuple[float, float], ...] = PYSAL_E2SFCA_BANDS,
) -> tuple[np.ndarray, np.ndarray]:
    """E2SFCA (Luo & Qi 2009): 2SFCA with stepped weights W(t) in both steps.

    R_j = S_j / sum_i P_i W(t_ij); A_i = sum_j R_j W(t_ij).

    Parameters
    ----------
    t : (n_i, n_j) minutes
    demand : (n_i,)
    supply : (n_j,)
    bands : tuple of (upper bound minutes, weight)
        Default PySAL access's 0-10/10-20/20-30 min at 1/0.68/0.22; ``RURAL_E2SFCA_BANDS``
        scales them to 0-20/20-40/40-60 for rural Norway.

    Returns
    -------
    A : (n_i,), R : (n_j,)
    """
    t = _check(t, demand, supply)
    return _fca(step_weights(t, bands), np.asarray(demand, float), np.asarray(supply, float))


def _fca(w, P, S):
    demand_j = P @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(demand_j > 0, S / demand_j, np.inf)
    A = w @ np.where(np.isfinite(R), R, 0.0)
    return A, R


# Helsedirektoratet's quality indicator for ambulance response times counts a kommune of fewer
# than 10,000 residents as "grisgrendt strøk" (rural), where the guiding target is 25 min
# (Stortinget 2000); larger kommuner fall under the 12-minute urban target.
RURAL_KOMMUNE_POPULATION_BELOW = 10_000


@dataclass(frozen=True)
class PolicyPreset:
    """A coverage standard: ``share`` of residents within ``minutes`` of a ``service_type``.

    ``kommune_population_below`` (optional) limits the standard to the residents of kommuner
    with fewer residents than that (a rural standard); None: every resident.
    """

    name: str
    service_type: str
    minutes: float
    share: float
    source: str
    kommune_population_below: float | None = None


# Presets are data, not code paths (METHODS §2).
POLICY_PRESETS: dict[str, PolicyPreset] = {
    p.name: p
    for p in [
        PolicyPreset(
            "police_45min",
            "police",
            45.0,
            0.90,
            "Nærpolitireformen 2015 (Prop. 61 LS (2014-2015)): at least 90 % of "
            "residents within 45 min drive of a police service location",
        ),
        PolicyPreset(
            "ambulance_25min_rural",
            "hospital",
            25.0,
            0.90,
            "Stortinget's guiding ambulance response times (2000): 90 % within 25 min in "
            "rural areas (grisgrendte strøk: kommuner under 10,000 residents in "
            "Helsedirektoratet's indicator), applied here to the drive from hospital sites "
            "as a proxy for ambulance bases",
            kommune_population_below=RURAL_KOMMUNE_POPULATION_BELOW,
        ),
    ]
}


def evaluate_preset(
    table: pd.DataFrame, preset: PolicyPreset | str, by: str = "kommunenummer"
) -> pd.DataFrame:
    """Share of residents within the preset's minutes, per area, flagged below the standard.

    Parameters
    ----------
    table : DataFrame
        ``travel_times`` output.
    preset : PolicyPreset or str
        A preset or a key of ``POLICY_PRESETS``.
    by : str
        Area column (kommune, or a police-district column when the caller adds one).

    Returns
    -------
    DataFrame
        ``by``, ``population`` (the residents the standard applies to), ``population_within``,
        ``share_within``, ``meets_standard`` (NA where it applies to nobody: a rural standard
        in a larger kommune); ``attrs["preset"]`` holds the preset (with its source).

    Notes
    -----
    A preset with ``kommune_population_below`` needs the table's ``kommunenummer`` column
    and whole kommuner (a kommune's population is the sum of its rows here).
    """
    import pandas as pd

    if isinstance(preset, str):
        if preset not in POLICY_PRESETS:
            raise KeyError(f"unknown preset {preset!r}; known: {sorted(POLICY_PRESETS)}")
        preset = POLICY_PRESETS[preset]
    col = f"{preset.service_type}_minutes"
    if col not in table.columns:
        raise ValueError(f"table has no {col!r}; run travel_times with that service type")
    if by not in table.columns:
        raise ValueError(f"table has no column {by!r}")
    population = table["population"]
    if preset.kommune_population_below is not None:
        if "kommunenummer" not in table.columns:
            raise ValueError(
                f"preset {preset.name!r} applies to kommuner under "
                f"{preset.kommune_population_below:,.0f} residents and the table has no "
                "'kommunenummer' column: use travel_times' cell table"
            )
        kommune_pop = population.groupby(table["kommunenummer"]).transform("sum")
        population = population.where(kommune_pop < preset.kommune_population_below, 0)
    within = population.where(table[col] <= preset.minutes, 0)
    g = (
        pd.DataFrame({"population": population, "population_within": within, by: table[by]})
        .groupby(by, as_index=False)
        .sum()
    )
    g["share_within"] = g["population_within"] / g["population"].where(g["population"] > 0)
    meets = (g["share_within"] >= preset.share).astype("boolean")
    g["meets_standard"] = meets.mask(g["population"] <= 0)
    g.attrs["preset"] = preset
    return g
