"""The optional products of the main job: catchments and labour-market regions.

Catchments come with rasters, isochrones and maps; both are written into a job's output
folder with the run metadata.

``smaby_geo.pipeline`` calls these for ``smaby-geo run --catchments`` and ``--regions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from smaby_geo.analysis.catchments import catchments
from smaby_geo.analysis.regions import delineate_regions
from smaby_geo.network.core import RoadNetwork
from smaby_geo.outputs import io
from smaby_geo.places.grid import coarsen_cells

ISO_MIN = (30, 45, 60, 90)


def write_catchment_files(
    cells: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    service_types: Sequence[str],
    out_dir: Path,
    slug: str,
    meta: dict,
    *,
    with_map: bool,
) -> list[Path]:
    """Catchment polygons, a minutes GeoTIFF per type, isochrones and catchment maps.

    Parameters
    ----------
    cells : GeoDataFrame
        A ``travel_times`` table of grid cells (``cell_size_m``, ``<t>_minutes``).
    services : GeoDataFrame
        The service sites the table was computed with.
    service_types : sequence of str
    out_dir : Path
        Folder written into (``catchments_<slug>.gpkg``, ``minutes_<t>_<slug>.tif``,
        ``isochrones_<slug>.gpkg``, ``map_catchments_<t>_<slug>.html``).
    slug : str
        Name part of the files.
    meta : dict
        Run metadata stored in every file (attribution included).
    with_map : bool
        Also draw the HTML maps.

    Returns
    -------
    list of Path
        The files written.
    """
    import pyogrio

    from smaby_geo.outputs.maps import MAX_CELLS_ON_MAP, MAX_VECTOR_CELLS, map_catchments
    from smaby_geo.outputs.rasters import isochrones, minutes_raster, write_geotiff

    written: list[Path] = []
    gpkg = out_dir / f"catchments_{slug}.gpkg"
    layers = {}
    for t in tqdm(service_types, desc="catchments", leave=False):
        layers[t] = catchments(cells, t, services)
    with io.atomic_path(gpkg) as tmp:
        for t, layer in layers.items():
            pyogrio.write_dataframe(
                layer,
                tmp,
                layer=t,
                driver="GPKG",
                append=tmp.exists(),
                layer_metadata={k: str(v) for k, v in meta.items()},
            )
    written.append(gpkg)
    iso_rows = []
    # National runs: isochrones and map polygons from 1 km cells (a 250 m national isochrone
    # layer is ~50 MB); regional runs keep the grid's own resolution.
    small = len(cells) <= MAX_CELLS_ON_MAP
    base_m = int(cells["cell_size_m"].iloc[0])
    coarse = None if small else max(1000, int(cells["cell_size_m"].iloc[0]))
    meta = {**meta, "isochrone_resolution_m": coarse or int(cells["cell_size_m"].iloc[0])}
    for t in service_types:
        r = minutes_raster(cells, f"{t}_minutes")
        written.append(Path(write_geotiff(r, out_dir / f"minutes_{t}_{slug}.tif", tags=meta)))
        iso = isochrones(r if small else minutes_raster(cells, f"{t}_minutes", coarse), ISO_MIN)
        iso.insert(0, "service_type", t)
        iso_rows.append(iso)
        if with_map:
            shown = (
                layers[t]
                if small
                else catchments(coarsen_cells(cells, t, int(coarse or 0)), t, services)
            )
            shown.attrs.update(layers[t].attrs)
            iso_map = iso
            if small and len(cells) > MAX_VECTOR_CELLS:
                # the map's isochrones are traced from 2x coarser cells: about 4x fewer
                # vertices to simplify and draw; the GeoPackage keeps the grid's own
                iso_map = isochrones(minutes_raster(cells, f"{t}_minutes", 2 * base_m), ISO_MIN)
            m = map_catchments(
                shown, isochrone_layer=iso_map if small else None, services=services
            )
            written.append(
                io.write_text(m.get_root().render(), out_dir / f"map_catchments_{t}_{slug}.html")
            )
    iso_all = gpd.GeoDataFrame(pd.concat(iso_rows, ignore_index=True), crs=iso_rows[0].crs)
    written.append(io.write_gpkg(iso_all, out_dir / f"isochrones_{slug}.gpkg", "isochrones", meta))
    return written


def write_region_files(
    network: RoadNetwork,
    cells: gpd.GeoDataFrame,
    kommuner: gpd.GeoDataFrame,
    method: str,
    out_dir: Path,
    slug: str,
    meta: dict,
    *,
    with_map: bool,
) -> list[Path]:
    """Labour-market regions of the kommuner in ``cells``: membership, polygons, map.

    Parameters
    ----------
    network : RoadNetwork
    cells : GeoDataFrame
        A ``travel_times`` table (population, ``kommunenummer``, centre points).
    kommuner : GeoDataFrame
        Kommune polygons (all; those with cells are kept).
    method : {"ba", "lma", "time"}
    out_dir, slug, meta, with_map
        As for ``write_catchment_files``.

    Returns
    -------
    list of Path
        The files written.
    """
    from smaby_geo.outputs.maps import map_regions

    kom = kommuner[kommuner["kommunenummer"].isin(cells["kommunenummer"])]
    # the travel-time table carries each cell's population, kommune and centre point
    r = delineate_regions(network, cells, kom, method=method)
    notes = "; ".join(r.notes)
    m2 = {**meta, "regions_method": method, "regions_notes": notes}
    names = kom.set_index("kommunenummer")["kommunenavn"]
    mem = r.membership.assign(
        kommunenavn=lambda d: d["kommunenummer"].map(names),
        centre_name=lambda d: d["centre"].map(names),
    )
    written = [
        io.write_csv(mem, out_dir / f"regions_{method}_membership_{slug}.csv", index=False),
        io.write_gpkg(r.polygons, out_dir / f"regions_{method}_{slug}.gpkg", "regions", m2),
    ]
    if with_map:
        m = map_regions(
            r.polygons,
            attribution=meta["attribution"],
            note=notes,
            title=f"Labour-market regions ({method.upper()}), {len(r.regions)}",
        )
        written.append(
            io.write_text(m.get_root().render(), out_dir / f"map_regions_{method}_{slug}.html")
        )
    return written
