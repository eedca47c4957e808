"""The README and the method pages state the profile's defaults as the code has them.

The defaults are fitted (``benchmarks/calibrate_speeds.py``); each refit changes them, and a
page left behind tells a planner the wrong wait or speed (``docs/methods/ferries.md`` said a
20.5-minute default headway for two stops after the default became 45.6).
"""

from pathlib import Path

import pytest

from smaby_geo.network.profile import (
    CALIBRATED_CURVATURE_SCALE_DEG_PER_KM,
    CALIBRATED_HEADWAY_MIN,
    CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM,
    N1000_CATEGORY_SPEEDS_KMH,
    N1000_URBAN_SPEEDS_KMH,
    CarProfile,
)

ROOT = Path(__file__).resolve().parents[1]


def _text(rel: str) -> str:
    return " ".join((ROOT / rel).read_text(encoding="utf-8").split())  # lines joined


def _speeds(table) -> str:
    return ", ".join(f"{c} {table[c]:.1f}" for c in ("E", "R", "F", "K", "P"))


def test_the_fit_and_the_profile_defaults_are_one_set_of_values():
    """``FITTED_VALUES`` (what ``calibrated_profile`` sets) and the profile's default constants
    are two copies of one fit: set on the uncalibrated prior, the fit must give the defaults."""
    from smaby_geo.analysis.calibration import calibrated_profile
    from smaby_geo.network.profile import prior_profile

    fitted, default = calibrated_profile(prior_profile()), CarProfile()
    assert dict(fitted.category_speeds_kmh) == dict(default.category_speeds_kmh)
    assert dict(fitted.urban_speeds_kmh) == dict(default.urban_speeds_kmh)
    assert fitted.ferry.default_headway_min == default.ferry.default_headway_min
    assert fitted.curvature_scale_deg_per_km == default.curvature_scale_deg_per_km
    # the roadside term is off by default (it fails its adoption rule); the fit made with it
    # on is ROADSIDE_FIT, whose rho0 is the named constant
    assert default.roadside_density_scale_residents_per_km is None
    assert fitted.roadside_density_scale_residents_per_km is None
    from smaby_geo.analysis.calibration import set_parameters
    from smaby_geo.network.profile import ROADSIDE_FIT

    on = set_parameters(prior_profile(), dict(ROADSIDE_FIT))
    rho0 = on.roadside_density_scale_residents_per_km
    assert rho0 == CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM
    assert default.ferry.default_headway_min == CALIBRATED_HEADWAY_MIN
    assert dict(default.urban_speeds_kmh) == dict(N1000_URBAN_SPEEDS_KMH)


@pytest.mark.parametrize(
    ("page", "phrase"),
    [
        ("README.md", f"rural {_speeds(N1000_CATEGORY_SPEEDS_KMH)} km/h"),
        ("README.md", f"urban {_speeds(N1000_URBAN_SPEEDS_KMH)} km/h"),
        ("README.md", f"default ferry headway {CALIBRATED_HEADWAY_MIN:.1f} min"),
        ("README.md", f"a {CALIBRATED_HEADWAY_MIN / 2:.1f}-minute wait"),
        ("README.md", f"= {CALIBRATED_CURVATURE_SCALE_DEG_PER_KM:.0f} (fitted"),
        ("README.md", f"= {CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM:.0f} (fitted"),
        ("README.md", f"curvature scale {CALIBRATED_CURVATURE_SCALE_DEG_PER_KM:.0f} °/km"),
        (
            "docs/methods/ferries.md",
            f"(default {CALIBRATED_HEADWAY_MIN:.1f} where unknown, fitted)",
        ),
        ("docs/methods/ferries.md", f"{CALIBRATED_HEADWAY_MIN:.1f} minutes (a wait of "),
        ("docs/methods/travel-time.md", f"rural E {N1000_CATEGORY_SPEEDS_KMH['E']:.1f} km/h"),
        ("docs/methods/travel-time.md", f"1 + κ / {CALIBRATED_CURVATURE_SCALE_DEG_PER_KM:.0f}"),
        (
            "docs/methods/travel-time.md",
            f"ρ / (ρ + {CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM:.0f})",
        ),
        ("docs/calibration.md", f"**{CALIBRATED_HEADWAY_MIN:.1f}**"),
        ("docs/calibration.md", f"**{CALIBRATED_CURVATURE_SCALE_DEG_PER_KM:.0f}**"),
        ("docs/calibration.md", f"**{CALIBRATED_ROADSIDE_DENSITY_SCALE_RESIDENTS_PER_KM:.0f}**"),
        (
            "docs/calibration.md",
            f"| E rural (straight road) | 80.0 | **{N1000_CATEGORY_SPEEDS_KMH['E']:.1f}**",
        ),
    ],
)
def test_a_page_states_the_default_as_the_code_has_it(page, phrase):
    assert phrase in _text(page), f"{page} does not say {phrase!r}"
