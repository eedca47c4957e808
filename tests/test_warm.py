"""The ``make`` warm-up step compiles the kernel signatures the jobs use (snapping included)."""

import subprocess
import sys

CHILD = """
import numpy as np, geopandas as gpd, shapely
from smaby_geo.places import warm
warm.warm_up()
from smaby_geo.places._nearest import nearest_segments as kernel
before = len(kernel.signatures)
from smaby_geo.network.readers import network_from_lines
from smaby_geo.places.snapping import snap_points
roads = gpd.GeoDataFrame(
    {"minutes": [2.0, 3.0, 1.5]},
    geometry=[
        shapely.LineString([(0, 0), (2000, 0)]),
        shapely.LineString([(2000, 0), (2000, 3000)]),
        shapely.LineString([(2000, 3000), (500, 3500)]),
    ],
    crs="EPSG:25833",
)
net = network_from_lines(roads, time_column="minutes", time_unit="min", attribution="t")
xy = gpd.points_from_xy([100.0, 1900.0, 800.0], [50.0, 2000.0, 3300.0])
cells = gpd.GeoDataFrame(geometry=xy, crs="EPSG:25833")
s = snap_points(net, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy())
assert s.connected.all()
print(len(kernel.signatures) - before, before)
"""


def test_warm_up_leaves_no_snapping_signature_for_the_first_job():
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600, check=True
    )
    new, warmed = (int(v) for v in out.stdout.split())
    assert warmed >= 1  # the warm-up loaded (or compiled) the snapping kernel
    assert new == 0  # and a job's snapping needed no other specialisation
