"""Service layers: hospitals, court venues, police and study centres.

The shipped tables are compiled from cited sources and are INCOMPLETE (see ``SHIPPED_COVERAGE``);
every layer carries that note in ``attrs["note"]`` and the outputs repeat it. Users can replace
them with their own file (``read_services``) or OpenStreetMap (``services_from_osm``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from smaby_geo import datasets
from smaby_geo._compat import renamed_kwargs
from smaby_geo.network.core import NETWORK_CRS
from smaby_geo.places._tables import (
    NORWAY_EXTENT_25833,
    ServicesFileError,
    looks_like_lonlat,
    name_sites,
    read_services_table,
)

SERVICE_TYPES: tuple[str, ...] = ("hospital", "court", "police", "study_centre")

# Original `service_type` values of the shipped tables -> normalised type.
SUBTYPE_TO_TYPE = {
    "hospital_akuttmottak": "hospital",
    "hospital_somatic_unverified_acute": "hospital",
    "tingrett_rettssted": "court",
    "police_politistasjon": "police",
    "police_lensmannskontor": "police",
    "police_tjenestested": "police",
    "police_politipost": "police",
    "university_campus": "study_centre",
    "university_college_campus": "study_centre",
    "study_centre": "study_centre",
}

# How complete the shipped lists are (shared/data/README.md, registry v2).
SHIPPED_COVERAGE = {
    "hospital": "49 with a cited akuttmottak (SSB counted 51 in 2019, when Molde "
    "and Kristiansund were separate; Hjelset replaced both in 2025)",
    "court": "64 tingrett venues, all of them (no venue closed in the 2021 reform)",
    "police": "223 service locations against the 221-225 the police report (12 "
    "inferred; Sør-Vest and Telemark partly unidentified; Oslo stations share one point)",
    "study_centre": "55: 39 higher-education campus towns and 16 regional study centres "
    "(about 12-15 of the 31 centres funded in 2024 are still unidentified)",
}
UNVERIFIED_COVERAGE = "3 more sites whose acute function is NOT verified"
_NOTE_HEAD = (
    "Service lists are compiled from cited public sources, are not official registers and "
    "some are incomplete"
)
INCOMPLETE_NOTE = (
    f"{_NOTE_HEAD}: hospitals: {SHIPPED_COVERAGE['hospital']}, {UNVERIFIED_COVERAGE} left "
    f"out unless asked for; courts: {SHIPPED_COVERAGE['court']}; police: "
    f"{SHIPPED_COVERAGE['police']}; study centres: {SHIPPED_COVERAGE['study_centre']}."
)
_TYPE_LABEL = {
    "hospital": "hospitals",
    "court": "courts",
    "police": "police",
    "study_centre": "study centres",
}


def shipped_note(
    types=SERVICE_TYPES, *, include_unverified_hospitals: bool = False, user_types=()
) -> str:
    """The note every output carries about the shipped service lists of ``types``.

    Parameters
    ----------
    types : iterable of str
        Service types loaded.
    include_unverified_hospitals : bool
        Whether the unverified hospital sites were added.
    user_types : iterable of str
        Types read from the caller's own file (``paths=``), described as such.
    """
    parts = []
    for t in types:
        if t in user_types:
            parts.append(f"{_TYPE_LABEL[t]}: from a user file")
            continue
        text = f"{_TYPE_LABEL[t]}: {SHIPPED_COVERAGE[t]}"
        if t == "hospital":
            text += (
                f", plus {UNVERIFIED_COVERAGE} (included)"
                if include_unverified_hospitals
                else f", {UNVERIFIED_COVERAGE} left out unless asked for"
            )
        parts.append(text)
    return f"{_NOTE_HEAD}: " + "; ".join(parts) + "."


_SHIPPED = {
    "hospital": "hospitals",
    "court": "courts",
    "police": "police",
    "study_centre": "study_centres",
}
COLUMNS = [
    "service_id",
    "service_type",
    "subtype",
    "name",
    "town",
    "kommunenummer",
    "location_method",
    "source",
    "as_of",
    "geometry",
]


def _check_types(types) -> list[str]:
    types = [types] if isinstance(types, str) else list(types)
    bad = [t for t in types if t not in SERVICE_TYPES]
    if bad:
        raise ValueError(f"unknown service types {bad}; known types are {list(SERVICE_TYPES)}")
    return types


def _from_table(df: pd.DataFrame, dataset: str) -> gpd.GeoDataFrame:
    sub = df["service_type"].astype(str)
    unknown = sorted(set(sub) - set(SUBTYPE_TO_TYPE))
    if unknown:
        raise ValueError(f"{dataset}: unknown service_type values {unknown}")
    g = gpd.GeoDataFrame(
        {
            "service_type": sub.map(SUBTYPE_TO_TYPE),
            "subtype": sub,
            "name": df["name"],
            "town": df.get("town"),
            "kommunenummer": df["kommunenummer"].astype(str).str.zfill(4),
            "location_method": df["location_method"],
            "source": df["source"],
            "as_of": df["as_of"].astype(str),
        },
        geometry=gpd.points_from_xy(df["x_25833"], df["y_25833"]),
        crs=NETWORK_CRS,
    )
    return g


def _duplicates(g: gpd.GeoDataFrame) -> np.ndarray:
    """Rows that repeat an earlier row: same type, name and point (within 1 m)."""
    key = pd.DataFrame(
        {
            "t": g["service_type"].astype(str).to_numpy(),
            "n": g["name"].astype(str).str.strip().str.casefold().to_numpy()
            if "name" in g
            else "",
            "x": np.round(g.geometry.x.to_numpy()),
            "y": np.round(g.geometry.y.to_numpy()),
        }
    )
    return key.duplicated().to_numpy()


def _finish(g: gpd.GeoDataFrame, attribution: str, note: str) -> gpd.GeoDataFrame:
    """Drop (and report) duplicate rows, number the sites and record counts and notes.

    ``attrs["counts"]`` counts each site once; ``attrs["duplicates"]`` names the rows dropped
    as repeats (same type, name and point), and a warning says so.
    """
    g = g.reset_index(drop=True)
    dup = _duplicates(g) if len(g) else np.zeros(0, dtype=bool)
    dropped = []
    if dup.any():
        dropped = [
            f"{t}: {n}" for t, n in zip(g.loc[dup, "service_type"], g.loc[dup, "name"], strict=True)
        ]
        warnings.warn(
            f"{len(dropped)} duplicate service rows (same type, name and point) counted once: "
            f"{dropped[:10]}",
            stacklevel=3,
        )
        g = g.loc[~dup].reset_index(drop=True)
    seq = g.groupby("service_type").cumcount().to_numpy()
    g["service_id"] = [f"{t}-{i + 1:03d}" for t, i in zip(g["service_type"], seq, strict=False)]
    g = g[[c for c in COLUMNS if c in g.columns]]
    counts = g["service_type"].value_counts().reindex(SERVICE_TYPES, fill_value=0)
    g.attrs["counts"] = {k: int(v) for k, v in counts.items()}
    g.attrs["duplicates"] = dropped
    g.attrs["note"] = note
    g.attrs["attribution"] = attribution
    return g


def count_sites_used(services: gpd.GeoDataFrame, left_out=()) -> dict[str, int]:
    """Sites per type that can be used, i.e. not left out (e.g. too far from the network).

    Parameters
    ----------
    services : GeoDataFrame
        A service layer (``load_services`` ...).
    left_out : iterable of str
        ``service_id`` values of the sites dropped (``travel_times`` records them in
        ``attrs["services_left_out"]``).

    Returns
    -------
    dict
        Type -> number of sites used, for the types present.
    """
    used = services.loc[~services["service_id"].isin(list(left_out)), "service_type"]
    return {t: int(n) for t, n in used.value_counts().items()}


@renamed_kwargs(types="service_types")
def load_services(
    service_types: Sequence[str] = SERVICE_TYPES,
    *,
    include_unverified_hospitals: bool = False,
    paths: dict[str, str | os.PathLike] | None = None,
) -> gpd.GeoDataFrame:
    """Load the shipped service tables as one layer with a normalised ``service_type``.

    Parameters
    ----------
    service_types : iterable of str
        Any of ``hospital``, ``court``, ``police``, ``study_centre``.
    include_unverified_hospitals : bool, default False
        Add the 3 hospital sites whose acute function is NOT verified.
    paths : dict, optional
        Explicit files per registry name (``hospitals``, ``courts``, ``police``,
        ``study_centres``, ``hospital_candidates``).

    Returns
    -------
    GeoDataFrame
        Columns ``service_id``, ``service_type``, ``subtype``, ``name``, ``town``,
        ``kommunenummer``, ``location_method``, ``source``, ``as_of``; EPSG:25833 points.
        ``attrs["counts"]`` gives sites per type (each site once: duplicate rows are dropped
        and listed in ``attrs["duplicates"]``), ``attrs["note"]`` says how complete each list
        is (``shipped_note``).
    """
    service_types = _check_types(service_types)
    paths = paths or {}
    parts = []
    names = [_SHIPPED[t] for t in service_types]
    if include_unverified_hospitals and "hospital" in service_types:
        names.append("hospital_candidates")
    for name in names:
        df = pd.read_csv(datasets.locate_dataset(name, paths.get(name)), dtype=str)
        for c in ("x_25833", "y_25833"):
            df[c] = pd.to_numeric(df[c])
        parts.append(_from_table(df, name))
    g = pd.concat(parts, ignore_index=True)
    user = [t for t in service_types if _SHIPPED[t] in paths]
    note = shipped_note(
        service_types, include_unverified_hospitals=include_unverified_hospitals, user_types=user
    )
    return _finish(gpd.GeoDataFrame(g, crs=NETWORK_CRS), datasets.attribution(names), note)


def read_services(
    source: str | os.PathLike | gpd.GeoDataFrame,
    *,
    type_column: str = "service_type",
    name_column: str = "name",
    service_type: str | None = None,
    attribution: str = "",
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's own service layer (any vector file, a CSV table or a GeoDataFrame).

    Parameters
    ----------
    source : path-like or GeoDataFrame
        A vector file (GeoPackage, shapefile, GeoJSON ...) or a CSV/TSV table with coordinate
        columns ``x_25833``/``y_25833`` (EPSG:25833 metres) or ``lon``/``lat`` (degrees);
        UTF-8 or Windows-1252 (cp1252, Latin-1) text, separated by ``,`` ``;`` or tabs, with
        decimal commas where ``;`` separates (as Norwegian spreadsheets save CSV).
    type_column : str
        Column holding one of ``SERVICE_TYPES`` (ignored when ``service_type`` is given).
    name_column : str
        Column with site names.
    service_type : str, optional
        Give every row this type.
    attribution : str
        Attribution of the user's data.
    crs : str, optional
        CRS of plain ``x``/``y`` columns in a table.

    Raises
    ------
    ServicesFileError (a ValueError)
        Missing or unreadable file, no CRS, missing columns (listing those it has), values
        that are not numbers, unknown service types, sites of a file outside Norway (lon/lat
        written into EPSG:25833 columns), geometry other than one point per site (a MultiPoint
        of several sites, a line, an area; a MultiPoint of one point is taken as that point),
        two coordinate column pairs that disagree - each naming the file, the rows and the fix.
    """
    if isinstance(source, gpd.GeoDataFrame):
        label, g = "services", source
    elif isinstance(source, pd.DataFrame):
        raise ServicesFileError(
            "services: a plain DataFrame has no geometry; pass a file path, or build a "
            "GeoDataFrame with gpd.points_from_xy(x, y) and a crs"
        )
    else:
        from pathlib import Path

        path = Path(source)
        label = str(path)
        if not path.exists():
            raise ServicesFileError(f"{path}: services file not found; check the path")
        if path.is_dir():
            raise ServicesFileError(f"{path}: is a folder; give the services file")
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            g = read_services_table(path, crs)
        else:
            try:
                g = gpd.read_file(path)
            except Exception as exc:  # pyogrio/GDAL raise several error types
                raise ServicesFileError(
                    f"{path}: not a readable vector file ({' '.join(str(exc).split())[:160]}); "
                    "give a GeoPackage, shapefile, GeoJSON or a CSV with coordinate columns"
                ) from None
            if not isinstance(g, gpd.GeoDataFrame) or "geometry" not in g:
                raise ServicesFileError(
                    f"{path}: has no geometry; give a vector file or a CSV with x_25833/y_25833"
                )
    line = "line" if g.attrs.get("_source_lines") else "row"
    first = 2 if line == "line" else 0

    def rows(mask) -> str:
        idx = np.flatnonzero(np.asarray(mask))
        return ", ".join(f"{line} {i + first}" for i in idx[:5]) + (
            f" and {len(idx) - 5} more" if len(idx) > 5 else ""
        )

    if g.crs is None:
        raise ServicesFileError(f"{label}: services have no CRS; set it with gdf.set_crs(...)")
    if len(g) == 0:
        raise ServicesFileError(f"{label}: no sites in the file; add at least one row")
    empty = g.geometry.isna() | g.geometry.is_empty
    if empty.any():
        raise ServicesFileError(f"{label}: sites without a location at {rows(empty)}")
    if g.crs != NETWORK_CRS:
        g = g.to_crs(NETWORK_CRS)
    if service_type is not None:
        types = pd.Series(service_type, index=g.index)
    elif type_column in g.columns:
        types = g[type_column].fillna("").astype(str).str.strip()
    else:
        raise ServicesFileError(
            f"{label}: no {type_column!r} column (it has {list(g.columns)[:12]}); add one with "
            f"one of {list(SERVICE_TYPES)} per row, or pass service_type="
        )
    bad = ~types.isin(SERVICE_TYPES)
    if bad.any():
        raise ServicesFileError(
            f"{label}: unknown or empty service types {sorted({str(v) for v in types[bad]})[:5]} "
            f"at {rows(bad)}; "
            f"use one of {list(SERVICE_TYPES)}"
        )
    geom = g.geometry
    kind = geom.geom_type.to_numpy()
    single = (kind == "MultiPoint") & (shapely.get_num_geometries(geom.to_numpy()) == 1)
    if single.any():  # a MultiPoint of one point (as some writers store points) is that point
        pts = np.where(single, geom.representative_point().to_numpy(), geom.to_numpy())
        geom = gpd.GeoSeries(pts, index=geom.index, crs=geom.crs)
        kind = np.where(single, "Point", kind)
    bad = kind != "Point"
    if bad.any():
        found = {str(k): int(n) for k, n in pd.Series(kind[bad]).value_counts().items()}
        raise ServicesFileError(
            f"{label}: sites must be points, one per site; found {found} at {rows(bad)}; give "
            "each site its own point (gdf.explode() splits a MultiPoint into sites, "
            "gdf.representative_point() puts an area or a line at a point on it)"
        )
    x0, y0, x1, y1 = NORWAY_EXTENT_25833
    px, py = geom.x.to_numpy(), geom.y.to_numpy()
    outside = ~((px >= x0) & (px <= x1) & (py >= y0) & (py <= y1))
    if outside.any() and not isinstance(source, gpd.GeoDataFrame):  # files: real sites only
        hint = (
            "they look like longitude/latitude: put degrees in lon/lat columns"
            if looks_like_lonlat(px[outside], py[outside]).all()
            else "check the coordinates and their CRS"
        )
        raise ServicesFileError(
            f"{label}: {int(outside.sum())} sites lie outside Norway (EPSG:25833) at "
            f"{rows(outside)}; {hint}"
        )
    out = gpd.GeoDataFrame(
        {
            "service_type": types.to_numpy(),
            "subtype": types.to_numpy(),
            "name": name_sites(g.get(name_column), types, label, line, first),
            "location_method": "user",
            "source": "user file",
        },
        geometry=geom.to_numpy(),
        crs=NETWORK_CRS,
    )
    return _finish(out, attribution, "User-supplied service layer.")


def classify_osm_amenity(tags: dict) -> str | None:
    """Service type of an OSM feature from its tags, or None.

    ``amenity=hospital`` with ``emergency=yes`` -> hospital; ``amenity=courthouse`` -> court;
    ``amenity=police`` -> police; ``amenity=university|college`` -> study_centre.
    """
    a = tags.get("amenity")
    if a == "hospital":
        return "hospital" if str(tags.get("emergency", "")).lower() == "yes" else None
    return {
        "courthouse": "court",
        "police": "police",
        "university": "study_centre",
        "college": "study_centre",
    }.get(str(a))


def services_from_osm(source: gpd.GeoDataFrame | str | os.PathLike) -> gpd.GeoDataFrame:
    """Services from OpenStreetMap: an osmnx features GeoDataFrame or a local OSM file.

    Parameters
    ----------
    source : GeoDataFrame or path-like
        ``ox.features_from_place(..., tags={"amenity": [...]})`` output, or a ``.osm`` /
        ``.osm.pbf`` file read with pyosmium (nodes and closed ways; ways are placed at their
        centroid).

    Returns
    -------
    GeoDataFrame
        As ``load_services``, attribution "© OpenStreetMap contributors".
    """
    if isinstance(source, gpd.GeoDataFrame):
        g = source.to_crs(NETWORK_CRS) if source.crs != NETWORK_CRS else source
        cols = [c for c in ("amenity", "emergency", "name") if c in g.columns]
        recs = g[cols].to_dict("records")
        types = [classify_osm_amenity(r) for r in recs]
        names = [r.get("name") for r in recs]
        geoms = g.geometry.representative_point().to_numpy()
    else:
        types, names, geoms = _osm_file_amenities(os.fspath(source))
    keep = np.array([t is not None for t in types], dtype=bool)
    out = gpd.GeoDataFrame(
        {
            "service_type": np.asarray(types, dtype=object)[keep],
            "subtype": np.asarray(types, dtype=object)[keep],
            "name": np.asarray(names, dtype=object)[keep],
            "location_method": "osm",
            "source": "OpenStreetMap",
        },
        geometry=np.asarray(geoms, dtype=object)[keep],
        crs=NETWORK_CRS,
    )
    if out.empty:
        warnings.warn(
            "no hospital/courthouse/police/university features found in OSM source", stacklevel=2
        )
    return _finish(out, datasets.OSM, "OpenStreetMap features; completeness varies by area.")


def _osm_file_amenities(path: str):
    import osmium
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", NETWORK_CRS, always_xy=True)
    types, names, geoms = [], [], []
    fp = (
        osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("amenity"))
    )
    for obj in fp:
        tags = dict(obj.tags)
        t = classify_osm_amenity(tags)
        if t is None:
            continue
        if isinstance(obj, osmium.osm.Node):
            lon, lat = obj.location.lon, obj.location.lat
        elif isinstance(obj, osmium.osm.Way):
            pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if not pts:
                continue
            lon, lat = np.mean(pts, axis=0)
        else:  # relations and areas carry no point of their own here
            continue
        x, y = tr.transform(lon, lat)
        types.append(t)
        names.append(tags.get("name"))
        geoms.append(shapely.Point(x, y))
    return types, names, geoms
