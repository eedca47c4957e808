"""Write a benchmark's markdown report: printed, and saved under ``results/``."""

from __future__ import annotations

import os
from pathlib import Path


def write_report(lines: list[str], out: str | os.PathLike) -> None:
    """Print the report's lines and write them to ``out`` (its folder is made)."""
    text = "\n".join(lines)
    print(text)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"written {path}")


def markdown_table(df, floatfmt: str = ".1f") -> str:
    """A DataFrame as a markdown table (floats with ``floatfmt``), without the index."""
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| "
        + " | ".join(format(v, floatfmt) if isinstance(v, float) else str(v) for v in row)
        + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def describe_machine() -> str:
    """The machine line of a report: architecture, cores, numba threads, Python, load now."""
    import platform

    import numba

    return (
        f"{platform.machine()}, {os.cpu_count()} cores (numba {numba.get_num_threads()} "
        f"threads), Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )


def changed_times_table(a, b, services) -> list[str]:
    """Markdown lines comparing two main-job cell tables (``<type>_minutes``) row by row.

    Per service type: people and cells whose minutes change by more than 0.01 (finite on both
    sides), how many get shorter and longer, and the people-weighted median change with its
    extremes (minutes).
    """
    import numpy as np

    assert (a.index == b.index).all()
    pop = b["population"].to_numpy(float)
    out = ["", "## Changed times (people whose time changes by more than 0.01 min)", ""]
    out.append(
        "| service | people | cells | shorter | longer | median change (min) | "
        "max change (min) | min change (min) |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in services:
        ta, tb = a[f"{s}_minutes"].to_numpy(float), b[f"{s}_minutes"].to_numpy(float)
        both = np.isfinite(ta) & np.isfinite(tb)
        with np.errstate(invalid="ignore"):  # inf - inf where a cell is unreachable in both
            d = np.where(both, tb - ta, 0.0)
        ch = both & (np.abs(d) > 0.01) & (pop > 0)
        if not ch.any():
            out.append(f"| {s} | 0 | 0 | 0 | 0 | | | |")
            continue
        med = weighted_median(d[ch], pop[ch])  # people-weighted median of the change
        out.append(
            f"| {s} | {int(pop[ch].sum()):,} | {int(ch.sum()):,} | "
            f"{int(pop[ch & (d < 0)].sum()):,} | {int(pop[ch & (d > 0)].sum()):,} | "
            f"{med:+.1f} | {d[ch].max():+.1f} | {d[ch].min():+.1f} |"
        )
    return out


def main_job_on_each(nets: dict) -> dict:
    """The main job (250 m grid, every service type, plain Dijkstra) on each network of
    ``nets`` (name -> RoadNetwork), in one process; name -> ``run_travel_times`` result.

    Prints each job's wall time; the cell tables share one index (checked).
    """
    import time

    from smaby_geo.pipeline import run_travel_times

    res = {}
    for name, net in nets.items():
        t = time.perf_counter()
        res[name] = run_travel_times(net, engine="dijkstra")
        print(f"{name}: main job {time.perf_counter() - t:.1f} s", flush=True)
    first, *rest = (r.cells.index for r in res.values())
    assert all((ix == first).all() for ix in rest)
    return res


def weighted_median(values, weights) -> float:
    """The weighted median of ``values`` (the first value reaching half the weight)."""
    import numpy as np

    o = np.argsort(values)
    w = np.cumsum(np.asarray(weights, float)[o])
    return float(np.asarray(values)[o][np.searchsorted(w, w[-1] / 2)])


def nearest_kommune(kommuner, x: float, y: float) -> str:
    """Name of the kommune polygon nearest to (x, y), EPSG:25833 metres."""
    import numpy as np
    import shapely

    d = kommuner.distance(shapely.Point(x, y)).to_numpy()
    return str(kommuner["kommunenavn"].iloc[int(np.argmin(d))])


def unreachable_table(a, b, names: tuple[str, str], services) -> list[str]:
    """Markdown lines: unreachable people per service in the main-job cells ``a`` and ``b``."""
    import numpy as np

    pop = b["population"].to_numpy(float)
    out = ["", "## Unreachable people", ""]
    out += [f"| service | {names[0]} | {names[1]} |", "|---|---:|---:|"]
    for s in services:
        c = f"{s}_minutes"
        ua = int(pop[~np.isfinite(a[c].to_numpy(float))].sum())
        ub = int(pop[~np.isfinite(b[c].to_numpy(float))].sum())
        out.append(f"| {s} | {ua:,} | {ub:,} |")
    return out


def kommune_changes_table(a, b, column: str = "hospital_minutes", most: int = 12) -> list[str]:
    """Markdown lines: the ``most`` kommuner with the most people whose ``column`` changes by
    more than 0.01 minute between main-job cells ``a`` and ``b`` (finite on both sides), with
    the people-weighted median change."""
    import numpy as np

    pop = b["population"].to_numpy(float)
    ta, tb = a[column].to_numpy(float), b[column].to_numpy(float)
    both = np.isfinite(ta) & np.isfinite(tb)
    with np.errstate(invalid="ignore"):  # inf - inf where a cell is unreachable in both
        d = np.where(both, tb - ta, 0.0)
    ch = both & (np.abs(d) > 0.01) & (pop > 0)
    df = b.loc[ch, ["kommunenavn"]].assign(people=pop[ch], change=d[ch])
    label = column.removesuffix("_minutes").replace("_", " ").capitalize()
    out = ["", f"## {label} minutes: the {most} kommuner with the most people changed", ""]
    out += ["| kommune | people changed | median change (min) |", "|---|---:|---:|"]
    for k, g in sorted(df.groupby("kommunenavn"), key=lambda kg: -kg[1]["people"].sum())[:most]:
        med = weighted_median(g["change"].to_numpy(), g["people"].to_numpy())
        out.append(f"| {k} | {int(g['people'].sum()):,} | {med:+.1f} |")
    return out


def calibration_rows_changed(nets: dict) -> list[str]:
    """Markdown lines: the rows of the calibration table whose model minutes (origin cells,
    each network's own profile) differ by more than 0.01 between the two networks of ``nets``
    (name -> RoadNetwork, two of them), with TØI's minutes."""
    import numpy as np
    from calibration_inputs import load_calibration_inputs

    from smaby_geo.analysis.calibration import CalibrationSet

    inp = load_calibration_inputs()
    (na, a), (nb, b) = nets.items()
    cal_a, cal_b = (
        CalibrationSet(n, inp.rows, inp.centres, origin="cells", cells=inp.cells) for n in (a, b)
    )  # each snapped to its own network
    ma, mb = cal_a.model_minutes(a), cal_b.model_minutes(b)
    rows = cal_b.rows
    names = [
        f"{k} {n}"
        for k, n in zip(rows["from_kommunenummer"], rows["from_kommunenavn"], strict=True)
    ]
    changed = np.flatnonzero(np.abs(mb - ma) > 0.01)
    out = ["", "## Calibration rows changed (model minutes, default profile, origin cells)", ""]
    if len(changed) == 0:
        return [*out, f"None of the {len(rows)} rows changes by more than 0.01 minute."]
    out += [f"| kommune | TØI | {na} | {nb} |", "|---|---:|---:|---:|"]
    for i in changed:
        out.append(f"| {names[i]} | {cal_b.reference[i]:.1f} | {ma[i]:.1f} | {mb[i]:.1f} |")
    return out
