"""Bad inputs a read-only review found ending in a traceback: each now gives one line naming
the input and the fix (library: ValueError; CLI: exit code 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _tiny_network():
    from smaby_geo.network.core import build_network

    links = pd.DataFrame(
        {
            "link_id": [0, 1],
            "u": [0, 1],
            "v": [1, 2],
            "seconds_fw": [60.0, 60.0],
            "seconds_bw": [60.0, 60.0],
            "length_m": [1000.0, 1000.0],
            "category": ["F", "F"],
            "road_number": [None, None],
            "ferry": [False, False],
        }
    )
    return build_network(links, np.array([0.0, 1000.0, 2000.0]), np.zeros(3) + 6.7e6)


# --- a. huge or non-finite coordinates: new_link and nearest_nodes --------------------------


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (1e308, 1e308, "too far from the network"),
        (1e200, 6.7e6, "too far from the network"),
        (np.inf, 6.7e6, "not finite"),
        (np.nan, 6.7e6, "not finite"),
        (-np.inf, -np.inf, "not finite"),
    ],
)
def test_nearest_nodes_refuses_a_point_with_no_nearest_node(x, y, match):
    net = _tiny_network()
    with pytest.raises(ValueError, match=match):
        net.nearest_nodes([x], [y])


def test_nearest_nodes_still_answers_ordinary_points():
    net = _tiny_network()
    nodes, dist = net.nearest_nodes([1100.0, -5.0], [6.7e6 + 30.0, 6.7e6])
    assert nodes.tolist() == [1, 0]
    np.testing.assert_allclose(dist, [np.hypot(100.0, 30.0), 5.0])


@pytest.mark.parametrize("big", [1e308, 1e200, -1e9])
def test_new_link_with_an_absurd_coordinate_is_refused(big):
    from smaby_geo.network.edits import NewLink

    with pytest.raises(ValueError, match=r"new_link: start coordinate .* EPSG:25833 metres"):
        NewLink(start=(big, 6.9e6), end=(280000, 6900000))


def test_scenario_file_with_a_huge_new_link_point_names_the_line(tmp_path):
    from smaby_geo.analysis.scenarios import read_scenario

    f = tmp_path / "huge.yaml"
    f.write_text(
        "name: huge\nedits:\n  - new_link: {start: [1e308, 1e308], end: [280000, 6900000]}\n"
    )
    with pytest.raises(ValueError, match=r"huge\.yaml, line 3 .*new_link: start coordinate"):
        read_scenario(f)


def test_cli_scenario_with_a_huge_new_link_point_exits_2(tmp_path, capsys):
    from smaby_geo.cli import main

    f = tmp_path / "huge.yaml"
    f.write_text(
        "name: huge\nedits:\n  - new_link: {start: [1e200, 6900000], end: [280000, 6900000]}\n"
    )
    rc = main(["scenario", str(f), "--region", "Tynset", "--no-map", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "new_link: start coordinate 1e+200" in err[0]
