"""Labour-market areas by the Coombes & Bond (2008) algorithm (Eurostat/Istat LMA).

Start with one area per kommune and repeatedly dissolve the least valid area, giving each of
its kommuner to the area it is most cohesive with, until every area meets the validity rule
(``lma_validity``). Parameters are in ``LMAParameters`` with their sources (METHODS §4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smaby_geo.analysis.flows import _check_inputs, _membership

__all__ = ["LMAParameters", "delineate_lma", "lma_validity"]


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


def lma_validity(
    T_AA: ArrayLike, R_A: ArrayLike, W_A: ArrayLike, params: LMAParameters
) -> np.ndarray:
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
    population: ArrayLike | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LMA regions (Coombes & Bond 2008; Istat/Eurostat LabourMarketAreas).

    Start with one area per kommune; repeatedly dissolve the least valid area and give each
    of its kommuner to the area it is most cohesive with,
    cohesion(i, B) = T_iB^2 / (R_i W_B) + T_Bi^2 / (R_B W_i), until every area is valid. A
    kommune with no cohesive (or, with the options, no adjacent / no near enough) area to join
    stays in its area; every kommune of an area left invalid is marked ``residual``.

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
    membership, regions : as ``delineate_ba``; ``step`` is "valid", or "residual" for the
        kommuner of an area that could not be made valid; the region table has ``validity``.
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
            oi = np.array([col[a] for a in others], dtype=np.intp)  # empty: one area left
            t_kB = T[k] @ onehot[:, oi]
            t_Bk = onehot[:, oi].T @ T[:, k]
            coh = t_kB**2 / max(Ri[k], 1e-12) / np.maximum(W_A[oi], 1e-12) + t_Bk**2 / np.maximum(
                R_A[oi], 1e-12
            ) / max(Wi[k], 1e-12)
            ok = coh > 0
            if adj is not None:
                ok &= np.array([adj[k, area == a].any() for a in others], dtype=bool)
            if times is not None and max_minutes is not None:
                ctr = np.array(
                    [np.flatnonzero(area == a)[np.argmax(Wi[area == a])] for a in others],
                    dtype=np.intp,
                )
                ok &= np.asarray(times, float)[k, ctr] <= max_minutes
            if ok.any():
                area[k] = others[np.flatnonzero(ok)[np.argmax(coh[ok])]]
            else:
                residual[k] = True
        still = np.flatnonzero(area == worst)
        residual[still] = True  # kommuner that could not move stay as their own area
    centre = np.array([np.flatnonzero(area == a)[np.argmax(Wi[area == a])] for a in area])
    region = pd.factorize(area)[0]
    labels = np.unique(region)
    onehot = (region[:, None] == labels[None, :]).astype(float)
    validity = lma_validity(
        np.einsum("ia,ij,ja->a", onehot, T, onehot), Ri @ onehot, Wi @ onehot, params
    )
    # "residual" marks every kommune of an area left invalid: a kommune that could join no
    # area, or several that could not leave the same dissolved area
    step = np.where(validity[region] >= 1.0, "valid", "residual").astype(object)
    mem, reg = _membership(codes, region, centre, step, T)
    reg["validity"] = validity  # regions come out in label order, as ``labels``
    return mem, reg
