"""AllWISE multi-epoch photometry from IRSA (``ALLWISE``), W1 and W2.

A Gator cone search on the AllWISE Multiepoch Photometry Table
``allwise_p3as_mep`` (``w1mpro_ep``, ``w1sigmpro_ep``, ``w2mpro_ep``,
``w2sigmpro_ep``, ``mjd``) around the target; radius as for NEOWISE. A
finished data release: fetched once (``update_cadence`` None). The table
parser and quality cuts are shared with NEOWISE
(:mod:`bhtom2.brokers.irsa_gator`); times are UTC MJD.
"""
from __future__ import annotations

import astropy.units as u
import pandas as pd

from bhtom2.data_sources import DataSource
from bhtom_base.lightcurve import ParseContext

from .irsa_gator import GatorConeBroker, parse_wise_table

CATALOG = "allwise_p3as_mep"
BANDS = {"W1": ("w1mpro_ep", "w1sigmpro_ep"), "W2": ("w2mpro_ep", "w2sigmpro_ep")}
COLUMNS = ("ra", "dec", "mjd", "w1mpro_ep", "w1sigmpro_ep", "w2mpro_ep", "w2sigmpro_ep")


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
