"""ZTF public data releases: PSF lightcurves from IRSA's ZTF lightcurve service.

Endpoint: ``{BHTOM_URL_ZTF_DR8}/cgi-bin/ZTF/nph_light_curves`` with
``POS=CIRCLE ra dec radius_deg`` (first run) or ``ID=<oid>`` (later runs),
``COLLECTION=ztf_<release>`` (``settings.BHTOM_ZTF_DATA_RELEASE``, the newest
public release by default), ``FORMAT=csv`` and ``BAD_CATFLAGS_MASK``. CSV and
IPAC-table answers are both understood.

Objects. The release's lightcurves are built per field, CCD quadrant and
filter, so one star has several object ids (``oid``): one per (field, quadrant,
filter) it fell on. A cone of ``cross_match_max_separation`` (2" by default)
around the target returns all of them, and all of them (at most 32, those with
the most epochs) are kept as the target's. ``parse`` names them in
``frame.attrs["survey_names"]`` (comma-separated) when it read a cone answer;
the base class stores them as the target's ``ZTF_DR8`` survey name, so later
runs ask for exactly those objects with ``ID=``.

Quality cut. ``catflags`` is the bit mask of the epoch's photometric quality
flags; bit 15 (value 32768) marks an epoch whose image failed IPAC's quality
checks (bad seeing, clouds, moon...), and IRSA recommends dropping such epochs.
``BAD_CATFLAGS_MASK = 32768`` is sent to IRSA, and the parser applies the same
mask again (``catflags & 32768 != 0`` -> skipped as "bad catflags"), so the cut
holds whatever the server does. Other bits (e.g. 8 = a bad pixel in the
aperture) are kept: each is a per-source warning, not a bad epoch.

Times. ``mjd`` is the Modified Julian Date (UTC) of the exposure start (in the
recorded DR19 answer it agrees with the start time encoded in ``filefracday``
to about a second); ``hjd`` is the heliocentric Julian date of the same
epoch. ``mjd`` is read as UTC with astropy and stored as given, not moved to
mid-exposure (15 s later for the usual 30 s exposures).

Truncation. A CSV whose last line has fewer fields than the header was cut
short; that line is left out ("incomplete last row") rather than read with
a cut-off number.

Brightness and limits. The magnitudes are PSF-fit photometry on the
single-epoch science images (not difference images): the object's total
apparent brightness for stars and transients alike, so the per-target
brightness choice changes nothing. The service returns detections only: no
limits.

Trace. ``point_id`` = ``expid`` (the exposure id: stable across releases, one
epoch of the target per exposure), ``survey_time`` = ``mjd``, ``time_system``
= "MJD UTC (exposure start)". A truncated answer (incomplete last row) sets
``frame.attrs["truncated"]``: its points are stored, none is removed.

Incremental updates. IRSA accepts ``TIME=<mjd_start> <mjd_end>``; with the
framework's ``since`` only epochs from then on are asked for (and only stored
points from then on are reconciled). A release comes once a year, so the broker
looks again monthly (``update_cadence``). The configured release is the
broker's ``data_version``: when it changes, the next update fetches everything
(no ``TIME``), the same epochs are revised in place (keyed by ``expid``), never
doubled; the release is stored as the rows' ``reduction_version`` and in the
update state. Everything is also fetched again yearly.

The survey's DataSource member keeps its historical name ``ZTF_DR8``; its
pretty name is ``ZTF DR`` whatever the release, so the band names
(``g(ZTF DR)``) stay the same from one release to the next (the data migration
``0003_ztf_dr_stable_band_names`` renamed the old ``g(ZTF DR24)`` rows).

Documentation: https://irsa.ipac.caltech.edu/docs/program_interface/ztf_lightcurve_api.html
and docs/surveys.md.
"""
from __future__ import annotations

import io
import logging
import re
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.time import Time
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import NoSurveyName, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import SURVEY_NAMES, TRUNCATED, ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import mjd_to_utc

PATH = "/cgi-bin/ZTF/nph_light_curves"
BAD_CATFLAGS_MASK = 32768
BANDS = {"zg": "g", "zr": "r", "zi": "i"}
REQUIRED = ("oid", "mjd", "mag", "magerr", "catflags", "filtercode")
OBJECT_IDS = "object_ids"
MAX_OBJECT_IDS = 32  # what the ZTF_DR8 survey-name pattern accepts
_RELEASE = re.compile(r"dr[0-9]{1,3}")
TIME_SYSTEM = "MJD UTC (exposure start)"
logger = logging.getLogger("bhtom.broker.ZTF_DR8")


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An IRSA ZTF lightcurve answer (CSV or IPAC table) -> standard frame.

    ``frame.attrs["object_ids"]`` lists the object ids of the rows, as strings.
    An answer to a cone search (no survey name in ``context``) also names the
    target's objects in ``frame.attrs["survey_names"]``; when more objects than
    a survey name holds (:data:`MAX_OBJECT_IDS`) are in the cone, only those
    with the most epochs are kept.
    """
    text = decode_text(content, what="ZTF lightcurve table")
    reject_html(text, what="ZTF lightcurve table")
    table, incomplete = _read_table(text)
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise ParseError(f"not a ZTF lightcurve table: no column(s) {', '.join(missing)}")
    skipped: dict[str, int] = {"incomplete last row": 1} if incomplete else {}
    cone = context is not None and not context.survey_name
    if cone:
        table = _best_covered(table)
    frame = _frame(table, skipped)
    if incomplete:
        frame.attrs[TRUNCATED] = True  # stored points missing from a cut answer are not removed
    if cone and frame.attrs[OBJECT_IDS]:
        frame.attrs[SURVEY_NAMES] = {DataSource.ZTF_DR8.name: ",".join(frame.attrs[OBJECT_IDS])}
    return frame


def _frame(table: pd.DataFrame, skipped: dict[str, int]) -> pd.DataFrame:
    oid = pd.to_numeric(table["oid"], errors="coerce")
    mjd = pd.to_numeric(table["mjd"], errors="coerce").to_numpy(dtype=float)
    mag = pd.to_numeric(table["mag"], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(table["magerr"], errors="coerce").to_numpy(dtype=float)
    flags = pd.to_numeric(table["catflags"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    band = table["filtercode"].astype(str).str.strip().map(BANDS)
    expid = (pd.to_numeric(table["expid"], errors="coerce") if "expid" in table.columns
             else pd.Series(np.nan, index=table.index))

    keep = np.ones(len(table), dtype=bool)
    for reason, bad in (
        ("unreadable object id", oid.isna().to_numpy()),
        ("unreadable time", ~np.isfinite(mjd)),
        ("unknown filter", band.isna().to_numpy()),
        ("bad catflags", (flags & BAD_CATFLAGS_MASK) != 0),
    ):
        bad = bad & keep
        if bad.any():
            skipped[reason] = int(bad.sum())
        keep &= ~bad
    # Anything else (no magnitude, no error) is left to clean_lightcurve, which counts it.
    point_id = [str(int(value)) if np.isfinite(value) else "" for value in expid[keep].to_numpy(dtype=float)]
    frame = make_lightcurve(
        time=mjd_to_utc(mjd[keep]).to_numpy(),
        mag=mag[keep],
        mag_err=err[keep],
        band=band[keep].to_numpy(dtype=object),
        point_id=point_id,
        survey_time=mjd[keep],
        time_system=TIME_SYSTEM,
        skipped=skipped,
    )
    frame.attrs[OBJECT_IDS] = sorted({str(int(value)) for value in oid[keep]}, key=int)
    return frame


def _best_covered(table: pd.DataFrame) -> pd.DataFrame:
    """More objects in the cone than a survey name holds: the rows of those with the most epochs."""
    oids = table["oid"].astype(str)
    counts = oids.value_counts()
    if len(counts) <= MAX_OBJECT_IDS:
        return table
    logger.warning("%d ZTF objects in the cone; keeping the %d with most epochs", len(counts), MAX_OBJECT_IDS)
    return table[oids.isin(set(counts.index[:MAX_OBJECT_IDS]))]


def _read_table(text: str) -> tuple[pd.DataFrame, bool]:
    """The table and whether an incomplete last CSV line was dropped."""
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<VOTABLE"):
        message = re.search(r"<INFO[^>]*>([^<]*)</INFO>|QUERY_STATUS[^>]*>([^<]*)<", stripped)
        detail = next((group for group in (message.groups() if message else ()) if group), "")
        raise ParseError(f"IRSA answered with an XML document, not a table{': ' + detail.strip() if detail else ''}")
    if stripped.startswith("\\") or stripped.startswith("|"):
        return _read_ipac(text), False
    lines = text.rstrip("\r\n").split("\n")
    incomplete = len(lines) > 1 and lines[-1].count(",") < lines[0].count(",")
    if incomplete:
        text = "\n".join(lines[:-1]) + "\n"
    try:
        table = pd.read_csv(io.StringIO(text), dtype={"filtercode": str}, low_memory=False)
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable ZTF lightcurve CSV: {error}") from None
    table.columns = [str(column).strip() for column in table.columns]
    return table, incomplete


def _read_ipac(text: str) -> pd.DataFrame:
    from astropy.io import ascii as astropy_ascii
    try:
        table = astropy_ascii.read(text, format="ipac", guess=False)
    except Exception as error:  # astropy's readers raise many kinds on malformed tables
        raise ParseError(f"unreadable ZTF lightcurve IPAC table: {error}") from None
    frame = table.to_pandas()
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def time_range(since: datetime | None) -> str | None:
    """IRSA's ``TIME`` value (``"<mjd_start> <mjd_end>"``) for points from ``since`` on."""
    if since is None:
        return None
    start = Time(since).utc.mjd
    end = max(Time.now().utc.mjd + 1, start + 1)
    return f"{start:.5f} {end:.5f}"


class ZTFDataReleaseBroker(BHTOMBroker):
    """ZTF public data-release lightcurves from IRSA (``ZTF_DR8``)."""

    data_source = DataSource.ZTF_DR8
    update_cadence = 30 * u.day
    incremental = True
    # A release does not change once public: everything is fetched again when the release changes
    # (data_version), and yearly besides.
    full_refetch_cadence = 365 * u.day
    needs_survey_name = False
    default_cross_match_max_separation = 2 * u.arcsec
    facility_name = "ZTF"

    parse = staticmethod(parse)

    @property
    def release(self) -> str:
        return str(conf.setting("BHTOM_ZTF_DATA_RELEASE")).strip().lower()

    @property
    def data_version(self) -> str:
        """The configured release: recorded as the rows' ``reduction_version`` and in the update state."""
        return self.release if _RELEASE.fullmatch(self.release) else ""

    def configuration_problem(self) -> str | None:
        if not _RELEASE.fullmatch(self.release):
            return f"BHTOM_ZTF_DATA_RELEASE must look like 'dr24', not {self.release[:20]!r}"
        return None

    def _params(self, since: datetime | None, **selection: str) -> dict[str, str]:
        params = {
            **selection,
            "COLLECTION": f"ztf_{self.release}",
            "FORMAT": "csv",
            "BAD_CATFLAGS_MASK": str(BAD_CATFLAGS_MASK),
        }
        window = time_range(since)
        if window:
            params["TIME"] = window
        return params

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> list[Fetched]:
        """One request per stored object id (``survey_name`` is validated); a cone search without one."""
        url = f"{self.base_url}{PATH}"
        if not survey_name:
            radius = self.cross_match_max_separation.to_value(u.deg)
            position = f"CIRCLE {float(target.ra):.6f} {float(target.dec):.6f} {radius:.8f}"
            return [self.http.get(url, params=self._params(since, POS=position))]
        return [self.http.get(url, params=self._params(since, ID=oid)) for oid in survey_name.split(",")]

    def load_lightcurve(self, target: Target, since: datetime | None) -> tuple[pd.DataFrame, str]:
        """The base class's, plus: a cone search that found no object is 'not in this survey'."""
        frame, location = super().load_lightcurve(target, since)
        if self.get_target_name(target) is None:
            radius = self.cross_match_max_separation.to_value(u.arcsec)
            raise NoSurveyName(f"no ZTF {self.release.upper()} object within {radius:g}\" of {target.name}")
        return frame, location
