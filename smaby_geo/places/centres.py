"""Kommune centre points, and car times between them (the input of labour-market regions).

The centre rule (``kommune_centres``): by default ``"population_weighted"``, the kommune's
population centre of gravity (the population-weighted mean of its grid cells), which then
joins the road network at the nearest link like every other point. Why: the official
kommune-to-centre car times that the BA-region thresholds (45/75 minutes) are defined on
(TØI's table, ``benchmarks/calibrate_speeds.py``) match it: with the default profile, times
between population centres of gravity are a median 3.7 % below TØI's, times between the
densest 1 km squares 20 % below (the town cores sit closer together than the people do).
The other rule, ``"densest_km"`` (the most populous 1 km square of the kommune, and in it the
population-weighted mean of the kommune's cells), gives the main town's core: use it for
town-to-town trips (``town_point`` uses it for named places). A centre of gravity can fall in
a fjord; snapping to the nearest link (not node) keeps its access leg short, and the
benchmark lists the kommuner where it still matters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.snapping import AccessModel, Snapped, same_link_seconds, snap_points
from smaby_geo.routing.api import many_to_all

CentreRule = Literal["densest_km", "population_weighted"]
CENTRE_RULES: tuple[str, ...] = ("densest_km", "population_weighted")
# The SSB grid's coarse square (metres): the centre rule's search unit.
CENTRE_SQUARE_M = 1000.0


def kommune_centres(
    cells: pd.DataFrame,
    rule: CentreRule = "population_weighted",
    *,
    square_m: float = CENTRE_SQUARE_M,
) -> gpd.GeoDataFrame:
    """One centre point per kommune, from populated grid cells.

    Parameters
    ----------
    cells : GeoDataFrame
        Point (cell-centre) geometry in EPSG:25833 metres, ``kommunenummer`` and
        ``population`` (``read_population_grid`` or ``travel_times`` output).
    rule : {"population_weighted", "densest_km"}
        ``population_weighted`` (default): the population-weighted mean of all the kommune's
        cells (its population centre of gravity). ``densest_km``: the most populous
        ``square_m`` square of the kommune, and in it the population-weighted mean of the
        kommune's cells (ties: the square with the smallest x, then y). See the module
        docstring for the choice.
    square_m : float, default 1000
        Side of the search square in metres (the SSB 1 km grid).

    Returns
    -------
    GeoDataFrame indexed by ``kommunenummer``: ``population`` (the kommune's people in
    ``cells``), ``centre_population`` (people in the chosen square; the whole kommune for
    ``population_weighted``), point geometry (EPSG:25833).

    Raises
    ------
    ValueError
        Unknown rule, missing columns, or a non-positive ``square_m``.
    """
    if rule not in CENTRE_RULES:
        raise ValueError(f"kommune_centres: rule {rule!r} is not one of {', '.join(CENTRE_RULES)}")
    missing = [c for c in ("kommunenummer", "population") if c not in cells.columns]
    if missing:
        raise ValueError(f"kommune_centres: cells have no column(s) {missing}")
    if not (np.isfinite(square_m) and square_m > 0):
        raise ValueError(f"kommune_centres: square_m must be a positive number, got {square_m!r}")
    c = cells[cells["kommunenummer"].notna()]
    pts = c.geometry if c.geometry.geom_type.eq("Point").all() else c.geometry.centroid
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    p = c["population"].to_numpy(float)
    k = c["kommunenummer"].to_numpy()
    g = pd.DataFrame({"k": k, "p": p, "px": p * x, "py": p * y})
    total = g.groupby("k")["p"].sum()
    if rule == "densest_km":
        g["bx"] = np.floor(x / square_m)
        g["by"] = np.floor(y / square_m)
        sq = g.groupby(["k", "bx", "by"], sort=True)[["p", "px", "py"]].sum().reset_index()
        # most populous square; ties to the smallest (bx, by): sort is stable on the key order
        sq = sq.sort_values(["k", "p", "bx", "by"], ascending=[True, False, True, True])
        s = sq.groupby("k", sort=True).first()
    else:
        s = g.groupby("k", sort=True)[["p", "px", "py"]].sum()
    w = np.maximum(s["p"].to_numpy(), 1e-12)
    return gpd.GeoDataFrame(
        {
            "population": total.loc[s.index].astype(np.int64).to_numpy(),
            "centre_population": s["p"].astype(np.int64).to_numpy(),
        },
        index=s.index.rename("kommunenummer"),
        geometry=gpd.points_from_xy(s["px"].to_numpy() / w, s["py"].to_numpy() / w),
        crs=cells.crs,
    )


def kommune_times(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    *,
    centres: gpd.GeoDataFrame | None = None,
    rule: CentreRule = "population_weighted",
    access: AccessModel | None = None,
    method: str = "auto",
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Car minutes between kommune centres, with internal times on the diagonal.

    The diagonal holds each kommune's internal time: the population-weighted mean minutes from
    its populated cells to its centre (cells without a route are left out of that mean).
    Every point attaches to its nearest link (``places.snapping``); times are exact.

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        Populated cells with ``kommunenummer`` and ``population``.
    centres : GeoDataFrame, optional
        Centre points indexed by ``kommunenummer``; default ``kommune_centres(cells, rule)``.
    rule : {"population_weighted", "densest_km"}
        Centre rule when ``centres`` is not given.
    access : AccessModel, optional
        Access legs (default ``AccessModel()``).
    method : {"auto", "dijkstra", "ch"}
        Search engine (``routing.many_to_all``). Times from a contraction hierarchy and from
        plain Dijkstra are equal only to float rounding (a shortcut adds its links' seconds in
        another order), so two networks whose times are subtracted (a scenario and its base)
        must use the same engine: ``analysis.scenarios`` uses ``"dijkstra"`` on both.

    Returns
    -------
    times : DataFrame (kommune x kommune) minutes, from the row's centre to the column's;
        ``inf`` where there is no route.
    centres : GeoDataFrame of the centres used.
    """
    access = access or AccessModel()
    centres = kommune_centres(cells, rule) if centres is None else centres
    sc = snap_points(network, centres.geometry.x.to_numpy(), centres.geometry.y.to_numpy(), access)
    # one reverse search per link end of every centre: rows[j] = seconds from every node to
    # centre j, entering its link at either end
    ends = sc.nodes.ravel()
    rows = many_to_all(network, ends, direction="to", method=method)
    c = cells[cells["kommunenummer"].isin(centres.index)]
    k_idx = centres.index.get_indexer(c["kommunenummer"])
    pts = c.geometry if c.geometry.geom_type.eq("Point").all() else c.geometry.centroid
    so = snap_points(network, pts.x.to_numpy(), pts.y.to_numpy(), access)
    between = kommune_minutes_from_rows(
        network, rows, sc, so, k_idx, c["population"].to_numpy(float)
    )
    return pd.DataFrame(between, index=centres.index, columns=centres.index), centres


def kommune_minutes_from_rows(
    network: RoadNetwork,
    rows: np.ndarray,
    sc: Snapped,
    so: Snapped,
    k_idx: np.ndarray,
    cell_population: np.ndarray,
) -> np.ndarray:
    """Kommune-to-kommune minutes from the reverse searches to the centres' link ends.

    Parameters
    ----------
    network : RoadNetwork
    rows : ndarray (2K, n_nodes) or (K, 2, n_nodes)
        Seconds from every node to both link ends of each of the K centres
        (``many_to_all(network, sc.nodes.ravel(), direction="to")``).
    sc : Snapped
        The K centres.
    so : Snapped
        The populated cells; ``k_idx`` (int array) is the kommune (centre) of each.
    cell_population : ndarray
        Residents of each cell.

    Returns
    -------
    ndarray (K, K), minutes from the row's centre to the column's (through either link end
    or directly along a shared link; ``inf`` = no route); the diagonal is the
    population-weighted mean time from the kommune's cells to its own centre.
    """
    K = len(sc)
    rows = rows.reshape(K, 2, network.n_nodes)
    to_centre = np.minimum(
        rows[:, 0, :] + sc.in_seconds[:, [0]], rows[:, 1, :] + sc.in_seconds[:, [1]]
    )
    to_centre[~sc.connected] = np.inf

    def seconds(s: Snapped, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Points ``s[i]`` to centres ``j``: leaving through either link end, or along it."""
        a = s.out_seconds[i, 0] + to_centre[j, s.nodes[i, 0]]
        b = s.out_seconds[i, 1] + to_centre[j, s.nodes[i, 1]]
        return np.minimum(np.minimum(a, b), same_link_seconds(network, s, i, sc, j))

    gi, gj = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    between = seconds(sc, gi.ravel(), gj.ravel()).reshape(K, K) / 60.0
    sec = seconds(so, np.arange(len(so)), k_idx)
    ok = np.isfinite(sec)
    num = np.bincount(k_idx[ok], weights=(cell_population * sec)[ok], minlength=K)
    den = np.bincount(k_idx[ok], weights=cell_population[ok], minlength=K)
    internal = np.where(den > 0, num / np.maximum(den, 1e-12) / 60.0, 0.0)
    np.fill_diagonal(between, internal)
    return between


# Named places: N1000 place-name points are label positions placed for the map (Trondheim's
# lies in the fjord, 6.6 km north of the centre and nearer to the Fosen shore). A trip between
# named places starts at the town itself: the most populous 1 km square within this radius of
# the label, by the same rule as ``kommune_centres``.
TOWN_SEARCH_RADIUS_M = 5000.0


@lru_cache(maxsize=1)
def _grid_250m() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from smaby_geo import datasets
    from smaby_geo.ssb_grid import read_grid_cells

    x, y, pop = read_grid_cells(datasets.locate_dataset("popgrid_250m"))
    return x, y, pop.astype(float)


def town_point(
    x: float,
    y: float,
    *,
    radius_m: float = TOWN_SEARCH_RADIUS_M,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """The populated centre of the town nearest a place-name label point.

    Parameters
    ----------
    x, y : float
        Label point, EPSG:25833 metres.
    radius_m : float, default 5000
        Search radius around the label (``TOWN_SEARCH_RADIUS_M``).
    grid : (x, y, population) arrays of cell centres, optional
        Default: the SSB 250 m grid from the registry.

    Returns
    -------
    (x, y) of the population-weighted mean of the most populous 1 km square within
    ``radius_m`` (``kommune_centres``' rule); the label itself where nobody lives within it.
    """
    gx, gy, gp = grid if grid is not None else _grid_250m()
    near = (np.abs(gx - x) <= radius_m) & (np.abs(gy - y) <= radius_m)
    near[near] = np.hypot(gx[near] - x, gy[near] - y) <= radius_m
    if not near.any() or gp[near].sum() <= 0:
        return float(x), float(y)
    cx, cy, cp = gx[near], gy[near], gp[near]
    sq = (
        pd.DataFrame(
            {
                "bx": np.floor(cx / CENTRE_SQUARE_M),
                "by": np.floor(cy / CENTRE_SQUARE_M),
                "p": cp,
                "px": cp * cx,
                "py": cp * cy,
            }
        )
        .groupby(["bx", "by"], sort=True)
        .sum()
    )
    best = sq.sort_values("p", ascending=False, kind="stable").iloc[0]
    return float(best["px"] / best["p"]), float(best["py"] / best["p"])
