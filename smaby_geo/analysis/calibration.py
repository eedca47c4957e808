"""Fit the car profile's speeds and ferry waits to official kommune-to-centre car times.

The reference is TØI's car time from a kommune to the centre kommune(s) of its BA region
(``tables/toi_reisetid_calibration.csv``: 61 rows, half of the official table; the other
half is kept for an independent check and must not be used here). The model time of a row
is the car time from the kommune to the nearer of its centre kommuner, access legs
included: from the kommune's centre point (``places.centres.kommune_centres``) or, with
``CalibrationSet(origin="cells")``, the population-weighted mean over its populated cells.

The fit minimises the mean absolute log ratio |log(model / reference)| (a robust loss: it
aims at a zero median bias and is not pulled by a few outliers) over bounded parameters:
every speed stays between a plausible floor and the legal limit of its road class, and the
main-road classes can be held in order (``CLASS_ORDER``); ``shrinkage`` adds a ridge penalty
pulling the parameters toward METHODS §1's prior (its lambda chosen by cross-validation). See
``docs/calibration.md`` for the method and the fitted values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# the calibration rows with their snapped points (re-exported: this module is the public path)
from smaby_geo.analysis.calibration_set import ORIGIN_MODES, CalibrationSet  # noqa: F401

# reading the reference table and summarising errors (re-exported: the public path)
from smaby_geo.analysis.calibration_table import (  # noqa: F401
    CALIBRATION_COLUMNS,
    KOMMUNE_RENUMBERED,
    error_summary,
    read_calibration_table,
)
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.profile import CarProfile, prior_profile

# Legal speed limits (km/h) per road class (skiltforskriften §8, trafikkreglene §13): 110 only
# on motorveg, 100 on motortrafikkveg, at most 90 on other main roads, the general 80 km/h on
# municipal and private roads; built-up areas 50 by default, main roads through towns signed
# up to 60-70. No fitted speed may exceed the limit of its class.
LEGAL_LIMITS_KMH = {
    "motorveg": 110.0,
    "motortrafikkveg": 100.0,
    "E": 90.0,
    "R": 90.0,
    "F": 90.0,
    "K": 80.0,
    "P": 80.0,
    "urban": 70.0,
}


@dataclass(frozen=True)
class Parameter:
    """One fitted profile parameter.

    ``path`` names it: ``"category_speeds_kmh:E"`` (a key of a mapping field),
    ``"urban_speeds_kmh:*"`` (one factor on every speed of a mapping field, its value the
    factor), ``"ferry.default_headway_min"`` (a field of the ferry model), a plain field
    (``"length_factor"``, ``"curvature_scale_deg_per_km"``) or ``"trip.terminal_min"`` (minutes
    at each trip end, applied by ``fit_profile``, not a profile field).
    ``lower``/``upper`` bound the fit; ``source`` says where the bounds come from.
    """

    path: str
    lower: float
    upper: float
    source: str = ""


# Plausibility constraints of the main-road classes (``fit_profile(order=...)``): a higher
# road class is built and signed to a higher standard (Statens vegvesen, vegnormal N100:
# national and main roads get the higher dimensioning classes; municipal and private roads
# the lowest), so its driven speed on comparable terrain is not lower: E >= R >= F >= K.
CLASS_ORDER: tuple[tuple[str, str], ...] = (
    ("category_speeds_kmh:E", "category_speeds_kmh:R"),
    ("category_speeds_kmh:R", "category_speeds_kmh:F"),
    ("category_speeds_kmh:F", "category_speeds_kmh:K"),
)
# Highest plausible driven speed on a rural municipal road (K; P moves with K), km/h: these
# are narrow roads, often without a centre line and with many accesses, signed 50-80 (the
# general 80 km/h limit applies where nothing is signed); an average above 60 would put them
# with the fylkesveg network. METHODS §1's prior is 50. Project assumption.
K_PLAUSIBLE_MAX_KMH = 60.0
# Bounds of the curvature scale (``CarProfile.curvature_scale_deg_per_km``). The N1000 line
# sees a fraction f <= 1 of the true turning (generalised: a vertex every ~460 m), so the
# scale on N1000 turning is f x 929 degrees/km (Lamm et al. 1999 on true geometry): at most
# 929; the floor 50 (f = 0.05) keeps it from absorbing everything else.
CURVATURE_SCALE_BOUNDS_DEG_PER_KM = (50.0, 929.0)
# Bounds of the roadside scale rho0 (``CarProfile.roadside_density_scale_residents_per_km``),
# residents per km of a link's 500 m band: a village signed 60 km/h has dwellings every 20-50 m
# on both sides (some 100-400 residents per km); 10 slows nearly every road, 1,000 town edges.
ROADSIDE_SCALE_BOUNDS_RESIDENTS_PER_KM = (10.0, 1000.0)
# Bounds of the fitted settled speed ratio (``roadside_ratio=True``): 50/80 to 1 (no slowing).
ROADSIDE_RATIO_BOUNDS = (50.0 / 80.0, 1.0)
# Bounds of the per-trip terminal time (each end), minutes: parking and local streets at a
# kommune centre take 0-5 minutes (project assumption).
TERMINAL_BOUNDS_MIN = (0.0, 5.0)


def default_parameters(
    profile: CarProfile | None = None,
    *,
    urban: str = "factor",
    plausible: bool = False,
    curvature: bool = False,
    terminal: bool = False,
    roadside: bool = False,
    roadside_ratio: bool = False,
) -> list[Parameter]:
    """The parameters fitted by default, with bounds (those the profile has).

    Rural category speeds E, R, F, K (P travels with K: private roads are rare on kommune
    centre routes); when the profile has urban speeds, one factor on all of them
    (``urban="factor"``, default: few calibration routes run far through towns, so one
    parameter, not five) or each of E, R, F, K (``urban="each"``); the default ferry
    headway. Lower bounds are 30 km/h rural and 20 km/h urban (slower would be a road no
    one signs); upper bounds are the legal limits (``LEGAL_LIMITS_KMH``); the headway may
    lie between 20 and 120 minutes (Hanssen, Jørgensen & Larsen 2019 report a mean of 52
    over 16 crossings).

    ``plausible=True`` caps K at ``K_PLAUSIBLE_MAX_KMH`` (use it with ``order=CLASS_ORDER``
    in ``fit_profile``); ``curvature=True`` adds ``curvature_scale_deg_per_km``
    (``CURVATURE_SCALE_BOUNDS_DEG_PER_KM``); ``terminal=True`` adds ``trip.terminal_min``,
    minutes added at each end of every trip (``TERMINAL_BOUNDS_MIN``; a calibration-only
    candidate, not a profile field); ``roadside=True`` adds
    ``roadside_density_scale_residents_per_km`` (``ROADSIDE_SCALE_BOUNDS_RESIDENTS_PER_KM``),
    ``roadside_ratio=True`` also ``roadside_settled_speed_ratio`` (``ROADSIDE_RATIO_BOUNDS``).
    """
    profile = profile or CarProfile()
    out = [
        Parameter(f"category_speeds_kmh:{c}", 30.0, LEGAL_LIMITS_KMH[c], "legal limit")
        for c in ("E", "R", "F")
    ]
    if plausible:
        out.append(
            Parameter("category_speeds_kmh:K", 30.0, K_PLAUSIBLE_MAX_KMH, "rural minor road")
        )
    else:
        out.append(Parameter("category_speeds_kmh:K", 30.0, LEGAL_LIMITS_KMH["K"], "legal limit"))
    if hasattr(profile, "urban_speeds_kmh") and urban == "each":
        out += [
            Parameter(f"urban_speeds_kmh:{c}", 20.0, LEGAL_LIMITS_KMH["urban"], "urban limit")
            for c in ("E", "R", "F", "K")
        ]
    elif hasattr(profile, "urban_speeds_kmh"):
        top = max(profile.urban_speeds_kmh.values())
        out.append(
            Parameter(
                "urban_speeds_kmh:*",
                0.5,
                LEGAL_LIMITS_KMH["urban"] / top,
                f"factor on all urban speeds; the fastest stays at or under "
                f"{LEGAL_LIMITS_KMH['urban']:.0f} km/h",
            )
        )
    out.append(Parameter("ferry.default_headway_min", 20.0, 120.0, "Hanssen et al. 2019"))
    if curvature:
        lo, hi = CURVATURE_SCALE_BOUNDS_DEG_PER_KM
        out.append(
            Parameter("curvature_scale_deg_per_km", lo, hi, "N1000 share of Lamm et al. 1999")
        )
    if roadside:
        lo, hi = ROADSIDE_SCALE_BOUNDS_RESIDENTS_PER_KM
        why = "village density, speed-limit criteria"
        out.append(Parameter("roadside_density_scale_residents_per_km", lo, hi, why))
    if roadside_ratio:
        lo, hi = ROADSIDE_RATIO_BOUNDS
        out.append(Parameter("roadside_settled_speed_ratio", lo, hi, "50/80 to no slowing"))
    if terminal:
        lo, hi = TERMINAL_BOUNDS_MIN
        out.append(Parameter("trip.terminal_min", lo, hi, "parking, local streets"))
    return out


def get_parameter(profile: CarProfile, path: str) -> float:
    """Value of the parameter ``path`` in ``profile`` (see ``Parameter``).

    A field that is None (a term switched off) reads as NaN; ``trip.*`` parameters, which are
    not profile fields, read as 0.
    """
    if path.startswith("trip."):
        return 0.0
    if "." in path:
        head, rest = path.split(".", 1)
        return get_parameter(getattr(profile, head), rest)
    if ":" in path:
        field_, key = path.split(":", 1)
        return 1.0 if key == "*" else float(getattr(profile, field_)[key])
    v = getattr(profile, path)
    return np.nan if v is None else float(v)


def set_parameters(profile, values: dict[str, float]):
    """Return a copy of ``profile`` with the parameters ``values`` (path -> value) set.

    Setting ``K`` of a speed table also scales ``P`` by the same ratio unless ``P`` is given
    (the fit ties the two: private roads are rare on the calibration routes). An urban speed
    above the rural speed of its class is lowered to it.
    """
    nested: dict[str, dict[str, float]] = {}
    changes: dict[str, Any] = {}  # field -> new value, passed to dataclasses.replace
    for path, v in values.items():
        if path.startswith("trip."):
            continue  # trip-level terms are added by fit_profile, not set on the profile
        if "." in path:
            head, rest = path.split(".", 1)
            nested.setdefault(head, {})[rest] = v
        elif ":" in path:
            field_, key = path.split(":", 1)
            table = dict(changes.get(field_, getattr(profile, field_)))
            if key == "*":
                changes[field_] = {k: float(x) * float(v) for k, x in table.items()}
                continue
            table[key] = float(v)
            if key == "K" and f"{field_}:P" not in values and "P" in table:
                old_k = float(getattr(profile, field_)["K"])
                table["P"] = float(getattr(profile, field_)["P"]) * float(v) / old_k
            changes[field_] = table
        else:
            changes[path] = float(v)
    for head, sub in nested.items():
        changes[head] = set_parameters(getattr(profile, head), sub)
    # an urban speed never exceeds the rural speed of its class (the profile requires it)
    for urban, rural in (
        ("urban_speeds_kmh", "category_speeds_kmh"),
        ("urban_motorway_speeds_kmh", "motorway_speeds_kmh"),
    ):
        if urban in changes or (rural in changes and hasattr(profile, urban)):
            u = dict(changes.get(urban, getattr(profile, urban)))
            r = changes.get(rural, getattr(profile, rural))
            changes[urban] = {k: min(float(v), float(r.get(k, v))) for k, v in u.items()}
    return replace(profile, **changes)


def retime(network: RoadNetwork, profile: CarProfile) -> RoadNetwork:
    """``network`` with link times for ``profile`` (``RoadNetwork.with_profile``)."""
    if hasattr(network, "with_profile"):
        return network.with_profile(profile)
    from smaby_geo.network.readers import load_network

    return load_network(profile=profile)


def _check_train(train, n_rows: int) -> np.ndarray:
    """Row positions to fit on: all rows by default; else distinct positions 0..n_rows-1."""
    if train is None:
        rows = np.arange(n_rows)
    else:
        rows = np.asarray(train)
        if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
            raise ValueError(f"train must be a list of row positions (integers), got {train!r}")
        bad = rows[(rows < 0) | (rows >= n_rows)]
        if bad.size:
            raise ValueError(
                f"train holds row positions outside 0..{n_rows - 1}: {bad[:10].tolist()}"
            )
    if rows.size == 0:
        raise ValueError("no calibration rows to fit on (the table or train is empty)")
    return rows


def fit_profile(
    network: RoadNetwork,
    cal: CalibrationSet,
    *,
    profile: CarProfile | None = None,
    parameters: Sequence[Parameter] | None = None,
    train: Sequence[int] | np.ndarray | None = None,
    max_evaluations: int = 250,
    order: Sequence[tuple[str, str]] = (),
    shrinkage: float = 0.0,
    prior: CarProfile | None = None,
) -> tuple[CarProfile, dict[str, float]]:
    """Fit ``parameters`` of ``profile`` to the rows ``train`` of ``cal`` (default: all).

    Minimises the mean |log(model / reference)| with scipy's bounded Powell search (on each
    parameter scaled to its bounds), starting
    from the profile's current values (clipped into the bounds; a term that is off starts at
    its upper bound). Exact routing at every evaluation: the network is re-timed
    (``retime``) and the centres re-bound.

    ``order``: pairs ``(faster, slower)`` of parameter paths whose values must keep that
    order (e.g. ``CLASS_ORDER``); each km/h out of order adds ``ORDER_PENALTY`` to the loss,
    and what the search leaves out of order (within its tolerance, ``XTOL_OF_RANGE``) is
    closed by lowering the slower value to the faster one, pair by pair in the given order.
    A ``trip.terminal_min`` parameter adds that many minutes at each end of every trip
    (``trip_minutes``).

    ``shrinkage`` (lambda, >= 0, unitless; default 0: no shrinkage, the plain fit) adds
    ``lambda * sum(((value - prior) / (upper - lower))**2)`` to the loss: a ridge penalty
    pulling each parameter toward its value in ``prior`` (default ``prior_profile()``: E 80,
    R 75, F 65, K 50 km/h, urban factor 1, ferry headway 30 min) in shares of its bounds'
    range. A parameter without a prior value (the curvature scale, off in the prior profile)
    is not penalised; a trip-level term's prior is 0. ``benchmarks/shrinkage_cv.py`` compares
    lambdas by k-fold cross-validation (``benchmarks/results/shrinkage.md``); its choice,
    ``SHRINKAGE_LAMBDA``, made the profile's defaults.

    Returns
    -------
    (fitted profile, {path: value})

    Raises
    ------
    ValueError
        ``shrinkage`` negative or not a finite number.
    """
    from scipy.optimize import minimize

    lam = check_shrinkage(shrinkage)

    profile = profile or getattr(network, "profile", None) or CarProfile()
    params = list(parameters or default_parameters(profile))
    rows = _check_train(train, len(cal.rows))
    if not (isinstance(max_evaluations, int | np.integer) and max_evaluations >= 1):
        raise ValueError(f"max_evaluations must be an integer >= 1, got {max_evaluations!r}")
    ref = cal.reference[rows]
    lo = np.array([p.lower for p in params])
    hi = np.array([p.upper for p in params])
    x0 = np.array([get_parameter(profile, p.path) for p in params])
    x0 = np.clip(np.where(np.isnan(x0), hi, x0), lo, hi)
    paths = [p.path for p in params]
    pairs = [(paths.index(a), paths.index(b)) for a, b in order if a in paths and b in paths]

    span = np.where(hi > lo, hi - lo, 1.0)
    # prior values in the search's units (shares of each range); NaN: not penalised
    u_prior = (prior_values(profile, params, prior) - lo) / span
    shrunk = np.isfinite(u_prior) & (lam > 0)
    # the start point's retime measures what its terms need (the links' roadside densities,
    # when that term is on) once into the network's links, not at every evaluation
    start = {path: float(v) for path, v in zip(paths, x0, strict=True)}
    network = retime(network, set_parameters(profile, start))

    def objective(u: np.ndarray) -> float:
        u = np.asarray(u, float)
        x = np.clip(lo + u * span, lo, hi)  # a search point can round past a bound
        values = {p.path: float(v) for p, v in zip(params, x, strict=True)}
        prof = set_parameters(profile, values)
        m = trip_minutes(cal.model_minutes(retime(network, prof), rows), values)
        r = np.abs(np.log(np.where(np.isfinite(m), m, 1e6) / ref))
        penalty = sum(max(0.0, x[b] - x[a]) for a, b in pairs) * ORDER_PENALTY
        if shrunk.any():
            penalty += lam * float(np.sum((u[shrunk] - u_prior[shrunk]) ** 2))
        return float(np.mean(r)) + penalty

    # the search runs on each parameter scaled to its bounds (0..1), so that its tolerance
    # means the same share of every range (a factor of 0.5-1.2 and a speed of 30-90 alike)
    res = minimize(
        objective,
        (x0 - lo) / span,
        method="Powell",
        bounds=[(0.0, 1.0)] * len(params),
        options={"maxfev": max_evaluations, "xtol": XTOL_OF_RANGE, "ftol": 1e-3},
    )
    x = np.clip(lo + np.asarray(res.x, dtype=float) * span, lo, hi)
    for a, b in pairs:  # in chain order: the search stops within xtol, so close the rest
        x[b] = min(x[b], x[a])
    values = {p.path: float(v) for p, v in zip(params, x, strict=True)}
    return set_parameters(profile, values), values


def check_shrinkage(shrinkage: float) -> float:
    """``shrinkage`` as a float, or a ValueError naming it when negative or not finite."""
    try:
        lam = float(shrinkage)
    except (TypeError, ValueError):
        raise ValueError(
            f"shrinkage (lambda) must be a finite number >= 0, got {shrinkage!r}"
        ) from None
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"shrinkage (lambda) must be a finite number >= 0, got {shrinkage!r}")
    return lam


def prior_values(
    profile: CarProfile,
    parameters: Sequence[Parameter],
    prior: CarProfile | None = None,
) -> np.ndarray:
    """Prior value of each parameter (the shrinkage target of ``fit_profile``).

    A parameter's value in ``prior`` (default ``prior_profile()``, METHODS §1); a factor on
    all speeds of a table (``"urban_speeds_kmh:*"``) is the median ratio of ``prior``'s
    speeds to ``profile``'s (1 when ``profile`` holds the prior speeds); NaN where ``prior``
    has the term off (the curvature scale): such a parameter is not penalised.
    """
    prior = prior if prior is not None else prior_profile()
    out = []
    for p in parameters:
        if p.path.endswith(":*"):
            field_ = p.path.split(":", 1)[0]
            a, b = getattr(prior, field_), getattr(profile, field_)
            out.append(float(np.median([float(a[k]) / float(b[k]) for k in b if k in a])))
        else:
            out.append(get_parameter(prior, p.path))
    return np.array(out, dtype=float)


# Shrinkage lambda of the calibration (``benchmarks/calibrate_speeds.py --shrinkage`` default):
# chosen among 0, 0.01, 0.03, 0.1 by 5-fold cross-validation on the calibration file
# (``benchmarks/shrinkage_cv.py``, ``benchmarks/results/shrinkage.md``): with the prior headway
# of 30 min no lambda beat none (CV median abs. error 6.82 % against 6.83 % at 0.1), so the
# rule keeps 0. (With the earlier prior headway of 60 min it chose 0.1.)
SHRINKAGE_LAMBDA = 0.0

# Tolerance of the search on each parameter, as a share of its bounds' range: 0.6 km/h on a
# speed of 30-90, 0.007 on the urban factor, 9 degrees/km on the curvature scale.
XTOL_OF_RANGE = 0.01

# Loss added per km/h that an ordered pair of speeds is out of order (``fit_profile``): one
# km/h costs as much as a 5 % mean error, so the search keeps the order.
ORDER_PENALTY = 0.05


def trip_minutes(model_min: np.ndarray, values: dict[str, float]) -> np.ndarray:
    """Model minutes plus the trip-level terms of ``values`` (``trip.terminal_min`` x 2)."""
    return np.asarray(model_min, float) + 2.0 * float(values.get("trip.terminal_min", 0.0))


# The fit of ``benchmarks/calibrate_speeds.py`` (defaults: population-weighted kommune centres,
# times from the origin kommune's cells, one urban factor, class order, curvature term, no
# roadside term: it fails its rule, results/roadside.md; with it: ``profile.ROADSIDE_FIT``;
# no shrinkage: lambda 0 chosen by 5-fold CV in ``benchmarks/shrinkage_cv.py``; the search
# starts from ``prior_profile()``) on tables/toi_reisetid_calibration.csv, N1000; results in
# benchmarks/results/calibration.md, shrinkage.md and roadside.md; docs/calibration.md.
FITTED_VALUES: dict[str, float] = {
    "category_speeds_kmh:E": 74.8,
    "category_speeds_kmh:R": 72.8,
    "category_speeds_kmh:F": 71.8,
    "category_speeds_kmh:K": 59.9,
    "category_speeds_kmh:P": 47.9,
    # one factor, 1.12 (cap 1.167), on the prior urban speeds E 60, R 50, F 45, K 35, P 30
    "urban_speeds_kmh:E": 67.1,
    "urban_speeds_kmh:R": 56.0,
    "urban_speeds_kmh:F": 50.4,
    "urban_speeds_kmh:K": 39.2,
    "urban_speeds_kmh:P": 33.6,
    "ferry.default_headway_min": 20.3,
    "curvature_scale_deg_per_km": 679.0,
}


def calibrated_profile(profile: CarProfile | None = None) -> CarProfile:
    """``profile`` (default ``CarProfile()``) with the fitted values ``FITTED_VALUES`` set.

    ``CarProfile()`` already holds these values (they are its defaults); use this to put them
    on a profile built otherwise, e.g. ``prior_profile()`` or one with another ferry wait mode.
    """
    return set_parameters(profile or CarProfile(), FITTED_VALUES)


def cross_validate(
    network: RoadNetwork,
    cal: CalibrationSet,
    *,
    profile: CarProfile,
    parameters: Sequence[Parameter],
    folds: int = 5,
    seed: int = 0,
    max_evaluations: int = 250,
    order: Sequence[tuple[str, str]] = (),
    shrinkage: float = 0.0,
    prior: CarProfile | None = None,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """k-fold cross-validated model minutes: each row predicted by a fit that never saw it.

    Rows are shuffled with ``seed`` and split into ``folds`` parts; each part is predicted by
    ``fit_profile`` on the others (same ``parameters``, ``order``, start ``profile``,
    ``shrinkage`` and ``prior``).

    Returns
    -------
    (minutes per row, the fitted values of each fold)
    """
    check_shrinkage(shrinkage)
    n = len(cal.rows)
    if not (isinstance(folds, int) and 2 <= folds <= n):
        raise ValueError(f"folds must be an integer from 2 to {n} (the rows), got {folds!r}")
    order_ = np.random.default_rng(seed).permutation(n)
    m_cv = np.full(n, np.nan)
    fold_values = []
    for test in np.array_split(order_, folds):
        train = np.setdiff1d(order_, test)
        prof_k, v_k = fit_profile(
            network,
            cal,
            profile=profile,
            parameters=parameters,
            train=train,
            max_evaluations=max_evaluations,
            order=order,
            shrinkage=shrinkage,
            prior=prior,
        )
        fold_values.append(v_k)
        m_cv[test] = trip_minutes(cal.model_minutes(retime(network, prof_k), test), v_k)
    return m_cv, fold_values
