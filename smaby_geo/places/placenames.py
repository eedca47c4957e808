"""Kartverket N1000 place names: look up towns and settlements by name."""

from __future__ import annotations

import difflib
import os
import unicodedata
from functools import lru_cache

import geopandas as gpd
import pyogrio

from smaby_geo import datasets

# Preference when a name occurs more than once: larger place types first.
PLACE_TYPE_RANK = {
    "by": 0,
    "tettsted": 1,
    "tettbebyggelse": 2,
    "bydel": 3,
    "bygdelagBygd": 4,
    "grend": 5,
    "boligfelt": 6,
}


@lru_cache(maxsize=4)
def _read(path: str | None) -> gpd.GeoDataFrame:
    file = datasets.locate_dataset("place_names", path)
    return pyogrio.read_dataframe(file)


def read_place_names(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Read the N1000 settlement place names (EPSG:25833 points).

    Parameters
    ----------
    path : path-like, optional
        Explicit file; default the registry's ``place_names``.

    Returns
    -------
    GeoDataFrame
        Columns ``name`` (``streng``), ``place_type`` (``navneobjekttype``), ``geometry``.
    """
    g = _read(None if path is None else os.fspath(path))
    return gpd.GeoDataFrame(
        {"name": g["streng"], "place_type": g["navneobjekttype"]},
        geometry=g.geometry.to_numpy(),
        crs=g.crs,
    )


class AmbiguousPlaceError(KeyError):
    """A place name shared by several places of the same (top) rank; lists the candidates."""

    def __str__(self) -> str:
        return str(self.args[0])


def _kommune_of(points: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    """(kommunenavn, kommunenummer) of each point; ("?", "?") where unknown."""
    from smaby_geo.places.population import label_kommune, read_kommuner

    lab = label_kommune(points, read_kommuner())
    return [
        (str(n), str(k)) if isinstance(k, str) else ("?", "?")
        for n, k in zip(lab["kommunenavn"], lab["kommunenummer"], strict=True)
    ]


def normalize_place_text(text: object) -> str:
    """Return a place name as it is compared: Unicode NFC, single spaces, no end spaces.

    Every run of white space (a non-breaking space too) becomes one space.
    "Ålesund" typed on a Mac or copied from a PDF may come as ``A`` + a combining ring (NFD),
    which looks the same but compares unequal; ``--region`` normalises the same way
    (``places.admin``).
    """
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def resolve_place(name: str, places: gpd.GeoDataFrame | None = None) -> dict:
    """Find a place name and say how it was chosen.

    Rule: a name may be qualified by its kommune, ``"Straume, Øygarden"`` or
    ``"Straume, 4626"``. Where several places share the name, the single place of the
    largest type wins (by > tettsted > tettbebyggelse > bydel > bygd > grend > boligfelt,
    ``PLACE_TYPE_RANK``) and ``note`` says so; where several share the largest type, the
    name is ambiguous and an error lists them with their kommune.

    Returns
    -------
    dict
        ``x``, ``y`` (EPSG:25833 metres), ``place_type``, ``kommune``, ``candidates`` (how
        many places share the name), ``note`` (empty when the name is unique).

    Raises
    ------
    KeyError
        Unknown name (listing close matches); ``AmbiguousPlaceError`` (a KeyError) for ties.
    """
    places = read_place_names() if places is None else places
    text = normalize_place_text(name)
    base, _, qual = text.partition(",")
    base, qual = base.strip(), qual.strip()
    names = places["name"].map(normalize_place_text)
    hit = places[names.str.casefold() == base.casefold()]
    if hit.empty:
        close = difflib.get_close_matches(base, names.unique().tolist(), n=5)
        hint = f"close matches: {close}" if close else "no close matches; check the spelling"
        raise KeyError(f"place name {base!r} not found in N1000 place names; {hint}")
    hit = hit.assign(_r=hit["place_type"].map(PLACE_TYPE_RANK).fillna(99)).sort_values(
        "_r", kind="stable"
    )
    n_all = len(hit)
    kom = _kommune_of(hit) if (n_all > 1 or qual) else [("", "")] * n_all
    hit = hit.assign(_kn=[k[0] for k in kom], _kk=[k[1] for k in kom])
    if qual:
        q = qual.casefold()
        hit = hit[(hit["_kn"].str.casefold() == q) | (hit["_kk"] == qual.zfill(4))]
        if hit.empty:
            where = sorted({f"{n} {k}" for n, k in kom})
            raise KeyError(f"place name {base!r} is not in kommune {qual!r}; it is in {where}")
    top = hit[hit["_r"] == hit["_r"].iloc[0]]
    if len(top) > 1:
        cands = "; ".join(
            f"{r['name']} ({r['place_type']}, {r['_kn']} {r['_kk']})" for _, r in top.iterrows()
        )
        raise AmbiguousPlaceError(
            f"place name {text!r} is shared by {len(top)} places of the same type: {cands}; "
            f"add the kommune, e.g. '{base}, {top['_kn'].iloc[0]}'"
        )
    p = hit.iloc[0]
    note = ""
    if n_all > 1 and not qual:
        note = (
            f"{base!r}: {n_all} places have this name; chose the {p['place_type']} in "
            f"{p['_kn']} ({p['_kk']}), the largest type (write '{base}, <kommune>' for another)"
        )
    return {
        "x": float(p.geometry.x),
        "y": float(p.geometry.y),
        "place_type": p["place_type"],
        "kommune": p["_kk"],
        "candidates": n_all,
        "note": note,
    }


def find_place(name: str, places: gpd.GeoDataFrame | None = None) -> tuple[float, float]:
    """Return the EPSG:25833 coordinates (metres) of a place name.

    Parameters
    ----------
    name : str
        Place name, e.g. ``"Tynset"`` (case-insensitive), optionally with its kommune:
        ``"Straume, Øygarden"``. Where several places share it, the single largest type
        wins (by > tettsted > ...); a tie at the largest type is an error (``resolve_place``).
    places : GeoDataFrame, optional
        Output of ``read_place_names``; read from the registry when omitted.

    Returns
    -------
    (x, y) : tuple of float

    Raises
    ------
    KeyError
        When the name is unknown, listing the closest matches; ``AmbiguousPlaceError`` when
        several places of the largest type share it, listing them with their kommune.
    """
    r = resolve_place(name, places)
    return r["x"], r["y"]
