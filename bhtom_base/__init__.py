"""Survey-agnostic machinery for fetching lightcurves into a TOM Toolkit site."""

__version__ = "0.1.0"  # the one place of the bhtom-brokers package version (pyproject.toml reads it)
