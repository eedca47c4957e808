"""Writers and maps: GeoParquet/GeoPackage/CSV tables and folium maps."""
