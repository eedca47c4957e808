"""The package version (one place: read by the flat API and written into run metadata)."""

__version__ = "0.1.0"
