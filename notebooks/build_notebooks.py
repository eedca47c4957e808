"""Write (and with --execute, run) the user notebooks from the cells below.

Run: ``python notebooks/build_notebooks.py --execute`` (needs the dev extra and the data
folder, e.g. ``SMABY_GEO_DATA_DIR=../shared/data``). The tests execute the committed
notebooks the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

COUNTY = [
    ("md", """# Hospital and police catchments in Innlandet — for county planners

Which places does each hospital and police location serve, how far do people drive, and
which kommuner fall short of the police standard (90 % of residents within 45 min)?
Data: Kartverket N1000 roads (© Kartverket), SSB 250 m population grid 2015 (Kilde: SSB),
service lists shipped with smaby_geo. **The service lists are incomplete** — the verified
hospital list has only 6 acute hospitals in or near Innlandet; we compare it with the list
that adds the unverified hospital sites (Hamar, Elverum, Gjøvik, Kongsvinger …)."""),
    ("code", """import warnings
warnings.simplefilter("ignore")
import smaby_geo
from smaby_geo import (
    catchments, clip_network, coverage_curve, evaluate_preset, load_services,
    read_kommuner, read_population_grid, select_region, summarise, travel_times,
)

kom = read_kommuner()
innlandet = select_region(kom, "Innlandet")
area = innlandet.geometry.union_all()
net = clip_network(smaby_geo.load_network(), area.buffer(100_000))
cells = read_population_grid("250m", kommuner=kom)
cells = cells[cells["kommunenummer"].isin(innlandet["kommunenummer"])]
print(f"{len(cells):,} populated 250 m cells, {cells['population'].sum():,} people")"""),
    ("code", """verified = load_services(["hospital", "police"])
with_candidates = load_services(["hospital", "police"], include_unverified_hospitals=True)
print(verified.attrs["counts"], "|", with_candidates.attrs["counts"])
t_ver = travel_times(net, cells, verified, service_types=["hospital", "police"])
t_all = travel_times(net, cells, with_candidates, service_types=["hospital", "police"])
for name, t in [("verified list", t_ver), ("with unverified sites", t_all)]:
    cov = coverage_curve(t, "hospital", minutes=[30, 45, 60, 90]).set_index("minutes")["share"]
    print(f"hospital, {name}: " + ", ".join(f"{m:g} min {s:.0%}" for m, s in cov.items()))"""),
    ("code", """c = catchments(t_all, "hospital", with_candidates)
c = c[c["population"] > 0].sort_values("population", ascending=False)
c[["name", "population", "cells", "area_km2", "median_minutes", "max_minutes"]].round(1)"""),
    ("code", """police = evaluate_preset(t_ver, "police_45min")
below = police[~police["meets_standard"]].merge(
    innlandet[["kommunenummer", "kommunenavn"]], on="kommunenummer")
print(f"{len(below)} of {len(police)} kommuner have fewer than 90 % of residents within "
      "45 min of a police location in the shipped (incomplete) list")
below.sort_values("share_within")[["kommunenavn", "population", "share_within"]].head(10)"""),
    ("code", """import os, tempfile
from smaby_geo import static_map
from IPython.display import Image
png = static_map(t_all, "hospital_minutes", os.path.join(tempfile.gettempdir(), "innlandet_hospital.png"),
                 title="Minutes to the nearest hospital (incl. unverified sites), Innlandet",
                 attribution=t_all.attrs["attribution"], kommuner=innlandet)
Image(png, width=520)"""),
    ("md", """**Reading it:** with only the verified list, Hamar/Elverum look 60–120 min from a
hospital — an artefact of the incomplete list, not of the roads. Replace the service layer
with an authoritative register before drawing conclusions."""),
]

TRANSPORT = [
    ("md", """# A ferry becomes a bridge: E39 Halhjem–Sandvikvåg (Hordfast) — for transport planners

We replace the E39 Bjørnafjorden ferry with a fixed link at 80 km/h and measure, for every
populated 250 m cell in Vestland, the change in minutes to hospitals and court venues, the
people crossing the 30/45/60/75/90-minute thresholds, and the rule-of-half benefit on
modelled commuting. Data: © Kartverket, Kilde: SSB; service lists are incomplete.

To try many such edits by hand, `smaby-geo serve --region Vestland --services hospital,court`
opens the scenario explorer in the browser (README, "Scenario explorer"): click a ferry to
replace it by a bridge, change a road's speed, draw a new link or close a facility, and see
these same figures after each edit; a scenario saved there is a YAML file that
`read_scenario` below (and `smaby-geo scenario`) reads."""),
    ("code", """import warnings
warnings.simplefilter("ignore")
from pathlib import Path
import smaby_geo
from smaby_geo import (
    apply_scenario, clip_network, compare, load_services, read_kommuner,
    read_population_grid, read_scenario, select_region,
)

kom = read_kommuner()
vestland = select_region(kom, "Vestland")
net = clip_network(smaby_geo.load_network(), vestland.geometry.union_all().buffer(100_000))
cells = read_population_grid("250m", kommuner=kom)
cells = cells[cells["kommunenummer"].isin(vestland["kommunenummer"])]
scenario_file = Path("..") / "scenarios" / "e39_hordfast.yaml"
if not scenario_file.exists():
    scenario_file = Path("scenarios") / "e39_hordfast.yaml"
sc = read_scenario(scenario_file)
print(sc.name, "-", sc.description)"""),
    ("code", """scen = apply_scenario(net, sc)
print(scen.report["scenario"])
# The verified hospital list lacks Haukeland (Bergen): add the unverified sites, or Bergen
# would look 70 minutes from a hospital and the bridge would seem to fix that.
services = load_services(["hospital", "court"], include_unverified_hospitals=True)
r = compare(net, scen, cells, services, service_types=["hospital", "court"], kommuner=vestland)
r.summary.round(2)"""),
    ("code", """r.thresholds.query("newly_within > 0 or newly_outside > 0")"""),
    ("code", """names = vestland.set_index("kommunenummer")["kommunenavn"]
k = r.kommuner[r.kommuner["service_type"] == "hospital"].copy()
k["kommune"] = k["kommunenummer"].map(names)
k.sort_values("mean_change_minutes").head(8).round(2)"""),
    ("code", """print(f"rule-of-half benefit: {r.benefit.person_minutes_per_day:,.0f} "
      f"person-minutes per day ({r.benefit.note})")
print(f"kommuner changing labour-market region: {len(r.regions)}")"""),
    ("code", """import os, tempfile
from smaby_geo import static_map
from IPython.display import Image
changed = r.cells[r.cells["hospital_delta"].abs() > 0.05]
png = static_map(changed, "hospital_delta", os.path.join(tempfile.gettempdir(), "hordfast_delta.png"), kind="delta",
                 title="E39 Hordfast: change in minutes to the nearest hospital",
                 attribution=r.base_table.attrs["attribution"], kommuner=vestland)
Image(png, width=520)"""),
]

ANALYST = [
    ("md", """# Labour-market regions three ways — for analysts

Bo- og arbeidsmarkedsregioner from modelled commuting (a doubly-constrained gravity model on
N1000 car times between population-weighted kommune centres): the TØI 2019 BA rules, the
Eurostat/Istat LMA algorithm and a plain 75-minute rule. Without SSB's commuting table
(03321), residents stand in for workers and jobs — the outputs say so. Data: © Kartverket,
Kilde: SSB."""),
    ("code", """import warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
import smaby_geo
from smaby_geo import LMAParameters, delineate_regions, read_kommuner, read_population_grid

net = smaby_geo.load_network()
kom = read_kommuner()
cells = read_population_grid("1km", kommuner=kom)
results = {m: delineate_regions(net, cells, kom, method=m,
                                lma_params=LMAParameters(1000, 0.6667, 10000, 0.75))
           for m in ["ba", "lma", "time"]}
print(results["ba"].notes)
pd.DataFrame({m: {"regions": len(r.regions),
                  "median self-containment": r.regions["self_containment"].median(),
                  "largest region (people)": r.regions["population"].max()}
              for m, r in results.items()}).round(3)"""),
    ("code", """def same_region_share(a, b):
    \"\"\"Share of kommune pairs on which two delineations agree (together or apart).\"\"\"
    ra = a.set_index("kommunenummer")["region"]
    rb = b.set_index("kommunenummer")["region"].reindex(ra.index)
    A = ra.to_numpy()[:, None] == ra.to_numpy()[None, :]
    B = rb.to_numpy()[:, None] == rb.to_numpy()[None, :]
    iu = np.triu_indices(len(ra), 1)
    return float((A[iu] == B[iu]).mean())

pairs = [("ba", "lma"), ("ba", "time"), ("lma", "time")]
{f"{a} vs {b}": round(same_region_share(results[a].membership, results[b].membership), 4)
 for a, b in pairs}"""),
    ("code", """ba = results["ba"].polygons.sort_values("population", ascending=False)
ba[["centre_name", "n_kommuner", "population", "self_containment"]].head(10).round(3)"""),
    ("code", """import os, tempfile
from smaby_geo import static_map
from IPython.display import Image
png = static_map(results["ba"].polygons, "region", os.path.join(tempfile.gettempdir(), "ba_regions.png"), kind="category",
                 title=f"BA regions from modelled flows ({len(results['ba'].regions)})",
                 attribution="© Kartverket | Kilde: SSB")
Image(png, width=480)"""),
]

MINISTRY = [
    ("md", """# Small towns as regional centres — for the ministry's analyst

**Which small towns serve the largest rural hinterlands, and which districts have none within
45 minutes?** Towns come from Kartverket's N1000 built-up areas and the SSB 250 m grid
(`smaby_geo.places.towns`; classes: village ≥ 200, small town ≥ 5,000, town ≥ 15,000, large
city ≥ 50,000 residents). *Centres* are the towns of 5,000+; *rural* residents are those
outside every centre. A centre's *exclusive* hinterland is the people for whom it is the
nearest centre of at least its own class; the strategy's *småbyer* are the small towns and
towns (5,000–49,999). Car times on N1000 with ferry waits. Data: © Kartverket, Kilde: SSB;
service lists are incomplete."""),
    ("code", """import warnings
warnings.simplefilter("ignore")
import pandas as pd
import smaby_geo
from smaby_geo.places.population import read_kommuner, read_population_grid
from smaby_geo.places.placenames import read_place_names
from smaby_geo.places.services import load_services
from smaby_geo.places.towns import build_towns, read_builtup_areas
from smaby_geo.analysis.hinterlands import hinterlands, summarise_hinterlands

net = smaby_geo.load_network()
kom = read_kommuner()
cells = read_population_grid("250m", kommuner=kom)
towns, cell_town = build_towns(cells, read_builtup_areas(), place_names=read_place_names(),
                               return_cells=True)
h = hinterlands(net, cells, towns, cell_town, load_services())
centres, ct = h.towns, h.cells
print(towns["town_class"].value_counts().to_dict())
rural = ct[ct["rural"]]
share = {t: rural.loc[rural["minutes_to_town"] <= t, "population"].sum() / rural["population"].sum()
         for t in (30, 45, 60)}
print(f"rural residents: {rural['population'].sum():,}; within 30/45/60 min of a centre: "
      + " / ".join(f"{v:.1%}" for v in share.values()))"""),
    ("md", """## The småbyer with the largest rural hinterlands
Exclusive rural residents (nearest centre of at least the town's class), the rural residents
within 45 minutes (some of them nearer another centre), and what each town hosts."""),
    ("code", """smaby = centres[centres["town_class"].isin(["small_town", "town"])]
cols = ["name", "town_class", "kommunenavn", "population", "exclusive_rural_population",
        "rural_within_45", "nearer_other_45", "hospital_sites", "court_sites", "police_sites",
        "study_centre_sites", "hospital_nearest_minutes"]
smaby.sort_values("exclusive_rural_population", ascending=False)[cols].head(15).round(1)"""),
    ("md", """## Districts with no centre within 45 minutes
Kommuner where not one resident is within 45 minutes of a town of 5,000+, and those where
fewer than half of the rural residents are."""),
    ("code", """k = summarise_hinterlands(ct)
k = k.merge(kom[["kommunenummer", "kommunenavn", "fylkesnavn"]], on="kommunenummer")
none45 = k[k["share_within_45"] == 0].sort_values("rural_median_minutes", ascending=False)
print(f"{len(none45)} kommuner ({none45['population'].sum():,} residents) have no resident "
      "within 45 minutes of a town of 5,000+; "
      f"{(k['rural_share_within_45'] < 0.5).sum()} have fewer than half their rural residents within 45")
none45[["kommunenavn", "fylkesnavn", "population", "rural_median_minutes", "nearest_towns"]].head(20).round(0)"""),
    ("code", """import os, tempfile
from smaby_geo.outputs.static import static_map
from IPython.display import Image
layer = kom.merge(k[["kommunenummer", "rural_median_minutes"]], on="kommunenummer")
png = static_map(layer, "rural_median_minutes", os.path.join(tempfile.gettempdir(), "rural_to_town.png"),
                 title="Rural residents: median minutes to the nearest town of 5,000+",
                 attribution=ct.attrs["attribution"])
Image(png, width=480)"""),
    ("md", """**Reading it:** the exclusive hinterland of a *town* (15,000+) counts everyone for
whom it is the nearest town of 15,000+, so towns in sparse regions (Tromsø, Harstad, eastern
Ålesund) lead; a *small town*'s counts everyone whose nearest centre it is (Ytre Arna,
Hønefoss, Orkanger). The 45-minute gaps are the islands, inner Agder and Telemark and much
of Nordland and Finnmark: a ferry or a mountain pass from any town of 5,000+. Names come from
the N1000 labels near each built-up area and can be a district of the town (Spjelkavik for
eastern Ålesund). Service counts use the shipped, incomplete service lists."""),
]

NOTEBOOKS = {
    "county_planner_innlandet_catchments.ipynb": COUNTY,
    "transport_planner_ferry_to_bridge.ipynb": TRANSPORT,
    "analyst_labour_market_regions.ipynb": ANALYST,
    "ministry_small_towns_hinterlands.ipynb": MINISTRY,
}


def build(name: str, cells) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                for kind, src in cells]
    return nb


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--execute", action="store_true")
    args = p.parse_args()
    for name, cells in NOTEBOOKS.items():
        nb = build(name, cells)
        if args.execute:
            from nbclient import NotebookClient

            NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(HERE)}}).execute()
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
