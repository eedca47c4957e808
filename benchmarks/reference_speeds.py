"""Which average speeds the reference car times allow (issue #12: the Tynset-Hamar window).

    python benchmarks/reference_speeds.py

Three measurements, from data in the registry only (nothing is fitted here):

1. **NVDB's routing convention.** The NVDB road network for routing ("vegnett for ruteplan",
   Statens vegvesen; the registry's ``nvdb_oslo_sample``: 1,000 real links extracted by SSB's
   GISSB package) stores a driving time per link (``FT_MINUTES``). Its speed, ``METER_ORG`` /
   ``FT_MINUTES``, divided by the posted limit ``FT_Fart`` is one number per functional road
   class: the network drives below the limit by construction.
2. **TØI's calibration rows as average speeds.** Each row's TØI minutes against the length of
   the fastest route on our N1000 network between the two town centres
   (``kommune_centres(rule="densest_km")``): the average speed the reference implies.
   Rows with a ferry are left out (the wait is not driving).
3. **Tynset-Hamar** with the default profile: its average speed, and the average speed over
   the same route that issue #12's window (2:10-2:50, "about 2:30") would need.

Context for that window, not a bound: the NVDB sample is urban (limits 30-80, no fylkesvei),
and TØI's whole-trip averages include a town at each end.

Writes ``benchmarks/results/reference_speeds.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import markdown_table, write_report

from smaby_geo import datasets
from smaby_geo.analysis.calibration import read_calibration_table
from smaby_geo.analysis.trips import trip
from smaby_geo.console import format_hmm
from smaby_geo.network.readers import load_network
from smaby_geo.places.centres import kommune_centres
from smaby_geo.places.population import read_kommuner, read_population_grid

RESULTS = Path(__file__).resolve().parent / "results" / "reference_speeds.md"

# The trip whose window issue #12 sets (2:10-2:50; "the road takes about 2:30"), in minutes.
CHECK_TRIP = ("Tynset", "Hamar")
CHECK_MINUTES = {
    "window's slow end": 170,
    "the issue's 'about 2:30'": 150,
    "window's fast end": 130,
}
# the general speed limit outside built-up areas, and the highest on a road that is not a
# motorway (trafikkreglene §13, skiltforskriften §8)
GENERAL_RURAL_LIMIT_KMH = 80.0
HIGHEST_ORDINARY_LIMIT_KMH = 90.0


def nvdb_convention(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """Speed / posted limit per functional road class and per road category of the sample.

    Returns the two tables, the links used (stored minutes and a posted limit both > 0) and
    the links in the sample.
    """
    g = gpd.read_file(path, ignore_geometry=True)
    n_all = len(g)
    g = g[(g["FT_MINUTES"] > 0) & (g["FT_Fart"] > 0)].copy()
    g["ratio"] = g["METER_ORG"] / 1000.0 / (g["FT_MINUTES"] / 60.0) / g["FT_Fart"]

    def table(by: str) -> pd.DataFrame:
        rows = []
        for key, d in g.groupby(by):
            mode = d["ratio"].round(3).mode().iloc[0]
            at_mode = np.isclose(d["ratio"], mode, rtol=5e-3).mean()
            rows.append(
                {
                    by: key,
                    "links": len(d),
                    "km": d["METER_ORG"].sum() / 1000.0,
                    "limits_kmh": ", ".join(str(int(v)) for v in sorted(d["FT_Fart"].unique())),
                    "speed_over_limit": mode,
                    "limit_divided_by": 1.0 / mode,
                    "share_at_that_ratio": at_mode,
                    "range": f"{d['ratio'].min():.3f}-{d['ratio'].max():.3f}",
                }
            )
        return pd.DataFrame(rows)

    return table("FuncRoadClass"), table("VEGTYPE"), len(g), n_all


def _road_mix(net, link_ids: list) -> str:
    """Shares of a route's km by road category (motorways as their own class)."""
    known = set(net.links["link_id"].to_numpy())
    lk = net.links.set_index("link_id").loc[[i for i in link_ids if i in known]]
    lk = lk[~lk["ferry"].astype(bool)]
    kind = (
        lk["category"]
        .astype(str)
        .where(~lk["motorway"].isin(["motorveg", "motortrafikkveg"]), lk["motorway"].astype(str))
    )
    km = lk["length_m"].groupby(kind).sum().sort_values(ascending=False)
    share = km / km.sum()
    return ", ".join(f"{k} {v:.0%}" for k, v in share.items() if v >= 0.05)


def toi_average_speeds(net, centres: gpd.GeoDataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """TØI minutes of each row against the network km between the two town centres."""
    out = []
    for _, r in rows.iterrows():
        o = centres.geometry.loc[r["from_kommunenummer"]]
        best = None
        for c in r["centres"]:
            d = centres.geometry.loc[c]
            t = trip(net, (o.x, o.y), (d.x, d.y))
            if best is None or t.minutes < best.minutes:
                best = t
        out.append(
            {
                "kommune": f"{r['from_kommunenummer']} {r['from_kommunenavn']}",
                "toi_min": float(r["car_minutes_toi"]),
                "km": best.km,
                "ferries": best.ferry_links,
                "roads": _road_mix(net, best.link_ids),
            }
        )
    df = pd.DataFrame(out)
    df["toi_kmh"] = df["km"] / (df["toi_min"] / 60.0)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    t0 = time.perf_counter()
    sample = datasets.locate_dataset("nvdb_oslo_sample")
    by_class, by_category, n_used, n_links = nvdb_convention(sample)
    net = load_network()
    kom = read_kommuner()
    cells = read_population_grid("250m", kommuner=kom)
    centres = kommune_centres(cells, "densest_km")
    table = datasets.locate_dataset("toi_calibration")
    rows, left_out = read_calibration_table(str(table), centres.index)
    toi = toi_average_speeds(net, centres, rows)
    road = toi[toi["ferries"] == 0]
    speeds = np.sort(road["toi_kmh"].to_numpy())

    def share_at_or_above(v: float) -> str:
        n = int((speeds >= v).sum())
        return f"{n} of {len(speeds)}"

    t = trip(net, *CHECK_TRIP)
    frc2 = by_class.set_index("FuncRoadClass")["speed_over_limit"]
    slow, fast = float(frc2.get(2, np.nan)), float(frc2.get(0, np.nan))
    lines = [
        "# Which average speeds the reference car times allow",
        "",
        "Command: `python benchmarks/reference_speeds.py`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; network "
        f"{net.source}; NVDB sample `{sample.name}`; TØI table `{table.name}` "
        f"({len(rows)} rows with a centre kommune, {len(left_out)} without).",
        "",
        "## 1. NVDB's network for routing stores times below the posted limit",
        "",
        "Speed of each link's stored time (`METER_ORG` / `FT_MINUTES`) over its posted limit "
        "(`FT_Fart`), by functional road class (`FuncRoadClass`, 0 = the trunk routes) and by "
        f"road category (`VEGTYPE`); {n_used} of the sample's {n_links} links have both "
        "(the others are left out). The sample is urban (Oslo): its limits and classes are "
        "all there is to go on.",
        "",
        markdown_table(by_class, ".3f"),
        "",
        markdown_table(by_category, ".3f"),
        "",
        "Were the same ratios applied to rural roads (the sample has no link above 80 km/h "
        f"and no fylkesvei), a road at the general limit of {GENERAL_RURAL_LIMIT_KMH:.0f} km/h "
        f"would run at {GENERAL_RURAL_LIMIT_KMH * slow:.1f} km/h in functional class 2 and "
        f"{GENERAL_RURAL_LIMIT_KMH * fast:.1f} km/h in class 0, one of "
        f"{HIGHEST_ORDINARY_LIMIT_KMH:.0f} km/h in class 0 at "
        f"{HIGHEST_ORDINARY_LIMIT_KMH * fast:.1f} km/h; a route planner driving at the limit "
        f"would be {1 / fast - 1:.0%}-{1 / slow - 1:.0%} faster on the same roads.",
        "",
        "## 2. The average speeds of TØI's calibration rows",
        "",
        "TØI minutes against the length of the fastest N1000 route between the two town centres "
        f"(densest 1 km cell of each kommune), {len(road)} rows without a ferry:",
        "",
        "- quantiles (min, 10 %, median, 90 %, max): "
        + ", ".join(f"{q:.1f}" for q in np.quantile(speeds, [0, 0.1, 0.5, 0.9, 1.0]))
        + " km/h;",
        "- the fastest rows:",
        "",
        markdown_table(road.sort_values("toi_kmh", ascending=False).head(6)),
        "",
        f"## 3. {CHECK_TRIP[0]}-{CHECK_TRIP[1]} against these speeds",
        "",
        f"The default profile's route: {t.km:.0f} km of N1000 road in {format_hmm(t.minutes)}, "
        f"{t.km / (t.minutes / 60):.1f} km/h on average. The same route length in the issue's "
        "times:",
        "",
        "| time | average km/h over the route | TØI rows (no ferry) at or above that speed |",
        "|---|---:|---|",
    ]
    for what, minutes in CHECK_MINUTES.items():
        v = t.km / (minutes / 60.0)
        lines.append(f"| {format_hmm(minutes)} ({what}) | {v:.1f} | {share_at_or_above(v)} |")
    v = t.km / (t.minutes / 60.0)
    hm = format_hmm(t.minutes)
    lines.append(f"| {hm} (default profile) | {v:.1f} | {share_at_or_above(v)} |")
    lines += ["", f"Total time {time.perf_counter() - t0:.0f} s."]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
