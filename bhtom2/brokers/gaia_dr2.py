"""Gaia DR2 epoch photometry (``GAIA_DR2``): G, BP and RP per transit, from the Gaia archive.

Base URL ``BHTOM_URL_GAIA_DR2`` (``https://gea.esac.esa.int``). DR2 serves the
long format only (one row per transit and band); the code is shared with DR3 in
:mod:`bhtom2.brokers.gaia_epoch`. Gaia DR2 published epoch photometry for
about 550 thousand variable sources. DR2 source ids differ from DR3 ones for
some sources, so each release keeps its own survey name.
"""
from __future__ import annotations

from bhtom2.data_sources import DataSource

from .gaia_epoch import GaiaEpochPhotometryBroker, GaiaRelease, parse

__all__ = ["GaiaDR2Broker", "parse"]


class GaiaDR2Broker(GaiaEpochPhotometryBroker):
    """Gaia DR2 epoch photometry; cross-match in ``gaiadr2.gaia_source`` (epoch J2015.5)."""

    data_source = DataSource.GAIA_DR2
    release = GaiaRelease(label="Gaia DR2", source_table="gaiadr2.gaia_source", ref_epoch=2015.5)
