"""ANTARES broker (NOIRLab): the ZTF lightcurve of a locus (``ANTARES``).

Plain HTTP on the ANTARES REST API (``{BHTOM_URL_ANTARES}`` =
``https://api.antares.noirlab.edu``); ``antares-client`` has its API URL baked
in and brings its own HTTP stack, so it is not used.

* ``GET /v1/loci/<locus_id>`` — one locus, JSON:API; ``data.attributes.lightcurve``
  is a CSV text with one row per ZTF alert or upper limit, and
  ``data.attributes.properties`` holds ANTARES' locus properties (``is_corrected``).
* ``GET /v1/loci?elasticsearch_query[locus_listing]=<query>`` — the loci whose
  ``properties.ztf_object_id`` is the given ZTF object id (listings carry no
  lightcurve), used when the target's ANTARES name is a ZTF id.

Lightcurve columns: ``alert_id`` (``ztf_candidate:<candid>`` or
``ztf_upper_limit:<oid>-<pid>``), ``ant_mjd``, ``ant_passband`` (ZTF ``g``,
``R``, ``i``), ``ant_mag`` +- ``ant_magerr`` (the difference image's PSF
magnitude, ZTF ``magpsf``/``sigmapsf``), ``ant_maglim`` (its 5-sigma limit,
``diffmaglim``), and where ANTARES found the source in the reference image
``ant_mag_corrected`` +- ``ant_magerr_corrected`` (reference + difference) and
``ant_magulim_corrected``/``ant_magllim_corrected`` (reference +- limit: the
range a non-detected star lies in). These follow the ZTF team's recipe for
variable stars (ztf-avro-alert, ``notebooks/Variable_star_lightcurves.ipynb``):
for ZTF20aafqubg every recorded row gives one reference magnitude per band
(g 15.322, R 14.310, the alert's ``ztf_magnr``), and each of its seven
detections is the flux *lost* since the reference: g 15.322 minus ``ant_mag``
17.15 in flux is 15.544 = ``ant_mag_corrected``.

What a stored point is:

* **Total** (the source is in the reference image): a detection is
  ``ant_mag_corrected`` +- ``ant_magerr_corrected``; detections without them are
  left out and counted; upper limits are left out and counted (the difference
  image's limit says "no change from the reference", not "fainter than").
* **Difference** (a transient absent from the reference): a detection is
  ``ant_mag`` +- ``ant_magerr``, unless the row's own corrected values show a
  negative difference (``ant_mag_corrected`` fainter than the reference
  ``(ulim + llim)/2`` in flux): that is no detection of the transient and is
  left out and counted. ``ant_maglim`` of a row without a magnitude is a true
  upper limit; on a detection row it is only the image's depth and not stored.

Which one, per target: the person's choice (``bhtom_brightness``) wins; with
``auto`` it is **total** when ANTARES corrected the locus: its property
``is_corrected`` (ANTARES found a reference-image source at the alert's position,
``ztf_distnr``, and computed the corrected magnitudes), or, where a locus has no
such property, any corrected value in its lightcurve; otherwise **difference**.
ANTARES serves no star/galaxy flag with the locus, so a transient on a galaxy's
nucleus may be taken as "total": set the target to ``difference`` then.

Rows of other surveys' passbands (LSST ``u``...``y``) are counted and left out:
this source stands for the ZTF photometry ANTARES serves.

Times: ``ant_mjd`` is ZTF's ``jd`` (UTC, exposure start) minus 2400000.5 (the
recorded alerts show ``ztf_jd`` 2459048.9352431 for ``ant_mjd``
59048.43524309993, with ``ztf_exptime`` 30). The stored time is mid-exposure,
15 s later; ``value`` keeps ``ant_mjd`` as given and ``alert_id`` as ``point_id``.
"""
from __future__ import annotations

import io
import json
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import FetchError, NoSurveyName, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import Brightness, ParseContext, count_skipped, empty_lightcurve, make_lightcurve
from bhtom_base.parsing import json_flag, load_json_object
from bhtom_base.survey_names import get_survey_name
from bhtom_base.times import mjd_to_utc

PASSBANDS = {"g": "g", "R": "R", "r": "R", "i": "i"}
REQUIRED = ("ant_mjd", "ant_passband", "ant_mag", "ant_magerr", "ant_maglim")
LISTING_SORT = "-properties.newest_alert_observation_time"
HALF_EXPOSURE = pd.Timedelta(seconds=15)  # ZTF survey exposures are 30 s; ant_mjd is their start
TIME_SYSTEM = "MJD UTC, exposure start"
LIMIT_IN_REFERENCE = "difference-image limit (source in the reference: no change)"


def _load_json(content: bytes, what: str) -> dict:
    data = load_json_object(content, what=what)
    if "errors" in data and "data" not in data:
        detail = "; ".join(str(e.get("detail") or e.get("title") or e) for e in data["errors"] if e)[:200]
        raise ParseError(f"ANTARES answered with an error: {detail or 'unknown'}")
    return data


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An ANTARES ``/v1/loci/<id>`` locus JSON -> standard frame (its lightcurve)."""
    data = _load_json(content, "ANTARES locus")
    locus = data.get("data")
    if isinstance(locus, list):
        raise ParseError("an ANTARES locus listing, which carries no lightcurve, where a locus was expected")
    if not isinstance(locus, dict) or not isinstance(locus.get("attributes"), dict):
        raise ParseError("not an ANTARES locus: no data.attributes")
    attributes = locus["attributes"]
    lightcurve = attributes.get("lightcurve")
    if lightcurve is None:
        raise ParseError(f"ANTARES locus {str(locus.get('id'))[:40]} has no lightcurve")
    if not isinstance(lightcurve, str):
        raise ParseError("ANTARES locus lightcurve is not CSV text")
    properties = attributes.get("properties") if isinstance(attributes.get("properties"), dict) else {}
    choice = context.brightness if context is not None else Brightness.AUTO
    return parse_lightcurve_csv(lightcurve, choice=choice, is_corrected=json_flag(properties.get("is_corrected")))


def parse_lightcurve_csv(text: str, *, choice: Brightness = Brightness.AUTO,
                         is_corrected: bool | None = None) -> pd.DataFrame:
    """The CSV text of a locus's lightcurve -> standard frame."""
    if not text.strip():
        return empty_lightcurve()
    try:
        table = pd.read_csv(io.StringIO(text), dtype={"ant_passband": str, "alert_id": str})
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable ANTARES lightcurve CSV: {error}") from None
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise ParseError(f"not an ANTARES lightcurve: no column(s) {', '.join(missing)}")
    skipped: dict[str, int] = {}
    mjd = _column(table, "ant_mjd")
    band = table["ant_passband"].astype(str).str.strip().map(PASSBANDS)
    keep = np.isfinite(mjd)
    count_skipped(skipped, "unreadable time", ~keep)
    other = keep & band.isna().to_numpy()
    count_skipped(skipped, "passband not ZTF g/R/i", other)
    keep &= ~other

    corrected = _Corrected.of(table)
    brightness = decide_brightness(choice, is_corrected, corrected.any_value()[keep].any())
    detected = np.isfinite(_column(table, "ant_mag"))
    if brightness is Brightness.TOTAL:
        count_skipped(skipped, LIMIT_IN_REFERENCE, keep & ~detected)
        keep &= detected
        no_corrected = keep & ~(np.isfinite(corrected.mag) & np.isfinite(corrected.err))
        count_skipped(skipped, "no corrected magnitude (ANTARES)", no_corrected)
        keep &= ~no_corrected
        mag, err, limit = corrected.mag, corrected.err, None
    else:
        negative = keep & detected & corrected.fainter_than_reference()
        count_skipped(skipped, "negative difference (ANTARES corrected magnitude fainter than the reference)", negative)
        keep &= ~negative
        mag, err = _column(table, "ant_mag"), _column(table, "ant_magerr")
        limit = np.where(detected, np.nan, _column(table, "ant_maglim"))
    alert_id = table["alert_id"].fillna("").astype(str).to_numpy(dtype=object) if "alert_id" in table else ""
    return make_lightcurve(
        time=(mjd_to_utc(mjd[keep]) + HALF_EXPOSURE).to_numpy(),
        mag=mag[keep],
        mag_err=err[keep],
        band=band[keep].to_numpy(dtype=object),
        limit=None if limit is None else limit[keep],
        point_id=alert_id if isinstance(alert_id, str) else alert_id[keep],
        survey_time=mjd[keep],
        time_system=TIME_SYSTEM,
        skipped=skipped,
    )


def decide_brightness(choice: Brightness, is_corrected: bool | None, has_corrected_values: bool) -> Brightness:
    """TOTAL or DIFFERENCE for this locus: the person's choice, else whether ANTARES corrected it."""
    if choice in (Brightness.TOTAL, Brightness.DIFFERENCE):
        return choice
    in_reference = is_corrected if is_corrected is not None else has_corrected_values
    return Brightness.TOTAL if in_reference else Brightness.DIFFERENCE


class _Corrected:
    """ANTARES' reference-corrected columns of a lightcurve (NaN where absent)."""

    def __init__(self, mag: np.ndarray, err: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> None:
        self.mag, self.err, self.upper, self.lower = mag, err, upper, lower

    @classmethod
    def of(cls, table: pd.DataFrame) -> _Corrected:
        return cls(*(_column(table, name) for name in (
            "ant_mag_corrected", "ant_magerr_corrected", "ant_magulim_corrected", "ant_magllim_corrected")))

    def any_value(self) -> np.ndarray:
        return np.isfinite(self.mag) | np.isfinite(self.upper) | np.isfinite(self.lower)

    def fainter_than_reference(self) -> np.ndarray:
        """Where the corrected magnitude is fainter than the reference (reference -+ limit, mid-way in flux)."""
        reference_flux = (_flux(self.upper) + _flux(self.lower)) / 2
        with np.errstate(invalid="ignore"):
            return np.isfinite(reference_flux) & (_flux(self.mag) < reference_flux)


def _flux(mag: np.ndarray) -> np.ndarray:
    return 10 ** (-0.4 * mag)


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def listing_query(ztf_object_id: str) -> str:
    """The ``elasticsearch_query[locus_listing]`` value for one ZTF object id (validated by the caller)."""
    return json.dumps({"query": {"bool": {"filter": {"term": {"properties.ztf_object_id": ztf_object_id}}}}})


def parse_listing(content: bytes) -> list[str]:
    """A ``/v1/loci`` listing -> the locus ids, in the listing's order."""
    data = _load_json(content, "ANTARES locus listing")
    items = data.get("data")
    if not isinstance(items, list):
        raise ParseError("not an ANTARES locus listing: 'data' is not a list")
    return [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]


class AntaresBroker(BHTOMBroker):
    """ZTF photometry of an ANTARES locus (``ANTARES``)."""

    data_source = DataSource.ANTARES
    update_cadence = 1 * u.day
    facility_name = "ZTF"
    observer_name = "ZTF (ANTARES)"

    parse = staticmethod(parse)

    def locus_id(self, survey_name: str) -> str:
        """The ANTARES locus id for a validated name (a locus id, or a ZTF id looked up)."""
        if survey_name.startswith("ANT"):
            return survey_name
        response = self.http.get(
            f"{self.base_url}/v1/loci",
            params={"elasticsearch_query[locus_listing]": listing_query(survey_name), "sort": LISTING_SORT},
        )
        ids = parse_listing(response.content)
        if not ids:
            raise NoSurveyName(f"ANTARES has no locus for {survey_name}")
        if len(ids) > 1:
            self.logger.info("%s: %d ANTARES loci; using the newest, %s", survey_name, len(ids), ids[0])
        locus_id = ids[0]
        try:
            return self.data_source.validate_name(locus_id)
        except Exception:
            raise FetchError(f"ANTARES returned an unexpected locus id {locus_id[:40]!r}") from None

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The locus holds its whole lightcurve; the database skips what it has.
        return self.http.get(f"{self.base_url}/v1/loci/{self.locus_id(survey_name)}")

    def find_survey_name(self, target: Target) -> str | None:
        """The target's ZTF object id, if it has one: ANTARES is queried by it."""
        ztf = get_survey_name(target, DataSource.ZTF.name)
        if not ztf:
            return None
        try:
            return DataSource.ZTF.validate_name(ztf)
        except Exception:
            return None
