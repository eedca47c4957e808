"""Exact nearest-segment search over a uniform grid (numba kernel for link snapping).

Segments are bucketed into square grid cells by their bounding boxes. A point searches rings
of cells outward from its own until the nearest segment found is no farther than any segment
outside the rings can be (or the ring lies beyond the maximum distance). Pure functions over
arrays; the result equals a brute-force search (ties go to the lower segment number).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def build_grid(
    x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, cell_m: float
) -> tuple[float, float, int, int, np.ndarray, np.ndarray]:
    """Bucket segments into grid cells (CSR: ``ptr``, ``seg``) covering their bounding boxes.

    Returns
    -------
    (gx, gy, nx, ny, ptr int64 (nx*ny+1,), seg int64): origin, size and the cell lists.
    """
    gx, gy = float(min(x0.min(), x1.min())), float(min(y0.min(), y1.min()))
    cx0 = np.floor((np.minimum(x0, x1) - gx) / cell_m).astype(np.int64)
    cx1 = np.floor((np.maximum(x0, x1) - gx) / cell_m).astype(np.int64)
    cy0 = np.floor((np.minimum(y0, y1) - gy) / cell_m).astype(np.int64)
    cy1 = np.floor((np.maximum(y0, y1) - gy) / cell_m).astype(np.int64)
    nx, ny = int(cx1.max()) + 1, int(cy1.max()) + 1
    wx, wy = cx1 - cx0 + 1, cy1 - cy0 + 1
    count = wx * wy
    seg = np.repeat(np.arange(len(x0), dtype=np.int64), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    cx = cx0[seg] + k % wx[seg]
    cy = cy0[seg] + k // wx[seg]
    cell = cy * nx + cx
    order = np.argsort(cell, kind="stable")
    ptr = np.zeros(nx * ny + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=nx * ny), out=ptr[1:])
    return gx, gy, nx, ny, ptr, seg[order]


@njit(cache=True, inline="always")
def _seg_dist(px, py, x0, y0, x1, y1):
    dx = x1 - x0
    dy = y1 - y0
    ll = dx * dx + dy * dy
    t = 0.0
    if ll > 0.0:
        t = ((px - x0) * dx + (py - y0) * dy) / ll
        t = min(max(t, 0.0), 1.0)
    ex = px - (x0 + t * dx)
    ey = py - (y0 + t * dy)
    return np.sqrt(ex * ex + ey * ey), t


@njit(cache=True)
def _nearest_one(x, y, x0, y0, x1, y1, gx, gy, cell_m, nx, ny, ptr, seg, max_m):
    fx = (x - gx) / cell_m
    fy = (y - gy) / cell_m
    cx = int(np.floor(fx))
    cy = int(np.floor(fy))
    # distance from the point to the edges of its own cell
    margin = min(fx - cx, cx + 1 - fx, fy - cy, cy + 1 - fy) * cell_m
    bd = np.inf
    bs = -1
    bt = 0.0
    r = 0
    r_max = nx + ny + 2
    while r <= r_max:
        # every segment outside rings 0..r-1 lies at least this far away
        lb = (r - 1) * cell_m + margin if r > 0 else 0.0
        if lb > max_m or lb > bd:
            break
        for yy in range(cy - r, cy + r + 1):
            if yy < 0 or yy >= ny:
                continue
            edge_row = yy == cy - r or yy == cy + r
            step = 1 if (edge_row or r == 0) else 2 * r
            xx = cx - r
            while xx <= cx + r:
                if xx >= 0 and xx < nx:
                    c = yy * nx + xx
                    for k in range(ptr[c], ptr[c + 1]):
                        s = seg[k]
                        d, t = _seg_dist(x, y, x0[s], y0[s], x1[s], y1[s])
                        if d < bd or (d == bd and s < bs):
                            bd = d
                            bs = s
                            bt = t
                xx += step
        r += 1
    return bs, bd, bt


@njit(cache=True, parallel=True)
def nearest_segments(px, py, x0, y0, x1, y1, gx, gy, cell_m, nx, ny, ptr, seg, max_m):
    """Nearest segment of every point within ``max_m`` metres.

    Returns
    -------
    best int64 (-1 beyond ``max_m``), distance float64 (inf there), t float64 (position along
    the segment, 0..1).
    """
    n = px.shape[0]
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    tpos = np.zeros(n)
    for i in prange(n):
        bs, bd, bt = _nearest_one(
            px[i], py[i], x0, y0, x1, y1, gx, gy, cell_m, nx, ny, ptr, seg, max_m
        )
        if bs >= 0 and bd <= max_m:
            best[i] = bs
            dist[i] = bd
            tpos[i] = bt
    return best, dist, tpos
