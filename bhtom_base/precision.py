"""Magnitudes shown to the precision their error supports.

The error keeps two significant digits and the magnitude as many decimals
(``17.15279769897461 ± 0.1963560730218887`` -> ``17.15 ± 0.20``;
``14.1234 ± 0.0123`` -> ``14.123 ± 0.012``), at most four decimals, the
precision the surveys publish. Without an error: three decimals.
"""
from __future__ import annotations

import math

MAX_DECIMALS = 4
DEFAULT_DECIMALS = 3


def decimals_for(error: float | None) -> int:
    if error is None or not math.isfinite(error) or error <= 0:
        return DEFAULT_DECIMALS
    return max(0, min(MAX_DECIMALS, 1 - math.floor(math.log10(error))))


def format_measurement(value: float | None, error: float | None) -> tuple[str, str]:
    """(magnitude text, error text) at the error's precision; blanks for missing values."""
    digits = decimals_for(error)
    value_text = "" if value is None else f"{value:.{digits}f}"
    error_text = "" if error is None else f"{error:.{digits}f}"
    return value_text, error_text
