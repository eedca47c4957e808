"""Kartverket N1000 place names: look up towns and settlements by name."""

from __future__ import annotations

import difflib
import os
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


def find_place(name: str, places: gpd.GeoDataFrame | None = None) -> tuple[float, float]:
    """Return the EPSG:25833 coordinates (metres) of a place name.

    Parameters
    ----------
    name : str
        Place name, e.g. ``"Tynset"`` (case-insensitive). Where several places share it, the
        largest type wins (by > tettsted > ...).
    places : GeoDataFrame, optional
        Output of ``read_place_names``; read from the registry when omitted.

    Returns
    -------
    (x, y) : tuple of float

    Raises
    ------
    KeyError
        When the name is unknown, listing the closest matches.
    """
    places = read_place_names() if places is None else places
    hit = places[places["name"].str.casefold() == name.casefold()]
    if hit.empty:
        close = difflib.get_close_matches(name, places["name"].unique().tolist(), n=5)
        raise KeyError(
            f"place name {name!r} not found in N1000 place names; close matches: {close}"
        )
    hit = hit.assign(_r=hit["place_type"].map(PLACE_TYPE_RANK).fillna(99)).sort_values("_r")
    p = hit.geometry.iloc[0]
    return float(p.x), float(p.y)
