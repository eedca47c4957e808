"""Scenario comparison (METHODS §5): a base and an edited network (and service layer) compared.

Per origin the change in minutes, per kommune the population-weighted change, the people
crossing each threshold in each direction, catchment changes, and the labour-market regions
and rule-of-half benefit on modelled commuting. Scenario files are read by
``smaby_geo.analysis.scenario_file`` (``read_scenario`` is re-exported here).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo._compat import LegacyMapping, renamed_kwargs
from smaby_geo.analysis.scenario_file import (  # re-exported: the old import path
    MAX_SCENARIO_BYTES,
    MAX_SCENARIO_EDITS,
    ScenarioFileError,
    read_scenario,
)
from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.services import SERVICE_TYPES

__all__ = [
    "MAX_SCENARIO_BYTES",
    "MAX_SCENARIO_EDITS",
    "SCENARIO_THRESHOLDS_MIN",
    "Benefit",
    "Comparison",
    "RegionComparison",
    "ScenarioFileError",
    "check_opened_sites",
    "compare",
    "compare_regions",
    "prepare_region_base",
    "read_scenario",
    "summarise_changes",
]

SCENARIO_THRESHOLDS_MIN: tuple[int, ...] = (30, 45, 60, 75, 90)  # METHODS §5

# The search engine of the kommune times behind the rule-of-half benefit, on the base and on
# every scenario alike. A scenario network carries no contraction hierarchy, and a
# hierarchy's shortcut adds its links' seconds in another order than Dijkstra does, so base
# times from the hierarchy differ from the same routes' Dijkstra times by float rounding:
# kommune pairs the scenario leaves alone would add ~1e-11 person-minutes of noise. With one
# engine on both sides an unchanged pair contributes exactly 0.
REGION_SEARCH_METHOD = "dijkstra"


def check_opened_sites(network: RoadNetwork, scenario, access=None) -> None:
    """Refuse a scenario that opens a site no road reaches (at sea, abroad, far off-road).

    A site farther than ``access.max_snap_m`` (``AccessModel``'s 5 km, METHODS §1) from every
    drivable link would be left out of the service layer's routing, so the run would equal
    one with no new site; it is refused instead.

    Parameters
    ----------
    network : RoadNetwork
        The network the scenario is run on (the edited one: a new link may serve the site).
    scenario : Scenario
    access : AccessModel, optional
        Default ``AccessModel()``.

    Raises
    ------
    ValueError
        Naming the site, its distance, the file and line of the edit when read from a file.
    """
    from smaby_geo.network.scenario import OpenFacility
    from smaby_geo.places.snapping import AccessModel, snap_points

    access = access or AccessModel()
    opened = [e for e in scenario.service_edits if isinstance(e, OpenFacility)]
    if not opened:
        return
    s = snap_points(network, [e.x for e in opened], [e.y for e in opened], access)
    for e, ok in zip(opened, s.connected, strict=True):
        if not ok:
            raise ValueError(
                f"{scenario.where(e)}open_facility: site {e.name!r} at ({e.x:.0f}, {e.y:.0f}) is "
                f"more than {access.max_snap_m:,.0f} m from any road of the network (at sea, "
                "outside the region or outside Norway?); give a point near a road in EPSG:25833 "
                "metres or a place name"
            )


def _weighted_mean(values, weights):
    w = np.asarray(weights, float)
    return float((np.asarray(values, float) * w).sum() / w.sum()) if w.sum() > 0 else np.nan


@dataclass(frozen=True)
class Benefit:
    """Consumer benefit of a scenario by the rule of half (METHODS §5).

    Attributes
    ----------
    person_minutes_per_day : float
        ``0.5 * sum_ij (T0_ij + T1_ij) (c0_ij - c1_ij)`` over kommune pairs: minutes saved per
        day on modelled one-way commuting trips (positive = faster).
    note : str
        How the flows were modelled.
    """

    person_minutes_per_day: float
    note: str


@dataclass(frozen=True, eq=False)
class RegionComparison(LegacyMapping):
    """The region half of a scenario comparison (``compare_regions``).

    Attributes
    ----------
    regions : DataFrame
        Kommuner whose BA region changes: ``kommunenummer``, ``centre_base``,
        ``centre_scenario``.
    benefit : Benefit
        Rule-of-half consumer benefit on the modelled flows.
    """

    regions: pd.DataFrame
    benefit: Benefit

    _legacy_dicts = ("benefit",)


@dataclass(frozen=True, eq=False)
class Comparison(LegacyMapping):
    """A scenario compared with the base (``compare``).

    Minutes everywhere; delta = scenario - base, so negative is faster.

    Attributes
    ----------
    cells : GeoDataFrame
        Per origin: ``population``, geometry, kommune and grid columns, and per service type
        ``<t>_minutes_base``, ``<t>_minutes_scenario`` and ``<t>_delta`` (minutes; ``-inf``
        where the scenario connects an origin, ``inf`` where it cuts one off).
    kommuner : DataFrame
        Per kommune and type: ``population`` and population-weighted ``mean_change_minutes``.
    thresholds : DataFrame
        Per type and threshold (``minutes``): people ``newly_within`` and ``newly_outside``.
    catchments : DataFrame
        Per type: ``cells_changed`` and ``population_changed`` (nearest site changed).
    summary : DataFrame
        Per type: ``population_faster``, ``population_slower``, ``mean_change_minutes``,
        ``person_minutes_saved``.
    base_table, scenario_table : GeoDataFrame
        The two ``travel_times`` tables.
    regions : DataFrame or None
        Kommuner changing BA region (None when regions were not compared).
    benefit : Benefit or None
        Rule-of-half benefit in person-minutes per day (None when regions were not compared).
    """

    cells: pd.DataFrame
    kommuner: pd.DataFrame
    thresholds: pd.DataFrame
    catchments: pd.DataFrame
    summary: pd.DataFrame
    base_table: pd.DataFrame
    scenario_table: pd.DataFrame
    regions: pd.DataFrame | None = None
    benefit: Benefit | None = None

    _legacy_dicts = ("benefit",)

    def with_regions(self, region_comparison: RegionComparison) -> Comparison:
        """Return the comparison with the region half (``compare_regions``) added."""
        return replace(
            self, regions=region_comparison.regions, benefit=region_comparison.benefit
        )

    def update(self, other) -> None:
        """Deprecated: the old dict's ``update``; use ``with_regions``."""
        warnings.warn(
            "Comparison.update is deprecated; use cmp = cmp.with_regions(compare_regions(...))",
            DeprecationWarning,
            stacklevel=2,
        )
        if isinstance(other, RegionComparison):
            other = {"regions": other.regions, "benefit": other.benefit}
        for key, value in dict(other).items():
            if key == "benefit" and isinstance(value, dict):
                value = Benefit(**value)
            object.__setattr__(self, key, value)


def summarise_changes(
    cells: pd.DataFrame,
    changes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    thresholds_min: Sequence[float],
) -> dict:
    """The per-type arithmetic of a comparison: deltas, threshold crossings, catchments.

    Shared by :func:`compare` and the explorer's cached comparison, so both give the same
    figures by construction.

    Parameters
    ----------
    cells : DataFrame
        One row per origin with ``population`` (and ``kommunenummer`` for the kommune table);
        the ``{type}_minutes_base``, ``{type}_minutes_scenario`` and ``{type}_delta`` columns
        are added to it in place.
    changes : dict
        Per service type: base minutes, scenario minutes (``inf`` = no route) and a boolean
        array, True where the origin's nearest site changed.
    thresholds_min : sequence of float
        Thresholds in minutes.

    Returns
    -------
    dict
        ``cells``, ``kommuner``, ``thresholds``, ``catchments`` and ``summary``, the
        :class:`Comparison` fields of the same names. A delta is ``-inf`` where an origin
        gains a route and ``inf`` where it loses one; those count as faster/slower but not in
        the mean change.
    """
    pop = cells["population"].to_numpy(float)
    rows_k, rows_t, rows_c, rows_s = [], [], [], []
    for t, (a, b, changed) in changes.items():
        with np.errstate(invalid="ignore"):
            d = np.where(
                np.isfinite(a) & np.isfinite(b),
                b - a,
                np.where(
                    np.isfinite(a) == np.isfinite(b), 0.0, np.where(np.isfinite(b), -np.inf, np.inf)
                ),
            )
        cells[f"{t}_minutes_base"] = a
        cells[f"{t}_minutes_scenario"] = b
        cells[f"{t}_delta"] = d
        for thr in thresholds_min:
            rows_t.append(
                {
                    "service_type": t,
                    "minutes": thr,
                    "newly_within": int(pop[(a > thr) & (b <= thr)].sum()),
                    "newly_outside": int(pop[(a <= thr) & (b > thr)].sum()),
                }
            )
        rows_c.append(
            {
                "service_type": t,
                "cells_changed": int(changed.sum()),
                "population_changed": int(pop[changed].sum()),
            }
        )
        fin = np.isfinite(d)
        rows_s.append(
            {
                "service_type": t,
                "population_faster": int(pop[fin & (d < -1e-9)].sum() + pop[d == -np.inf].sum()),
                "population_slower": int(pop[fin & (d > 1e-9)].sum() + pop[d == np.inf].sum()),
                "mean_change_minutes": _weighted_mean(d[fin], pop[fin]),
                "person_minutes_saved": float(-(d[fin] * pop[fin]).sum()),
            }
        )
        if "kommunenummer" in cells:
            k = pd.DataFrame(
                {
                    "k": cells["kommunenummer"],
                    "p": pop,
                    "d": np.where(fin, d, 0),
                    "pf": np.where(fin, pop, 0),
                }
            )
            g = k.assign(pd_=k["d"] * k["pf"]).groupby("k")
            kk = pd.DataFrame(
                {"population": g["p"].sum(), "mean_change_minutes": g["pd_"].sum() / g["pf"].sum()}
            )
            kk["service_type"] = t
            rows_k.append(kk.reset_index().rename(columns={"k": "kommunenummer"}))
    return {
        "cells": cells,
        "kommuner": pd.concat(rows_k, ignore_index=True) if rows_k else pd.DataFrame(),
        "thresholds": pd.DataFrame(rows_t),
        "catchments": pd.DataFrame(rows_c),
        "summary": pd.DataFrame(rows_s),
    }


@renamed_kwargs(
    base="base_network",
    scenario_net="scenario_network",
    types="service_types",
    thresholds="thresholds_min",
)
def compare(
    base_network: RoadNetwork,
    scenario_network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    scenario_services: gpd.GeoDataFrame | None = None,
    *,
    service_types: list[str] | None = None,
    thresholds_min: Sequence[float] = SCENARIO_THRESHOLDS_MIN,
    base_table: pd.DataFrame | None = None,
    kommuner: gpd.GeoDataFrame | None = None,
    regions: bool = True,
    base_regions: dict | None = None,
) -> Comparison:
    """Compare a scenario with the base for every origin and service type.

    Parameters
    ----------
    base_network, scenario_network : RoadNetwork
    origins : GeoDataFrame with population (grid cells)
    services : GeoDataFrame, the base service layer
    scenario_services : GeoDataFrame, optional (after closures/openings)
    service_types : list of str, optional
        Default: the types of ``base_table``, else every type in ``services`` or
        ``scenario_services``.
    thresholds_min : tuple of float
        Thresholds in minutes, default 30/45/60/75/90 (METHODS §5).
    base_table : GeoDataFrame, optional
        A ``travel_times`` result of the base to reuse.
    kommuner : GeoDataFrame, optional
        Kommune polygons; with ``regions`` the BA regions on modelled flows are compared and
        the rule-of-half consumer benefit is computed on those flows.
    regions : bool
    base_regions : dict, optional
        ``prepare_region_base(base, origins, kommuner)``, the base half of the region
        comparison, to reuse across scenarios on the same base (same result, less work).

    Returns
    -------
    Comparison
        ``cells`` (base, scenario and delta minutes per type), ``kommuner`` (population-
        weighted mean change per kommune and type), ``thresholds`` (people crossing each
        threshold in each direction), ``catchments`` (people whose nearest site changed),
        ``regions`` (kommuner changing BA region), ``benefit`` (rule of half, person-minutes
        per day on modelled commuting flows), ``summary`` (per type).
    """
    sv1 = services if scenario_services is None else scenario_services
    types = service_types
    if types is None and base_table is None:
        # the types either side has: a scenario opening the first site of a type the base
        # lacks is compared on it (its base minutes are inf), not left out
        present = set(services["service_type"].dropna()) | set(sv1["service_type"].dropna())
        types = [t for t in SERVICE_TYPES if t in present] or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = (
            base_table
            if base_table is not None
            else travel_times(base_network, origins, services, service_types=types)
        )
        types = types or t0.attrs["service_types"]
        t1 = travel_times(scenario_network, origins, sv1, service_types=types)
    cells = t0[
        ["population", "geometry"]
        + [c for c in ("kommunenummer", "x_sw", "y_sw", "cell_size_m") if c in t0]
    ].copy()
    changes = {}
    for t in types:
        s0, s1 = t0[f"{t}_site"].to_numpy(), t1[f"{t}_site"].to_numpy()
        changed = (pd.Series(s0).fillna("") != pd.Series(s1).fillna("")).to_numpy()
        changes[t] = (
            t0[f"{t}_minutes"].to_numpy(float),
            t1[f"{t}_minutes"].to_numpy(float),
            changed,
        )
    tables = summarise_changes(cells, changes, thresholds_min)
    out = Comparison(**tables, base_table=t0, scenario_table=t1)
    if regions and kommuner is not None:
        out = out.with_regions(
            compare_regions(base_network, scenario_network, origins, kommuner, base_regions)
        )
    return out


@renamed_kwargs(base="base_network")
def prepare_region_base(base_network: RoadNetwork, origins, kommuner) -> dict:
    """The base half of ``compare``'s region comparison, computed once for many scenarios.

    Parameters
    ----------
    base_network : RoadNetwork
    origins : GeoDataFrame with population and ``kommunenummer`` (grid cells)
    kommuner : GeoDataFrame
        Kommune polygons.

    Returns
    -------
    dict
        Kommune-to-kommune car minutes, modelled flows, centres, adjacency and BA membership
        of the base; pass it to ``compare(..., base_regions=...)``.
    """
    from smaby_geo.analysis.regions import (
        DEFAULT_BETA_PER_MIN,
        adjacency,
        default_centres,
        delineate_ba,
        gravity_flows,
    )
    from smaby_geo.places.centres import kommune_times

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0, cen = kommune_times(base_network, origins, method=REGION_SEARCH_METHOD)
        codes = list(c0.index)
        pop = cen["population"].to_numpy(float)
        T0 = gravity_flows(pop, pop, c0.to_numpy(), DEFAULT_BETA_PER_MIN)
    centres = default_centres(codes, T0, pop)
    kom = kommuner[kommuner["kommunenummer"].isin(codes)]
    adj = adjacency(kom, codes)
    m0, _ = delineate_ba(codes, T0, c0.to_numpy(), centres, adjacency_matrix=adj)
    return {
        "c0": c0,
        "codes": codes,
        "pop": pop,
        "T0": T0,
        "centres": centres,
        "adj": adj,
        "m0": m0,
    }


@renamed_kwargs(base="base_network", scen="scenario_network")
def compare_regions(
    base_network: RoadNetwork,
    scenario_network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    kommuner: gpd.GeoDataFrame,
    base_regions: dict | None = None,
) -> RegionComparison:
    """The region half of ``compare``: kommuner changing BA region and the rule-of-half benefit.

    Parameters
    ----------
    base_network, scenario_network : RoadNetwork
        Base and scenario networks.
    origins : GeoDataFrame with population and ``kommunenummer``
    kommuner : GeoDataFrame
        Kommune polygons.
    base_regions : dict, optional
        ``prepare_region_base(base, origins, kommuner)`` to reuse.

    Returns
    -------
    RegionComparison
        ``regions`` (kommuner changing BA region) and ``benefit`` (person-minutes per day).
    """
    from smaby_geo.analysis.regions import (
        DEFAULT_BETA_PER_MIN,
        delineate_ba,
        gravity_flows,
    )
    from smaby_geo.places.centres import kommune_times

    rb = base_regions or prepare_region_base(base_network, origins, kommuner)
    c0, codes, pop, T0 = rb["c0"], rb["codes"], rb["pop"], rb["T0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c1, _ = kommune_times(scenario_network, origins, method=REGION_SEARCH_METHOD)
        T1 = gravity_flows(pop, pop, c1.to_numpy(), DEFAULT_BETA_PER_MIN)
    m0 = rb["m0"]
    m1, _ = delineate_ba(codes, T1, c1.to_numpy(), rb["centres"], adjacency_matrix=rb["adj"])
    m = m0[["kommunenummer", "centre"]].merge(
        m1[["kommunenummer", "centre"]], on="kommunenummer", suffixes=("_base", "_scenario")
    )
    changed = m[m["centre_base"] != m["centre_scenario"]]
    a, b = c0.to_numpy(), c1.to_numpy()
    ok = np.isfinite(a) & np.isfinite(b)
    benefit = 0.5 * ((T0 + T1) * np.where(ok, a - b, 0.0)).sum()
    return RegionComparison(
        regions=changed.reset_index(drop=True),
        benefit=Benefit(
            person_minutes_per_day=float(benefit),
            note="rule of half, 0.5 * sum (T0 + T1)(c0 - c1), on gravity-modelled "
            "kommune-to-kommune commuting (residents as proxy for workers and "
            "jobs), one-way trips",
        ),
    )


_compare_regions = compare_regions  # the earlier private name
