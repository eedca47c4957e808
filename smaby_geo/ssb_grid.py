"""SSB population grid files ("Befolkning på rutenett"): cell ids, corners and residents.

One reader for the grid CSVs of the data registry (``popgrid_250m``, ``popgrid_1km``), used by
the population grid of ``places.population``, the roadside densities of ``network.roadside``
and the town points of ``places.centres``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

# SSB grid cell ids: 14 digits, x = int(id[:7]) - 2,000,000 and y = int(id[7:]) give the
# cell's south-west corner in EPSG:25833 (SSB "Befolkning på rutenett" documentation).
SSB_ID_X_OFFSET = 2_000_000


def decode_ssb_cell_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the south-west corner (x, y) in EPSG:25833 metres of SSB grid cell ids.

    Raises
    ------
    ValueError
        If an id is not 14 digits (naming the first bad ids).
    """
    s = pd.Series(ids).astype(str).str.strip()
    bad = ~s.str.fullmatch(r"\d{14}")
    if bad.any():
        raise ValueError(
            f"SSB grid cell ids must be 14 digits; {int(bad.sum())} are not, e.g. "
            f"{s[bad].head(5).tolist()}"
        )
    x = s.str[:7].astype(np.int64).to_numpy() - SSB_ID_X_OFFSET
    y = s.str[7:].astype(np.int64).to_numpy()
    return x, y


# Cell side of each SSB id column, metres (the ids name the cell's south-west corner, so both
# corner coordinates are multiples of it).
GRID_CELL_M_BY_ID_COLUMN = {"ru250m": 250, "ssbid_1000m": 1000}


def read_grid_csv(
    path: str | os.PathLike, id_column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read an SSB grid CSV (``;``-separated, ``id_column`` and ``pop_tot``).

    SSB's "Befolkning på rutenett" lists each cell once, with a whole number of residents
    (``pop_tot``) and an id naming the cell's south-west corner on the grid. A file that
    breaks any of these is refused, naming its lines, rather than read: a repeated id would
    count its cell twice (or be a typo of another cell), a fraction would be truncated and an
    id off the grid lies in no cell.

    Parameters
    ----------
    path : path-like
    id_column : str
        The cell id column (``ru250m`` for 250 m cells, ``ssbid_1000m`` for 1 km cells; the
        corners of other columns are not checked against a grid).

    Returns
    -------
    ids : ndarray of str
        The cell ids, one per row (every row of the file; none dropped).
    x_sw, y_sw : ndarray of int64
        South-west corner of each cell, EPSG:25833 metres.
    residents : ndarray of int64
        Persons per cell.

    Raises
    ------
    ValueError
        Missing columns, bad, repeated or off-grid ids, or NaN, negative or fractional
        populations (naming the file and its lines).
    """
    name = os.fspath(path)
    df = pd.read_csv(path, sep=";", dtype={id_column: str}, decimal=",")
    if id_column not in df.columns or "pop_tot" not in df.columns:
        raise ValueError(
            f"population grid {name} needs columns {id_column!r} and 'pop_tot'; has "
            f"{list(df.columns)}"
        )

    def lines(mask: np.ndarray) -> str:  # the file's own line numbers, blank lines counted
        return _lines(mask, _row_lines(path, len(df)))

    raw = df["pop_tot"]
    pop = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    text = raw.notna().to_numpy() & np.isnan(pop)
    if text.any():
        raise ValueError(
            f"population grid {name}: pop_tot is not a number at {lines(text)} (read "
            f"{str(raw[text].iloc[0])!r}); write the residents as a whole number, without "
            "spaces or thousands separators"
        )
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        raise ValueError(
            f"population grid {name}: pop_tot has NaN or negative values at {lines(bad)}; "
            "give every cell a number of residents >= 0"
        )
    bad = pop != np.round(pop)
    if bad.any():
        raise ValueError(
            f"population grid {name}: pop_tot is not a whole number of residents at "
            f"{lines(bad)} (e.g. {pop[bad][0]:g}); SSB's grid counts persons, give whole numbers"
        )
    ids = df[id_column].astype(str).str.strip()
    x, y = decode_ssb_cell_ids(ids)
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        raise ValueError(
            f"population grid {name}: cell ids repeated at {lines(repeated)} (ids "
            f"{sorted(set(ids[repeated]))[:5]}); SSB lists each cell once: remove or merge "
            "the repeated rows"
        )
    size = GRID_CELL_M_BY_ID_COLUMN.get(id_column)
    if size is not None:
        bad = (x % size != 0) | (y % size != 0)
        if bad.any():
            raise ValueError(
                f"population grid {name}: cell ids off the {size} m grid at {lines(bad)} "
                f"(e.g. {ids[bad].iloc[0]}: corner x={x[bad][0]}, y={y[bad][0]} are not "
                f"multiples of {size}); check the ids and the {id_column!r} column"
            )
    return ids.to_numpy(), x, y, pop.astype(np.int64)


def _row_lines(path: str | os.PathLike, n_rows: int) -> np.ndarray | None:
    """The file line (from 1) of each data row, as ``pandas.read_csv`` skips blank lines.

    None when the count does not match ``n_rows`` (a quoted field over several lines): the
    rows are then numbered as if the file had no blank line.
    """
    found = []
    seen_header = False
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if seen_header:
                found.append(number)
            seen_header = True
    return np.asarray(found) if len(found) == n_rows else None


def _lines(mask: np.ndarray, row_lines: np.ndarray | None = None) -> str:
    """The file lines of rows ``mask``, the first five and a count.

    ``row_lines`` gives each row's line (``_row_lines``); without it row i is line i + 2
    (line 1 is the header).
    """
    idx = np.flatnonzero(mask)
    at = row_lines if row_lines is not None else np.arange(len(mask)) + 2
    shown = ", ".join(str(at[i]) for i in idx[:5])
    more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
    return f"line{'s' if len(idx) > 1 else ''} {shown}{more}"


# Side of a cell of the SSB 250 m grid, metres.
GRID_250M_CELL_M = 250.0


def read_grid_cells(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an SSB 250 m grid CSV to cell centres and residents.

    Parameters
    ----------
    path : path-like
        ``;``-separated CSV with the SSB id column ``ru250m`` and ``pop_tot`` (the registry's
        ``popgrid_250m``).

    Returns
    -------
    x, y : ndarray of float
        Cell centres, EPSG:25833 metres.
    residents : ndarray of int64
        Persons per cell (every row of the file; none dropped).

    Raises
    ------
    ValueError
        Missing columns, bad, repeated or off-grid ids, or NaN, negative or fractional
        populations (naming the file and its lines).
    """
    _, x, y, pop = read_grid_csv(path, "ru250m")
    half = GRID_250M_CELL_M / 2
    return x + half, y + half, pop
