"""ZTF public data releases: PSF lightcurves from IRSA's ZTF lightcurve service.

Endpoint: ``{BHTOM_URL_ZTF_DR8}/cgi-bin/ZTF/nph_light_curves`` with
``POS=CIRCLE ra dec radius_deg`` (first run) or ``ID=<oid>`` (later runs),
``COLLECTION=ztf_<release>`` (``settings.BHTOM_ZTF_DATA_RELEASE``, the newest
public release by default), ``FORMAT=csv`` and ``BAD_CATFLAGS_MASK``. CSV and
IPAC-table answers are both understood.

Objects. The release's lightcurves are built per field, CCD quadrant and
filter, so one star has several object ids (``oid``): one per (field, quadrant,
filter) it fell on. A cone of ``cross_match_max_separation`` (2" by default)
around the target returns all of them, and all of them are kept as the
target's. Their ids, comma-separated, are stored as the target's ``ZTF_DR8``
survey name, so later runs ask for exactly those objects with ``ID=``.

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

Incremental updates. IRSA accepts ``TIME=<mjd_start> <mjd_end>``; with the
framework's ``since`` only epochs from then on are asked for. A release comes
once a year, so the broker looks again monthly (``update_cadence``).

The survey's DataSource member keeps its historical name ``ZTF_DR8``; its
pretty name, and so the filter names (``g(ZTF DR24)``), follow the release.
"""
from __future__ import annotations

import io
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
from bhtom_base.lightcurve import ParseContext, concat_lightcurves, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.survey_names import set_survey_name
from bhtom_base.times import mjd_to_utc

PATH = "/cgi-bin/ZTF/nph_light_curves"
BAD_CATFLAGS_MASK = 32768
BANDS = {"zg": "g", "zr": "r", "zi": "i"}
REQUIRED = ("oid", "mjd", "mag", "magerr", "catflags", "filtercode")
OBJECT_IDS = "object_ids"
MAX_OBJECT_IDS = 32  # what the ZTF_DR8 survey-name pattern accepts
_RELEASE = re.compile(r"dr[0-9]{1,3}")


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An IRSA ZTF lightcurve answer (CSV or IPAC table) -> standard frame.

    ``frame.attrs["object_ids"]`` lists the object ids of the rows, as strings.
    """
    text = decode_text(content, what="ZTF lightcurve table")
    reject_html(text, what="ZTF lightcurve table")
    table, incomplete = _read_table(text)
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise ParseError(f"not a ZTF lightcurve table: no column(s) {', '.join(missing)}")
    skipped: dict[str, int] = {"incomplete last row": 1} if incomplete else {}
    oid = pd.to_numeric(table["oid"], errors="coerce")
    mjd = pd.to_numeric(table["mjd"], errors="coerce").to_numpy(dtype=float)
    mag = pd.to_numeric(table["mag"], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(table["magerr"], errors="coerce").to_numpy(dtype=float)
    flags = pd.to_numeric(table["catflags"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    band = table["filtercode"].astype(str).str.strip().map(BANDS)

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
    frame = make_lightcurve(
        time=mjd_to_utc(mjd[keep]).to_numpy(),
        mag=mag[keep],
        mag_err=err[keep],
        band=band[keep].to_numpy(dtype=object),
        skipped=skipped,
    )
    frame.attrs[OBJECT_IDS] = sorted({str(int(value)) for value in oid[keep]}, key=int)
    return frame


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
    default_cross_match_max_separation = 2 * u.arcsec
    facility_name = "ZTF"

    parse = staticmethod(parse)

    @property
    def release(self) -> str:
        return str(conf.setting("BHTOM_ZTF_DATA_RELEASE")).strip().lower()

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
        """One request per stored object id (``survey_name`` is validated)."""
        url = f"{self.base_url}{PATH}"
        return [self.http.get(url, params=self._params(since, ID=oid)) for oid in survey_name.split(",")]

    def fetch_cone(self, target: Target, since: datetime | None) -> Fetched:
        radius = self.cross_match_max_separation.to_value(u.deg)
        position = f"CIRCLE {float(target.ra):.6f} {float(target.dec):.6f} {radius:.8f}"
        return self.http.get(f"{self.base_url}{PATH}", params=self._params(since, POS=position))

    def load_lightcurve(self, target: Target, since: datetime | None) -> tuple[pd.DataFrame, str]:
        name = self.get_target_name(target)
        if name is not None:
            responses = self.fetch(target, name, since)
            context = self.parse_context(target, name, since)
            frame = concat_lightcurves([self.parse(response.content, context) for response in responses])
            return frame, responses[0].url
        if target.ra is None or target.dec is None:
            raise NoSurveyName(f"{target.name} has no {self.data_source.target_name_label} and no coordinates")
        response = self.fetch_cone(target, since)
        frame = self.parse(response.content)
        ids: list[str] = frame.attrs.get(OBJECT_IDS, [])
        if not ids:
            radius = self.cross_match_max_separation.to_value(u.arcsec)
            raise NoSurveyName(f"no ZTF {self.release.upper()} object within {radius:g}\" of {target.name}")
        if len(ids) > MAX_OBJECT_IDS:
            frame, ids = self._keep_best_covered(frame, response.content, ids)
        name = self.data_source.validate_name(",".join(ids))
        set_survey_name(target, self.name, name)
        self.logger.info("%s: ZTF %s objects %s", target.name, self.release.upper(), name)
        return frame, response.url

    def _keep_best_covered(self, frame: pd.DataFrame, content: bytes, ids: list[str]):
        """More objects than a survey name holds: keep those with the most epochs."""
        table, _ = _read_table(decode_text(content, what="ZTF lightcurve table"))
        counts = table["oid"].astype(str).value_counts()
        kept = sorted(counts.index[:MAX_OBJECT_IDS], key=int)
        self.logger.warning("%d ZTF objects in the cone; keeping the %d with most epochs", len(ids), len(kept))
        selected = table[table["oid"].astype(str).isin(kept)]
        buffer = io.StringIO()
        selected.to_csv(buffer, index=False)
        return self.parse(buffer.getvalue().encode()), kept
