"""Survey-agnostic machinery for fetching lightcurves into a TOM Toolkit site."""
