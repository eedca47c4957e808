"""smaby_geo: car travel times from rural Norway to small-town services.

Data flows one way: network -> routing -> places -> analysis -> outputs.
"""

from smaby_geo.network import CarProfile, FerryModel, RoadNetwork, load_network
from smaby_geo.places.towns import towns

__version__ = "0.1.0"

__all__ = ["CarProfile", "FerryModel", "RoadNetwork", "__version__", "load_network", "towns"]
