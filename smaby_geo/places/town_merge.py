"""Built-up areas that form one continuous settlement become one town.

N1000's ``Tettbebyggelse`` outlines are generalised to 1:1,000,000 and split what Statistics
Norway counts as one tettsted (Ålesund and Spjelkavik, Drammen and Krokstadelva), and grid
clusters grow beside them where the outline stops short. This module joins them by SSB's own
rule for delimiting tettsteder, applied to the 250 m population grid:

* SSB: "a cluster of houses is a tettsted if at least 200 people live there and the distance
  between the houses does not normally exceed 50 metres"; larger gaps are allowed where land
  cannot or shall not be built on (parks, sports grounds, industrial areas, rivers, farmland),
  and "house clusters that naturally belong to the tettsted are included up to a distance of
  400 metres from the core" (SSB, *Digitale tettstedsgrenser*, "Tettstedsdefinisjonen",
  ssb.no/a/kortnavn/beftett/digtettgr.html; the same text in SSB's glossary, "Tettsted").
  A tettsted spans kommune and county borders (SSB lists Fredrikstad/Sarpsborg and
  Stavanger/Sandnes as one tettsted each).
* On the grid the houses are not known, only residents per 250 m cell. A cell *carries* the
  settlement when its density reaches ``SETTLED_PER_KM2`` (300 residents per km², Eurostat
  DEGURBA's urban-cluster density; Dijkstra & Poelman 2014, DG REGIO WP 01/2014): about 19
  residents in a 250 m cell, the 8 houses of one street with houses 50 m apart on both
  sides. Sparser cells (a farm every few hundred metres) never join two towns.
* Two carrying cells are *continuous* when the open gap between their edges is at most
  ``MERGE_GAP_M`` (400 m, SSB's satellite distance): on the 250 m grid that is one empty or
  sparse cell in between, straight or diagonal; two empty cells (500 m) separate.

Every built-up area or grid cluster that a chain of continuous carrying cells links to another
becomes one town with the summed population; nothing else changes (a cell keeps its
residents and moves with its area, so population is conserved exactly). Water is a gap like
any other: a town across a sound wider than 400 m (Kvaløy, 1.3 km over Sandnessundet
from Tromsø) stays its own, as SSB also lists it. ``benchmarks/town_merge.py`` shows which
areas the rule joins and compares the towns with SSB's published tettsteder.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

# Density (residents per km²) of a grid cell that carries a settlement between two areas:
# Eurostat DEGURBA's urban-cluster density (Dijkstra & Poelman 2014).
SETTLED_PER_KM2 = 300.0
# Widest open gap (metres) between two carrying cells of one settlement: SSB's 400 m
# satellite distance (SSB, Digitale tettstedsgrenser, "Tettstedsdefinisjonen").
MERGE_GAP_M = 400.0


def measure_cell_gap_m(d_col, d_row, cell_size_m: float) -> np.ndarray:
    """Open gap between the edges of two grid cells ``d_col``, ``d_row`` cells apart (metres).

    Touching cells (8-neighbours) have gap 0; cells with one cell between them 250 m on a
    250 m grid (354 m diagonally).
    """
    gx = np.maximum(np.abs(np.asarray(d_col)) - 1, 0) * float(cell_size_m)
    gy = np.maximum(np.abs(np.asarray(d_row)) - 1, 0) * float(cell_size_m)
    return np.hypot(gx, gy)


def link_settlement_groups(
    col,
    row,
    group,
    population,
    *,
    cell_size_m: float,
    settled_per_km2: float = SETTLED_PER_KM2,
    merge_gap_m: float = MERGE_GAP_M,
) -> np.ndarray:
    """Merged label of each group of cells (built-up areas, grid clusters) by continuity.

    Parameters
    ----------
    col, row : array of int
        Grid column and row of every cell (cell units).
    group : array of int
        Group (area or cluster) of every cell, 0..n-1; -1 = in none.
    population : array of float
        Residents of every cell.
    cell_size_m : float
        Grid cell size (metres).
    settled_per_km2 : float, default 300
        Density (residents per km²) from which a cell carries the settlement
        (``SETTLED_PER_KM2``, DEGURBA).
    merge_gap_m : float, default 400
        Widest open gap (metres) between the edges of two carrying cells of one settlement
        (``MERGE_GAP_M``, SSB's satellite distance).

    Returns
    -------
    ndarray of int
        For each group 0..n-1 its merged label 0..m-1 (m <= n), numbered in order of the
        lowest group of each merged set; groups linked by a chain of carrying cells, each
        within ``merge_gap_m`` of the next, share a label.
    """
    group = np.asarray(group, dtype=np.int64)
    n = int(group.max()) + 1 if len(group) and group.max() >= 0 else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    for name, value, low in (
        ("cell_size_m", cell_size_m, "> 0"),
        ("settled_per_km2", settled_per_km2, "> 0"),
        ("merge_gap_m", merge_gap_m, ">= 0"),
    ):
        ok = isinstance(value, int | float | np.integer | np.floating) and np.isfinite(value)
        if not (ok and (value >= 0 if low == ">= 0" else value > 0)):
            # inf once overflowed in floor(merge_gap_m / cell_size_m)
            raise ValueError(f"{name} must be a finite number {low}, got {value!r}")
    pop = np.asarray(population, dtype=float)
    dense_pop = settled_per_km2 * (cell_size_m / 1000.0) ** 2
    idx = np.flatnonzero((group >= 0) & (pop >= dense_pop))
    edges_a = [np.arange(n)]
    edges_b = [np.arange(n)]
    if len(idx) > 1:
        c = np.asarray(col, dtype=np.int64)[idx]
        r = np.asarray(row, dtype=np.int64)[idx]
        reach = int(np.floor(merge_gap_m / cell_size_m)) + 1  # cells apart, per axis
        pairs = cKDTree(np.column_stack([c, r]).astype(float)).query_pairs(
            reach + 1e-9, p=np.inf, output_type="ndarray"
        )
        if len(pairs):
            i, j = pairs[:, 0], pairs[:, 1]
            ok = measure_cell_gap_m(c[i] - c[j], r[i] - r[j], cell_size_m) <= merge_gap_m + 1e-9
            gi, gj = group[idx[i[ok]]], group[idx[j[ok]]]
            diff = gi != gj
            edges_a.append(gi[diff])
            edges_b.append(gj[diff])
    a, b = np.concatenate(edges_a), np.concatenate(edges_b)
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    # renumber in order of first appearance (lowest group first), so areas keep their order
    _, first = np.unique(lab, return_index=True)
    order = np.argsort(first, kind="stable")
    renum = np.empty(len(order), dtype=np.int64)
    renum[order] = np.arange(len(order))
    return renum[lab]
