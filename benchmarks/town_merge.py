"""Towns before and after the continuity rule (``places.town_merge``), national data.

Builds the towns of the national 250 m grid twice in one run: with ``merge_gap_m=None`` (every
N1000 area and grid cluster its own town, the rule before 0.3) and with the default rule (areas
linked by a chain of cells of at least 300 residents per km², each within 400 m of the next,
are one town). Prints and writes:

* the class counts and the number of småbyer (5,000-49,999 residents) of both;
* the near-city cases: every småby of the unmerged build whose centre lies within 6 km of the
  centre of a larger town of 5,000+ (the audit's criterion), whether the rule merged them and
  into what, and if not, the narrowest open gap between the carrying cells of the two (the
  gap the rule did not bridge);
* the towns against SSB's published tettsted populations (SSB table "Tettsteder. Folkemengde
  og areal etter kommune. 1. januar 2015", ssb.no/248688; Ålesund and Tromsø: SSB Statistisk
  årbok tab. 54, 1 January 2012, ssb.no/a/aarbok/tab/tab-054.html). The grid is SSB's of 2015.
  These figures were not used to choose the rule's parameters.

Run: ``python benchmarks/town_merge.py``; writes ``results/town_merge.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import describe_machine

# SSB tettsted populations: (tettsted, the N1000 labels of its parts, residents, date).
SSB_TETTSTEDER = [
    ("Oslo", ("Oslo",), 958_378, "1 Jan 2015"),
    ("Bergen", ("Bergen",), 250_420, "1 Jan 2015"),
    ("Stavanger/Sandnes", ("Stavanger", "Sandnes"), 210_874, "1 Jan 2015"),
    ("Trondheim", ("Trondheim",), 175_068, "1 Jan 2015"),
    ("Drammen", ("Drammen",), 113_534, "1 Jan 2015"),
    ("Fredrikstad/Sarpsborg", ("Fredrikstad", "Sarpsborg"), 108_636, "1 Jan 2015"),
    ("Moss", ("Moss",), 45_586, "1 Jan 2015"),
    ("Halden", ("Halden",), 24_895, "1 Jan 2015"),
    ("Askim", ("Askim",), 14_003, "1 Jan 2015"),
    ("Tromsø", ("Tromsø",), 57_015, "1 Jan 2012"),
    ("Ålesund (with Spjelkavik, Langevåg)", ("Ålesund", "Spjelkavik", "Langevåg"), 48_460,
     "1 Jan 2012"),
]
NEAR_M = 6000.0  # the audit's criterion: a småby centre within 6 km of a larger centre


def label_towns(towns, place_names, labels, within_m=25_000.0):
    """Towns whose outline is nearest each label (labels within ``within_m`` of the first)."""
    from smaby_geo.places.town_names import resolve_primary_names

    full = resolve_primary_names(place_names)
    raw = place_names["name"].astype(str).to_numpy()
    first = place_names[(raw == labels[0]) | (full == labels[0])]
    first = first[first["place_type"] == "by"].geometry.iloc[0]
    out = []
    for lab in labels:
        pts = place_names[(raw == lab) | (full == lab)]
        for g in pts.geometry:
            if g.distance(first) > within_m:
                continue
            d = towns.geometry.distance(g)
            if d.min() <= 6000.0:
                out.append(d.idxmin())
    return sorted(set(out))


def carrying_gap_m(cells, cell_town, a, b, settled_per_km2, size):
    """Narrowest open gap (m) between carrying cells of towns a and b (inf if none)."""
    from smaby_geo.places.town_merge import measure_cell_gap_m

    dense = cells["population"].to_numpy() >= settled_per_km2 * (size / 1000.0) ** 2
    col = (cells["x_sw"].to_numpy() // size).astype(np.int64)
    row = (cells["y_sw"].to_numpy() // size).astype(np.int64)
    ct = cell_town.to_numpy()
    ia = np.flatnonzero((ct == a) & dense)
    ib = np.flatnonzero((ct == b) & dense)
    if len(ia) == 0 or len(ib) == 0:
        return float("inf")
    _, j = cKDTree(np.column_stack([col[ib], row[ib]])).query(np.column_stack([col[ia], row[ia]]))
    return float(measure_cell_gap_m(col[ia] - col[ib][j], row[ia] - row[ib][j], size).min())


def main() -> int:
    from smaby_geo.places.placenames import read_place_names
    from smaby_geo.places.population import read_population_grid
    from smaby_geo.places.town_merge import SETTLED_PER_KM2
    from smaby_geo.places.towns import build_towns, read_builtup_areas

    cells = read_population_grid("250m")
    bu, names = read_builtup_areas(), read_place_names()
    size = float(cells["cell_size_m"].iloc[0])
    before, ct_b = build_towns(cells, bu, place_names=names, merge_gap_m=None, return_cells=True)
    after, ct_a = build_towns(cells, bu, place_names=names, return_cells=True)
    lines = ["# Towns before and after the continuity rule", "", describe_machine(), ""]
    lines += ["| build | large cities / towns / small towns / villages | småbyer | "
              "residents in towns |", "|---|---|---:|---:|"]
    for label, t in (("every area its own town (merge_gap_m=None)", before),
                     ("one continuous settlement one town (default)", after)):
        k = t["town_class"].value_counts()
        counts = " / ".join(str(int(k.get(c, 0))) for c in
                            ("large_city", "town", "small_town", "village"))
        smaby = int(k.get("town", 0) + k.get("small_town", 0))
        lines.append(f"| {label} | {counts} | {smaby} | {int(t['population'].sum()):,} |")
    total = int(cells["population"].sum())
    for t, ct in ((before, ct_b), (after, ct_a)):
        rural = int(cells.loc[ct == -1, "population"].sum())
        assert int(t["population"].sum()) + rural == total, "population not conserved"
    lines += ["", f"Population conserved in both: towns + rural = {total:,} residents.", ""]

    # near-city cases in the unmerged build
    cen = before[before["population"] >= 5000]
    tree = cKDTree(cen[["centre_x", "centre_y"]].to_numpy())
    lines += [f"## Småbyer within {NEAR_M / 1000:.0f} km of a larger centre (unmerged build)", "",
              "| småby (kommune) | residents | larger centre | km | after the rule | "
              "narrowest gap between carrying cells |", "|---|---:|---|---:|---|---:|"]
    for tid, r in cen[cen["population"] < 50_000].iterrows():
        near = [cen.index[j] for j in tree.query_ball_point([r.centre_x, r.centre_y], NEAR_M)]
        big = [j for j in near if cen.loc[j, "population"] > r.population]
        if not big:
            continue
        j = max(big, key=lambda k: cen.loc[k, "population"])
        km = np.hypot(r.centre_x - cen.loc[j, "centre_x"], r.centre_y - cen.loc[j, "centre_y"])
        # the town after the rule that holds this part's cells / the larger centre's
        mine = int(np.bincount(ct_a[ct_b == tid].clip(0)).argmax())
        theirs = int(np.bincount(ct_a[ct_b == j].clip(0)).argmax())
        if mine == theirs:
            res = f"merged: {after.loc[mine, 'name']} ({after.loc[mine, 'population']:,})"
            gap = "-"
        else:
            res = f"separate: {after.loc[mine, 'name']} ({after.loc[mine, 'population']:,})"
            g = carrying_gap_m(cells, ct_a, mine, theirs, SETTLED_PER_KM2, size)
            gap = f"{g:,.0f} m"
        lines.append(
            f"| {r['name']} ({r.get('kommunenavn', '')}) | {r.population:,} | "
            f"{cen.loc[j, 'name']} | {km / 1000:.1f} | {res} | {gap} |"
        )
    lines += ["", "## Against SSB's published tettsted populations", "",
              "| SSB tettsted | SSB residents (date) | unmerged: largest town nearest its labels | "
              "after the rule: town(s) nearest its labels | after / SSB |",
              "|---|---:|---:|---|---:|"]
    for name, labels, ssb, date in SSB_TETTSTEDER:
        tb = label_towns(before, names, labels)
        ta = label_towns(after, names, labels)
        pb = max((int(before.loc[t, "population"]) for t in tb), default=0)
        pa = sum(int(after.loc[t, "population"]) for t in ta)
        held = ", ".join(f"{after.loc[t, 'name']} {int(after.loc[t, 'population']):,}"
                         for t in ta)
        lines.append(f"| {name} | {ssb:,} ({date}) | {pb:,} | {held} | {pa / ssb:.2f} |")
    lines += ["", "Kilde: SSB (grid 2015, tettsteder); © Kartverket (N1000).", ""]
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "town_merge.md"
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
