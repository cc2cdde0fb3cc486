"""Bench-only brokers: four sources, each fetching real recorded Gaia Alerts lightcurves.

Each class is a source of its own (its own update state, rows, base URL and
politeness gate) pointed at its own replay server. They subclass
``BHTOMBroker`` directly and parse the real recorded file with a lean parser
(:func:`lean_parse`: split the lines, one astropy ``Time`` call from TCB to
UTC), so the benchmark measures the framework's scheduling rather than one
survey's parser; ``--parser gaia`` uses the site's real ``GaiaAlertsBroker``
parser instead (see bench/README.md for what that costs).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.time import Time

from bhtom2.brokers import gaia_alerts
from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import make_lightcurve
from bhtom_base.survey_names import get_survey_name

PARSER = {"name": "lean"}


def lean_parse(content: bytes) -> pd.DataFrame:
    """A Gaia Alerts ``lightcurve.csv`` -> standard frame: JD (TCB) -> UTC, G magnitudes."""
    lines = content.decode("utf-8", errors="replace").splitlines()
    header = next((i for i, line in enumerate(lines[:5]) if line.startswith("#")), None)
    if header is None:
        raise ParseError("not a Gaia Alerts lightcurve")
    jd, mag = [], []
    skipped = 0
    for line in lines[header + 1:]:
        fields = line.split(",")
        if len(fields) < 3:
            continue
        try:
            point = float(fields[1]), float(fields[2])
        except ValueError:
            skipped += 1  # null / untrusted magnitudes
            continue
        jd.append(point[0])
        mag.append(point[1])
    jd_array, mag_array = np.array(jd), np.array(mag)
    good = np.isfinite(mag_array)
    utc = Time(jd_array[good], format="jd", scale="tcb").utc.to_value("datetime64")
    return make_lightcurve(time=utc, mag=mag_array[good], mag_err=gaia_alerts.gaia_alert_mag_error(mag_array[good]),
                           band="G", skipped={"no magnitude": skipped + int((~good).sum())})


class _BenchBroker(BHTOMBroker):
    facility_name = "Gaia"
    observer_name = "Gaia"

    def get_target_name(self, target):
        stored = get_survey_name(target, "GAIA")
        return DataSource.GAIA.validate_name(stored) if stored else None

    def fetch(self, target, survey_name, since):
        return self.http.get(f"{self.base_url}/alerts/alert/{survey_name}/lightcurve.csv")

    @staticmethod
    def parse(content: bytes, context=None) -> pd.DataFrame:
        return gaia_alerts.parse(content) if PARSER["name"] == "gaia" else lean_parse(content)


class BenchA(_BenchBroker):
    data_source = DataSource.GAIA


class BenchB(_BenchBroker):
    data_source = DataSource.ZTF


class BenchC(_BenchBroker):
    data_source = DataSource.ASASSN


class BenchD(_BenchBroker):
    data_source = DataSource.CRTS


CLASSES = ["fleet_brokers.BenchA", "fleet_brokers.BenchB", "fleet_brokers.BenchC", "fleet_brokers.BenchD"]
