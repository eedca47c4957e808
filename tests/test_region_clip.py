"""A region is routed on the whole network (exact), and an explicit ``--buffer-km`` clip says
up to which time its figures are exact.

Found by the hostile review: a region run clipped the network and the services 100 km
around the region, so Kautokeino's residents got no hospital at all (Hammerfest lies beyond
the clip: 225-236 min in the national run) and Hemsedal's a study centre 4 minutes too far.
"""

from __future__ import annotations

import numpy as np
import pytest

from smaby_geo.network.clipping import exact_within_min
from smaby_geo.pipeline import run_travel_times

TYPES = ("hospital", "study_centre")


@pytest.fixture(scope="module")
def national():
    res = run_travel_times(grid="1km", service_types=TYPES)
    return res.cells.set_index(["x_sw", "y_sw"]), res.network


def _minutes(res, key):
    return res.cells.set_index(["x_sw", "y_sw"])[f"{key}_minutes"]


@pytest.mark.parametrize("region", ["Kautokeino", "Hemsedal"])
def test_a_region_gets_the_national_minutes(national, region):
    cells, _ = national
    res = run_travel_times(region=region, grid="1km", service_types=TYPES)
    assert res.cells.attrs["clip"] is None
    for t in TYPES:
        got = _minutes(res, t)
        want = cells.loc[got.index, f"{t}_minutes"]
        fin = np.isfinite(want.to_numpy())
        assert fin.sum() > 0
        np.testing.assert_array_equal(np.isfinite(got.to_numpy()), fin)
        np.testing.assert_allclose(got.to_numpy()[fin], want.to_numpy()[fin], rtol=1e-9)


def test_a_clipped_region_is_exact_up_to_its_bound_and_says_so(national):
    cells, net = national
    res = run_travel_times(region="Hemsedal", grid="1km", service_types=TYPES, buffer_km=100)
    clip = res.cells.attrs["clip"]
    # the bound: 100 km at the network's top speed (the fastest link, both directions)
    links = net.links[net.links["length_m"] > 0]
    top = max(
        (links["length_m"] / links["seconds_fw"]).max(),
        (links["length_m"] / links["seconds_bw"]).max(),
    )
    assert clip["buffer_km"] == 100
    assert clip["exact_within_min"] == pytest.approx(100_000 / top / 60, rel=1e-12)
    assert clip["exact_within_min"] == pytest.approx(exact_within_min(net, 100.0), rel=1e-12)
    got = np.concatenate([_minutes(res, t).to_numpy() for t in TYPES])
    idx = _minutes(res, TYPES[0]).index
    want = np.concatenate([cells.loc[idx, f"{t}_minutes"].to_numpy() for t in TYPES])
    # the clip overstates some of Hemsedal's times (a study centre beyond it is nearer) ...
    over = got > want + 1e-6
    assert over.any()
    # ... but only beyond the bound, and never understates one
    assert (got[over] > clip["exact_within_min"]).all()
    assert (got >= want - 1e-6).all()
    inside = got <= clip["exact_within_min"]
    assert inside.any()
    np.testing.assert_allclose(got[inside], want[inside], rtol=1e-9)


def test_run_with_a_clip_prints_how_many_people_may_be_overstated(tmp_path, capsys):
    from smaby_geo.cli import main

    code = main(
        ["run", "--region", "Kautokeino", "--grid", "1km", "--services", "hospital",
         "--buffer-km", "100", "--no-map", "--out", str(tmp_path / "clip")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Warning: no hospital site within the region and its 100 km buffer" in out
    assert "--buffer-km 100 clips the network; times up to" in out
    code = main(
        ["run", "--region", "Kautokeino", "--grid", "1km", "--services", "hospital",
         "--no-map", "--out", str(tmp_path / "whole")]
    )
    out = capsys.readouterr().out
    assert code == 0 and "clips the network" not in out and "Warning: no hospital" not in out
