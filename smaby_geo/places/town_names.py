"""Names of towns from Kartverket's N1000 place-name labels, by a rule with named distances.

A town takes the label of the largest place type (by > tettsted > ...) that lies inside its
outline or within ``NAME_RADIUS_M`` of it, and never a label that

* lies farther than ``NAME_RADIUS_M`` from the outline ("Slevik" named a Fredrikstad part
  11.6 km away before 0.3), or
* lies inside the outline of another town (it names that town).

A label standing beside two towns goes to the larger (the Ålesund label stands on the water
between Ålesund and Langevåg, nearer Langevåg's outline).

Each label goes to one town only (the most populous that wants it). A town left without a
label takes the name of its centre cell's kommune, numbered when the kommune's name is taken
("Kristiansand (2)"), and says so in ``name_source`` (``label`` or ``kommune``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from smaby_geo.places.placenames import PLACE_TYPE_RANK

# Labels are looked up this far (metres) from a town's outline. N1000 places a label beside
# its place symbol at 1:1,000,000 (1 mm on the map = 1 km), and the stored point is the
# midpoint of the label line (data README): a name of 6-8 letters printed about 10-12 mm long
# has its midpoint 5-6 km from the place (Mandal 5.4 km, Vossavangen 5.8 km from their towns).
NAME_RADIUS_M = 6000.0

# First words that N1000 prints on a line of their own above the rest of a name.
_NAME_PREFIXES = frozenset(
    {"Ytre", "Indre", "Nedre", "Øvre", "Store", "Vestre", "Østre", "Søndre", "Nordre", "Søre",
     "Midtre", "Gamle", "Nye"}
)


def resolve_primary_names(place_names: gpd.GeoDataFrame) -> np.ndarray:
    """The label each place name continues or stands under, else itself.

    N1000 stacks the parallel names of a place (Norwegian / Sami / Kven) as labels one above
    the other (Trondheim over Tråante, Tromsø over Romsa), and splits long names over two lines
    ("Krokstad-" over "elva", "Åmdals" over "verk", "Ytre" over "Arna"). Returns the full name
    of each label: a parallel town (``by``) name stacked within 3 km maps to the top label, a
    split name is joined. Other parallel names (e.g. Sami names of villages) are kept.
    """
    x = place_names.geometry.x.to_numpy()
    y = place_names.geometry.y.to_numpy()
    typ = place_names["place_type"].to_numpy()
    names = place_names["name"].astype(str).to_numpy()
    out = names.copy()
    tree = cKDTree(np.column_stack([x, y]))
    pairs = tree.query_pairs(4000.0, output_type="ndarray")
    upper_of: dict[int, int] = {}
    for i, j in pairs:
        hi, lo = (i, j) if y[i] > y[j] else (j, i)
        if abs(x[i] - x[j]) > 1000.0:
            continue
        if names[lo][:1].islower():  # a name continued on the next line
            sep = "" if names[hi].endswith("-") else " "
            out[hi] = out[lo] = names[hi].rstrip("- ") + sep + names[lo]
        elif names[hi] in _NAME_PREFIXES:
            out[hi] = out[lo] = f"{names[hi]} {names[lo]}"
        elif typ[i] == typ[j] == "by" and abs(y[i] - y[j]) <= 3000.0:
            upper_of.setdefault(lo, hi)  # parallel names of a town, stacked
    for lo in upper_of:
        top = lo
        while top in upper_of:  # three-name stacks: Vadsø / Čáhcesuolu / Vesisaari
            top = upper_of[top]
        if out[lo] == names[lo]:
            out[lo] = out[top]
    out = np.array([" ".join(str(n).split()) for n in out], dtype=object)
    return np.array([n.rstrip("-") for n in out], dtype=object)


def name_towns(
    place_names: gpd.GeoDataFrame | None,
    towns_geom,
    cx,
    cy,
    population,
    *,
    name_radius_m: float = NAME_RADIUS_M,
    kommune_names=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Name of each town by the module's rule.

    Parameters
    ----------
    place_names : GeoDataFrame or None
        ``read_place_names()`` output (``name``, ``place_type``, points, EPSG:25833).
    towns_geom : sequence of shapely geometries
        Outline of each town (EPSG:25833).
    cx, cy : array of float
        Centre of each town (EPSG:25833 metres).
    population : array
        Residents of each town (the most populous picks first).
    name_radius_m : float, default 6000
        Labels farther than this (metres) from the outline never name the town
        (``NAME_RADIUS_M``); nor do labels inside another town's outline.
    kommune_names : array of str, optional
        Kommune name of each town's centre cell: preferred among labels of one type (Alta,
        not its Kven name Alattio) and the fallback name.

    Returns
    -------
    name : ndarray of object
    name_distance_m : ndarray of float
        Distance (metres) from the label to the town's centre; NaN for a kommune name.
    name_source : ndarray of str
        ``label`` or ``kommune`` (no label within the rule: the kommune's name).
    """
    n = len(cx)
    name = np.full(n, None, dtype=object)
    dist = np.full(n, np.nan)
    if n and place_names is not None and len(place_names):
        pts = place_names.geometry.to_numpy()
        px, py = place_names.geometry.x.to_numpy(), place_names.geometry.y.to_numpy()
        rank = place_names["place_type"].map(PLACE_TYPE_RANK).fillna(99).to_numpy()
        names = resolve_primary_names(place_names)
        geom = np.asarray(towns_geom, dtype=object)
        ti, pi = shapely.STRtree(pts).query(geom, predicate="dwithin", distance=name_radius_m)
        # a label inside a town's outline names that town and no other
        in_t, in_p = shapely.STRtree(geom).query(pts, predicate="within")[::-1]
        owner = np.full(len(pts), -1, dtype=np.int64)
        owner[in_p] = in_t
        keep = (owner[pi] < 0) | (owner[pi] == ti)
        ti, pi = ti[keep], pi[keep]
        d = np.hypot(px[pi] - cx[ti], py[pi] - cy[ti])
        own = np.zeros(len(ti), dtype=bool)
        if kommune_names is not None:
            kn = np.asarray(kommune_names, dtype=object)[ti]
            own = np.array(
                [isinstance(k, str) and str(nm).casefold() in k.casefold().replace("-", " ").split()
                 for nm, k in zip(names[pi], kn, strict=True)],
                dtype=bool,
            )
        order = np.lexsort((d, ~own, rank[pi], ti))
        ti, pi, d = ti[order], pi[order], d[order]
        bounds = np.searchsorted(ti, np.arange(n + 1))
        used: set[str] = set()
        for t in np.argsort(-np.asarray(population), kind="stable"):
            cand = range(bounds[t], bounds[t + 1])
            pick = next(
                (c for c in cand if names[pi[c]] not in used and not names[pi[c]][:1].islower()),
                None,
            )
            if pick is not None:
                name[t], dist[t] = names[pi[pick]], d[pick]
                used.add(names[pi[pick]])
    source = np.where(name == None, "kommune", "label")  # noqa: E711 (object array)
    taken = {str(v) for v in name if v is not None}
    kn_all = (
        np.asarray(kommune_names, dtype=object) if kommune_names is not None
        else np.full(n, None, dtype=object)
    )
    for t in np.argsort(-np.asarray(population), kind="stable"):
        if name[t] is not None:
            continue
        base = str(kn_all[t]) if isinstance(kn_all[t], str) and kn_all[t] else f"town {t}"
        label, k = base, 2
        while label in taken:
            label, k = f"{base} ({k})", k + 1
        name[t] = label
        taken.add(label)
    return name, dist, source
