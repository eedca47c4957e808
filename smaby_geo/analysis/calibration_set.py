"""The calibration rows with their kommune centres (and origin cells) snapped to a network.

``CalibrationSet`` gives the model minutes of each row of a kommune-to-centre car-time table
(``analysis.calibration.read_calibration_table``) on a network and its re-timed copies, with
exact routing; ``analysis.calibration`` fits the profile on them (and re-exports this class).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smaby_geo.network.core import RoadNetwork
from smaby_geo.places.snapping import (
    AccessModel,
    Snapped,
    entry_offsets,
    same_link_seconds,
    snap_points,
)

__all__ = ["ORIGIN_MODES", "CalibrationSet"]

# How a row's model time is made (``CalibrationSet(origin=...)``).
ORIGIN_MODES: tuple[str, ...] = ("centre", "cells")


class CalibrationSet:
    """The calibration rows with their centre points (and origin cells) snapped once.

    Re-timed copies of the network (``RoadNetwork.with_profile``) keep the link table's rows,
    so the snapped points are re-bound to them without snapping again.

    Parameters
    ----------
    network : RoadNetwork
    rows : DataFrame
        ``read_calibration_table`` rows.
    centres : GeoDataFrame
        ``kommune_centres`` output, indexed by kommune number.
    access : AccessModel, optional
    origin : {"centre", "cells"}, default "centre"
        ``centre``: a row's time runs from the origin kommune's centre point to the nearer
        centre kommune's centre point. ``cells``: it is the population-weighted mean, over the
        origin kommune's populated grid cells (``cells``), of the time from the cell to the
        nearer centre kommune's centre point. TØI computes kommune times from the zones of
        the kommune (zone centroids, weighted), so its time is a mean over where people
        live, not the time from one central point: by Jensen's inequality a mean over
        spread-out origins is longer than the time from their centre on a short trip.
        Cells that reach no centre are left out of the mean and counted in
        ``unreached_population`` (per row).
    cells : DataFrame, optional
        Populated cells with point geometry (EPSG:25833), ``kommunenummer`` and
        ``population`` (``read_population_grid``); required for ``origin="cells"``.
    """

    def __init__(
        self,
        network: RoadNetwork,
        rows: pd.DataFrame,
        centres,
        access: AccessModel | None = None,
        *,
        origin: str = "centre",
        cells: pd.DataFrame | None = None,
    ) -> None:
        if origin not in ORIGIN_MODES:
            raise ValueError(f"CalibrationSet: origin {origin!r} is not one of {ORIGIN_MODES}")
        lacking = [c for c in ("from_kommunenummer", "centres", "car_minutes_toi") if c not in rows]
        if lacking:
            raise ValueError(
                f"CalibrationSet: rows lack {lacking}; read them with read_calibration_table"
            )
        minutes = pd.to_numeric(rows["car_minutes_toi"], errors="coerce").to_numpy(float)
        if not (np.isfinite(minutes) & (minutes > 0)).all():
            raise ValueError("CalibrationSet: car_minutes_toi must be finite minutes > 0")
        self.rows = rows.reset_index(drop=True)
        self.access = access or AccessModel()
        self.origin_mode = origin
        codes = sorted(
            set(self.rows["from_kommunenummer"]) | {c for cs in self.rows["centres"] for c in cs}
        )
        self.codes = codes
        unknown = [c for c in codes if c not in centres.index]
        if unknown:
            raise ValueError(
                f"CalibrationSet: no centre for kommune(s) {unknown[:10]}; give the kommune "
                "centres of every kommune in the rows (kommune_centres)"
            )
        pts = centres.loc[codes]
        self.snapped = snap_points(
            network, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), self.access
        )
        pos = {c: i for i, c in enumerate(codes)}
        self.origin = np.array([pos[c] for c in self.rows["from_kommunenummer"]])
        self.dest = [np.array([pos[c] for c in cs]) for cs in self.rows["centres"]]
        self.reference = self.rows["car_minutes_toi"].to_numpy(float)
        self.unreached_population = np.zeros(len(self.rows))
        if origin == "cells":
            if cells is None or not {"kommunenummer", "population"} <= set(cells.columns):
                raise ValueError(
                    "CalibrationSet(origin='cells') needs cells with kommunenummer and "
                    "population (read_population_grid)"
                )
            row_of = {k: i for i, k in enumerate(self.rows["from_kommunenummer"])}
            kn = cells["kommunenummer"].astype(str).map(row_of)
            pop = pd.to_numeric(cells["population"], errors="coerce").fillna(0).to_numpy(float)
            keep = (kn.notna() & (pop > 0)).to_numpy()
            c = cells.loc[keep]
            self.cell_row = kn[keep].to_numpy(dtype=np.int64)
            self.cell_population = pop[keep]
            missing = sorted(set(range(len(self.rows))) - set(self.cell_row.tolist()))
            if missing:
                raise ValueError(
                    "CalibrationSet(origin='cells'): no populated cells in kommuner "
                    f"{[self.rows['from_kommunenummer'].iloc[i] for i in missing]}"
                )
            self.cell_snapped = snap_points(
                network, c.geometry.x.to_numpy(), c.geometry.y.to_numpy(), self.access
            )

    def rebind(self, network: RoadNetwork, snapped: Snapped | None = None) -> Snapped:
        """The snapped centres (or ``snapped``) with link-end times of ``network``."""
        s = self.snapped if snapped is None else snapped
        nodes, out_s, in_s = entry_offsets(network, s.link, s.frac, s.leg_seconds)
        return Snapped(s.link, s.frac, s.distance_m, s.leg_seconds, s.connected, nodes, out_s, in_s)

    def model_minutes(
        self, network: RoadNetwork, subset: ArrayLike | None = None
    ) -> np.ndarray:
        """Model minutes of every row (or of ``subset``): to the nearer centre kommune.

        One reverse search per distinct set of centre kommuner (from both link ends of each
        centre), then each origin point (the centre, or each populated cell) leaves through
        the better end of its link, or runs along a shared link directly: exact shortest
        times. With ``origin="cells"`` a row's minutes are the population-weighted mean over
        its cells (``unreached_population`` updated for the rows computed).
        """
        from smaby_geo.routing.api import nearest_facility

        s = self.rebind(network)
        cells = self.origin_mode == "cells"
        cs = self.rebind(network, self.cell_snapped) if cells else None
        idx = np.arange(len(self.rows)) if subset is None else np.asarray(subset)
        out = np.full(len(idx), np.inf)
        groups: dict[tuple[int, ...], list[int]] = {}
        for k, i in enumerate(idx):
            groups.setdefault(tuple(self.dest[i].tolist()), []).append(k)
        for dest, ks in groups.items():
            d_idx = np.array(dest)
            offs = s.in_seconds[d_idx].ravel()
            nodes = s.nodes[d_idx].ravel()
            ok = np.isfinite(offs)
            if not ok.any():
                continue
            dist, _ = nearest_facility(network, nodes[ok], offsets=offs[ok])
            if cells:
                rows_k = idx[ks]
                sel = np.flatnonzero(np.isin(self.cell_row, rows_k))
                assert cs is not None  # bound above when the origins are cells
                a = cs
            else:
                sel = self.origin[idx[ks]]
                a = s
            t = np.minimum(
                a.out_seconds[sel, 0] + dist[a.nodes[sel, 0]],
                a.out_seconds[sel, 1] + dist[a.nodes[sel, 1]],
            )
            for j in d_idx:
                t = np.minimum(t, same_link_seconds(network, a, sel, s, np.full(len(sel), j)))
            if not cells:
                out[ks] = t / 60.0
                continue
            pos = {r: n for n, r in enumerate(rows_k)}
            g = np.array([pos[r] for r in self.cell_row[sel]], dtype=np.int64)
            w = self.cell_population[sel]
            fin = np.isfinite(t)
            num = np.bincount(g[fin], weights=w[fin] * t[fin], minlength=len(rows_k))
            den = np.bincount(g[fin], weights=w[fin], minlength=len(rows_k))
            lost = np.bincount(g[~fin], weights=w[~fin], minlength=len(rows_k))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[ks] = np.where(den > 0, num / den / 60.0, np.inf)
            self.unreached_population[rows_k] = lost
        return out
