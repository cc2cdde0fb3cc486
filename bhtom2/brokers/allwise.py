"""AllWISE multi-epoch photometry from IRSA (``ALLWISE``), W1 and W2.

A Gator cone search on the AllWISE Multiepoch Photometry Table
``allwise_p3as_mep`` around the target (radius as for NEOWISE), asking for
``mjd``, ``w1mpro_ep``/``w1sigmpro_ep``, ``w2mpro_ep``/``w2sigmpro_ep`` and the
quality columns ``qi_fact``, ``saa_sep``, ``moon_masked``, ``cc_flags``,
``nb``, ``na``. A finished data release: fetched once (``update_cadence`` None).

Cuts (:mod:`bhtom2.brokers.wise_photometry`): ``qi_fact`` >= 0.9,
``saa_sep`` > 0, the band's ``moon_masked`` and ``cc_flags`` characters ``0``.
They run wherever the table has the column: the MEP table holds only the
framesets that passed AllWISE's own frame quality checks (Explanatory
Supplement III.2), so an older answer without these columns is still the
survey's screened photometry. A magnitude with a null error is, as the
supplement says, a 95 % confidence brightness upper limit: stored as a limit.
Times: ``mjd``, the UTC MJD of the frame mid-point, stored as given.
Documentation: https://wise2.ipac.caltech.edu/docs/release/allwise/expsup/sec3_1a.html
"""
from __future__ import annotations

import astropy.units as u
import pandas as pd

from bhtom2.data_sources import DataSource
from bhtom_base.lightcurve import ParseContext

from .irsa_gator import GatorConeBroker
from .wise_photometry import parse_wise_table

CATALOG = "allwise_p3as_mep"
BANDS = {"W1": ("w1mpro_ep", "w1sigmpro_ep"), "W2": ("w2mpro_ep", "w2sigmpro_ep")}
QUALITY_COLUMNS = ("qi_fact", "saa_sep", "moon_masked", "cc_flags", "nb", "na")
COLUMNS = ("ra", "dec", "mjd", "w1mpro_ep", "w1sigmpro_ep", "w2mpro_ep", "w2sigmpro_ep", *QUALITY_COLUMNS)


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Gator IPAC table from ``allwise_p3as_mep`` -> standard frame (W1, W2)."""
    return parse_wise_table(content, what="AllWISE multi-epoch table", bands=BANDS)


class AllwiseBroker(GatorConeBroker):
    """AllWISE multi-epoch photometry (``ALLWISE``)."""

    data_source = DataSource.ALLWISE
    catalog = CATALOG
    columns = COLUMNS
    update_cadence = None
    default_cross_match_max_separation = 3 * u.arcsec
    facility_name = "WISE"
    observer_name = "AllWISE"

    parse = staticmethod(parse)
