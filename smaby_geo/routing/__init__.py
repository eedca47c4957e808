"""Exact shortest paths: numba kernels over CSR arrays and a thin API on top."""

# first: a damaged numba cache file is then recompiled, not fatal (installs on import)
from smaby_geo.routing import _numba_cache  # noqa: F401
from smaby_geo.routing.api import (
    CSR,
    as_csr,
    many_to_all,
    nearest_facility,
    od_matrix_nodes,
    one_to_all,
    prepare,
    reverse_csr,
    route,
)
from smaby_geo.routing.ch import ContractionHierarchy, build_ch

__all__ = [
    "CSR",
    "ContractionHierarchy",
    "as_csr",
    "build_ch",
    "many_to_all",
    "nearest_facility",
    "od_matrix_nodes",
    "one_to_all",
    "prepare",
    "reverse_csr",
    "route",
]
