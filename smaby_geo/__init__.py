"""smaby_geo: car travel times from rural Norway to small-town services.

Exact shortest car (and car-ferry) paths from every populated grid cell to the nearest
hospital, district court, police station and study centre, and what follows from them:
catchments, coverage, accessibility measures, labour-market regions, scenario comparison and
offline maps. Times are in minutes in every table (``*_minutes`` columns, ``cutoff_min``
parameters); coordinates are EPSG:25833 metres unless a name says otherwise.

A short tour
------------
::

    import smaby_geo as sg

    net = sg.load_network()                    # national Kartverket N1000, default CarProfile
    cells = sg.read_population_grid("250m")    # SSB grid with kommune labels
    services = sg.load_services()              # hospitals, courts, police, study centres
    table = sg.travel_times(net, cells, services)  # minutes to the nearest site of each type
    sg.summarise(table, by="kommunenummer")    # population-weighted medians and shares
    sg.catchments(table, "hospital", services)  # the cells each hospital serves, as polygons
    sg.coverage_curve(table, "hospital")       # people within each number of minutes
    sg.map_minutes(table, "hospital").save("hospital.html")  # an offline folium map

Scenarios edit a network and compare it with the base::

    scenario = sg.read_scenario("scenarios/e39_hordfast.yaml")
    edited = sg.apply_scenario(net, scenario)
    services_after = sg.apply_service_edits(services, scenario)  # its facility edits
    result = sg.compare(net, edited, cells, services, scenario_services=services_after)

The subpackages stay importable as namespaces, one per layer of the data flow
``network -> routing -> places -> analysis -> outputs``: ``smaby_geo.network``,
``smaby_geo.routing``, ``smaby_geo.places``, ``smaby_geo.analysis``, ``smaby_geo.outputs``,
and ``smaby_geo.datasets`` (the registry of real data). Names here are imported lazily, on
first use, so ``import smaby_geo`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from smaby_geo._version import __version__

# public name -> module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    # network: readers, the travel-time profile, scenario edits
    "RoadNetwork": "smaby_geo.network.core",
    "build_network": "smaby_geo.network.core",
    "clip_network": "smaby_geo.network.core",
    "CarProfile": "smaby_geo.network.profile",
    "FerryModel": "smaby_geo.network.profile",
    "load_network": "smaby_geo.network",
    "read_kartverket": "smaby_geo.network",
    "read_nvdb": "smaby_geo.network",
    "read_osm": "smaby_geo.network",
    "network_from_lines": "smaby_geo.network",
    "network_from_osmnx": "smaby_geo.network",
    "Scenario": "smaby_geo.network.scenario",
    "apply_scenario": "smaby_geo.network.scenario",
    "apply_service_edits": "smaby_geo.network.scenario",
    # routing
    "prepare": "smaby_geo.routing.api",
    "route": "smaby_geo.routing.api",
    # places
    "read_population_grid": "smaby_geo.places.population",
    "read_kommuner": "smaby_geo.places.population",
    "as_origins": "smaby_geo.places.population",
    "build_settlements": "smaby_geo.places.settlements",
    "load_services": "smaby_geo.places.services",
    "read_services": "smaby_geo.places.services",
    "services_from_osm": "smaby_geo.places.services",
    "read_place_names": "smaby_geo.places.placenames",
    "find_place": "smaby_geo.places.placenames",
    "AccessModel": "smaby_geo.places.snapping",
    "snap_points": "smaby_geo.places.snapping",
    "cell_squares": "smaby_geo.places.grid",
    "coarsen_cells": "smaby_geo.places.grid",
    # analysis: travel times
    "travel_times": "smaby_geo.analysis.traveltimes",
    "od_matrix": "smaby_geo.analysis.traveltimes",
    "summarise": "smaby_geo.analysis.traveltimes",
    "weighted_quantile": "smaby_geo.analysis.traveltimes",
    "trip": "smaby_geo.analysis.trips",
    # analysis: catchments and coverage
    "catchments": "smaby_geo.analysis.catchments",
    "facility_times": "smaby_geo.analysis.catchments",
    "population_within": "smaby_geo.analysis.catchments",
    "coverage_curve": "smaby_geo.analysis.catchments",
    "minutes_from_point": "smaby_geo.analysis.catchments",
    "minutes_from_facility": "smaby_geo.analysis.catchments",
    # analysis: accessibility measures
    "cumulative_opportunities": "smaby_geo.analysis.accessibility",
    "gravity": "smaby_geo.analysis.accessibility",
    "two_step_fca": "smaby_geo.analysis.accessibility",
    "enhanced_two_step_fca": "smaby_geo.analysis.accessibility",
    "step_weights": "smaby_geo.analysis.accessibility",
    "PolicyPreset": "smaby_geo.analysis.accessibility",
    "evaluate_preset": "smaby_geo.analysis.accessibility",
    # analysis: commuting flows and labour-market regions
    "read_commuting_table": "smaby_geo.analysis.flows",
    "flow_matrix": "smaby_geo.analysis.flows",
    "gravity_flows": "smaby_geo.analysis.flows",
    "calibrate_beta": "smaby_geo.analysis.flows",
    "BARules": "smaby_geo.analysis.regions",
    "delineate_regions": "smaby_geo.analysis.regions",
    "delineate_ba": "smaby_geo.analysis.regions",
    "delineate_by_time": "smaby_geo.analysis.regions",
    "region_polygons": "smaby_geo.analysis.regions",
    "LMAParameters": "smaby_geo.analysis.lma",
    "delineate_lma": "smaby_geo.analysis.lma",
    # analysis: scenarios
    "read_scenario": "smaby_geo.analysis.scenarios",
    "compare": "smaby_geo.analysis.scenarios",
    # outputs: maps, rasters, writers
    "map_minutes": "smaby_geo.outputs.maps",
    "map_catchments": "smaby_geo.outputs.maps",
    "map_regions": "smaby_geo.outputs.maps",
    "map_difference": "smaby_geo.outputs.maps",
    "static_map": "smaby_geo.outputs.static",
    "minutes_raster": "smaby_geo.outputs.rasters",
    "write_geotiff": "smaby_geo.outputs.rasters",
    "isochrones": "smaby_geo.outputs.rasters",
    "write_geoparquet": "smaby_geo.outputs.io",
    "write_gpkg": "smaby_geo.outputs.io",
    # the main job's helpers
    "select_region": "smaby_geo.places.admin",
    # data registry
    "locate_dataset": "smaby_geo.datasets",
    "attribution": "smaby_geo.datasets",
    # added with issues 11-17: calibration, towns and indicators, sweeps, data fetching
    "prior_profile": "smaby_geo.network.profile",
    "one_to_all": "smaby_geo.routing.api",
    "many_to_all": "smaby_geo.routing.api",
    "nearest_facility": "smaby_geo.routing.api",
    "kommune_centres": "smaby_geo.places.centres",
    "towns": "smaby_geo.places.towns",
    "explain_trip": "smaby_geo.analysis.trips",
    "unreachable_summary": "smaby_geo.analysis.traveltimes",
    "calibrated_profile": "smaby_geo.analysis.calibration",
    "fit_profile": "smaby_geo.analysis.calibration",
    "hinterlands": "smaby_geo.analysis.hinterlands",
    "centrality": "smaby_geo.analysis.centrality",
    "transport_performance": "smaby_geo.analysis.transport_performance",
    "map_towns": "smaby_geo.outputs.indicator_maps",
    "map_hinterlands": "smaby_geo.outputs.indicator_maps",
    "map_minutes_to_town": "smaby_geo.outputs.indicator_maps",
    "map_centrality": "smaby_geo.outputs.indicator_maps",
    "map_transport_performance": "smaby_geo.outputs.indicator_maps",
    "sweep_scenarios": "smaby_geo.sweep",
    "fetch_datasets": "smaby_geo.fetch",
    # added with issue 13/16: result types, the main job's table, grid dissolve
    "Route": "smaby_geo.routing.api",
    "Trip": "smaby_geo.analysis.trips",
    "Comparison": "smaby_geo.analysis.scenarios",
    "Benefit": "smaby_geo.analysis.scenarios",
    "RegionComparison": "smaby_geo.analysis.scenarios",
    "compare_regions": "smaby_geo.analysis.scenarios",
    "Regions": "smaby_geo.analysis.regions",
    "Hinterlands": "smaby_geo.analysis.hinterlands",
    "Centrality": "smaby_geo.analysis.centrality",
    "dissolve_cells": "smaby_geo.places.grid",
    "RunResult": "smaby_geo.pipeline",
    "run_travel_times": "smaby_geo.pipeline",
}

_SUBPACKAGES = ("analysis", "datasets", "network", "outputs", "places", "routing")

__all__ = [
    "AccessModel",
    "BARules",
    "Benefit",
    "CarProfile",
    "Centrality",
    "Comparison",
    "FerryModel",
    "Hinterlands",
    "LMAParameters",
    "PolicyPreset",
    "RegionComparison",
    "Regions",
    "RoadNetwork",
    "Route",
    "RunResult",
    "Scenario",
    "Trip",
    "__version__",
    "analysis",
    "apply_scenario",
    "apply_service_edits",
    "as_origins",
    "attribution",
    "build_network",
    "build_settlements",
    "calibrate_beta",
    "calibrated_profile",
    "catchments",
    "cell_squares",
    "centrality",
    "clip_network",
    "coarsen_cells",
    "compare",
    "compare_regions",
    "coverage_curve",
    "cumulative_opportunities",
    "datasets",
    "delineate_ba",
    "delineate_by_time",
    "delineate_lma",
    "delineate_regions",
    "dissolve_cells",
    "enhanced_two_step_fca",
    "evaluate_preset",
    "explain_trip",
    "facility_times",
    "fetch_datasets",
    "find_place",
    "fit_profile",
    "flow_matrix",
    "gravity",
    "gravity_flows",
    "hinterlands",
    "isochrones",
    "kommune_centres",
    "load_network",
    "load_services",
    "locate_dataset",
    "many_to_all",
    "map_catchments",
    "map_centrality",
    "map_difference",
    "map_hinterlands",
    "map_minutes",
    "map_minutes_to_town",
    "map_regions",
    "map_towns",
    "map_transport_performance",
    "minutes_from_facility",
    "minutes_from_point",
    "minutes_raster",
    "nearest_facility",
    "network",
    "network_from_lines",
    "network_from_osmnx",
    "od_matrix",
    "one_to_all",
    "outputs",
    "places",
    "population_within",
    "prepare",
    "prior_profile",
    "read_commuting_table",
    "read_kartverket",
    "read_kommuner",
    "read_nvdb",
    "read_osm",
    "read_place_names",
    "read_population_grid",
    "read_scenario",
    "read_services",
    "region_polygons",
    "route",
    "routing",
    "run_travel_times",
    "select_region",
    "services_from_osm",
    "snap_points",
    "static_map",
    "step_weights",
    "summarise",
    "sweep_scenarios",
    "towns",
    "transport_performance",
    "travel_times",
    "trip",
    "two_step_fca",
    "unreachable_summary",
    "weighted_quantile",
    "write_geoparquet",
    "write_geotiff",
    "write_gpkg",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"smaby_geo.{name}")
    raise AttributeError(f"module 'smaby_geo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see; nothing is imported at run time
    from smaby_geo import analysis, datasets, network, outputs, places, routing
    from smaby_geo.analysis.accessibility import (
        PolicyPreset,
        cumulative_opportunities,
        enhanced_two_step_fca,
        evaluate_preset,
        gravity,
        step_weights,
        two_step_fca,
    )
    from smaby_geo.analysis.calibration import calibrated_profile, fit_profile
    from smaby_geo.analysis.catchments import (
        catchments,
        coverage_curve,
        facility_times,
        minutes_from_facility,
        minutes_from_point,
        population_within,
    )
    from smaby_geo.analysis.centrality import Centrality, centrality
    from smaby_geo.analysis.flows import (
        calibrate_beta,
        flow_matrix,
        gravity_flows,
        read_commuting_table,
    )
    from smaby_geo.analysis.hinterlands import Hinterlands, hinterlands
    from smaby_geo.analysis.lma import LMAParameters, delineate_lma
    from smaby_geo.analysis.regions import (
        BARules,
        Regions,
        delineate_ba,
        delineate_by_time,
        delineate_regions,
        region_polygons,
    )
    from smaby_geo.analysis.scenarios import (
        Benefit,
        Comparison,
        RegionComparison,
        compare,
        compare_regions,
        read_scenario,
    )
    from smaby_geo.analysis.transport_performance import transport_performance
    from smaby_geo.analysis.traveltimes import (
        od_matrix,
        summarise,
        travel_times,
        unreachable_summary,
        weighted_quantile,
    )
    from smaby_geo.analysis.trips import Trip, explain_trip, trip
    from smaby_geo.datasets import attribution, locate_dataset
    from smaby_geo.fetch import fetch_datasets
    from smaby_geo.network import (
        load_network,
        network_from_lines,
        network_from_osmnx,
        read_kartverket,
        read_nvdb,
        read_osm,
    )
    from smaby_geo.network.core import RoadNetwork, build_network, clip_network
    from smaby_geo.network.profile import CarProfile, FerryModel, prior_profile
    from smaby_geo.network.scenario import Scenario, apply_scenario, apply_service_edits
    from smaby_geo.outputs.indicator_maps import (
        map_centrality,
        map_hinterlands,
        map_minutes_to_town,
        map_towns,
        map_transport_performance,
    )
    from smaby_geo.outputs.io import write_geoparquet, write_gpkg
    from smaby_geo.outputs.maps import map_catchments, map_difference, map_minutes, map_regions
    from smaby_geo.outputs.rasters import isochrones, minutes_raster, write_geotiff
    from smaby_geo.outputs.static import static_map
    from smaby_geo.pipeline import RunResult, run_travel_times
    from smaby_geo.places.admin import select_region
    from smaby_geo.places.centres import kommune_centres
    from smaby_geo.places.grid import cell_squares, coarsen_cells, dissolve_cells
    from smaby_geo.places.placenames import find_place, read_place_names
    from smaby_geo.places.population import as_origins, read_kommuner, read_population_grid
    from smaby_geo.places.services import load_services, read_services, services_from_osm
    from smaby_geo.places.settlements import build_settlements
    from smaby_geo.places.snapping import AccessModel, snap_points
    from smaby_geo.places.towns import towns
    from smaby_geo.routing.api import (
        Route,
        many_to_all,
        nearest_facility,
        one_to_all,
        prepare,
        route,
    )
    from smaby_geo.sweep import sweep_scenarios
