"""NEOWISE-R single-exposure (L1b) photometry from IRSA (``NEOWISE``), W1 and W2.

A Gator cone search on ``neowiser_p1bs_psd`` around the target (radius:
``BHTOM_CROSS_MATCH_MAX_SEPARATION["NEOWISE"]``, default 3 arcsec; WISE
positions of single exposures scatter well below 1 arcsec, the W1 PSF is
6 arcsec wide, so a larger cone mostly adds neighbours). Quality cuts on
``qual_frame``, ``cc_flags`` and ``ph_qual`` are described in
:func:`bhtom2.brokers.irsa_gator.wise_lightcurve`; ``ph_qual = U`` points are
stored as upper limits. Times: UTC MJD (see :mod:`bhtom2.brokers.irsa_gator`).

NEOWISE ended its survey in August 2024; the table may still be reprocessed,
so it is re-read every 90 days, only past the last point we hold.
"""
from __future__ import annotations

from datetime import datetime

import astropy.units as u
import pandas as pd
from astropy.time import Time

from bhtom2.data_sources import DataSource
from bhtom_base.lightcurve import ParseContext

from .irsa_gator import GatorConeBroker, parse_wise_table

CATALOG = "neowiser_p1bs_psd"
BANDS = {"W1": ("w1mpro", "w1sigmpro"), "W2": ("w2mpro", "w2sigmpro")}
COLUMNS = ("ra", "dec", "mjd", "w1mpro", "w1sigmpro", "w2mpro", "w2sigmpro", "qual_frame", "cc_flags", "ph_qual")


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Gator IPAC table from ``neowiser_p1bs_psd`` -> standard frame (W1, W2)."""
    return parse_wise_table(content, what="NEOWISE table", bands=BANDS)


class NeowiseBroker(GatorConeBroker):
    """NEOWISE-R single exposures (``NEOWISE``)."""

    data_source = DataSource.NEOWISE
    catalog = CATALOG
    columns = COLUMNS
    update_cadence = 90 * u.day
    incremental = True  # asks mjd>since; everything again with the weekly full fetch
    default_cross_match_max_separation = 3 * u.arcsec
    facility_name = "WISE"
    observer_name = "NEOWISE"

    parse = staticmethod(parse)

    def constraints(self, since: datetime | None) -> str | None:
        if since is None:
            return None
        return f"mjd>{Time(since).utc.mjd:.5f}"
