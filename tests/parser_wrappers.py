"""Parsers with keyword arguments, wrapped to the ``parse(content)`` shape for the property-based tests."""
from __future__ import annotations

import pandas as pd

from bhtom2.brokers.kmtnet import parse_pysis


def kmtnet_pysis(content: bytes) -> pd.DataFrame:
    return parse_pysis(content, site="C", band="I")
