"""Scenario comparison (METHODS §5) and the YAML scenario format.

A scenario file::

    name: e39_hordfast
    description: E39 Halhjem-Sandvikvåg ferry replaced by a fixed link
    edits:
      - replace_ferry: {link_id: 14257, speed_kmh: 80}
      - upgrade: {road: Rv3, speed_kmh: 90}
      - new_link: {start: Tynset, end: [290000, 6900000], speed_kmh: 80, kind: tunnel}
      - ferry_headway: {near: [-34000, 6697000], headway_min: 30}
      - close_link: {link_ids: [14001]}
      - close_facility: {name: "Sykehuset Innlandet, Tynset"}
      - open_facility: {name: New hospital, service_type: hospital, at: Elverum}

Points are ``[x, y]`` in EPSG:25833 metres or N1000 place names.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from smaby_geo.analysis.traveltimes import travel_times
from smaby_geo.network.core import RoadNetwork
from smaby_geo.network.scenario import (
    CloseFacility,
    CloseLink,
    FerryHeadway,
    NewLink,
    OpenFacility,
    ReplaceFerry,
    Scenario,
    Upgrade,
)
from smaby_geo.places.placenames import find_place

SCENARIO_THRESHOLDS_MIN: tuple[int, ...] = (30, 45, 60, 75, 90)  # METHODS §5

_EDIT_KEYS = {
    "upgrade": (
        Upgrade,
        {"road", "link_ids", "area", "buffer_m", "speed_kmh", "factor", "keep_faster"},
    ),
    "new_link": (NewLink, {"start", "end", "speed_kmh", "kind", "max_snap_m"}),
    "replace_ferry": (ReplaceFerry, {"link_id", "near", "speed_kmh", "kind"}),
    "ferry_headway": (FerryHeadway, {"link_id", "near", "headway_min"}),
    "close_link": (CloseLink, {"link_ids"}),
    "close_facility": (CloseFacility, {"service_id", "name"}),
    "open_facility": (OpenFacility, {"name", "service_type", "at", "x", "y"}),
}
_TOP_KEYS = {"name", "description", "edits"}


class ScenarioFileError(ValueError):
    """A scenario file that cannot be read; the message names the key and line."""


def _point(value, where: str):
    if isinstance(value, str):
        try:
            return find_place(value)
        except KeyError as exc:
            raise ScenarioFileError(f"{where}: {exc.args[0]}") from None
    if isinstance(value, list | tuple) and len(value) == 2:
        return float(value[0]), float(value[1])
    raise ScenarioFileError(f"{where}: a point is [x, y] (EPSG:25833) or a place name")


def read_scenario(path: str | os.PathLike) -> Scenario:
    """Read a scenario YAML file.

    Raises
    ------
    ScenarioFileError
        Unknown keys or edit types (naming the key and its line), missing parts, bad points.
    """
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    root = yaml.compose(text)
    if root is None or not isinstance(root, yaml.MappingNode):
        raise ScenarioFileError(f"{path}: a scenario is a mapping with name and edits")

    def check_keys(node, allowed, what):
        for k, _ in node.value:
            if k.value not in allowed:
                raise ScenarioFileError(
                    f"{path}, line {k.start_mark.line + 1}: unknown key {k.value!r} in {what}; "
                    f"allowed: {sorted(allowed)}"
                )

    check_keys(root, _TOP_KEYS, "the scenario")
    data = yaml.safe_load(text)
    if "name" not in data or "edits" not in data:
        raise ScenarioFileError(f"{path}: a scenario needs 'name' and 'edits'")
    edits_node = next(v for k, v in root.value if k.value == "edits")
    if not isinstance(edits_node, yaml.SequenceNode):
        raise ScenarioFileError(
            f"{path}, line {edits_node.start_mark.line + 1}: 'edits' must be a list"
        )
    edits = []
    for item_node, item in zip(edits_node.value, data["edits"], strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict) or len(item) != 1:
            raise ScenarioFileError(f"{path}, line {line}: each edit is one 'type: {{...}}'")
        ((kind, params),) = item.items()
        if kind not in _EDIT_KEYS:
            raise ScenarioFileError(
                f"{path}, line {line}: unknown edit type {kind!r}; known: {sorted(_EDIT_KEYS)}"
            )
        cls, allowed = _EDIT_KEYS[kind]
        pnode = item_node.value[0][1]
        if isinstance(pnode, yaml.MappingNode):
            check_keys(pnode, allowed, f"edit {kind!r}")
        params = dict(params or {})
        where = f"{path}, line {line} ({kind})"
        for key in ("start", "end", "near"):
            if key in params:
                params[key] = _point(params[key], where)
        if kind == "open_facility" and "at" in params:
            params["x"], params["y"] = _point(params.pop("at"), where)
        if kind in ("upgrade", "close_link") and "link_ids" in params:
            params["link_ids"] = tuple(params["link_ids"])
        if kind == "upgrade" and "area" in params:
            import shapely

            params["area"] = shapely.from_wkt(params["area"])
        try:
            edits.append(cls(**params))
        except TypeError as exc:
            raise ScenarioFileError(f"{where}: {exc}") from None
    return Scenario(
        name=str(data["name"]), edits=edits, description=str(data.get("description", ""))
    )


def _weighted_mean(values, weights):
    w = np.asarray(weights, float)
    return float((np.asarray(values, float) * w).sum() / w.sum()) if w.sum() > 0 else np.nan


def compare(
    base: RoadNetwork,
    scenario_net: RoadNetwork,
    origins,
    services,
    scenario_services=None,
    *,
    types: list[str] | None = None,
    thresholds=SCENARIO_THRESHOLDS_MIN,
    base_table=None,
    kommuner=None,
    regions: bool = True,
    base_regions: dict | None = None,
) -> dict:
    """Compare a scenario with the base for every origin and service type.

    Parameters
    ----------
    base, scenario_net : RoadNetwork
    origins : GeoDataFrame with population (grid cells)
    services : GeoDataFrame, the base service layer
    scenario_services : GeoDataFrame, optional (after closures/openings)
    types : list of str, optional
    thresholds : minutes, default 30/45/60/75/90
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
    dict
        ``cells`` (base, scenario and delta minutes per type), ``kommuner`` (population-
        weighted mean change per kommune and type), ``thresholds`` (people crossing each
        threshold in each direction), ``catchments`` (people whose nearest site changed),
        ``regions`` (kommuner changing BA region), ``benefit`` (rule of half, person-minutes
        per day on modelled commuting flows), ``summary`` (per type).
    """
    sv1 = services if scenario_services is None else scenario_services
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = (
            base_table
            if base_table is not None
            else travel_times(base, origins, services, types=types)
        )
        types = types or t0.attrs["service_types"]
        t1 = travel_times(scenario_net, origins, sv1, types=types)
    pop = t0["population"].to_numpy(float)
    cells = t0[
        ["population", "geometry"]
        + [c for c in ("kommunenummer", "x_sw", "y_sw", "cell_size_m") if c in t0]
    ].copy()
    rows_k, rows_t, rows_c, rows_s = [], [], [], []
    for t in types:
        a = t0[f"{t}_minutes"].to_numpy(float)
        b = t1[f"{t}_minutes"].to_numpy(float)
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
        for thr in thresholds:
            rows_t.append(
                {
                    "service_type": t,
                    "minutes": thr,
                    "newly_within": int(pop[(a > thr) & (b <= thr)].sum()),
                    "newly_outside": int(pop[(a <= thr) & (b > thr)].sum()),
                }
            )
        s0, s1 = t0[f"{t}_site"].to_numpy(), t1[f"{t}_site"].to_numpy()
        changed = pd.Series(s0).fillna("") != pd.Series(s1).fillna("")
        rows_c.append(
            {
                "service_type": t,
                "cells_changed": int(changed.sum()),
                "population_changed": int(pop[changed.to_numpy()].sum()),
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
    out = {
        "cells": cells,
        "kommuner": pd.concat(rows_k, ignore_index=True) if rows_k else pd.DataFrame(),
        "thresholds": pd.DataFrame(rows_t),
        "catchments": pd.DataFrame(rows_c),
        "summary": pd.DataFrame(rows_s),
        "base_table": t0,
        "scenario_table": t1,
    }
    if regions and kommuner is not None:
        out.update(compare_regions(base, scenario_net, origins, kommuner, base_regions))
    return out


def prepare_region_base(base: RoadNetwork, origins, kommuner) -> dict:
    """The base half of ``compare``'s region comparison, computed once for many scenarios.

    Parameters
    ----------
    base : RoadNetwork
    origins : GeoDataFrame with population and ``kommunenummer`` (grid cells)
    kommuner : GeoDataFrame
        Kommune polygons.

    Returns
    -------
    dict
        Kommune-to-kommune car minutes, modelled flows, centres, adjacency and BA membership
        of the base; pass it to ``compare(..., base_regions=...)``.
    """
    import warnings

    from smaby_geo.analysis.regions import (
        DEFAULT_BETA_PER_MIN,
        adjacency,
        default_centres,
        delineate_ba,
        gravity_flows,
        kommune_times,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0, cen = kommune_times(base, origins)
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


def compare_regions(
    base: RoadNetwork, scen: RoadNetwork, origins, kommuner, base_regions: dict | None = None
) -> dict:
    """The region half of ``compare``: kommuner changing BA region and the rule-of-half benefit.

    Parameters
    ----------
    base, scen : RoadNetwork
        Base and scenario networks.
    origins : GeoDataFrame with population and ``kommunenummer``
    kommuner : GeoDataFrame
        Kommune polygons.
    base_regions : dict, optional
        ``prepare_region_base(base, origins, kommuner)`` to reuse.

    Returns
    -------
    dict
        ``regions`` (kommuner changing BA region) and ``benefit`` (person-minutes per day).
    """
    import warnings

    from smaby_geo.analysis.regions import (
        DEFAULT_BETA_PER_MIN,
        delineate_ba,
        gravity_flows,
        kommune_times,
    )

    rb = base_regions or prepare_region_base(base, origins, kommuner)
    c0, codes, pop, T0 = rb["c0"], rb["codes"], rb["pop"], rb["T0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c1, _ = kommune_times(scen, origins)
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
    return {
        "regions": changed.reset_index(drop=True),
        "benefit": {
            "person_minutes_per_day": float(benefit),
            "note": "rule of half, 0.5 * sum (T0 + T1)(c0 - c1), on gravity-modelled "
            "kommune-to-kommune commuting (residents as proxy for workers and "
            "jobs), one-way trips",
        },
    }


_compare_regions = compare_regions  # the earlier private name
