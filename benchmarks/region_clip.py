"""What a clipped region run gets wrong: region runs against the national run, cell by cell.

For each region, ``run_travel_times(region=R, buffer_km=B)`` (the network and the services
clipped to the region plus B km) and ``run_travel_times(region=R)`` (the whole network, the
default since 26 Nov 2026) are compared with the national run on the same 1 km cells: how many
cells and people get another time, the largest overstatement in minutes, and how many lose
every site of a type. The whole-network runs must match the national run exactly.

Run: ``python benchmarks/region_clip.py [--buffer-km 100] [--regions Kautokeino,Hemsedal,...]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from smaby_geo.pipeline import run_travel_times

TYPES = ("hospital", "court", "police", "study_centre")
REGIONS = (
    "Finnmark,Nordland,Troms,Innlandet,Vestland,Hattfjelldal,Kautokeino,Røyrvik,Tynset,"
    "Engerdal,Bykle,Lierne,Hemsedal,Sirdal"
)


def _compare(cells, national) -> str:
    out = []
    for t in TYPES:
        got = cells[f"{t}_minutes"].to_numpy(float)
        want = national.loc[cells.index, f"{t}_minutes"].to_numpy(float)
        g = np.where(np.isnan(got), np.inf, got)  # NaN (no site, before 26 Nov 2026) = none
        w = np.where(np.isnan(want), np.inf, want)
        differ = ~((g == w) | np.isclose(g, w, rtol=1e-9, atol=0))
        people = int(cells["population"].to_numpy()[differ].sum())
        fin = np.isfinite(g) & np.isfinite(w)
        over = float(np.max(g[fin] - w[fin], initial=0.0))
        lost = int((~np.isfinite(g) & np.isfinite(w)).sum())
        out.append(
            f"{t} {differ.sum()} cells / {people:,} people, max +{over:.1f} min, {lost} lost"
        )
    return "; ".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--buffer-km", type=float, default=100.0)
    p.add_argument("--regions", default=REGIONS)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    national = run_travel_times(grid="1km", service_types=TYPES).cells.set_index(["x_sw", "y_sw"])
    for region in args.regions.split(","):
        clipped = run_travel_times(
            region=region, grid="1km", service_types=TYPES, buffer_km=args.buffer_km
        ).cells.set_index(["x_sw", "y_sw"])
        whole = run_travel_times(region=region, grid="1km", service_types=TYPES).cells
        whole = whole.set_index(["x_sw", "y_sw"])
        print(f"{region}, clipped {args.buffer_km:g} km | {_compare(clipped, national)}")
        print(f"{region}, whole network | {_compare(whole, national)}", flush=True)


if __name__ == "__main__":
    main()
