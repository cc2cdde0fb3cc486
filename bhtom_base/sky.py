"""Angular distances on the sky, vectorised (cross-matches by coordinates)."""
from __future__ import annotations

import math

import numpy as np


def separation_arcsec(ra, dec, ra0: float, dec0: float) -> np.ndarray:
    """Great-circle distance (haversine) in arcsec from (ra0, dec0) to each (ra, dec), all in degrees."""
    ra1, dec1 = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    ra2, dec2 = math.radians(ra0), math.radians(dec0)
    a = np.sin((dec1 - dec2) / 2) ** 2 + np.cos(dec1) * math.cos(dec2) * np.sin((ra1 - ra2) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))) * 3600
