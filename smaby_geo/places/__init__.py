"""Origins and destinations: population grid, settlements, services, snapping."""

from smaby_geo.places.placenames import find_place, read_place_names
from smaby_geo.places.snapping import AccessModel, Snapped, snap_points

__all__ = ["AccessModel", "Snapped", "find_place", "read_place_names", "snap_points"]
