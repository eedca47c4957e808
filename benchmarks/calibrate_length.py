"""Calibrate the N1000 length factor: network route length vs. reference road distances.

Reference distances (km, rounded) are the usual signed/route-planner road distances between
town centres along the main road named; they are approximate references, not survey data.
The script routes with length_factor=1 and prints each ratio reference / N1000 and their
median, which is the basis of ``CarProfile.length_factor``.

Run: python benchmarks/calibrate_length.py
"""

from __future__ import annotations

import numpy as np

from smaby_geo import CarProfile, load_network
from smaby_geo.analysis.trips import trip

# (from, to, reference km, main road)
REFERENCE_KM = [
    ("Oslo", "Bergen", 463, "E16/Rv7 (METHODS §1: 460-470 km)"),
    ("Oslo", "Trondheim", 495, "E6"),
    ("Oslo", "Kristiansand", 320, "E18"),
    ("Oslo", "Hamar", 125, "E6"),
    ("Hamar", "Lillehammer", 60, "E6"),
    ("Lillehammer", "Gjøvik", 45, "Fv4/Rv4"),
    ("Trondheim", "Bodø", 715, "E6"),
    ("Hamar", "Elverum", 32, "Rv25"),
]


def main() -> None:
    net = load_network(profile=CarProfile(length_factor=1.0))
    rows = []
    print("| from | to | reference km | N1000 km | ratio | road |")
    print("|---|---|---:|---:|---:|---|")
    for a, b, ref, road in REFERENCE_KM:
        r = trip(net, a, b)
        ratio = ref / r.km
        rows.append(ratio)
        print(f"| {a} | {b} | {ref} | {r.km:.0f} | {ratio:.3f} | {road} |")
    print(f"\nmedian ratio {np.median(rows):.3f} (min {min(rows):.3f}, max {max(rows):.3f})")


if __name__ == "__main__":
    main()
