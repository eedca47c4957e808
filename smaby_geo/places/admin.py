"""Kommuner and fylker chosen by number or name, in every official form (Norwegian, Sámi, Kven).

Used by ``smaby-geo run --region`` and ``scenario --region``; errors name the input and list
the candidates (a name shared by several kommuner) or close matches.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache

import geopandas as gpd
import numpy as np

from smaby_geo import datasets
from smaby_geo._errors import InputError


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", str(text)).strip().casefold()


@lru_cache(maxsize=1)
def _name_aliases() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Other official names (Sámi, Kven) of each kommune and fylke, by number.

    Read from the simplified boundary files, whose names carry every official form
    (``Guovdageaidnu - Kautokeino``); empty when those files are not found.
    """
    import pyogrio

    out: tuple[dict[str, set[str]], dict[str, set[str]]] = ({}, {})
    files = (
        ("kommuner_simplified", "kommunenummer", "kommunenavn"),
        ("fylker_simplified", "fylkesnummer", "fylkesnavn"),
    )
    for table, (name, key, col) in zip(out, files, strict=True):
        try:
            g = pyogrio.read_dataframe(datasets.locate_dataset(name), read_geometry=False)
        except Exception:
            continue
        for num, full in zip(g[key].astype(str), g[col].astype(str), strict=True):
            table.setdefault(num, set()).update(
                _norm(part) for part in full.split(" - ") if part.strip()
            )
    return out


def select_region(kommuner: gpd.GeoDataFrame, region: str) -> gpd.GeoDataFrame:
    """Return the kommuner of a region given as kommune/fylke number or name.

    Parameters
    ----------
    kommuner : GeoDataFrame
        ``read_kommuner()`` output.
    region : str
        4-digit kommunenummer, 2-digit fylkesnummer, or a kommune or fylke name
        (case-insensitive) in any of its official forms (Norwegian, Sámi, Kven:
        ``Kautokeino`` and ``Guovdageaidnu`` are the same kommune).

    Raises
    ------
    ValueError
        An empty region; a name shared by several kommuner (Herøy, Våler), listing each with
        its number and fylke; an unknown region, listing close matches.
    """
    r = str(region).strip()
    if not r:
        raise InputError(
            f"--region {region!r} is empty; give a kommune or fylke number or name, "
            "or leave --region out for all of Norway"
        )
    if re.fullmatch(r"\d{4}", r):
        sel = kommuner[kommuner["kommunenummer"] == r]
    elif re.fullmatch(r"\d{1,2}", r):
        sel = kommuner[kommuner["fylkesnummer"] == r.zfill(2)]
    else:
        cf = _norm(r)
        k_alias, f_alias = _name_aliases()
        knames = [
            {_norm(n)} | k_alias.get(num, set())
            for num, n in zip(kommuner["kommunenummer"], kommuner["kommunenavn"], strict=True)
        ]
        sel = kommuner[[cf in names for names in knames]]
        if len(sel) > 1:
            cands = "; ".join(
                f"{n} ({num}, {f})"
                for num, n, f in sel[["kommunenummer", "kommunenavn", "fylkesnavn"]]
                .sort_values("kommunenummer")
                .itertuples(index=False)
            )
            raise InputError(
                f"--region {region!r} names {len(sel)} kommuner: {cands}; "
                f"give the kommunenummer, e.g. --region {sel['kommunenummer'].iloc[0]}"
            )
        if sel.empty:
            fnames = [
                {_norm(n)} | f_alias.get(num, set())
                for num, n in zip(kommuner["fylkesnummer"], kommuner["fylkesnavn"], strict=True)
            ]
            sel = kommuner[[cf in names for names in fnames]]
    if sel.empty:
        names = sorted(set(kommuner["kommunenavn"]) | set(kommuner["fylkesnavn"]))
        close = difflib.get_close_matches(r, names, n=6, cutoff=0.5)
        raise InputError(
            f"--region {region!r} is not a kommune or fylke number or name; close matches: "
            f"{close}"
        )
    return sel


#: Largest clip buffer, km. Norway's mainland (and its roads) spans under 2,000 km from end
#: to end (about 1,908 km between its extreme corners), so a larger buffer clips nothing.
MAX_BUFFER_KM = 3_000.0


def check_buffer_km(buffer_km: float | None) -> float | None:
    """Return ``buffer_km`` if it is None (no clip) or a number of km in 0-3,000, else raise.

    The upper bound is ``MAX_BUFFER_KM`` (a larger buffer clips nothing, and shapely refuses
    an infinite one deep inside the region stage).
    """
    if buffer_km is None:
        return None
    b = float(buffer_km)
    if not np.isfinite(b) or b < 0:
        raise InputError(
            f"--buffer-km {buffer_km!r}: must be a finite number of km >= 0 (default: no clip); "
            "a negative buffer would cut away roads and services the region's people use"
        )
    if b > MAX_BUFFER_KM:
        raise InputError(
            f"--buffer-km {b:g}: give at most {MAX_BUFFER_KM:,.0f} km (Norway spans under "
            "2,000 km, so a larger buffer clips nothing); leave out --buffer-km for no clip"
        )
    return b
