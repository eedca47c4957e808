"""Car travel times between towns on the national N1000 network with the default profile.

Plausible ranges (minutes), documented here and in the README. References are typical
route-planner times; the N1000 model (METHODS §1 category speeds, no congestion, ferries at
crossing + half headway) is expected within these windows:

- Tynset -> Hamar (Rv3, about 200 km): 2 h 20 to 3 h 05. Route planners give about 2 h 40;
  the model's R 75 km/h and F 65 km/h put it at the slow end.
- Lillehammer -> Gjøvik (about 45 km): 35 to 60 min.
- Oslo -> Bergen (E16/Rv7, about 460-470 km): 5 h 30 to 7 h 30.
- Bodø -> Svolvær: must cross by car ferry; 4 h to 8 h.
"""

import pytest

from smaby_geo.analysis.trips import trip

RANGES = [
    ("Tynset", "Hamar", 140, 185, 0),
    ("Lillehammer", "Gjøvik", 35, 60, 0),
    ("Oslo", "Bergen", 330, 450, 0),
    ("Bodø", "Svolvær", 240, 480, 1),
]


@pytest.mark.parametrize(("a", "b", "lo", "hi", "min_ferries"), RANGES)
def test_town_pair_in_plausible_range(n1000, a, b, lo, hi, min_ferries):
    r = trip(n1000, a, b)
    assert lo <= r["minutes"] <= hi, r["minutes"]
    assert r["ferry_links"] >= min_ferries
    assert r["geometry"] is not None and r["geometry"].length > 0


def test_trip_is_roughly_symmetric(n1000):
    ab = trip(n1000, "Tynset", "Hamar")["minutes"]
    ba = trip(n1000, "Hamar", "Tynset")["minutes"]
    assert ab == pytest.approx(ba, rel=1e-9)


def test_ferry_wait_mode_changes_the_ferry_trip_only():
    from smaby_geo import CarProfile, load_network

    none = load_network(profile=CarProfile().with_ferry(wait_mode="none"))
    base = load_network()
    assert trip(none, "Bodø", "Svolvær")["minutes"] < trip(base, "Bodø", "Svolvær")["minutes"]
    assert trip(none, "Tynset", "Hamar")["minutes"] == pytest.approx(
        trip(base, "Tynset", "Hamar")["minutes"]
    )


def test_unknown_place_lists_close_matches(n1000):
    with pytest.raises(KeyError, match="Tynset"):
        trip(n1000, "Tynseth", "Hamar")
