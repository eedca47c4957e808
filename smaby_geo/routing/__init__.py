"""Exact shortest paths: numba kernels over CSR arrays and a thin API on top."""

from smaby_geo.routing.api import (
    CSR,
    as_csr,
    many_to_all,
    nearest_facility,
    od_matrix_nodes,
    one_to_all,
    reverse_csr,
    route,
)

__all__ = [
    "CSR",
    "as_csr",
    "many_to_all",
    "nearest_facility",
    "od_matrix_nodes",
    "one_to_all",
    "reverse_csr",
    "route",
]
