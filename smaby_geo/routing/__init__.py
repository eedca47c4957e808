"""Exact shortest paths: numba kernels over CSR arrays and a thin API on top."""

# first: a damaged numba cache file is then recompiled, not fatal (installs on import)
from smaby_geo.routing import _numba_cache  # noqa: F401
from smaby_geo.routing.api import (
    CSR,
    Route,
    as_csr,
    iter_many_to_all,
    many_to_all,
    map_many_to_all,
    nearest_facility,
    od_matrix_nodes,
    one_to_all,
    prepare,
    reverse_csr,
    route,
    routing_engine,
)
from smaby_geo.routing.ch import ContractionHierarchy, build_ch

__all__ = [
    "CSR",
    "ContractionHierarchy",
    "Route",
    "as_csr",
    "build_ch",
    "iter_many_to_all",
    "many_to_all",
    "map_many_to_all",
    "nearest_facility",
    "od_matrix_nodes",
    "one_to_all",
    "prepare",
    "reverse_csr",
    "route",
    "routing_engine",
]
