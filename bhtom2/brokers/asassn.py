"""ASAS-SN Sky Patrol lightcurves (V and g).

Access path. The Sky Patrol v1 site exports a computed lightcurve as a plain
CSV over HTTP GET at ``{BHTOM_URL_ASASSN}/sky-patrol/coordinate/<uuid>/export.csv``
(the light-curve id is the UUID in the page's address; the same file is saved
as ``light_curve_<uuid>.csv``). One GET, one file: it replays from a recorded
response like any other endpoint. Sky Patrol v2 is reached through the
``pyasassn`` client, which speaks its own protocol to a database server (not
plain HTTP request/response files), so it cannot go through the shared HTTP
client or the replay server; its CSV export is parsed here all the same, for
files saved from it. A target's ASAS-SN name is therefore the light-curve UUID; there is
no cone search (v1 computes a new lightcurve through a queued web form).

Formats, told apart by the header (``#`` comment lines and blank lines before
it are skipped):

* v1: ``HJD,UT Date,Camera,FWHM,Limit,mag,mag_err,flux(mJy),flux_err[,Filter]``
  (no ``Filter`` column means V);
* v2: ``JD,Flux,Flux Error,Mag,Mag Error,Limit,FWHM,Filter,Quality[,Camera]``.

Non-detections: ``>`` before the magnitude, or a magnitude error of 99.99; the
limiting magnitude is the number after ``>`` or else the ``Limit`` column.
Rows whose limit is itself the 99.99 sentinel carry no information and are
left out ("no limit"). v2 rows of bad quality (``Quality`` = ``B``) are left out.

Times. The v1 ``HJD`` is heliocentric, in UTC; the ``UT Date`` column on the
same row is the geocentric UTC time of the exposure as a fractional day (on
the recorded files HJD - UT Date equals astropy's heliocentric light travel
time towards the star within 1.5 s, the rounding of HJD). So for v1 the UT Date
is used as is: no correction is needed. v2 gives only ``JD``, which is HJD
(UTC) as well: when the target's coordinates are known the heliocentric light
travel time is removed (``bhtom2.brokers.heliocentric.hjd_to_utc``, the same as
astropy's ``Time.light_travel_time`` for the geocentre); without coordinates
the HJD is kept, which can be up to 8.3 min off.
"""
from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.brokers.heliocentric import hjd_to_utc
from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import jd_to_utc

WHAT = "ASAS-SN Sky Patrol lightcurve"
SENTINEL = 99.0  # 99.99 / 99.990 mark a missing value
BANDS: tuple[str, ...] = DataSource.ASASSN.spec.bands

# Lower-cased header names of both formats -> our names.
_COLUMNS = {
    "hjd": "jd", "jd": "jd", "ut date": "ut_date", "camera": "camera", "limit": "limit",
    "mag": "mag", "mag_err": "mag_err", "mag error": "mag_err", "filter": "band", "quality": "quality",
}


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Sky Patrol CSV export (v1 or v2) -> standard frame; the context's ``ra``/``dec`` (deg) for v2 times."""
    ra, dec = (context.ra, context.dec) if context is not None else (None, None)
    text = decode_text(content, what=WHAT)
    reject_html(text, what=WHAT)
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if start is None:
        raise ParseError(f"not an {WHAT}: no header line")
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines[start:])), dtype=str, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable {WHAT}: {error}") from None
    table = table.rename(columns=lambda name: _COLUMNS.get(str(name).strip().lower(), str(name).strip()))
    missing = [name for name in ("jd", "mag", "mag_err") if name not in table.columns]
    if missing:
        raise ParseError(f"not an {WHAT}: no {missing} column in header {lines[start][:80]!r}")
    table = table.fillna("")
    for name, default in (("band", "V"), ("limit", ""), ("camera", ""), ("quality", "")):
        if name not in table.columns:
            table[name] = default
        table[name] = table[name].str.strip()

    skipped: dict[str, int] = {}

    def drop(mask: np.ndarray, reason: str) -> None:
        nonlocal table
        if mask.any():
            skipped[reason] = skipped.get(reason, 0) + int(mask.sum())
            table = table.loc[~mask]

    drop((table["quality"].str.upper() == "B").to_numpy(), "bad quality")
    drop(~table["band"].isin(BANDS).to_numpy(), "band not kept")

    mag_text = table["mag"].str.strip()
    above = mag_text.str.startswith(">").to_numpy(dtype=bool)
    mag = pd.to_numeric(mag_text.str.lstrip(">"), errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(table["mag_err"].str.strip(), errors="coerce").to_numpy(dtype=float)
    column_limit = pd.to_numeric(table["limit"], errors="coerce").to_numpy(dtype=float)
    jd = pd.to_numeric(table["jd"].str.strip(), errors="coerce").to_numpy(dtype=float)
    non_detection = above | (err >= SENTINEL) | (mag >= SENTINEL)
    limit = np.where(above, mag, column_limit)
    usable_limit = np.isfinite(limit) & (limit < SENTINEL)
    no_time = ~np.isfinite(jd)
    no_limit = ~no_time & non_detection & ~usable_limit
    unreadable = ~no_time & ~non_detection & ~(np.isfinite(mag) & np.isfinite(err))
    for reason, mask in (("no time", no_time), ("no limit", no_limit), ("unreadable magnitude", unreadable)):
        if mask.any():
            skipped[reason] = skipped.get(reason, 0) + int(mask.sum())
    keep = ~no_time & ~no_limit & ~unreadable
    table = table.loc[keep]
    non_detection, mag, err, limit, jd = non_detection[keep], mag[keep], err[keep], limit[keep], jd[keep]

    time = _geocentric_utc(table, jd, ra, dec)
    camera = table["camera"].to_numpy(dtype=object)
    return make_lightcurve(
        time=time,
        mag=np.where(non_detection, np.nan, mag),
        mag_err=np.where(non_detection, np.nan, err),
        band=table["band"].to_numpy(dtype=object),
        limit=np.where(non_detection, limit, np.nan),
        facility=np.where(camera == "", "", "ASAS-SN " + camera.astype(str)),
        skipped=skipped,
    )


def _geocentric_utc(table: pd.DataFrame, hjd: np.ndarray, ra: float | None, dec: float | None) -> pd.Series:
    """v1: the UT Date column; otherwise HJD (UTC) minus the heliocentric light travel time."""
    if len(hjd) == 0:
        return pd.Series(pd.to_datetime([], utc=True))
    if "ut_date" in table.columns:
        day, _, fraction = table["ut_date"].str.strip().str.partition(".").T.to_numpy()
        days = pd.to_datetime(pd.Series(day), format="%Y-%m-%d", errors="coerce", utc=True)
        offset = pd.to_timedelta(pd.to_numeric("0." + pd.Series(fraction), errors="coerce"), unit="D")
        result = (days + offset).dt.round("us")
        if not result.isna().any():
            return result
        # A row without a readable UT Date falls back to its HJD below.
    fallback = jd_to_utc(hjd)  # NaT where the value is not a plausible JD
    valid = fallback.notna().to_numpy()
    if ra is not None and dec is not None and valid.any():
        fallback[valid] = hjd_to_utc(hjd[valid], ra, dec).to_numpy()
    fallback = fallback.dt.round("us")
    if "ut_date" in table.columns:
        return result.fillna(fallback)
    return fallback


class ASASSNBroker(BHTOMBroker):
    """ASAS-SN Sky Patrol (``ASASSN``)."""

    data_source = DataSource.ASASSN
    # A Sky Patrol v1 light curve is computed once, for one request: fetched once
    # (``--force`` fetches it again); newer epochs need a new request, i.e. a new id.
    update_cadence = None
    facility_name = "ASAS-SN"
    observer_name = "ASAS-SN"

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The export is always the whole lightcurve; the database skips what it has.
        return self.http.get(f"{self.base_url}/sky-patrol/coordinate/{survey_name}/export.csv")

