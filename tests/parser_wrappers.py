"""Parsers with keyword arguments, wrapped to the ``parse(content)`` shape for the property-based tests."""
from __future__ import annotations

import pandas as pd

from bhtom2.brokers.kmtnet import parse_pysis


def kmtnet_pysis(content: bytes) -> pd.DataFrame:
    return parse_pysis(content, site="C", band="I")


def alerce_with_recorded_lists(content: bytes) -> pd.DataFrame:
    """ALeRCE: ``content`` as the object record, bundled with ZTF18abbuksn's recorded detection lists."""
    from bhtom2.brokers.ztf_alerce import bundle, parse
    from tests.conftest import fixture_bytes

    return parse(bundle(content, fixture_bytes("alerce/ZTF18abbuksn_detections_first43.json"),
                        fixture_bytes("alerce/ZTF18abbuksn_non_detections_first7.json")))
