"""Shared fixtures: real data from the registry, small hand-made networks."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from smaby_geo import datasets

# A closed port on this machine (port 9, discard, is not served here): a fetch fails at once.
NO_DOWNLOAD_URL = "http://127.0.0.1:9/no-downloads-in-tests"


def _data_dir() -> Path | None:
    env = os.environ.get(datasets.DATA_DIR_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2] / "shared" / "data"
    return here if here.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _data_env(tmp_path_factory):
    """Point the registry at the shared data folder when the env var is not set, keep what
    the tests cache (prepared networks, fetched files) out of the user's data home, and send
    every fetch to a closed local port: nothing downloads at test time unless a test starts
    its own server on 127.0.0.1 (``tests/test_fetch.py``)."""
    d = _data_dir()
    if d is not None and not os.environ.get(datasets.DATA_DIR_ENV):
        os.environ[datasets.DATA_DIR_ENV] = str(d)
    if not os.environ.get(datasets.CACHE_DIR_ENV):
        os.environ[datasets.CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("data_home"))
    for env in (datasets.UPSTREAM_URL_ENV, datasets.RELEASE_URL_ENV):
        os.environ[env] = NO_DOWNLOAD_URL


@pytest.fixture(scope="session")
def n1000():
    from smaby_geo import load_network

    return load_network("n1000")


@pytest.fixture(scope="session")
def n2000():
    from smaby_geo import load_network

    return load_network("n2000")


def lines(coords, crs="EPSG:25833", **cols):
    """A line GeoDataFrame from lists of coordinates plus columns."""
    return gpd.GeoDataFrame(cols, geometry=[LineString(c) for c in coords], crs=crs)


def tiny_network():
    """Two 1 km F links in a row (nodes at x 0, 1000, 2000 m), 60 s each way: a network for
    tests that need one but no data."""
    import numpy as np
    import pandas as pd

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
