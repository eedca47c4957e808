"""The HTML report of a scenario comparison (``smaby-geo scenario``): one self-contained page.

Every string that comes from the user or the data (scenario name and description, region
name, edits, notes, attribution, file names) is escaped; the tables are escaped by pandas.
The page references nothing outside its folder.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

_STYLE = (
    "body{font:14px sans-serif;max-width:960px;margin:2em auto} "
    "table{border-collapse:collapse} "
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def scenario_report_html(
    *,
    name: str,
    description: str,
    region_name: str,
    grid: str,
    n_cells: int,
    population: int,
    edits: object,
    summary: pd.DataFrame,
    thresholds: pd.DataFrame,
    catchments: pd.DataFrame,
    regions: pd.DataFrame | None,
    benefit_person_minutes_per_day: float | None,
    benefit_note: str,
    maps: Sequence[Path | str],
    note: str,
    attribution: str,
) -> str:
    """The report page of one scenario comparison.

    Parameters
    ----------
    name, description : str
        The scenario's (user-written) name and description; escaped.
    region_name : str
        Region of the run.
    grid : str
        Grid resolution ("250m" or "1km").
    n_cells, population : int
        Grid cells and people in the region.
    edits : object
        The edits applied (shown as text, escaped).
    summary, thresholds, catchments : DataFrame
        ``Comparison.summary``, ``.thresholds`` (minutes) and ``.catchments``.
    regions : DataFrame or None
        Kommuner changing BA region; None when regions were not compared.
    benefit_person_minutes_per_day : float or None
        Rule-of-half consumer benefit in person-minutes per day.
    benefit_note : str
        How the benefit was computed.
    maps : sequence of path
        Map files in the same folder, linked by file name.
    note : str
        Caveats of the service lists.
    attribution : str
        Data attribution ("© Kartverket", "Kilde: SSB", ...), shown at the foot.

    Returns
    -------
    str
        The HTML document.
    """
    n_changed = f"{len(regions)}" if regions is not None else "not computed"
    benefit = (
        f"{benefit_person_minutes_per_day:,.0f}"
        if benefit_person_minutes_per_day is not None
        else "not computed"
    )
    links = "".join(
        f'<li><a href="{_e(Path(p).name)}">{_e(Path(p).name)}</a></li>' for p in maps
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{_e(name)}</title><style>{_STYLE}</style></head><body>
<h1>Scenario: {_e(name)}</h1><p>{_e(description)}</p>
<p>Region: {_e(region_name)}, {n_cells:,} grid cells ({_e(grid)}),
{population:,} people. Edits: {_e(edits)}</p>
<h2>Per service type</h2>{summary.to_html(index=False, float_format="%.2f")}
<h2>People crossing thresholds</h2>{thresholds.to_html(index=False)}
<h2>Catchment changes</h2>{catchments.to_html(index=False)}
<h2>Labour-market regions (BA rules, modelled flows)</h2>
<p>{n_changed} kommuner change region. Consumer benefit (rule of half): {benefit}
person-minutes per day ({_e(benefit_note)}).</p>
<h2>Maps</h2><ul>{links}</ul>
<p><small>{_e(note)}<br>Data: {_e(attribution)}</small></p>
</body></html>"""
