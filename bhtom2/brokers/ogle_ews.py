"""OGLE-IV Early Warning System: I-band photometry of microlensing events.

Photometry: ``{BHTOM_URL_OGLE_EWS}/ogle/ogle4/ews/<year>/<region>-<nnnn>/phot.dat``
(``https://www.astrouw.edu.pl``; the ``ogle.astrouw.edu.pl`` host serves only
the HTML pages). Five whitespace-separated columns: HJD, I magnitude, its
error, seeing (pixels) and sky level; the file holds every season of the
star, baseline included. Rows with an error above 9 are OGLE's marker for no
measurement and are left out (counted).

Season lists: ``.../ews/<year>/lenses.par`` (Event, Field, StarNo, RA, Dec,
Tmax, ...). A target without an OGLE event name is looked up by coordinates
in the lists of the seasons ``BHTOM_OGLE_EWS_SEASONS`` (default 2011 to this
year; a season without a list, such as 2020 and 2021, answers 404 and is
skipped) within ``BHTOM_CROSS_MATCH_MAX_SEPARATION["OGLE_EWS"]`` arcsec
(default 2), and the name found is stored.

Times are HJD (UTC); see :mod:`bhtom2.brokers.heliocentric` for the removal of
the heliocentric light travel time with the target's coordinates.
"""
from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.brokers.heliocentric import full_jd, hjd_to_utc
from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.sky import separation_arcsec

NO_MEASUREMENT_ERROR = 9.0
FIRST_SEASON = 2011
LIST_CACHE_SECONDS = 3600
_EVENT = re.compile(r"^(?:OGLE-)?(?P<year>\d{4})-(?P<region>BLG|DG|GD|LMC|SMC)-(?P<number>\d{3,4})$")
_SEXAGESIMAL = re.compile(r"^([+-]?)(\d{1,3}):(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An OGLE EWS ``phot.dat`` -> standard frame (band I); times to UTC at the context's position (module doc)."""
    ra, dec = (context.ra, context.dec) if context is not None else (None, None)
    text = decode_text(content, what="OGLE EWS phot.dat")
    reject_html(text, what="OGLE EWS phot.dat")
    lines = pd.Series([line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")],
                      dtype=object)
    columns = lines.str.split(expand=True) if len(lines) else pd.DataFrame(index=lines.index, columns=range(3))
    if columns.shape[1] < 3:
        raise ParseError("not an OGLE EWS phot.dat: fewer than three columns (HJD, I, error)")
    hjd = pd.to_numeric(columns[0], errors="coerce").to_numpy(dtype=float)
    mag = pd.to_numeric(columns[1], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(columns[2], errors="coerce").to_numpy(dtype=float)
    readable = np.isfinite(hjd) & (hjd > 0) & np.isfinite(mag) & np.isfinite(err)
    if len(lines) and not readable.any():
        raise ParseError(f"not an OGLE EWS phot.dat: no row of numbers (first line {lines.iloc[0][:80]!r})")
    no_measurement = readable & (err > NO_MEASUREMENT_ERROR)
    keep = readable & ~no_measurement
    skipped = {"unparseable row": int((~readable).sum()), "error > 9 (no measurement)": int(no_measurement.sum())}
    return make_lightcurve(
        time=hjd_to_utc(full_jd(hjd[keep]), ra, dec),
        mag=mag[keep],
        mag_err=err[keep],
        band="I",
        skipped={reason: count for reason, count in skipped.items() if count},
    )


def _sexagesimal_deg(values: pd.Series, hours: bool) -> np.ndarray:
    parts = values.astype(str).str.extract(_SEXAGESIMAL)
    sign = np.where(parts[0] == "-", -1.0, 1.0)
    degrees = (pd.to_numeric(parts[1], errors="coerce") + pd.to_numeric(parts[2], errors="coerce") / 60
               + pd.to_numeric(parts[3], errors="coerce") / 3600).to_numpy(dtype=float)
    return sign * degrees * (15.0 if hours else 1.0)


def parse_lenses_par(content: bytes) -> pd.DataFrame:
    """A season's ``lenses.par`` -> one row per event: ``name`` (OGLE-YYYY-BLG-NNNN), ``ra``, ``dec`` (deg)."""
    text = decode_text(content, what="OGLE EWS lenses.par")
    reject_html(text, what="OGLE EWS lenses.par")
    lines = text.splitlines()
    if not any(line.split()[:1] == ["Event"] and "RA(J2000)" in line for line in lines[:5] if line.strip()):
        raise ParseError("not an OGLE EWS lenses.par: no 'Event Field StarNo RA(J2000) Dec(J2000)' header")
    tokens = pd.Series([line.split() for line in lines if line.strip()], dtype=object)
    rows = tokens[tokens.map(lambda t: len(t) >= 5 and bool(_EVENT.match(t[0])))]
    event = rows.map(lambda t: _EVENT.match(t[0]))
    names = event.map(lambda m: f"OGLE-{m['year']}-{m['region']}-{int(m['number']):04d}")
    frame = pd.DataFrame({
        "name": names.to_numpy(dtype=object),
        "ra": _sexagesimal_deg(rows.map(lambda t: t[3]), hours=True),
        "dec": _sexagesimal_deg(rows.map(lambda t: t[4]), hours=False),
    })
    return frame.dropna(subset=["ra", "dec"]).reset_index(drop=True)


def phot_path(event_name: str) -> str:
    """``OGLE-2014-BLG-0939`` -> ``/ogle/ogle4/ews/2014/blg-0939/phot.dat`` (name validated first)."""
    match = _EVENT.match(DataSource.OGLE_EWS.validate_name(event_name))
    return f"/ogle/ogle4/ews/{match['year']}/{match['region'].lower()}-{match['number']}/phot.dat"


class OGLEEWSBroker(BHTOMBroker):
    """OGLE-IV Early Warning System (``OGLE_EWS``)."""

    data_source = DataSource.OGLE_EWS
    facility_name = "OGLE"
    observer_name = "OGLE"
    default_cross_match_max_separation = 2 * u.arcsec

    _list_lock = threading.Lock()
    _list_cache: dict[str, tuple[float, pd.DataFrame | None]] = {}

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # phot.dat always holds the whole lightcurve; the database skips what it has.
        return self.http.get(f"{self.base_url}{phot_path(survey_name)}")

    # -- cross-match in the seasons' event lists ------------------------------

    def seasons(self) -> list[int]:
        configured = conf.setting("BHTOM_OGLE_EWS_SEASONS")
        if configured:
            return [int(year) for year in configured]
        return list(range(datetime.now(UTC).year, FIRST_SEASON - 1, -1))

    def season_list(self, year: int) -> pd.DataFrame | None:
        """The season's events (None when the season has no list: HTTP 404), cached for an hour."""
        url = f"{self.base_url}/ogle/ogle4/ews/{int(year)}/lenses.par"
        with self._list_lock:
            cached = self._list_cache.get(url)
            if cached and time.monotonic() - cached[0] < LIST_CACHE_SECONDS:
                return cached[1]
        fetched = self.http.get(url, accept_status=(200, 404))
        frame = parse_lenses_par(fetched.content) if fetched.status == 200 else None
        with self._list_lock:
            self._list_cache[url] = (time.monotonic(), frame)
        return frame

    def find_survey_name(self, target: Target) -> str | None:
        if target.ra is None or target.dec is None:
            return None
        radius = self.cross_match_max_separation.to_value("arcsec")
        best: tuple[float, str] | None = None
        for year in self.seasons():
            events = self.season_list(year)
            if events is None or events.empty:
                continue
            separation = separation_arcsec(events["ra"], events["dec"], target.ra, target.dec)
            nearest = int(np.argmin(separation))
            if separation[nearest] <= radius and (best is None or separation[nearest] < best[0]):
                best = (float(separation[nearest]), str(events["name"].iloc[nearest]))
        return best[1] if best else None
