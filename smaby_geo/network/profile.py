"""Car travel-time profile: speeds by road class and the ferry model (METHODS §1).

Every default is a named field with its source. Speeds are km/h, times seconds, headways and
waits minutes, lengths metres.

Longer than 500 lines because every default is a named constant with its source next to it
and the two profile dataclasses validate and document each field where it is defined; the
speed tables, the ferry model and the car profile are read together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

WaitMode = Literal["half_headway", "effective_speed", "none"]
WAIT_MODES: tuple[str, ...] = ("half_headway", "effective_speed", "none")


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


# N1000/N2000 `vegkategori` -> km/h. Kartverket's generalised networks carry no speed limit.
# METHODS §1's assumed category speeds are the prior of the calibration:
PRIOR_CATEGORY_SPEEDS_KMH = _frozen({"E": 80.0, "R": 75.0, "F": 65.0, "K": 50.0, "P": 40.0})
# Defaults: straight-road speeds fitted with the curvature term to TØI's kommune-to-BA-centre
# car times (`benchmarks/calibrate_speeds.py`: 54 routes from origin cells, E >= R >= F >= K,
# K <= 60 (at its cap), no shrinkage: lambda 0 chosen by CV in `shrinkage_cv.py`; 5-fold CV
# median abs. error 7.4 %, bias +0.1 %, worst 34 %; docs/calibration.md). P moves with K.
N1000_CATEGORY_SPEEDS_KMH = _frozen({"E": 74.8, "R": 72.8, "F": 71.8, "K": 59.9, "P": 47.9})
# N1000/N2000 `motorvegtype` overrides (METHODS §1: motorveg 100 km/h; motortrafikkveg 90 km/h
# is this project's assumption: most Norwegian motortrafikkveg sections are signed 80-90).
N1000_MOTORWAY_SPEEDS_KMH = _frozen({"motorveg": 100.0, "motortrafikkveg": 90.0})
# N1000/N2000 `typeVeg` values that a car can use.
N1000_DRIVABLE_TYPES: tuple[str, ...] = ("enkelBilveg", "kanalisertVeg", "rampe", "bilferje")

# Urban speeds: driven km/h inside N1000 built-up areas (`Tettbebyggelse`), by `vegkategori`.
# The general limit in a built-up area is 50 km/h (trafikkregler §13); main roads through towns
# are signed 50-70 and slowed by junctions, lights and roundabouts. The prior is this
# project's assumption; the defaults are the prior times the one urban factor (1.12; its cap
# of 1.167 keeps E at 70 km/h) fitted by `benchmarks/calibrate_speeds.py` within the legal
# limits below.
PRIOR_URBAN_SPEEDS_KMH = _frozen({"E": 60.0, "R": 50.0, "F": 45.0, "K": 35.0, "P": 30.0})
N1000_URBAN_SPEEDS_KMH = _frozen({"E": 67.1, "R": 56.0, "F": 50.4, "K": 39.2, "P": 33.6})
# Ferry headway where none is known. The prior is the wait travellers were observed to have:
# Hanssen, Jørgensen & Larsen 2019 measured a mean wait of 15 min over 16 Norwegian crossings
# (mean headway 52: people plan around the timetable, so they wait less than half a headway),
# which the half-headway rule gives at H = 30 min. (METHODS §1's placeholder H = 60 where
# unknown, the prior until issue #12's last stop, charged 30 min: twice the observed wait.)
# The default is fitted to the TØI times (20.3 min, a 10.2-minute wait: near the bounds' floor
# of 20; TØI's times carry short waits, as Hanssen et al.'s travellers did).
PRIOR_HEADWAY_MIN = 30.0
CALIBRATED_HEADWAY_MIN = 20.3
# Curvature term (CarProfile.curvature_scale_deg_per_km): Lamm, Psarianos & Mailaender (1999,
# "Highway Design and Traffic Safety Engineering Handbook") give V85 = 1e6 / (8270 + 8.01 CCR),
# CCR in gon/km: time per km doubles at 1,032 gon/km = 929 degrees/km of true geometry. N1000
# sees part of the true turning; the fitted scale (bounds 50-929, 5-fold range 324-888) is
# 679: a link turning 25 degrees/km (the mean of R roads) takes 3.7 % longer than a straight one.
LAMM_CURVATURE_SCALE_DEG_PER_KM = 929.0
CALIBRATED_CURVATURE_SCALE_DEG_PER_KM = 679.0
# Plausibility floor of the curvature scale, degrees/km: at a scale s the mean N1000 R road
# (25 degrees/km) takes 1 + 25 / s times its straight-road time. At 50 that is 1.5 times,
# the slowing Lamm et al.'s form gives a road of 516 gon/km of true curvature (a winding mountain
# road) — for the average national road. A smaller scale (e.g. 1e-3, which multiplied times
# by 25,000) is a slip, not a model; 50 is also the floor of the fit
# (``analysis.calibration.CURVATURE_SCALE_BOUNDS_DEG_PER_KM``: N1000 sees at least 5 % of the
# true turning).
MIN_CURVATURE_SCALE_DEG_PER_KM = 50.0
# Roadside settlement term (CarProfile.roadside_density_scale_residents_per_km): Statens
# vegvesen's speed-limit criteria (NA-rundskriv 2018/10 "Fartsgrensekriterier") sign a rural
# road down from the general 80 km/h to 60 where it runs through roadside settlement (many
# dwellings, accesses and junctions). The settled share of a link's rural part is
# rho / (rho + rho0), rho its roadside residents per km (``network.roadside``), and that share
# is driven at ROADSIDE_SETTLED_SPEED_RATIO (60 / 80) of the open-road speed. TØI
# (Trafikksikkerhetshåndboken 3.11) finds driven speeds fall by less than the limit (8 of 20
# km/h), so the ratio is the largest slowing the term can give. Off by default: on the
# network of 27 Nov 2026 (dead ends joined, quay calls) it fails the adoption rule of
# `benchmarks/compare_roadside.py` (CV 7.2 % / +0.0 % / worst 40 % against 7.4 % / +0.1 % /
# 34 % without it; docs/calibration.md). Fitted with it on (`calibrate_speeds.py --model
# ordered+curvature+roadside`), rho0 is 517 residents per km (bounds 10-1,000, 5-fold range
# 244-995), with E 76.5, R 75.4, F 73.1, K 59.9, urban factor 1.164, curvature scale 585 and
# headway 20.5 (ROADSIDE_FIT): a link with 72 residents per km (the upper quartile of N1000
# links) then takes 4.1 % longer, one with 517 per km 17 % longer.
ROADSIDE_SETTLED_SPEED_RATIO = 60.0 / 80.0
CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM = 517.0
# The whole fit with the term on, as ``analysis.calibration.set_parameters`` values (on
# ``prior_profile()``): for a profile that switches the term on with the speeds fitted with it.
ROADSIDE_FIT: Mapping[str, float] = MappingProxyType(
    {
        "category_speeds_kmh:E": 76.5,
        "category_speeds_kmh:R": 75.4,
        "category_speeds_kmh:F": 73.1,
        "category_speeds_kmh:K": 59.9,
        "category_speeds_kmh:P": 47.9,
        "urban_speeds_kmh:E": 69.9,
        "urban_speeds_kmh:R": 58.2,
        "urban_speeds_kmh:F": 52.4,
        "urban_speeds_kmh:K": 40.7,
        "urban_speeds_kmh:P": 34.9,
        "ferry.default_headway_min": 20.5,
        "curvature_scale_deg_per_km": 585.0,
        "roadside_density_scale_residents_per_km": (
            CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM
        ),
    }
)

# Urban motorways (E18 through Asker and Oslo, E6 through Trondheim) are signed 70-90 km/h.
N1000_URBAN_MOTORWAY_SPEEDS_KMH = _frozen({"motorveg": 80.0, "motortrafikkveg": 70.0})
# Legal speed limits in Norway (skiltforskriften §8 and trafikkreglene §13): 110 km/h only on
# motorveg, 100 on motorveg and roads with a median barrier (here: motortrafikkveg), at most
# 90 on other main roads (E, R, F), and the general 80 km/h outside built-up areas on
# municipal and private roads (K, P), which are not signed higher in practice. No speed of a
# profile may exceed the limit of its class.
LEGAL_SPEED_LIMITS_KMH = _frozen(
    {
        "motorveg": 110.0,
        "motortrafikkveg": 100.0,
        "E": 90.0,
        "R": 90.0,
        "F": 90.0,
        "K": 80.0,
        "P": 80.0,
    }
)
# Limit for a class not in the table (e.g. OSM classes): the Norwegian maximum.
LEGAL_MAX_SPEED_KMH = 110.0

# OSRM car.lua base speeds by OSM highway class, km/h (METHODS §1).
OSM_HIGHWAY_SPEEDS_KMH = _frozen(
    {
        "motorway": 90.0,
        "motorway_link": 45.0,
        "trunk": 85.0,
        "trunk_link": 40.0,
        "primary": 65.0,
        "primary_link": 30.0,
        "secondary": 55.0,
        "secondary_link": 25.0,
        "tertiary": 40.0,
        "tertiary_link": 20.0,
        "unclassified": 25.0,
        "residential": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "road": 25.0,
    }
)
# Implicit Norwegian limits for `maxspeed=NO:*` (METHODS §1).
OSM_IMPLICIT_MAXSPEED_KMH = _frozen({"NO:rural": 80.0, "NO:motorway": 110.0, "NO:urban": 50.0})


@dataclass(frozen=True)
class FerryModel:
    """Time on a car-ferry link = crossing time + waiting time (METHODS §1).

    Parameters
    ----------
    wait_mode : {"half_headway", "effective_speed", "none"}
        ``half_headway`` (default, the Norwegian national transport model, Andersen & Tørset):
        wait = min(H/2, ``max_wait_min``). ``effective_speed``: SSB's convention, the whole link
        at ``effective_speed_kmh`` and no separate wait. ``none``: crossing time only.
    crossing_speed_kmh : float
        Crossing speed where the link has no duration, default 22 km/h (about 12 knots).
    default_headway_min : float
        Headway H where none is known, default 20.5 min (a wait of 10.2 min), fitted to TØI's
        kommune-to-centre car times by ``benchmarks/calibrate_speeds.py``; the prior is 30 min
        (``PRIOR_HEADWAY_MIN``: half of it is the mean wait of 15 min that Hanssen, Jørgensen &
        Larsen 2019 observed over 16 crossings with a mean headway of 52).
    max_wait_min : float
        Cap on the half-headway wait, default 120 min (national transport model).
    effective_speed_kmh : float
        Whole-link speed for ``effective_speed``, default 12.3 km/h (SSB, "Lengst kjøretid til
        akuttmottak i Finnmark").
    headways_min : mapping of link id -> float
        Per-link headway override in minutes; ``inf`` (or NaN) means no departures in the
        analysis window: the link is impassable.
    max_connector_m : float
        Longest connector joining a ferry end that touches no road to the nearest road
        (``smaby_geo.network.ferry.connect_ferry_ends``), default 4,000 m. Generalisation to
        1:1,000,000 moves N1000 lines by up to a few hundred metres and drops short terminal
        access roads: 122 of its 480 car-ferry ends touch no road. For 117 of them the nearest
        road lies 0-3.5 km away (median 180 m); the other 5 lie 4.2-10.7 km from any road and
        are island landings whose roads N1000 does not draw (e.g. Skrova in Lofoten). 4 km
        joins the first group and lists the second; a connector that would run back across
        the water (its road nearer the far end of the ferry link) is listed, not joined.
    connector_speed_kmh : float
        Speed on a connector, default 40 km/h: a ferry-terminal access road is a short local
        road through a ferry village with a queueing lane (between the N1000 K 50 km/h and
        P 40 km/h speeds of this profile; assumption).
    connector_node_snap_m : float
        A connector lands on a road node rather than splitting the road link when the nearest
        point is this close to the link's end, default 1 m; at most ``max_connector_m``.
    max_call_m : float or None
        Longest connector joining a *sea junction* (a node where two or more car-ferry links
        meet and no road) that is a call at a quay, default 1,000 m (the smaller of it and
        ``max_connector_m`` applies); 0 joins only junctions drawn on a road, None none.
        N1000 draws some quays where several boats call as such junctions, off the road by
        the same generalisation as the ferry ends (a quay on Stord 34 m from E39, Hansnes in
        Karlsøy 264 m, one in Askvoll 32 m): 9 in 10 of its 122 ferry ends
        that touch no road lie within 911 m of one (``benchmarks/ferry_calls.py``), so 1 km
        takes the junctions that lie as close to a road as a landing does and leaves the
        ones out in a fjord. A junction is joined only where it is the ferry's nearest
        approach to that road point (nearer than every other node of its ferry links): a
        fork off a quay leaves the quay's own node nearer. The same distance bounds a call
        on a ferry line: a road cut off from every other whose end lies that near a line's
        interior (Mausund, 279 m from the Fv6470 line) is joined there.
    """

    wait_mode: WaitMode = "half_headway"
    crossing_speed_kmh: float = 22.0
    default_headway_min: float = CALIBRATED_HEADWAY_MIN
    max_wait_min: float = 120.0
    effective_speed_kmh: float = 12.3
    headways_min: Mapping = field(default_factory=dict)
    max_connector_m: float = 4000.0
    connector_speed_kmh: float = 40.0
    connector_node_snap_m: float = 1.0
    max_call_m: float | None = 1000.0

    def __post_init__(self) -> None:
        if self.wait_mode not in WAIT_MODES:
            raise ValueError(
                f"FerryModel.wait_mode={self.wait_mode!r} is not one of {', '.join(WAIT_MODES)}"
            )
        for name in (
            "crossing_speed_kmh",
            "effective_speed_kmh",
            "max_connector_m",
            "connector_speed_kmh",
        ):
            v = getattr(self, name)
            if not (_is_number(v) and np.isfinite(v) and v > 0):
                raise ValueError(f"FerryModel.{name} must be a finite number > 0, got {v!r}")
        if self.connector_speed_kmh > LEGAL_SPEED_LIMITS_KMH["K"]:
            raise ValueError(
                f"FerryModel.connector_speed_kmh={self.connector_speed_kmh} exceeds the legal "
                f"limit of a local road ({LEGAL_SPEED_LIMITS_KMH['K']:.0f} km/h)"
            )
        v = self.connector_node_snap_m
        if not (_is_number(v) and np.isfinite(v) and v >= 0):
            raise ValueError(
                f"FerryModel.connector_node_snap_m must be a finite number >= 0, got {v!r}"
            )
        if v > self.max_connector_m:
            raise ValueError(
                f"FerryModel.connector_node_snap_m={v!r} exceeds max_connector_m="
                f"{self.max_connector_m!r}: a connector would land on a road node farther away "
                "than the longest connector allowed; keep it at most max_connector_m (default 1)"
            )
        v = self.max_call_m
        if v is not None and not (_is_number(v) and np.isfinite(v) and v >= 0):
            raise ValueError(
                f"FerryModel.max_call_m must be a finite number >= 0 or None, got {v!r}"
            )
        for name in ("default_headway_min", "max_wait_min"):
            v = getattr(self, name)
            if not (_is_number(v) and v >= 0):
                raise ValueError(f"FerryModel.{name} must be a number >= 0, got {v!r}")
        if not isinstance(self.headways_min, Mapping):
            raise ValueError("FerryModel.headways_min must be a mapping of link id -> minutes")
        bad = {
            k: v
            for k, v in self.headways_min.items()
            if not (_is_number(v) and (v >= 0 or np.isnan(v)))
        }
        if bad:
            raise ValueError(
                f"FerryModel.headways_min has headways that are not numbers >= 0: {bad}"
            )

    def crossing_and_wait(
        self,
        length_m: np.ndarray,
        link_ids: np.ndarray,
        duration_s: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return crossing and waiting seconds of ferry links (wait ``inf`` = impassable).

        Parameters
        ----------
        length_m : ndarray of float
            Link lengths in metres.
        link_ids : ndarray
            Link ids, used to look up ``headways_min``.
        duration_s : ndarray of float, optional
            Known crossing durations in seconds (e.g. OSM ``duration``); NaN where unknown.

        Returns
        -------
        crossing, wait : ndarrays of float, seconds. With ``effective_speed`` the whole link
            is crossing time at 12.3 km/h and the wait is 0.
        """
        headway = np.array(
            [self.headways_min.get(i, self.default_headway_min) for i in link_ids], dtype=float
        )
        headway = np.where(np.isnan(headway), np.inf, headway)
        return self.crossing_and_wait_from_headway(length_m, headway, duration_s)

    def crossing_and_wait_from_headway(
        self,
        length_m: np.ndarray,
        headway_min: np.ndarray,
        duration_s: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crossing and waiting seconds from per-link headways (``inf`` = no departures).

        As ``crossing_and_wait``, with the headway of each link already looked up.
        """
        length_m = np.asarray(length_m, dtype=float)
        headway = np.asarray(headway_min, dtype=float)
        closed = ~np.isfinite(headway)
        if self.wait_mode == "effective_speed":
            crossing = length_m / (self.effective_speed_kmh / 3.6)
            return crossing, np.where(closed, np.inf, 0.0)
        crossing = length_m / (self.crossing_speed_kmh / 3.6)
        if duration_s is not None:
            d = np.asarray(duration_s, dtype=float)
            crossing = np.where(np.isfinite(d), d, crossing)
        if self.wait_mode == "none":
            wait = np.zeros_like(crossing)
        else:
            wait = np.minimum(np.where(closed, 0.0, headway) / 2.0, self.max_wait_min) * 60.0
        return crossing, np.where(closed, np.inf, wait)

    def link_seconds(
        self,
        length_m: np.ndarray,
        link_ids: np.ndarray,
        duration_s: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return crossing + waiting seconds of each ferry link (``inf`` where impassable)."""
        crossing, wait = self.crossing_and_wait(length_m, link_ids, duration_s)
        return crossing + wait


@dataclass(frozen=True)
class CarProfile:
    """Car speeds per road class, the length correction and the ferry model.

    Parameters
    ----------
    category_speeds_kmh : mapping
        N1000/N2000 ``vegkategori`` -> straight-road km/h, default E 74.8, R 72.8,
        F 71.8, K 59.9, P 47.9: fitted to TØI's kommune-to-centre car times
        (``docs/calibration.md``) from METHODS §1's prior E 80, R 75, F 65, K 50, P 40
        (``prior_profile()``).
        Give all of E, R, F, K, P: a partial table is an error (a class left out would drop to
        ``unknown_category_speed_kmh``); change one with
        ``{**CarProfile().category_speeds_kmh, "E": 80}``.
    motorway_speeds_kmh : mapping
        ``motorvegtype`` overrides: motorveg 100 (METHODS §1), motortrafikkveg 90 (assumed).
    urban_speeds_kmh : mapping
        ``vegkategori`` -> km/h inside built-up areas (N1000 ``Tettbebyggelse``): E 67.1,
        R 56.0, F 50.4, K 39.2, P 33.6 — the prior E 60, R 50, F 45, K 35, P 30 (the general
        limit in a built-up area is 50 km/h, trafikkreglene §13; main roads are signed 50-70
        and slowed by junctions) times one factor fitted with the rural speeds. A link's
        time is its rural part at the rural speed plus its urban part at the urban speed.
        All of E, R, F, K, P, as for ``category_speeds_kmh``.
    urban_motorway_speeds_kmh : mapping
        ``motorvegtype`` -> km/h inside built-up areas: motorveg 80, motortrafikkveg 70
        (urban motorways are signed 70-90 km/h; assumed).
    unknown_urban_speed_kmh : float
        Urban speed of a link with no category, default 35 km/h (METHODS §1's K urban prior).
    unknown_category_speed_kmh : float
        Speed for a drivable link with no category, default 50 km/h (METHODS §1's K prior).
    curvature_scale_deg_per_km : float or None
        The rural part of an N1000/N2000 road link takes its category-speed time times
        ``1 + curvature / curvature_scale_deg_per_km``, ``curvature`` the turning of its line
        in degrees per km (``linktimes.curvature_deg_per_km``), so the category speeds are
        straight-road speeds. Default 679 (``CALIBRATED_CURVATURE_SCALE_DEG_PER_KM``, fitted);
        form and bound 929: Lamm et al. 1999 (``LAMM_CURVATURE_SCALE_DEG_PER_KM``). None: off.
        At least ``MIN_CURVATURE_SCALE_DEG_PER_KM`` (50; smaller would make the average
        national road 1.5 times slower than a straight one).
    roadside_density_scale_residents_per_km : float or None
        Roadside settlement term, ``rho0`` in residents per km: the rural part of an
        N1000/N2000 road link with ``roadside_residents_per_km`` = rho (residents of the SSB
        250 m cells within 250 m of the link, ``network.roadside``) has the settled share
        ``s = rho / (rho + rho0)`` driven at ``ROADSIDE_SETTLED_SPEED_RATIO`` (0.75 = 60 / 80
        km/h) of its open-road speed, so its time is multiplied by ``1 + s * (1 / 0.75 - 1)``
        (at most 4/3 when rho >> rho0; 1 on an empty road). Source of the form: Statens
        vegvesen, NA-rundskriv 2018/10 "Fartsgrensekriterier" (60 km/h outside built-up
        areas where the road runs through roadside development). Default None: off (the
        link table then needs no densities, so no SSB grid): on the network of 27 Nov 2026 it
        fails its adoption rule (``benchmarks/compare_roadside.py``). Fitted with it on, rho0
        is 517 (``CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM``) with the speeds of
        ``ROADSIDE_FIT``: ``set_parameters(prior_profile(), ROADSIDE_FIT)``
        (``analysis.calibration``) is that profile.
    roadside_settled_speed_ratio : float
        Share of the open-road speed driven on the settled share, default 0.75
        (``ROADSIDE_SETTLED_SPEED_RATIO``, 60 / 80 km/h); in (0, 1].
    length_factor : float
        Multiplier on link geometry length for road links (not ferries), default 1.0.
        N1000 is generalised to 1:1,000,000 (METHODS §1 quotes Oslo–Bergen 437 km on N1000
        against about 463 km by road), but ``benchmarks/calibrate_length.py`` routes eight
        town pairs between N1000 place-name points and finds reference / N1000 ratios of
        0.86–1.03, median 0.965: the cut curves are offset by the place points' access legs,
        so no stretch is applied by default. Set e.g. 1.06 to reproduce the Oslo–Bergen ratio.
    osm_highway_speeds_kmh : mapping
        OSRM car.lua base speeds by OSM ``highway`` (METHODS §1).
    osm_maxspeed_factor : float
        Fraction of the posted ``maxspeed`` driven, default 0.8 (OSRM car.lua).
    osm_implicit_maxspeed_kmh : mapping
        ``NO:rural`` 80, ``NO:motorway`` 110, ``NO:urban`` 50.
    osm_fallback_speed_kmh : float
        Speed for an OSM class not in the table, default 25 km/h (OSRM unclassified).
    ferry : FerryModel
        The ferry model.

    Notes
    -----
    No speed may exceed the legal limit of its road class (``LEGAL_SPEED_LIMITS_KMH``:
    motorveg 110, motortrafikkveg 100, E/R/F 90, K/P 80 km/h; other classes 110): a profile
    that does raises ``ValueError``. Urban speeds may not exceed the rural speed of the same
    class.
    """

    category_speeds_kmh: Mapping = field(default_factory=lambda: dict(N1000_CATEGORY_SPEEDS_KMH))
    motorway_speeds_kmh: Mapping = field(default_factory=lambda: dict(N1000_MOTORWAY_SPEEDS_KMH))
    urban_speeds_kmh: Mapping = field(default_factory=lambda: dict(N1000_URBAN_SPEEDS_KMH))
    urban_motorway_speeds_kmh: Mapping = field(
        default_factory=lambda: dict(N1000_URBAN_MOTORWAY_SPEEDS_KMH)
    )
    unknown_category_speed_kmh: float = 50.0
    unknown_urban_speed_kmh: float = 35.0
    curvature_scale_deg_per_km: float | None = CALIBRATED_CURVATURE_SCALE_DEG_PER_KM
    roadside_density_scale_residents_per_km: float | None = None
    roadside_settled_speed_ratio: float = ROADSIDE_SETTLED_SPEED_RATIO
    length_factor: float = 1.0
    osm_highway_speeds_kmh: Mapping = field(default_factory=lambda: dict(OSM_HIGHWAY_SPEEDS_KMH))
    osm_maxspeed_factor: float = 0.8
    osm_implicit_maxspeed_kmh: Mapping = field(
        default_factory=lambda: dict(OSM_IMPLICIT_MAXSPEED_KMH)
    )
    osm_fallback_speed_kmh: float = 25.0
    ferry: FerryModel = field(default_factory=FerryModel)

    def __post_init__(self) -> None:
        tables = (
            "category_speeds_kmh",
            "motorway_speeds_kmh",
            "urban_speeds_kmh",
            "urban_motorway_speeds_kmh",
            "osm_highway_speeds_kmh",
        )
        for name in tables:
            table = getattr(self, name)
            if not isinstance(table, Mapping):
                raise ValueError(f"CarProfile.{name} must be a mapping of class -> km/h")
            bad = {
                k: v for k, v in table.items() if not (_is_number(v) and np.isfinite(v) and v > 0)
            }
            if bad:
                raise ValueError(f"CarProfile.{name} has speeds that are not finite and > 0: {bad}")
            over = {
                k: v
                for k, v in table.items()
                if v > LEGAL_SPEED_LIMITS_KMH.get(k, LEGAL_MAX_SPEED_KMH)
            }
            if over:
                raise ValueError(
                    f"CarProfile.{name} has speeds above the legal limit of their class: "
                    + ", ".join(
                        f"{k} {v} > {LEGAL_SPEED_LIMITS_KMH.get(k, LEGAL_MAX_SPEED_KMH):.0f}"
                        for k, v in over.items()
                    )
                )
        for urban, rural in (
            ("urban_speeds_kmh", "category_speeds_kmh"),
            ("urban_motorway_speeds_kmh", "motorway_speeds_kmh"),
        ):
            rt = getattr(self, rural)
            faster = {k: v for k, v in getattr(self, urban).items() if k in rt and v > rt[k]}
            if faster:
                raise ValueError(
                    f"CarProfile.{urban} is faster than {rural} for {faster}; urban speeds "
                    "may not exceed the rural speed of the class"
                )
        for name in (
            "unknown_category_speed_kmh",
            "unknown_urban_speed_kmh",
            "length_factor",
            "osm_maxspeed_factor",
        ):
            v = getattr(self, name)
            if not (_is_number(v) and np.isfinite(v) and v > 0):
                raise ValueError(f"CarProfile.{name} must be a finite number > 0, got {v!r}")
        v = self.curvature_scale_deg_per_km
        if v is not None and not (
            _is_number(v) and np.isfinite(v) and v >= MIN_CURVATURE_SCALE_DEG_PER_KM
        ):
            raise ValueError(
                "CarProfile.curvature_scale_deg_per_km must be a finite number >= "
                f"{MIN_CURVATURE_SCALE_DEG_PER_KM:g} (degrees/km that double a link's time; "
                f"smaller is implausible) or None (off), got {v!r}"
            )
        v = self.roadside_settled_speed_ratio
        if not (_is_number(v) and np.isfinite(v) and 0 < v <= 1):
            raise ValueError(
                "CarProfile.roadside_settled_speed_ratio must be a number in (0, 1] (share of "
                f"the open-road speed driven through roadside settlement), got {v!r}"
            )
        v = self.roadside_density_scale_residents_per_km
        if v is not None and not (_is_number(v) and np.isfinite(v) and v > 0):
            raise ValueError(
                "CarProfile.roadside_density_scale_residents_per_km must be a finite number > 0 "
                f"(residents per km at which half a link counts as settled) or None (off), "
                f"got {v!r}"
            )
        for name in ("unknown_category_speed_kmh", "unknown_urban_speed_kmh"):
            if getattr(self, name) > LEGAL_SPEED_LIMITS_KMH["K"]:
                raise ValueError(
                    f"CarProfile.{name} exceeds the legal limit of a local road "
                    f"({LEGAL_SPEED_LIMITS_KMH['K']:.0f} km/h)"
                )
        if not isinstance(self.ferry, FerryModel):
            raise ValueError("CarProfile.ferry must be a FerryModel")
        # The base tables need every road class: a class left out would silently drop to
        # ``unknown_*_speed_kmh`` (the motorway tables are overrides, so partial is fine there).
        for name in ("category_speeds_kmh", "urban_speeds_kmh"):
            given = dict(getattr(self, name))
            missing = [c for c in PRIOR_CATEGORY_SPEEDS_KMH if c not in given]
            if missing:
                changes = ", ".join(f"{k!r}: {v!r}" for k, v in given.items())
                raise ValueError(
                    f"CarProfile.{name} lacks the road classes {missing} (they would drop to "
                    f"the unknown-class speed); give all of {list(PRIOR_CATEGORY_SPEEDS_KMH)}, "
                    f"e.g. {name}={{**CarProfile().{name}, {changes}}}"
                )

    def roadside_time_factor(self, residents_per_km: np.ndarray) -> np.ndarray:
        """Multiplier on a link's rural time from its roadside residents per km.

        ``1 + s * (1 / r - 1)`` with the settled share ``s = rho / (rho + rho0)``,
        ``rho0`` = ``roadside_density_scale_residents_per_km`` and ``r`` =
        ``roadside_settled_speed_ratio`` (default 0.75);
        all ones when that is None (the term is off). NaN or negative densities count as 0.

        Parameters
        ----------
        residents_per_km : ndarray of float

        Returns
        -------
        ndarray of float, in [1, 1 / r].
        """
        rho = np.asarray(residents_per_km, dtype=float)
        rho0 = self.roadside_density_scale_residents_per_km
        if rho0 is None:
            return np.ones(rho.shape)
        rho = np.clip(np.nan_to_num(rho, nan=0.0, posinf=1e300), 0.0, None)
        settled = rho / (rho + rho0)
        return 1.0 + settled * (1.0 / self.roadside_settled_speed_ratio - 1.0)

    def with_ferry(self, **changes) -> CarProfile:
        """Return a copy with the ferry model's fields changed (e.g. ``wait_mode="none"``)."""
        return replace(self, ferry=replace(self.ferry, **changes))

    def n1000_speeds(
        self, category: np.ndarray, motorway: np.ndarray, *, urban: bool = False
    ) -> np.ndarray:
        """Return km/h for N1000/N2000 links from ``vegkategori`` and ``motorvegtype``.

        Parameters
        ----------
        category, motorway : array-like
            ``vegkategori`` and ``motorvegtype`` per link (None where absent).
        urban : bool, default False
            Return the speeds inside built-up areas instead of the rural ones.

        Returns
        -------
        ndarray of float, km/h.
        """
        cat_t = self.urban_speeds_kmh if urban else self.category_speeds_kmh
        mw_t = self.urban_motorway_speeds_kmh if urban else self.motorway_speeds_kmh
        unknown = self.unknown_urban_speed_kmh if urban else self.unknown_category_speed_kmh
        speed = _lookup(category, cat_t, unknown)
        mw = _lookup(motorway, mw_t, np.nan)
        return np.where(np.isnan(mw), speed, mw)

    def osm_speed(self, highway: object, maxspeed: object) -> float:
        """Return km/h for one OSM way from its ``highway`` and ``maxspeed`` tags."""
        limit = parse_maxspeed(maxspeed, self.osm_implicit_maxspeed_kmh)
        if limit is not None:
            return limit * self.osm_maxspeed_factor
        hw = highway[0] if isinstance(highway, list | tuple) and highway else highway
        return float(self.osm_highway_speeds_kmh.get(hw, self.osm_fallback_speed_kmh))


def _lookup(keys: np.ndarray, table: Mapping, default: float) -> np.ndarray:
    """Vectorised ``table.get(key, default)`` over an object array (few distinct keys)."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(keys, dtype=object)), use_na_sentinel=True)
    vals = np.array([table.get(k, default) for k in uniques], dtype=float)
    out = np.full(len(codes), default, dtype=float)
    ok = codes >= 0
    out[ok] = vals[codes[ok]]
    return out


_NUM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$")


def parse_maxspeed(value: object, implicit: Mapping = OSM_IMPLICIT_MAXSPEED_KMH) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h.

    Parameters
    ----------
    value : str, number, list or None
        Tag value; lists (osmnx merged ways) give their lowest parseable value.
    implicit : mapping
        Values such as ``NO:rural``.

    Returns
    -------
    float or None
        km/h, or None when the value is missing or cannot be read (``signals``, ``none``).
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        parsed = [v for v in (parse_maxspeed(x, implicit) for x in value) if v is not None]
        return min(parsed) if parsed else None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    s = str(value).strip()
    if ";" in s:
        return parse_maxspeed(s.split(";"), implicit)
    if s in implicit:
        return float(implicit[s])
    m = _NUM.match(s)
    if not m:
        return None
    v = float(m.group(1))
    if m.group(2) == "mph":
        v *= 1.609344
    return v if v > 0 else None


def prior_profile() -> CarProfile:
    """The uncalibrated profile: METHODS §1's assumed speeds, a 30-minute ferry headway.

    ``PRIOR_CATEGORY_SPEEDS_KMH``, ``PRIOR_URBAN_SPEEDS_KMH`` and ``PRIOR_HEADWAY_MIN``; the
    curvature and roadside terms off.

    The starting point of ``benchmarks/calibrate_speeds.py``; ``CarProfile()`` holds the
    fitted values.
    """
    return CarProfile(
        category_speeds_kmh=dict(PRIOR_CATEGORY_SPEEDS_KMH),
        urban_speeds_kmh=dict(PRIOR_URBAN_SPEEDS_KMH),
        curvature_scale_deg_per_km=None,
        roadside_density_scale_residents_per_km=None,
        ferry=FerryModel(default_headway_min=PRIOR_HEADWAY_MIN),
    )
