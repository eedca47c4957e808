"""The RoadNetwork: directed CSR arrays of car travel times, with links traced back to source.

Nodes carry EPSG:25833 coordinates (metres). Every CSR edge points back to the row of the link
table it came from (link id, road category, road number, ferry flag, length).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from smaby_geo._compat import renamed_kwargs

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from smaby_geo.network.profile import CarProfile

NETWORK_CRS = "EPSG:25833"
# Report entries that build_network (re)computes; not carried over when rebuilding.
_BUILD_COUNTS = ("build_seconds", "self_loops_removed", "duplicate_edges_removed")
LINK_COLUMNS = (
    "link_id",
    "u",
    "v",
    "seconds_fw",
    "seconds_bw",
    "length_m",
    "category",
    "road_number",
    "ferry",
)


def csr_indptr(rows: np.ndarray, n: int) -> np.ndarray:
    """CSR row pointers (int64, length n + 1) for edges whose sorted source rows are ``rows``."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr


def reverse_arrays(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray):
    """Reverse a CSR graph.

    Returns
    -------
    (indptr, indices int32, weights, edge_ids): ``edge_ids`` gives, for each reverse edge, its
    position in the forward arrays.
    """
    n = indptr.shape[0] - 1
    src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    return csr_indptr(indices, n), src[order], weights[order], order.astype(np.int64)


@dataclass(eq=False)
class RoadNetwork:
    """A directed road network in compressed sparse row (CSR) form.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n_nodes + 1,)
        CSR row pointers: the out-edges of node ``i`` are ``indptr[i]:indptr[i+1]``.
    indices : ndarray of int32, shape (n_edges,)
        Target node of each edge.
    weights : ndarray of float64, shape (n_edges,)
        Car travel time of each edge in seconds (finite, >= 0).
    edge_link : ndarray of int64, shape (n_edges,)
        Row in ``links`` each edge comes from.
    node_x, node_y : ndarray of float64, shape (n_nodes,)
        Node coordinates in EPSG:25833 metres.
    links : pandas.DataFrame or geopandas.GeoDataFrame
        Source links with at least ``LINK_COLUMNS``; ``u``/``v`` are node numbers here.
    source : str
        Where the network came from (reader and file).
    attribution : str
        Data attribution to carry into outputs (e.g. "© Kartverket").
    report : dict
        What the build did: links read, excluded (by reason), self-loops and duplicate parallel
        edges removed, build seconds.
    routing_index : object
        Preprocessing attached by ``smaby_geo.routing.prepare`` (a contraction hierarchy), or
        None; routing queries use it when present.
    profile : CarProfile or None
        The profile the link times were computed with (None where the times came with the
        data only). Per link, ``links`` records the inputs of its time (``time_basis``,
        ``length_m``, ``category``, ``motorway``, ``urban_fraction``, ferry ``duration_s``,
        ``crossing_s``, ``headway_min``, ``wait_s`` ...; see ``smaby_geo.network.linktimes``).
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    edge_link: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    links: pd.DataFrame
    source: str = ""
    attribution: str = ""
    report: dict = field(default_factory=dict)
    crs: str = NETWORK_CRS
    routing_index: object = field(default=None, repr=False)
    profile: CarProfile | None = field(default=None, repr=False)

    def with_profile(self, profile: CarProfile) -> RoadNetwork:
        """Return a copy whose link times are recomputed for ``profile`` (no file is read).

        Links whose time came with the data (``time_basis == "given"``: NVDB minutes, scenario
        edits) keep it; every other link is re-timed by
        ``smaby_geo.network.linktimes.compute_link_times``, the function the readers use.
        Vectorised: about 0.1 s for N1000.

        Parameters
        ----------
        profile : CarProfile

        Returns
        -------
        RoadNetwork
            Same nodes and links, new times, ``profile`` set.
        """
        from smaby_geo.network.linktimes import compute_link_times
        from smaby_geo.network.profile import CarProfile

        if not isinstance(profile, CarProfile):
            raise ValueError(f"with_profile needs a CarProfile, got {type(profile).__name__}")
        from smaby_geo.network.roadside import with_grid_attribution

        links = compute_link_times(self.links, profile)
        report = {k: v for k, v in self.report.items() if k not in _BUILD_COUNTS}
        measured = links.attrs.pop("roadside_report", None)  # densities measured just now
        if measured is not None:
            report["roadside"] = measured
        return build_network(
            links,
            self.node_x,
            self.node_y,
            source=self.source,
            attribution=with_grid_attribution(self.attribution, measured),
            report=report,
            profile=profile,
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.indices.shape[0])

    @cached_property
    def edge_source(self) -> np.ndarray:
        """Source node of every CSR edge (int32)."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), np.diff(self.indptr))

    @cached_property
    def reverse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The reverse graph as CSR ``(indptr, indices, weights, edge_ids)``.

        ``edge_ids`` gives, for each reverse edge, its position in the forward arrays.
        """
        return reverse_arrays(self.indptr, self.indices, self.weights)

    @cached_property
    def edges(self) -> pd.DataFrame:
        """One row per directed CSR edge with its source link's attributes.

        Columns: ``from_node``, ``to_node``, ``seconds``, ``link_id``, ``category``,
        ``road_number``, ``ferry``, ``length_m``.
        """
        lk = self.links.iloc[self.edge_link]
        return pd.DataFrame(
            {
                "from_node": self.edge_source,
                "to_node": self.indices,
                "seconds": self.weights,
                "link_id": lk["link_id"].to_numpy(),
                "category": lk["category"].to_numpy(),
                "road_number": lk["road_number"].to_numpy(),
                "ferry": lk["ferry"].to_numpy(dtype=bool),
                "length_m": lk["length_m"].to_numpy(),
            }
        )

    def to_scipy(self) -> sparse.csr_matrix:
        """Return the network as a scipy CSR matrix of seconds.

        Zero-time edges are stored as the smallest positive float, since scipy treats explicit
        zeros as missing edges.
        """
        w = np.where(self.weights == 0, np.finfo(float).tiny, self.weights)
        return sparse.csr_matrix((w, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))

    @cached_property
    def _component_labels(self) -> tuple[int, np.ndarray]:
        return csgraph.connected_components(self.to_scipy(), directed=True, connection="strong")

    def components(self) -> pd.DataFrame:
        """Strongly connected components, largest first.

        Returns
        -------
        pandas.DataFrame
            One row per component: ``component``, ``nodes``, ``edges``, ``km`` (length of
            the links inside it), ``ferry_edges``, ``share_nodes``.
        """
        n, labels = self._component_labels
        e_lab = labels[self.edge_source]
        internal = e_lab == labels[self.indices]
        ferry = self.links["ferry"].to_numpy(dtype=bool)[self.edge_link]
        lu = labels[self.links["u"].to_numpy()]
        l_in = lu == labels[self.links["v"].to_numpy()]
        lengths = self.links["length_m"].to_numpy()
        df = pd.DataFrame(
            {
                "component": np.arange(n),
                "nodes": np.bincount(labels, minlength=n),
                "edges": np.bincount(e_lab[internal], minlength=n),
                "km": np.bincount(lu[l_in], weights=lengths[l_in], minlength=n) / 1000.0,
                "ferry_edges": np.bincount(e_lab[internal & ferry], minlength=n),
            }
        )
        df["share_nodes"] = df["nodes"] / max(self.n_nodes, 1)
        return df.sort_values(["nodes", "component"], ascending=[False, True]).reset_index(
            drop=True
        )

    @property
    def node_component(self) -> np.ndarray:
        """Strong component label of every node (see ``components``)."""
        return self._component_labels[1]

    def largest_component(self) -> RoadNetwork:
        """Return a new network restricted to the largest strongly connected component.

        The removed nodes and links are counted in ``report["dropped_to_largest"]``.
        """
        comps = self.components()
        keep_label = int(comps["component"].iloc[0])
        keep_nodes = self.node_component == keep_label
        keep_links = keep_nodes[self.links["u"].to_numpy()] & keep_nodes[self.links["v"].to_numpy()]
        new_id = np.full(self.n_nodes, -1, dtype=np.int64)
        new_id[keep_nodes] = np.arange(int(keep_nodes.sum()))
        links = self.links.loc[keep_links].copy()
        links["u"] = new_id[links["u"].to_numpy()]
        links["v"] = new_id[links["v"].to_numpy()]
        report = {k: v for k, v in self.report.items() if k not in _BUILD_COUNTS}
        report["dropped_to_largest"] = {
            "components": int(len(comps) - 1),
            "nodes": int(self.n_nodes - keep_nodes.sum()),
            "links": int((~keep_links).sum()),
        }
        return build_network(
            links.reset_index(drop=True),
            self.node_x[keep_nodes],
            self.node_y[keep_nodes],
            source=self.source,
            attribution=self.attribution,
            report=report,
            profile=self.profile,
        )

    @cached_property
    def _kdtree(self):
        from scipy.spatial import cKDTree

        from smaby_geo.network.ferry import transfer_links

        keep = np.ones(self.n_nodes, dtype=bool)  # not a ferry route's copy (ferry.py)
        keep[self.links["v"].to_numpy()[transfer_links(self.links)]] = False
        nodes = np.flatnonzero(keep)
        return cKDTree(np.column_stack([self.node_x[nodes], self.node_y[nodes]])), nodes

    def nearest_nodes(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest node of each point and the straight-line distance to it.

        Parameters
        ----------
        x, y : array-like of float
            Coordinates in EPSG:25833 metres.

        Returns
        -------
        nodes : ndarray of int64
        distance_m : ndarray of float64

        Raises
        ------
        ValueError
            For a point that is not finite, or so far away that its distance to the network
            overflows (the message names the point); the network has no node to offer it.
        """
        xy = np.column_stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()])
        bad = ~np.isfinite(xy).all(axis=1)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"point ({xy[k, 0]!r}, {xy[k, 1]!r}) is not finite; give x, y as finite "
                "EPSG:25833 metres"
            )
        d, i = self._kdtree[0].query(xy)
        i = np.asarray(i, dtype=np.int64)
        # the kd-tree answers n (one past the last node) where the distance overflows to inf
        far = i >= len(self._kdtree[1])
        if far.any():
            k = int(np.flatnonzero(far)[0])
            raise ValueError(
                f"point ({xy[k, 0]!r}, {xy[k, 1]!r}) lies too far from the network to measure; "
                "give x, y as EPSG:25833 metres in Norway"
            )
        return self._kdtree[1][i], np.asarray(d, dtype=float)

    def summary(self) -> dict:
        """Return headline figures: nodes, edges, km by category, ferry links, components."""
        from smaby_geo.network.describe import summarize_network

        return summarize_network(self)

    def describe(self) -> str:
        """Return ``summary()`` as readable text."""
        from smaby_geo.network.describe import describe_network

        return describe_network(self)


def build_network(
    links: pd.DataFrame,
    node_x: np.ndarray,
    node_y: np.ndarray,
    *,
    source: str = "",
    attribution: str = "",
    report: dict | None = None,
    profile: CarProfile | None = None,
) -> RoadNetwork:
    """Build a RoadNetwork from a link table whose ends are already node numbers.

    Parameters
    ----------
    links : DataFrame
        Columns ``LINK_COLUMNS``: ``u``, ``v`` node numbers (int), ``seconds_fw`` (u->v) and
        ``seconds_bw`` (v->u) travel times in seconds, ``inf`` where that direction is closed.
    node_x, node_y : ndarray
        Node coordinates, EPSG:25833 metres.
    source, attribution : str
        Provenance carried by the network.
    report : dict, optional
        Earlier build steps' report, extended here.
    profile : CarProfile, optional
        The profile the times were computed with, carried by the network.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    ValueError
        If times are NaN or negative (naming the link ids), columns are missing, or node
        numbers are out of range.
    """
    t0 = time.perf_counter()
    missing = [c for c in LINK_COLUMNS if c not in links.columns]
    if missing:
        raise ValueError(f"links is missing columns {missing}; it needs {list(LINK_COLUMNS)}")
    report = dict(report or {})
    node_x = np.asarray(node_x, dtype=np.float64)
    node_y = np.asarray(node_y, dtype=np.float64)
    n = node_x.shape[0]
    u = links["u"].to_numpy(dtype=np.int64)
    v = links["v"].to_numpy(dtype=np.int64)
    if len(u) and (u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n):
        raise ValueError(f"links: node numbers must lie in 0..{n - 1}")
    fw = links["seconds_fw"].to_numpy(dtype=np.float64)
    bw = links["seconds_bw"].to_numpy(dtype=np.float64)
    ids = links["link_id"].to_numpy()
    for name, arr in (("seconds_fw", fw), ("seconds_bw", bw)):
        bad = np.isnan(arr)
        if bad.any():
            raise ValueError(
                f"links: {int(bad.sum())} links have a NaN travel time ({name}); link ids "
                f"{ids[bad][:10].tolist()}. Give every link a speed or time (inf closes a "
                "direction)."
            )
        bad = arr < 0
        if bad.any():
            raise ValueError(
                f"links: {int(bad.sum())} links have a negative travel time ({name}); link ids "
                f"{ids[bad][:10].tolist()}."
            )
    rows = np.arange(len(u), dtype=np.int64)
    ok_f, ok_b = np.isfinite(fw), np.isfinite(bw)
    src = np.concatenate([u[ok_f], v[ok_b]])
    dst = np.concatenate([v[ok_f], u[ok_b]])
    w = np.concatenate([fw[ok_f], bw[ok_b]])
    row = np.concatenate([rows[ok_f], rows[ok_b]])
    loops = src == dst
    report["self_loops_removed"] = report.get("self_loops_removed", 0) + int(loops.sum())
    src, dst, w, row = src[~loops], dst[~loops], w[~loops], row[~loops]
    # Parallel edges: keep the fastest (scipy's coo->csr would sum them).
    order = np.lexsort((row, w, dst, src))
    src, dst, w, row = src[order], dst[order], w[order], row[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    report["duplicate_edges_removed"] = report.get("duplicate_edges_removed", 0) + int(
        (~first).sum()
    )
    src, dst, w, row = src[first], dst[first], w[first], row[first]
    indptr = csr_indptr(src, n)
    report["build_seconds"] = report.get("build_seconds", 0.0) + (time.perf_counter() - t0)
    return RoadNetwork(
        indptr=indptr,
        indices=dst.astype(np.int32),
        weights=w.astype(np.float64),
        edge_link=row,
        node_x=node_x,
        node_y=node_y,
        links=links,
        source=source,
        attribution=attribution,
        report=report,
        profile=profile,
    )


@renamed_kwargs(net="network")
def clip_network(network: RoadNetwork, area: shapely.Geometry) -> RoadNetwork:
    """Return the sub-network of links that intersect ``area`` (a shapely geometry, EPSG:25833).

    Nodes are renumbered; links keep their ids and attributes; ``report["clipped"]`` says so.

    Raises
    ------
    ValueError
        If the network has no link geometry or nothing intersects ``area``.
    """
    import geopandas as gpd

    if not isinstance(network.links, gpd.GeoDataFrame):
        raise ValueError("clip_network needs a network whose links have geometry")
    idx = network.links.sindex.query(area, predicate="intersects")
    if len(idx) == 0:
        raise ValueError("clip_network: no link intersects the given area")
    links = network.links.iloc[np.sort(idx)].copy()
    used = np.unique(np.concatenate([links["u"].to_numpy(), links["v"].to_numpy()]))
    new_id = np.full(network.n_nodes, -1, dtype=np.int64)
    new_id[used] = np.arange(len(used))
    links["u"] = new_id[links["u"].to_numpy()]
    links["v"] = new_id[links["v"].to_numpy()]
    report = {k: v for k, v in network.report.items() if k not in _BUILD_COUNTS}
    report["clipped"] = {"links_kept": len(links), "links_before": len(network.links)}
    return build_network(
        links.reset_index(drop=True),
        network.node_x[used],
        network.node_y[used],
        source=f"{network.source}, clipped",
        attribution=network.attribution,
        report=report,
        profile=network.profile,
    )
