"""KMTNet microlensing events: pySIS photometry of every site, field and band.

Source: ``{BHTOM_URL_KMT_NET}/~ulens/event/<year>/data/KB<yy><nnnn>/pysis/pysis.tar.gz``
(``https://kmtnet.kasi.re.kr``), the event's archive of pySIS files
``KMT<site><field>_<band>.pysis``: site A (Siding Spring, Australia),
C (CTIO, Chile) or S (SAAO, South Africa); a two-digit field; band I or V.
One request brings every site and every field: an event often lies where two
fields overlap (KMT-2018-BLG-0003 is in fields 12 and 14), which the one field
named in the season's ``listpage.dat`` would miss, so that list is not used.
Directory listings are forbidden on the server; the archive needs none.

Columns: ``HJD, Delta_flux, flux_err, mag, mag_err[, fwhm, sky, secz]`` (older
files have the first five). Quality cuts, each counted in the report:
``mag_err < 1`` and, where the column exists, ``0 < fwhm < 10`` pixels.
Each point keeps its site as facility (``KMTA``, ``KMTC``, ``KMTS``).

Times are HJD (UTC), written as HJD-2450000 in older files and as full HJD in
newer ones (both are read); see :mod:`bhtom2.brokers.heliocentric` for the
removal of the heliocentric light travel time with the target's coordinates.
The 2015 pilot season used another layout and is not supported. A season's
data are public from 1 July of the next year; before that the server answers
with an error, recorded as such.
"""
from __future__ import annotations

import io
import re
import tarfile
import zlib
from datetime import datetime

import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.brokers.heliocentric import full_jd, hjd_to_utc
from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import FetchError, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, concat_lightcurves, make_lightcurve
from bhtom_base.parsing import decode_text, looks_like_html, reject_html

MAX_MAG_ERR = 1.0
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # a pySIS file of a whole season is a few hundred kB
FWHM_RANGE = (0.0, 10.0)
SITES = {"A": "KMTA", "C": "KMTC", "S": "KMTS"}
_MEMBER = re.compile(r"(?:^|/)KMT(?P<site>[ACS])(?P<field>\d{2})_(?P<band>[IV])\.pysis$")
_EVENT = re.compile(r"^KMT-(?P<year>\d{4})-BLG-(?P<number>\d{4})$")


def parse_pysis(content: bytes, *, site: str, band: str, ra: float | None = None,
                dec: float | None = None) -> pd.DataFrame:
    """One pySIS file of one site and band -> standard frame (quality cuts counted)."""
    text = decode_text(content, what="KMTNet pySIS file")
    reject_html(text, what="KMTNet pySIS file")
    lines = pd.Series([line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")],
                      dtype=object)
    if len(lines) == 0:
        return make_lightcurve(time=pd.to_datetime([], utc=True), mag=[], mag_err=[], band=band)
    columns = lines.str.split(expand=True)
    if columns.shape[1] < 5:
        raise ParseError("not a KMTNet pySIS file: fewer than five columns (HJD, dflux, flux_err, mag, mag_err)")
    numbers = columns.apply(pd.to_numeric, errors="coerce")
    hjd, mag, err = (numbers[i].to_numpy(dtype=float) for i in (0, 3, 4))
    fwhm = numbers[5].to_numpy(dtype=float) if numbers.shape[1] > 5 else np.full(len(lines), np.nan)
    readable = np.isfinite(hjd) & (hjd > 0) & np.isfinite(mag) & np.isfinite(err)
    if not readable.any():
        raise ParseError(f"not a KMTNet pySIS file: no row of numbers (first line {lines.iloc[0][:80]!r})")
    large_error = readable & ~(err < MAX_MAG_ERR)
    has_fwhm = np.isfinite(fwhm)
    bad_fwhm = readable & ~large_error & has_fwhm & ~((fwhm > FWHM_RANGE[0]) & (fwhm < FWHM_RANGE[1]))
    keep = readable & ~large_error & ~bad_fwhm
    skipped = {"unparseable row": int((~readable).sum()), "mag_err >= 1": int(large_error.sum()),
               "fwhm outside (0, 10) px": int(bad_fwhm.sum())}
    return make_lightcurve(
        time=hjd_to_utc(full_jd(hjd[keep]), ra, dec),
        mag=mag[keep],
        mag_err=err[keep],
        band=band,
        facility=SITES[site],
        skipped={reason: count for reason, count in skipped.items() if count},
    )


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An event's ``pysis.tar.gz`` -> one frame of every site, field and band (HJD -> UTC at the context's position)."""
    ra, dec = (context.ra, context.dec) if context is not None else (None, None)
    if not content or not content.strip():
        raise ParseError("empty response where a KMTNet pysis.tar.gz was expected")
    if looks_like_html(content):
        reject_html(decode_text(content, what="KMTNet pysis.tar.gz"), what="KMTNet pysis.tar.gz")
    frames = []
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as archive:
            for member in archive.getmembers():
                match = _MEMBER.search(member.name)
                if not member.isfile() or match is None:
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise ParseError(f"{member.name} in the KMTNet archive is implausibly large ({member.size:,} B)")
                data = archive.extractfile(member)
                frames.append(parse_pysis(data.read(), site=match["site"], band=match["band"], ra=ra, dec=dec))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ParseError(f"unreadable KMTNet pysis.tar.gz: {error}") from None
    if not frames:
        raise ParseError("the KMTNet pysis.tar.gz holds no KMT<site><field>_<band>.pysis file")
    return concat_lightcurves(frames)


def archive_path(event_name: str) -> str:
    """``KMT-2018-BLG-0003`` -> ``/~ulens/event/2018/data/KB180003/pysis/pysis.tar.gz`` (validated first)."""
    name = DataSource.KMT_NET.validate_name(event_name)
    match = _EVENT.match(name)
    if match is None:
        raise FetchError(f"{name}: only bulge (BLG) events have public pySIS archives")
    year, number = match["year"], match["number"]
    if int(year) < 2016:
        raise FetchError(f"{name}: the {year} pilot season's files are laid out differently (not supported)")
    return f"/~ulens/event/{year}/data/KB{year[2:]}{number}/pysis/pysis.tar.gz"


class KMTNetBroker(BHTOMBroker):
    """KMTNet microlensing events (``KMT_NET``)."""

    data_source = DataSource.KMT_NET
    facility_name = "KMTNet"
    observer_name = "KMTNet"

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        return self.http.get(f"{self.base_url}{archive_path(survey_name)}")

