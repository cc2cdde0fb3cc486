"""NEOWISE-R single-exposure (L1b) photometry from IRSA (``NEOWISE``), W1 and W2.

A Gator cone search on ``neowiser_p1bs_psd`` around the target (radius:
``BHTOM_CROSS_MATCH_MAX_SEPARATION["NEOWISE"]``, default 3 arcsec; WISE
positions of single exposures scatter well below 1 arcsec, the W1 PSF is
6 arcsec wide, so a larger cone mostly adds neighbours), asking for ``mjd``,
``w1mpro``/``w1sigmpro``, ``w2mpro``/``w2sigmpro`` and the quality columns
``qual_frame``, ``qi_fact``, ``saa_sep``, ``moon_masked``, ``cc_flags``,
``ph_qual``.

Cuts (:mod:`bhtom2.brokers.wise_photometry`): ``qual_frame`` > 0,
``qi_fact`` >= 0.9, ``saa_sep`` > 0, the band's ``moon_masked`` and
``cc_flags`` characters ``0``, ``ph_qual`` A/B/C (a detection) or U (a 95 %
brightness upper limit, stored as a limit). The single-exposure table holds
every frame regardless of quality, so a table without ``qual_frame``,
``cc_flags`` and ``ph_qual`` is refused (``ParseError``) rather than stored
unvetted; ``qi_fact``, ``saa_sep`` and ``moon_masked`` cut wherever present.
Times: ``mjd``, the UTC MJD of the frame mid-point, stored as given.
Documentation: https://wise2.ipac.caltech.edu/docs/release/neowise/expsup/

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

from .irsa_gator import GatorConeBroker
from .wise_photometry import parse_wise_table

CATALOG = "neowiser_p1bs_psd"
BANDS = {"W1": ("w1mpro", "w1sigmpro"), "W2": ("w2mpro", "w2sigmpro")}
REQUIRED_FLAGS = ("qual_frame", "cc_flags", "ph_qual")
QUALITY_COLUMNS = (*REQUIRED_FLAGS, "qi_fact", "saa_sep", "moon_masked")
COLUMNS = ("ra", "dec", "mjd", "w1mpro", "w1sigmpro", "w2mpro", "w2sigmpro", *QUALITY_COLUMNS)


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Gator IPAC table from ``neowiser_p1bs_psd`` -> standard frame (W1, W2)."""
    return parse_wise_table(content, what="NEOWISE table", bands=BANDS, required=REQUIRED_FLAGS)


class NeowiseBroker(GatorConeBroker):
    """NEOWISE-R single exposures (``NEOWISE``)."""

    data_source = DataSource.NEOWISE
    catalog = CATALOG
    columns = COLUMNS
    update_cadence = 90 * u.day
    default_cross_match_max_separation = 3 * u.arcsec
    facility_name = "WISE"
    observer_name = "NEOWISE"

    parse = staticmethod(parse)

    def constraints(self, since: datetime | None) -> str | None:
        if since is None:
            return None
        return f"mjd>{Time(since).utc.mjd:.5f}"
