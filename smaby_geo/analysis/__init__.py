"""Analysis over travel times: nearest-facility tables, catchments, accessibility, regions.

One module per concern:

- ``traveltimes``: minutes from every origin to the nearest site of each service type
  (``travel_times``), origin x destination matrices (``od_matrix``) and area summaries;
- ``catchments``: catchment polygons, population within a time and coverage curves;
- ``accessibility``: cumulative-opportunity, gravity, 2SFCA and E2SFCA measures and policy
  presets;
- ``flows``: commuting tables, the doubly-constrained gravity model and its calibration;
- ``regions``: BA rules and travel-time regions, and ``delineate_regions`` over them all;
- ``lma``: labour-market areas by Coombes & Bond (2008);
- ``scenarios``: the YAML scenario format and scenario-versus-base comparison;
- ``trips``: the fastest trip between two places.
"""

from smaby_geo.analysis.accessibility import (
    PolicyPreset,
    cumulative_opportunities,
    enhanced_two_step_fca,
    evaluate_preset,
    gravity,
    step_weights,
    two_step_fca,
)
from smaby_geo.analysis.catchments import (
    catchments,
    coverage_curve,
    facility_times,
    minutes_from_facility,
    minutes_from_point,
    population_within,
)
from smaby_geo.analysis.flows import (
    calibrate_beta,
    flow_matrix,
    gravity_flows,
    read_commuting_table,
)
from smaby_geo.analysis.lma import LMAParameters, delineate_lma, lma_validity
from smaby_geo.analysis.regions import (
    BARules,
    delineate_ba,
    delineate_by_time,
    delineate_regions,
    kommune_times,
    region_polygons,
)
from smaby_geo.analysis.scenarios import compare, read_scenario
from smaby_geo.analysis.traveltimes import od_matrix, summarise, travel_times, weighted_quantile
from smaby_geo.analysis.trips import trip

__all__ = [
    "BARules",
    "LMAParameters",
    "PolicyPreset",
    "calibrate_beta",
    "catchments",
    "compare",
    "coverage_curve",
    "cumulative_opportunities",
    "delineate_ba",
    "delineate_by_time",
    "delineate_lma",
    "delineate_regions",
    "enhanced_two_step_fca",
    "evaluate_preset",
    "facility_times",
    "flow_matrix",
    "gravity",
    "gravity_flows",
    "kommune_times",
    "lma_validity",
    "minutes_from_facility",
    "minutes_from_point",
    "od_matrix",
    "population_within",
    "read_commuting_table",
    "read_scenario",
    "region_polygons",
    "step_weights",
    "summarise",
    "travel_times",
    "trip",
    "two_step_fca",
    "weighted_quantile",
]
