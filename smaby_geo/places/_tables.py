"""Services tables as Norwegian spreadsheets save them.

CSV/TSV in UTF-8 or cp1252, with ``,`` ``;`` or tab separators and decimal commas; errors
name the file, the line and the fix.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from smaby_geo._errors import InputError
from smaby_geo.network.core import NETWORK_CRS


class ServicesFileError(InputError):
    """A user's services file or table that cannot be used; names the file, row and fix."""


# EPSG:25833 extent of mainland Norway with a margin (metres): sites outside are an error
# (typically longitude/latitude written into x/y columns).
NORWAY_EXTENT_25833 = (-150_000.0, 6_350_000.0, 1_200_000.0, 7_950_000.0)
# Two coordinate pairs of one row (say x_25833/y_25833 and lon/lat) may differ by rounding;
# farther apart than this they disagree and the table is refused (metres, EPSG:25833).
COORDINATE_PAIRS_AGREE_M = 1000.0
# Coordinate column pairs a table may use, with their CRS (the first present is used).
_XY_COLUMNS = (
    ("x_25833", "y_25833", NETWORK_CRS),
    ("x", "y", None),
    ("ost", "nord", NETWORK_CRS),
    ("lon", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("lengdegrad", "breddegrad", "EPSG:4326"),
)


def looks_like_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """True where a point given as EPSG:25833 metres is more likely longitude/latitude.

    Norway in EPSG:25833 lies 6.4-7.9 million metres north, so |x| <= 180 and |y| <= 90 are
    degrees, not metres; the one test for every reader of points (services, scenario files,
    ``trip``).
    """
    return (np.abs(np.asarray(x, dtype=float)) <= 180) & (np.abs(np.asarray(y, dtype=float)) <= 90)


def _decode_table(path) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-8 (with or without BOM), else cp1252.

    Norwegian spreadsheets save "CSV (semikolondelt)" as cp1252 (Windows-1252, a superset of
    Latin-1 for the letters æ, ø, å) or UTF-8 with a byte-order mark.
    """
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def read_services_table(path, crs: str | None) -> gpd.GeoDataFrame:
    """Read a CSV/TSV/TXT services table: separator , ; or tab; coordinates from columns."""
    import csv
    import io as _io

    text, _enc = _decode_table(path)
    if not text.strip():
        raise ServicesFileError(f"{path}: the file is empty; it needs a header row and sites")
    head = text.splitlines()[0]
    sep = max((";", ",", "\t", "|"), key=head.count)
    try:
        df = pd.read_csv(
            _io.StringIO(text),
            sep=sep,
            dtype=str,
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
            keep_default_na=False,  # a site named "NA" or "None" keeps its name
            na_values=[""],
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ServicesFileError(
            f"{path}: not a readable table ({' '.join(str(exc).split())}); save it as CSV with "
            "one header row and the same number of columns on every row"
        ) from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    lower = {c.casefold(): c for c in df.columns}
    pair = next(((x, y, c) for x, y, c in _XY_COLUMNS if x in lower and y in lower), None)
    if pair is None:
        raise ServicesFileError(
            f"{path}: no coordinate columns; it has {list(df.columns)[:12]}; add x_25833 and "
            "y_25833 (EPSG:25833 metres) or lon and lat (degrees)"
        )
    xc, yc, pair_crs = lower[pair[0]], lower[pair[1]], pair[2] or crs
    if pair_crs is None:
        raise ServicesFileError(
            f"{path}: columns {xc!r}/{yc!r} do not say their CRS; rename them x_25833/y_25833 "
            "or lon/lat, or pass crs="
        )
    xy = {}
    for c in (xc, yc):
        txt = df[c].fillna("").str.strip().str.replace("\u00a0", "").str.replace(" ", "")
        if sep != ",":  # decimal comma in semicolon-separated Norwegian files
            txt = txt.str.replace(",", ".", regex=False)
        val = pd.to_numeric(txt, errors="coerce")
        bad = np.flatnonzero(val.isna().to_numpy())
        if len(bad):
            rows = ", ".join(f"line {i + 2} ({df[c].iloc[i]!r})" for i in bad[:5])
            raise ServicesFileError(
                f"{path}: column {c!r} has values that are not numbers: {rows}; fix or remove "
                "those rows"
            )
        xy[c] = val.to_numpy(float)
    g = gpd.GeoDataFrame(
        df.drop(columns=[xc, yc]),
        geometry=gpd.points_from_xy(xy[xc], xy[yc]),
        crs=pair_crs,
    )
    _check_other_pairs(path, df, lower, pair, g, sep)
    g.attrs["_source_lines"] = True
    return g


def _check_other_pairs(path, df: pd.DataFrame, lower: dict, used: tuple, g, sep: str) -> None:
    """Refuse a table whose other coordinate pair (of a known CRS) puts a site elsewhere.

    Rows where the other pair is blank or not numbers are not compared (only the pair used
    must be complete). Sites more than ``COORDINATE_PAIRS_AGREE_M`` apart name their lines.
    """
    here = g.to_crs(NETWORK_CRS).geometry
    for x, y, pair_crs in _XY_COLUMNS:
        if (x, y) == used[:2] or pair_crs is None or x not in lower or y not in lower:
            continue
        vals = []
        for c in (lower[x], lower[y]):
            txt = df[c].fillna("").str.strip().str.replace("\u00a0", "").str.replace(" ", "")
            if sep != ",":
                txt = txt.str.replace(",", ".", regex=False)
            vals.append(pd.to_numeric(txt, errors="coerce").to_numpy(float))
        both = np.isfinite(vals[0]) & np.isfinite(vals[1])
        if not both.any():
            continue
        other = gpd.GeoSeries(gpd.points_from_xy(*vals), crs=pair_crs).to_crs(NETWORK_CRS)
        apart = np.full(len(df), 0.0)
        apart[both] = here[both].distance(other[both], align=False).to_numpy()
        bad = np.flatnonzero(~(apart <= COORDINATE_PAIRS_AGREE_M))  # inf/NaN count as apart
        if len(bad):
            lines = ", ".join(f"line {i + 2} ({apart[i] / 1000:.1f} km)" for i in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise ServicesFileError(
                f"{path}: columns {lower[used[0]]!r}/{lower[used[1]]!r} (used) and "
                f"{lower[x]!r}/{lower[y]!r} place sites more than "
                f"{COORDINATE_PAIRS_AGREE_M / 1000:g} km apart at {lines}{more}; correct them, "
                "or remove the pair that is wrong"
            )


def name_sites(names, types, label: str, line: str, first: int) -> np.ndarray:
    """Site names, each missing or blank one made ``unnamed <type> (<line> <n>)`` with a warning.

    A NaN name would reach ``<type>_name`` in the outputs and read like "no site reached".

    Parameters
    ----------
    names : Series or None
        The name column (None when the file has none).
    types : sequence of str
        Each site's service type.
    label : str
        The file, for the warning.
    line, first : str, int
        How rows are counted in messages ("line" from 2 in a CSV, "row" from 0).

    Returns
    -------
    ndarray of object
    """
    n = len(types)
    s = pd.Series(pd.NA if names is None else names, index=range(n), dtype="string")
    if names is not None:
        s = pd.Series(np.asarray(names, dtype=object), dtype="string").str.strip()
    unnamed = (s.isna() | (s == "")).to_numpy()
    if unnamed.any():
        s = s.where(~unnamed, [f"unnamed {t} ({line} {i + first})" for i, t in enumerate(types)])
        where = ", ".join(f"{line} {i + first}" for i in np.flatnonzero(unnamed)[:5])
        warnings.warn(
            f"{label}: {int(unnamed.sum())} sites have no name; they are named "
            f"'unnamed <type> ({line} <n>)' in the outputs, at {where}"
            + (f" and {int(unnamed.sum()) - 5} more" if unnamed.sum() > 5 else ""),
            UserWarning,
            stacklevel=3,
        )
    return s.astype(object).to_numpy()
