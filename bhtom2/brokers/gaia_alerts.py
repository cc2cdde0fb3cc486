"""Gaia Science Alerts: per-alert G-band lightcurves and the alerts index.

Lightcurve: ``{BHTOM_URL_GAIA}/alerts/alert/<name>/lightcurve.csv``; index:
``{BHTOM_URL_GAIA}/alerts/alerts.csv``.

Times. The files give each point twice: a calendar ``Date`` to the second and a
``JD`` (3 to 5 decimals, i.e. 86 s to 0.9 s). The header of the older files
says ``JD(TCB)``, and the Date is the same instant written as a calendar date,
so both are in the TCB time scale. We read the Date (the more precise of the
two; the JD only when the Date is missing) as TCB and convert it to UTC with
astropy, which moves each point about 1.5 minutes earlier (TCB-UTC was 85.6 s
in 2014 and 89.3 s in 2024). Gaia Alerts publishes no barycentric flag; the
times are taken as given, without any light-travel-time correction.

Errors. The files have no errors; BHTOM's model of the Gaia G photometric
scatter is used: ``10**(0.2*max(mag, 13.5) - 5.2)`` up to G = 17 and
``10**(0.26*mag - 6.26)`` above it, defined for every magnitude (the
original left exactly 13.5 and 17 without a model).
"""
from __future__ import annotations

import io
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from django import forms
from django.utils.html import escape
from tom_alerts.alerts import GenericAlert, GenericQueryForm
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import BrokerError, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.sky import separation_arcsec
from bhtom_base.times import isot_to_utc, jd_to_utc

_ROW = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?)?\s*[,\s]\s*"
    r"(?P<jd>[-+0-9.eE]+)\s*[,\s]\s*(?P<mag>\S+?)\s*,?\s*$"
)
MISSING_MAGNITUDES = {"null": "null magnitude", "untrusted": "untrusted magnitude", "nan": "NaN magnitude"}
INDEX_CACHE_SECONDS = 3600


def gaia_alert_mag_error(mag: np.ndarray) -> np.ndarray:
    """BHTOM's G-band error model, defined for every magnitude."""
    mag = np.asarray(mag, dtype=float)
    bright = 10 ** (0.2 * np.maximum(mag, 13.5) - 5.2)
    faint = 10 ** (0.26 * mag - 6.26)
    return np.where(mag <= 17.0, bright, faint)


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Gaia Alerts ``lightcurve.csv`` (all three header variants) -> standard frame."""
    text = decode_text(content, what="Gaia Alerts lightcurve")
    reject_html(text, what="Gaia Alerts lightcurve")
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines[:5]) if line.lstrip().startswith("#")), None)
    if header_at is None:
        raise ParseError("not a Gaia Alerts lightcurve: no '#Date,JD,averagemag' header line")
    header = lines[header_at].lower()
    if "jd" not in header or "averagemag" not in header:
        raise ParseError(f"not a Gaia Alerts lightcurve: unexpected header {lines[header_at][:80]!r}")
    body = pd.Series([line for line in lines[header_at + 1:] if line.strip()], dtype=object)
    parts = body.str.extract(_ROW)
    unparseable = int(parts["jd"].isna().sum())
    parts = parts.dropna(subset=["jd"])
    mag_text = parts["mag"].str.strip().str.lower()
    mag = pd.to_numeric(mag_text, errors="coerce")
    skipped: dict[str, int] = {}
    if unparseable:
        skipped["unparseable row"] = unparseable
    for token, reason in MISSING_MAGNITUDES.items():
        count = int((mag_text == token).sum())
        if count:
            skipped[reason] = count
    other = int((mag.isna() & ~mag_text.isin(list(MISSING_MAGNITUDES))).sum())
    if other:
        skipped["unreadable magnitude"] = other
    good = mag.notna() & np.isfinite(mag)
    parts, mag = parts[good], mag[good].to_numpy(dtype=float)
    time_utc = _tcb_to_utc(parts["date"], pd.to_numeric(parts["jd"], errors="coerce"))
    bad_time = time_utc.isna().to_numpy()
    if bad_time.any():
        skipped["unreadable time"] = int(bad_time.sum())
    return make_lightcurve(
        time=time_utc[~bad_time],
        mag=mag[~bad_time],
        mag_err=gaia_alert_mag_error(mag[~bad_time]),
        band="G",
        skipped=skipped,
    )


def _tcb_to_utc(dates: pd.Series, jd: pd.Series) -> pd.Series:
    """TCB calendar dates (JD where a date is missing) -> UTC timestamps, vectorised; NaT if unreadable."""
    from_dates = isot_to_utc(dates.to_numpy(dtype=object), scale="tcb")
    missing = from_dates.isna().to_numpy()
    if missing.any():  # only where the calendar date is absent or unreadable
        from_dates[missing] = jd_to_utc(jd.to_numpy(dtype=float)[missing], scale="tcb").to_numpy()
    from_dates.index = dates.index
    return from_dates


def parse_alerts_index(content: bytes) -> pd.DataFrame:
    """The Gaia Alerts index ``alerts.csv`` -> one row per alert."""
    text = decode_text(content, what="Gaia Alerts index")
    reject_html(text, what="Gaia Alerts index")
    try:
        frame = pd.read_csv(io.StringIO(text), skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable Gaia Alerts index: {error}") from None
    frame.columns = [column.strip().lstrip("#").strip() for column in frame.columns]
    required = {"Name", "Date", "RaDeg", "DecDeg", "AlertMag"}
    if not required <= set(frame.columns):
        raise ParseError(f"Gaia Alerts index lacks columns {sorted(required - set(frame.columns))}")
    frame["RaDeg"] = pd.to_numeric(frame["RaDeg"], errors="coerce")
    frame["DecDeg"] = pd.to_numeric(frame["DecDeg"], errors="coerce")
    frame["AlertMag"] = pd.to_numeric(frame["AlertMag"], errors="coerce")
    return frame.dropna(subset=["Name", "RaDeg", "DecDeg"])


@dataclass
class GaiaAlert(GenericAlert):
    """An alert of the index; the target made from it keeps its Gaia alert name (and TNS name)."""

    tns_name: str = ""

    def to_target(self):
        target = Target(name=self.name, type=Target.SIDEREAL, ra=self.ra, dec=self.dec, epoch=2000)
        aliases = [self.tns_name] if self.tns_name else []
        return target, {DataSource.GAIA.name: self.name}, aliases


class GaiaAlertsQueryForm(GenericQueryForm):
    target_name = forms.CharField(required=False, label="Alert name", help_text="e.g. Gaia16aye")
    ra = forms.FloatField(required=False, min_value=0, max_value=360, label="RA (deg)")
    dec = forms.FloatField(required=False, min_value=-90, max_value=90, label="Dec (deg)")
    radius = forms.FloatField(required=False, min_value=0, max_value=3600, label="Radius (arcsec)")

    def clean(self):
        cleaned = super().clean()
        name = (cleaned.get("target_name") or "").strip()
        if name:
            try:
                cleaned["target_name"] = DataSource.GAIA.validate_name(name)
            except forms.ValidationError as error:
                self.add_error("target_name", error)
        cone = [cleaned.get(key) for key in ("ra", "dec", "radius")]
        if not name and None in cone:
            raise forms.ValidationError("Give an alert name, or RA, Dec and a radius.")
        return cleaned


class GaiaAlertsBroker(BHTOMBroker):
    """Gaia Science Alerts (``GAIA``)."""

    data_source = DataSource.GAIA
    form = GaiaAlertsQueryForm
    default_cross_match_max_separation = 1 * u.arcsec
    facility_name = "Gaia"
    observer_name = "Gaia"

    _index_lock = threading.Lock()
    _index_cache: dict[str, tuple[float, pd.DataFrame]] = {}

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The file always holds the whole lightcurve; the database skips what it has.
        return self.http.get(f"{self.base_url}/alerts/alert/{survey_name}/lightcurve.csv")

    # -- the alerts index -----------------------------------------------------

    def alerts_index(self) -> pd.DataFrame:
        url = f"{self.base_url}/alerts/alerts.csv"
        with self._index_lock:
            cached = self._index_cache.get(url)
            if cached and time.monotonic() - cached[0] < INDEX_CACHE_SECONDS:
                return cached[1]
        frame = parse_alerts_index(self.http.get(url).content)
        with self._index_lock:
            self._index_cache[url] = (time.monotonic(), frame)
        return frame

    def find_survey_name(self, target: Target) -> str | None:
        if target.ra is None or target.dec is None:
            return None
        index = self.alerts_index()
        separation = separation_arcsec(index["RaDeg"], index["DecDeg"], target.ra, target.dec)
        radius = self.cross_match_max_separation.to_value("arcsec")
        inside = np.flatnonzero(separation <= radius)
        if len(inside) == 0:
            return None
        order = inside[np.argsort(separation[inside])]
        if len(order) > 1:
            others = ", ".join(f"{index['Name'].iloc[i]} ({separation[i]:.2f}\")" for i in order[1:])
            self.logger.info("%s: several Gaia alerts within %g\"; also %s", target.name, radius, others)
        return str(index["Name"].iloc[order[0]]).strip()

    def fetch_alerts(self, parameters: dict):
        """Alerts of the index by name or in a cone, with feedback instead of an error page."""
        try:
            index = self.alerts_index()
        except BrokerError as error:
            return iter(()), escape(f"Gaia Alerts index unavailable: {error}")
        name = (parameters.get("target_name") or "").strip()
        if name:
            selected = index[index["Name"].str.strip().str.lower() == name.lower()]
        else:
            separation = separation_arcsec(
                index["RaDeg"], index["DecDeg"], float(parameters["ra"]), float(parameters["dec"])
            )
            selected = index[separation <= float(parameters["radius"])]
        return iter(selected.to_dict("records")), f"{len(selected)} Gaia alerts found"

    def fetch_alert(self, alert_id):
        index = self.alerts_index()
        match = index[index["Name"].str.strip() == str(alert_id).strip()]
        return match.iloc[0].to_dict() if len(match) else None

    def to_generic_alert(self, alert: dict) -> GaiaAlert:
        name = str(alert["Name"]).strip()
        timestamp = pd.to_datetime(alert.get("Date"), utc=True, errors="coerce")
        tns = str(alert.get("TNSid") or "").strip()
        return GaiaAlert(
            timestamp=None if pd.isna(timestamp) else timestamp.to_pydatetime(),
            id=name,
            name=name,
            ra=float(alert["RaDeg"]),
            dec=float(alert["DecDeg"]),
            mag=float(alert["AlertMag"]) if pd.notna(alert.get("AlertMag")) else None,
            score=0,
            url=f"{self.base_url}/alerts/alert/{name}/",
            tns_name="" if tns.lower() in ("", "nan") else tns,
        )

    def to_target(self, alert: dict):
        """A new target for the alert, its Gaia alert name stored as its ``GAIA`` survey name."""
        return self.to_generic_alert(alert).to_target()
