"""Convert upstream R data files (``.rda`` of sf objects) into the GeoPackages the project reads.

Kartverket N1000/N2000 reach us as R packages (hmalmedal/N1000, hmalmedal/N2000) and the NVDB
sample as data of SSB's GISSB package. The ``rdata`` package reads them without R: each sf
object comes back as a DataFrame whose geometry column holds nested lists of coordinate arrays.
A converter turns one such object into a GeoDataFrame and writes it as one GeoPackage layer,
to a temporary file that is moved into place only when complete.

The road layers, the NVDB sample, the built-up areas and the kommune polygons convert exactly
(same rows, attributes and coordinates as the files in the project's data folder). The
place-name points are derived: only settlement types are kept and each label line becomes its
midpoint (see ``SETTLEMENT_TYPES`` and ``_stedsnavn``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: CRS of every N1000/N2000/NVDB object converted here (sf objects of ETRS89 / UTM 33N).
SOURCE_CRS = "EPSG:25833"

#: N1000 place-name types kept as settlements (shared/data/README.md, place_names).
SETTLEMENT_TYPES: tuple[str, ...] = (
    "by",
    "tettsted",
    "tettbebyggelse",
    "bygdelagBygd",
    "grend",
    "boligfelt",
    "bydel",
)


class ConversionError(ValueError):
    """An upstream file is not the R data file a converter expects."""


@dataclass(frozen=True)
class Converter:
    """How one upstream ``.rda`` becomes one GeoPackage layer.

    Attributes
    ----------
    rda_object : str
        Name of the R object expected in the file.
    layer : str
        Layer name written.
    columns : tuple of str
        Attribute columns the object must have.
    build : callable
        ``DataFrame -> GeoDataFrame`` (EPSG:25833).
    """

    rda_object: str
    layer: str
    columns: tuple[str, ...]
    build: Callable[[pd.DataFrame], gpd.GeoDataFrame]


def _days_to_iso(days: pd.Series) -> pd.Series:
    """R ``Date`` values (days since 1970-01-01) as ISO date strings."""
    d = pd.to_datetime(days.astype("float64"), unit="D", origin="unix")
    return d.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None)


def _plain(df: pd.DataFrame, columns) -> pd.DataFrame:
    """Attribute columns with nullable strings as object (None for NA) for writing."""
    out = {}
    for c in columns:
        s = df[c]
        if isinstance(s.dtype, pd.StringDtype):
            s = s.astype(object).where(s.notna(), None)
        out[c] = s.to_numpy() if not isinstance(s.dtype, pd.api.extensions.ExtensionDtype) else s
    return pd.DataFrame(out)


def _line(a) -> shapely.LineString:
    a = np.asarray(a, dtype="float64")
    return shapely.LineString(a[:, :2])


def _polygon(rings) -> shapely.Polygon:
    rings = [np.asarray(r, dtype="float64")[:, :2] for r in rings]
    return shapely.Polygon(rings[0], rings[1:])


def _multipolygon(g) -> shapely.MultiPolygon:
    """An sf POLYGON (ring list), MULTIPOLYGON (polygon list) or empty, as a multipolygon."""
    if len(g) == 0:
        return shapely.MultiPolygon()
    if isinstance(g[0], np.ndarray):
        return shapely.MultiPolygon([_polygon(g)])
    return shapely.MultiPolygon([_polygon(p) for p in g])


def _geoms(values, kind: str, name: str) -> list:
    make = {
        "line": _line,
        "polygon": _polygon,
        "multipolygon": _multipolygon,
        "multiline": lambda g: shapely.MultiLineString([_line(p) for p in g]),
    }[kind]
    try:
        return [make(v) for v in values]
    except (TypeError, ValueError, IndexError) as exc:
        raise ConversionError(
            f"{name}: geometry column is not {kind} coordinates ({exc})"
        ) from None


def _frame(df: pd.DataFrame, columns, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        _plain(df, columns).reset_index(drop=True), geometry=geoms, crs=SOURCE_CRS
    )


def _veglenke(df: pd.DataFrame) -> gpd.GeoDataFrame:
    cols = [c for c in df.columns if c != "senterlinje"]
    out = _frame(df, cols, _geoms(df["senterlinje"], "line", "Veglenke"))
    out["oppdateringsdato"] = _days_to_iso(df["oppdateringsdato"]).to_numpy()
    return out


def _kommune(df: pd.DataFrame) -> gpd.GeoDataFrame:
    cols = ["kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn"]
    return _frame(df, cols, _geoms(df["område"], "polygon", "Kommune"))


def _tettbebyggelse(df: pd.DataFrame) -> gpd.GeoDataFrame:
    return _frame(
        df,
        ["målemetode", "nøyaktighet"],
        _geoms(df["område"], "multipolygon", "Tettbebyggelse"),
    )


def _nvdb(df: pd.DataFrame) -> gpd.GeoDataFrame:
    cols = [c for c in df.columns if c != "SHAPE"]
    return _frame(df, cols, _geoms(df["SHAPE"], "multiline", "vegnett_sampledata"))


def _stedsnavn(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """Settlement names only; the point is the midpoint (half the length) of the label line."""
    keep = df["navneobjekttype"].isin(SETTLEMENT_TYPES).fillna(False).to_numpy(dtype=bool)
    sub = df.loc[keep]
    lines = _geoms(sub["geometri"], "line", "StedsnavnTekst")
    points = shapely.line_interpolate_point(np.asarray(lines, dtype=object), 0.5, normalized=True)
    out = _frame(
        sub, ["fulltekst", "streng", "navneobjekttype", "stedsnummer"], list(points)
    )
    out.insert(4, "oppdateringsdato", _days_to_iso(sub["oppdateringsdato"]).to_numpy())
    return out


CONVERTERS: dict[str, Converter] = {
    "veglenke": Converter(
        "Veglenke", "veglenke", ("typeVeg", "vegkategori", "medium", "senterlinje"), _veglenke
    ),
    "kommune": Converter(
        "Kommune",
        "kommune",
        ("kommunenummer", "kommunenavn", "fylkesnummer", "fylkesnavn", "område"),
        _kommune,
    ),
    "tettbebyggelse": Converter(
        "Tettbebyggelse", "tettbebyggelse", ("målemetode", "nøyaktighet", "område"), _tettbebyggelse
    ),
    "stedsnavn": Converter(
        "StedsnavnTekst",
        "stedsnavn",
        ("fulltekst", "streng", "navneobjekttype", "stedsnummer", "geometri"),
        _stedsnavn,
    ),
    "nvdb": Converter(
        "vegnett_sampledata",
        "vegnett",
        ("FromNodeID", "ToNodeID", "ONEWAY", "FT_MINUTES", "TF_MINUTES", "SHAPE"),
        _nvdb,
    ),
}


def read_rda_object(path: str | os.PathLike, name: str, columns=()) -> pd.DataFrame:
    """Read the R object ``name`` from an ``.rda`` file as a DataFrame.

    Parameters
    ----------
    path : path-like
        R data file (``save()`` output, any compression).
    name : str
        Object expected in the file.
    columns : iterable of str
        Columns the object must have.

    Raises
    ------
    ConversionError
        The file is not an R data file, is truncated, or holds no such object/columns.
    """
    import rdata

    path = Path(path)
    try:
        with warnings.catch_warnings():
            # sf classes have no rdata constructor: geometry comes back as plain lists.
            warnings.simplefilter("ignore")
            objs = rdata.read_rda(path)
    except Exception as exc:
        raise ConversionError(
            f"{path.name} is not a readable R data file (truncated or another format: "
            f"{type(exc).__name__}: {exc})"
        ) from None
    if name not in objs:
        raise ConversionError(
            f"{path.name} holds the R objects {sorted(objs)}, not the expected {name!r}"
        )
    df = objs[name]
    if not isinstance(df, pd.DataFrame):
        raise ConversionError(f"{path.name}: object {name!r} is a {type(df).__name__}, not a table")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConversionError(f"{path.name}: object {name!r} lacks the columns {missing}")
    return df


def rda_to_frame(path: str | os.PathLike, converter: str) -> gpd.GeoDataFrame:
    """Convert an upstream ``.rda`` with converter ``converter`` (see ``CONVERTERS``)."""
    conv = CONVERTERS[converter]
    return conv.build(read_rda_object(path, conv.rda_object, conv.columns))


def convert_rda(src: str | os.PathLike, dst: str | os.PathLike, converter: str) -> Path:
    """Convert ``src`` into the GeoPackage ``dst``, atomically.

    The layer is written to a temporary file beside ``dst`` and moved into place only when
    complete; on any error nothing is left at ``dst`` or beside it.

    Parameters
    ----------
    src : path-like
        Upstream R data file.
    dst : path-like
        GeoPackage to write (replaced if it exists).
    converter : str
        Key of ``CONVERTERS``.

    Returns
    -------
    pathlib.Path
        ``dst``.
    """
    import pyogrio

    dst = Path(dst)
    gdf = rda_to_frame(src, converter)
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.tmp.gpkg")
    try:
        pyogrio.write_dataframe(gdf, tmp, layer=CONVERTERS[converter].layer, driver="GPKG")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst
