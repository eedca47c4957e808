"""Gross reach of town centres: residents within each limit, exact with both link ends.

The hinterlands' counting step (``analysis.hinterlands``): per centre, the population whose
time to it is within each limit, with the main job's access model (METHODS §1): a cell and a
centre each enter the network through both ends of their links (``places.snapping``), and a
cell on a centre's own link may also go directly along it (``same_link_seconds``).
"""

from __future__ import annotations

import numpy as np

from smaby_geo.analysis._reach_kernels import town_thresholds
from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.snapping import Snapped, same_link_pairs, same_link_seconds
from smaby_geo.routing.api import many_to_all

# Centres per search block: two full rows each (to both ends of the centre's link).
BLOCK_CENTRES = 32


def town_reach(
    network: RoadNetwork,
    cells: Snapped,
    centres: Snapped,
    population: np.ndarray,
    rural: np.ndarray,
    nearest: np.ndarray,
    limits_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population within each limit of every centre (to the centre, access legs included).

    Parameters
    ----------
    network : RoadNetwork
    cells, centres : Snapped
        The snapped cells and the snapped, connected centres (``snap_points``).
    population : float64 (k,)
        Residents per cell.
    rural : bool (k,)
        Cells counted in the rural part.
    nearest : int64 (k,)
        Each cell's nearest centre (position in ``centres``; -1 = none).
    limits_s : float64 (q,)
        Limits in seconds (inclusive).

    Returns
    -------
    gross, other, rural_within : float64 (m, q)
        Per centre and limit: the population within it, the part of it whose nearest centre
        is another one, and the part of it in rural cells. Exact (no binning).
    """
    m, q = len(centres), len(limits_s)
    gross, other, grossr = np.zeros((m, q)), np.zeros((m, q)), np.zeros((m, q))
    # cells on a centre's own link (they may go directly along it), grouped by centre
    oi = np.flatnonzero(cells.connected)
    i, p_cen = same_link_pairs(cells.link[oi], centres.link)
    order = np.lexsort((oi[i], p_cen))
    p_cell, p_cen = oi[i][order], p_cen[order]
    p_sec = same_link_seconds(network, cells, p_cell, centres, p_cen)
    population = np.asarray(population, dtype=float)
    rural = np.asarray(rural, dtype=bool)
    nearest = np.asarray(nearest, dtype=np.int64)
    limits_s = np.asarray(limits_s, dtype=float)
    prev_columns, col_cells = None, None  # column of each cell's two link ends in the rows
    for b0 in range(0, m, BLOCK_CENTRES):
        blk = slice(b0, min(m, b0 + BLOCK_CENTRES))
        # two rows per centre, to each end of its link; rows in the sweep's column order
        # (no gather into node order); each cell's columns are looked up once
        times, column_nodes = many_to_all(
            network, centres.nodes[blk].ravel(), direction="to", columns="sweep"
        )
        if prev_columns is None or not np.array_equal(prev_columns, column_nodes):
            prev_columns = column_nodes
            col_of = np.empty(network.n_nodes, dtype=np.int64)
            col_of[column_nodes] = np.arange(len(column_nodes))
            col_cells = np.where(cells.connected[:, None], col_of[cells.nodes], -1)
        in_blk = (p_cen >= blk.start) & (p_cen < blk.stop)
        p_ptr = np.searchsorted(p_cen[in_blk] - b0, np.arange(blk.stop - b0 + 1))
        gross[blk], other[blk], grossr[blk] = town_thresholds(
            times,
            np.ascontiguousarray(centres.in_seconds[blk].ravel()),
            col_cells,
            cells.out_seconds,
            population,
            rural,
            nearest - b0,
            p_ptr.astype(np.int64),
            p_cell[in_blk],
            p_sec[in_blk],
            limits_s,
        )
    return gross, other, grossr
