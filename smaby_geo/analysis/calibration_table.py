"""Read and check a kommune-to-centre car-time table; the error summary of model times.

The calibration reference (``tables/toi_reisetid_calibration.csv``) and how a fit's errors
are reported; ``analysis.calibration`` fits the profile to it and re-exports these names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "CALIBRATION_COLUMNS",
    "KOMMUNE_RENUMBERED",
    "error_summary",
    "read_calibration_table",
]

CALIBRATION_COLUMNS = ("from_kommunenummer", "centre_kommunenummer", "car_minutes_toi")

# Kommune numbers changed without a change of borders, old -> 2024 number. Rindal moved from
# Møre og Romsdal to Trøndelag on 1 January 2019 (1567 -> 5061, SSB classification 131); the
# official BA table still lists it under the old number.
KOMMUNE_RENUMBERED = {"1567": "5061"}


def _kommune_code(v: object) -> str:
    s = str(v).strip()
    if re.fullmatch(r"\d{3,4}\.0", s):
        s = s[:-2]
    if re.fullmatch(r"\d{3,4}", s):
        s = s.zfill(4)
        return KOMMUNE_RENUMBERED.get(s, s)
    return s


#: Longest plausible car time of a row, minutes: one day (no car trip in Norway takes longer).
MAX_CAR_MINUTES = 1440.0


def read_calibration_table(
    path: str | os.PathLike | pd.DataFrame,
    known_kommuner: Iterable[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check a kommune-to-centre car-time table.

    Parameters
    ----------
    path : path-like or DataFrame
        CSV with ``from_kommunenummer``, ``centre_kommunenummer`` (``;``-separated when a
        region has two centres: the time is to the nearer) and ``car_minutes_toi``.
    known_kommuner : iterable of str
        Kommune numbers that have a centre (e.g. ``kommune_centres(...).index``). Old
        numbers of renumbered kommuner (``KOMMUNE_RENUMBERED``) are read as the new ones.

    Returns
    -------
    rows : DataFrame
        Usable rows: ``from_kommunenummer`` (str), ``centres`` (list of str),
        ``car_minutes_toi`` (float), plus the other columns of the file.
    left_out : DataFrame
        Rows without a centre kommune (the official table leaves the centre blank for some
        regions), with ``reason``. The caller prints them: nothing is dropped silently.

    Raises
    ------
    ValueError
        Missing columns, kommune numbers that are not 4-digit codes or not in
        ``known_kommuner``, minutes that are not finite numbers in (0, ``MAX_CAR_MINUTES``], a
        kommune timed to itself, or a kommune listed twice; the message names the file and
        the rows.
    """
    name = "calibration table" if isinstance(path, pd.DataFrame) else os.fspath(path)
    if isinstance(path, pd.DataFrame):
        # as read from a file: text, blanks for missing values (pandas' NaN stays NaN in str)
        df = path.astype(object).where(path.notna(), "").astype(str)
    else:
        if not os.path.isfile(path):
            raise ValueError(f"calibration table {name} does not exist")
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CALIBRATION_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name}: missing column(s) {missing}; it needs {list(CALIBRATION_COLUMNS)}"
        )
    if len(df) == 0:
        raise ValueError(f"{name}: no rows; it needs one row per kommune with its car minutes")
    known = {_kommune_code(k) for k in known_kommuner}
    df = df.reset_index(drop=True)
    df["from_kommunenummer"] = [_kommune_code(v) for v in df["from_kommunenummer"]]
    minutes = pd.to_numeric(df["car_minutes_toi"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(minutes) & (minutes > 0) & (minutes <= MAX_CAR_MINUTES))
    if bad.any():
        rows = df.loc[bad, ["from_kommunenummer", "car_minutes_toi"]].to_dict("records")
        raise ValueError(
            f"{name}: car_minutes_toi must be a number of minutes > 0 and at most "
            f"{MAX_CAR_MINUTES:,.0f} (a day: no car trip in Norway takes longer); "
            f"{int(bad.sum())} rows are not: {rows[:10]}"
        )
    df["car_minutes_toi"] = minutes
    centres = []
    for v in df["centre_kommunenummer"].astype(str):
        parts = [_kommune_code(p) for p in v.replace(",", ";").split(";") if p.strip()]
        centres.append(parts)
    df["centres"] = centres
    codes = set(df["from_kommunenummer"]) | {c for cs in centres for c in cs}
    malformed = sorted(c for c in codes if not re.fullmatch(r"\d{4}", c))
    if malformed:
        raise ValueError(f"{name}: kommune numbers must be 4-digit codes; found {malformed[:10]}")
    unknown = sorted(codes - known)
    if unknown:
        raise ValueError(
            f"{name}: {len(unknown)} kommune numbers are unknown (no kommune of that number "
            f"in the population grid's 2024 kommuner): {unknown[:20]}. Fix the table."
        )
    itself = [k for k, cs in zip(df["from_kommunenummer"], centres, strict=True) if k in cs]
    if itself:
        raise ValueError(
            f"{name}: a kommune timed to itself (its own number among its centres): "
            f"{sorted(itself)[:10]}; a row gives the time from a member kommune to another "
            "kommune, its region's centre"
        )
    dup = df["from_kommunenummer"].duplicated(keep=False)
    if dup.any():
        raise ValueError(
            f"{name}: kommuner listed more than once: "
            f"{sorted(set(df.loc[dup, 'from_kommunenummer']))}"
        )
    no_centre = np.array([len(c) == 0 for c in centres], dtype=bool)
    if no_centre.all():
        raise ValueError(
            f"{name}: no row names a centre kommune (centre_kommunenummer is blank in all "
            f"{len(df)} rows); nothing to fit on"
        )
    left = df.loc[no_centre].copy()
    left["reason"] = "no centre kommune in the table"
    return df.loc[~no_centre].reset_index(drop=True), left.reset_index(drop=True)


def error_summary(model: np.ndarray, reference: np.ndarray) -> dict:
    """Median absolute percentage error, median bias and the worst error (percent).

    Returns
    -------
    dict with ``median_abs_pct``, ``median_bias_pct`` (model above the reference is
    positive), ``max_abs_pct``, ``n`` and ``unreachable`` (rows without a model time).
    """
    model = np.asarray(model, float)
    reference = np.asarray(reference, float)
    ok = np.isfinite(model)
    pct = (model[ok] / reference[ok] - 1.0) * 100.0
    return {
        "n": len(model),
        "unreachable": int((~ok).sum()),
        "median_abs_pct": float(np.median(np.abs(pct))) if ok.any() else np.nan,
        "median_bias_pct": float(np.median(pct)) if ok.any() else np.nan,
        "max_abs_pct": float(np.max(np.abs(pct))) if ok.any() else np.nan,
    }
