"""Gaia DR3 epoch photometry (``GAIA_DR3``): G, BP and RP per transit, from the Gaia archive.

Base URL ``BHTOM_URL_GAIA_DR3`` (``https://gea.esac.esa.int``). Everything but the
release is shared with DR2 in :mod:`bhtom2.brokers.gaia_epoch` (formats, time
scale, errors, cross-match, transport). Gaia DR3 published epoch photometry
for about 11.7 million sources (mostly variables); for the others the archive
has no EPOCH_PHOTOMETRY product and the update ends as a clear error.
"""
from __future__ import annotations

from bhtom2.data_sources import DataSource

from .gaia_epoch import GaiaEpochPhotometryBroker, GaiaRelease, parse

__all__ = ["GaiaDR3Broker", "parse"]


class GaiaDR3Broker(GaiaEpochPhotometryBroker):
    """Gaia DR3 epoch photometry; cross-match in ``gaiadr3.gaia_source`` (epoch J2016.0)."""

    data_source = DataSource.GAIA_DR3
    release = GaiaRelease(label="Gaia DR3", source_table="gaiadr3.gaia_source", ref_epoch=2016.0)
