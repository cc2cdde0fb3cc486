"""Gaia data-release epoch photometry (DR3, DR2): parser, cone search and the shared broker.

Transport. Plain HTTP through the site's shared client (``self.http``), at the
real archive's paths and parameters, read with ``astropy.io.votable``:

* cone search: ``GET {base}/tap-server/tap/sync?REQUEST=doQuery&LANG=ADQL&FORMAT=votable&QUERY=...``
  (the TAP synchronous endpoint);
* epoch photometry: ``GET {base}/data-server/data?RETRIEVAL_TYPE=EPOCH_PHOTOMETRY&ID=<source_id>
  &RELEASE=Gaia DR3&DATA_STRUCTURE=INDIVIDUAL&FORMAT=votable&VALID_DATA=false&USE_ZIP_ALWAYS=true``
  (the DataLink endpoint, the parameters astroquery's ``GaiaClass.load_data`` sends).

astroquery's ``GaiaClass`` talks through ``http.client`` with its own error
handling, writes the zip to a temporary folder and cannot be given our
timeouts, retries, size cap or circuit breaker; going through ``self.http``
keeps every failure a clear ``FetchError`` and the tests on the replay server.

Formats. The DataLink answer is a zip of VOTables (one member per source,
``EPOCH_PHOTOMETRY-Gaia DR3 <source_id>.xml``), or a bare VOTable. Two table
layouts exist and both are read:

* long (DR2, and DR3 until early 2025): one row per transit and band, columns
  ``band, time, mag, flux_over_error, rejected_by_photometry, rejected_by_variability``;
* wide (DR3 now): one row per transit, ``g_transit_time, g_transit_mag,
  g_transit_flux_over_error, bp_obs_time, bp_mag, bp_flux_over_error, rp_...,
  variability_flag_{g,bp,rp}_reject, rejected_by_photometry``, ``source_id`` a PARAM.
  ``rejected_by_photometry`` is per transit there and applies to all its bands.

Times are Barycentric JD in TCB minus 2455197.5 d. They are converted to the UTC
time scale with astropy (two-part JD, no precision lost). The barycentric
(light-travel-time) correction Gaia applied is kept: the stored instant is the
arrival time at the Solar System barycentre, written in UTC. Undoing it would
need Gaia's orbit; it differs from an Earth-based time by up to about 8.3 minutes.

Errors: ``2.5/ln(10) / flux_over_error`` added in quadrature to a systematic
floor per band (``MAG_ERROR_FLOOR``): 2 mmag in G, 5 mmag in BP and RP. The
floor is our choice, of the order of the per-transit scatter of bright constant
stars shown in the Gaia photometric validation papers (Evans et al. 2018,
A&A 616, A4; Riello et al. 2021, A&A 649, A3): for bright stars flux/error alone
gives sub-mmag errors that no single transit reaches. Points rejected by the
photometric or the variability processing are left out and counted, as are
points without a magnitude, a time or a positive flux_over_error.
"""
from __future__ import annotations

import io
import math
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.io.votable import parse as parse_votable
from astropy.io.votable.tree import TableElement
from astropy.table import Table
from astropy.time import Time
from tom_targets.models import Target

from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import NoSurveyName, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, concat_lightcurves, make_lightcurve
from bhtom_base.parsing import looks_like_html
from bhtom_base.sky import separation_arcsec

GAIA_TIME_ORIGIN_JD = 2455197.5
GAIA_TIME_RANGE = (-3653.0, 36525.0)  # days from 2010.0: years 2000 to 2110, anything else is corrupt
MAG_ERROR_FLOOR = {"G": 0.002, "BP": 0.005, "RP": 0.005}
TAP_SYNC_PATH = "/tap-server/tap/sync"
DATALINK_PATH = "/data-server/data"
CONE_MAX_ROWS = 200
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # one source's epoch photometry is tens of kB
# Cone widening per year between the Gaia epoch and the target's epoch (see find_survey_name).
PM_MARGIN_PER_YEAR = 1.0 * u.arcsec
_MAGNITUDE_COEFF = 2.5 / math.log(10)
_LONG_COLUMNS = ("band", "time", "mag", "flux_over_error")
_WIDE_BANDS = {
    # band: (time, mag, flux_over_error, variability reject flag)
    "G": ("g_transit_time", "g_transit_mag", "g_transit_flux_over_error", "variability_flag_g_reject"),
    "BP": ("bp_obs_time", "bp_mag", "bp_flux_over_error", "variability_flag_bp_reject"),
    "RP": ("rp_obs_time", "rp_mag", "rp_flux_over_error", "variability_flag_rp_reject"),
}


# -- parsing -------------------------------------------------------------------


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A DataLink EPOCH_PHOTOMETRY answer (zip or bare VOTable, long or wide) -> standard frame.

    With the context's ``survey_name`` (the Gaia ``source_id``) the zip member
    of that source is chosen and the file's own source id (PARAM or column)
    must match it.
    """
    source_id = (context.survey_name or None) if context is not None else None
    if not content or not content.strip():
        raise ParseError("empty response where Gaia epoch photometry was expected")
    if looks_like_html(content):
        raise ParseError("an HTML page where Gaia epoch photometry was expected")
    if content[:4] == b"PK\x03\x04" or content[:4] == b"PK\x05\x06":
        documents = _zip_members(content, source_id)
    else:
        documents = [("response", content)]
    return concat_lightcurves([_parse_votable(data, name, source_id) for name, data in documents])


def _zip_members(content: bytes, source_id: str | None) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ParseError(f"unreadable zip from the Gaia archive: {error}") from None
    epoch = [name for name in names if name.rsplit("/", 1)[-1].upper().startswith("EPOCH_PHOTOMETRY")]
    if source_id is not None:
        token = re.compile(rf"(?<![0-9]){re.escape(source_id)}(?![0-9])")
        named = [name for name in epoch if token.search(name)]
        epoch = named or epoch  # a member without the id in its name is checked inside
    if not epoch:
        listed = ", ".join(names[:10]) or "nothing"
        wanted = f" for source_id {source_id}" if source_id else ""
        raise ParseError(
            f"the Gaia archive's zip holds no EPOCH_PHOTOMETRY file{wanted} (it holds: {listed}); "
            "epoch photometry was published for only some sources of each release"
        )
    sizes = {info.filename: info.file_size for info in archive.infolist()}
    if sum(sizes[name] for name in epoch) > MAX_UNZIPPED_BYTES:
        raise ParseError(f"the Gaia archive's zip unpacks to more than {MAX_UNZIPPED_BYTES:,} bytes")
    try:
        return [(name, archive.read(name)) for name in epoch]
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, ValueError, EOFError) as error:
        raise ParseError(f"unreadable zip member from the Gaia archive: {error}") from None


def _read_tables(data: bytes, name: str) -> list[TableElement]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            votable = parse_votable(io.BytesIO(data), verify="ignore")
        tables = list(votable.iter_tables())
    except Exception as error:  # astropy raises many kinds for malformed XML / VOTable
        raise ParseError(f"{name}: not a readable VOTable ({type(error).__name__}: {str(error)[:200]})") from None
    _raise_archive_error(votable, name)
    return tables


def _raise_archive_error(votable, what: str) -> None:
    """The archive reports failures as a VOTable whose ``QUERY_STATUS`` INFO is ``ERROR``."""
    for resource in votable.resources:
        for info in list(resource.infos) + list(votable.infos):
            if info.name == "QUERY_STATUS" and str(info.value).upper() == "ERROR":
                raise ParseError(f"{what}: Gaia archive error: {(info.content or '').strip()[:300]}")


def _parse_votable(data: bytes, name: str, source_id: str | None) -> pd.DataFrame:
    tables = _read_tables(data, name)
    for element in tables:
        fields = {field.name for field in element.fields}
        if set(_LONG_COLUMNS) <= fields:
            return _parse_long(_as_table(element), _param(element, "source_id"), name, source_id)
        if {"g_transit_time", "g_transit_mag", "g_transit_flux_over_error"} <= fields:
            return _parse_wide(_as_table(element), _param(element, "source_id"), name, source_id)
    found = list(dict.fromkeys(field.name for table in tables for field in table.fields))  # file order
    shown = ", ".join(found[:12]) + (" ..." if len(found) > 12 else "")
    raise ParseError(
        f"{name}: a VOTable with unexpected columns for Gaia epoch photometry "
        f"(expected band/time/mag/flux_over_error or g_transit_time/g_transit_mag/...; found {shown or 'none'})"
    )


def _as_table(element: TableElement) -> Table:
    """Columns by their VOTable ``name`` (astropy would use a field's ``ID`` when it has one)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return element.to_table(use_names_over_ids=True)
    except Exception as error:
        raise ParseError(f"unreadable VOTable table ({type(error).__name__}: {str(error)[:200]})") from None


def _floats(table: Table, column: str) -> np.ndarray:
    try:
        return np.ma.filled(np.ma.asarray(table[column]).astype(float), np.nan)
    except (TypeError, ValueError):
        raise ParseError(f"column {column!r} is not numeric") from None


def _flags(table: Table, column: str | None) -> np.ndarray:
    """A boolean column with masked (null) values read as False; all False when absent."""
    if column is None or column not in table.colnames:
        return np.zeros(len(table), dtype=bool)
    return np.ma.filled(np.ma.asarray(table[column]).astype(bool), False)


def _strings(table: Table, column: str) -> np.ndarray:
    values = np.ma.asarray(table[column])
    if values.dtype.kind == "O":  # variable-length char columns may hold bytes
        values = np.ma.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in
                              values.filled("")], mask=np.ma.getmaskarray(values))
    return np.char.strip(np.ma.filled(values.astype(str), "").astype(str))


def _check_source(found: set[str], source_id: str | None, name: str) -> None:
    if source_id is not None and found and source_id not in found:
        shown = ", ".join(sorted(found)[:3])
        raise ParseError(f"{name}: epoch photometry of source_id {shown}, not of the requested {source_id}")


def _param(table: TableElement, param_name: str) -> str | None:
    for param in table.params:
        if param.name == param_name:
            return str(param.value).strip()
    return None


def _parse_long(table: Table, param_id: str | None, name: str, source_id: str | None) -> pd.DataFrame:
    if len(table) and "source_id" in table.colnames:
        ids = _strings(table, "source_id")
        _check_source(set(ids.tolist()), source_id, name)
        keep = ids == source_id if source_id is not None else np.ones(len(ids), dtype=bool)
    else:
        _check_source({param_id} - {None}, source_id, name)
        keep = np.ones(len(table), dtype=bool)
    band = np.char.upper(_strings(table, "band"))[keep]
    return _points(
        time=_floats(table, "time")[keep],
        mag=_floats(table, "mag")[keep],
        flux_over_error=_floats(table, "flux_over_error")[keep],
        band=band,
        rejected_photometry=_flags(table, "rejected_by_photometry")[keep],
        rejected_variability=_flags(table, "rejected_by_variability")[keep],
    )


def _parse_wide(table: Table, param_id: str | None, name: str, source_id: str | None) -> pd.DataFrame:
    _check_source({param_id} - {None}, source_id, name)
    columns = set(table.colnames)
    photometry = _flags(table, "rejected_by_photometry")
    frames = []
    for band, (time_col, mag_col, foe_col, reject_col) in _WIDE_BANDS.items():
        if not {time_col, mag_col, foe_col} <= columns:
            continue
        frames.append(
            _points(
                time=_floats(table, time_col),
                mag=_floats(table, mag_col),
                flux_over_error=_floats(table, foe_col),
                band=np.full(len(table), band),
                rejected_photometry=photometry,
                rejected_variability=_flags(table, reject_col if reject_col in columns else None),
            )
        )
    return concat_lightcurves(frames)


def _points(*, time, mag, flux_over_error, band, rejected_photometry, rejected_variability) -> pd.DataFrame:
    """Per-point arrays -> standard frame; rejected and unusable points are counted, not kept."""
    skipped: dict[str, int] = {}
    remaining = np.ones(len(time), dtype=bool)
    for reason, mask in (
        ("rejected by photometry", rejected_photometry),
        ("rejected by variability", rejected_variability),
        ("no magnitude", ~np.isfinite(mag)),
        ("no time", ~np.isfinite(time)),
        ("time out of range", ~((time > GAIA_TIME_RANGE[0]) & (time < GAIA_TIME_RANGE[1]))),
        ("no flux_over_error", ~(np.isfinite(flux_over_error) & (flux_over_error > 0))),
        ("unknown band", ~np.isin(band, list(MAG_ERROR_FLOOR))),
    ):
        hit = remaining & mask
        if hit.any():
            skipped[reason] = int(hit.sum())
        remaining &= ~mask
    band = band[remaining]
    floor = np.array([MAG_ERROR_FLOOR[b] for b in band], dtype=float)
    mag_err = np.hypot(_MAGNITUDE_COEFF / flux_over_error[remaining], floor)
    return make_lightcurve(
        time=gaia_time_to_utc(time[remaining]),
        mag=mag[remaining],
        mag_err=mag_err,
        band=band,
        skipped=skipped,
    )


def gaia_time_to_utc(gaia_time: np.ndarray) -> pd.DatetimeIndex:
    """Gaia epoch-photometry times (BJD TCB - 2455197.5) -> UTC timestamps, vectorised."""
    gaia_time = np.asarray(gaia_time, dtype=float)
    if len(gaia_time) == 0:
        return pd.to_datetime([], utc=True)
    utc = Time(np.full(len(gaia_time), GAIA_TIME_ORIGIN_JD), gaia_time, format="jd", scale="tcb").utc
    return pd.to_datetime(utc.to_value("datetime64"), utc=True)


# -- cone search ------------------------------------------------------------------


def cone_query(table: str, ra: float, dec: float, radius: u.Quantity) -> str:
    """The ADQL of a cone search, built only from validated numbers."""
    ra, dec, radius_deg = float(ra), float(dec), float(radius.to_value(u.deg))
    if not (math.isfinite(ra) and 0.0 <= ra <= 360.0):
        raise NoSurveyName(f"RA {ra!r} is not a valid right ascension in degrees")
    if not (math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise NoSurveyName(f"Dec {dec!r} is not a valid declination in degrees")
    if not (math.isfinite(radius_deg) and 0.0 < radius_deg <= 1.0):
        raise NoSurveyName(f"cone radius {radius_deg * 3600:g} arcsec is out of range")
    if not re.fullmatch(r"gaiadr[0-9]\.gaia_source", table):
        raise ValueError(f"unexpected Gaia table {table!r}")
    centre = f"POINT('ICRS', {ra:.9f}, {dec:.9f})"
    return (
        f"SELECT TOP {CONE_MAX_ROWS} source_id, ra, dec, ref_epoch, pmra, pmdec, phot_g_mean_mag, "
        f"DISTANCE(POINT('ICRS', ra, dec), {centre}) AS dist "
        f"FROM {table} "
        f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra:.9f}, {dec:.9f}, {radius_deg:.9f})) "
        f"ORDER BY dist ASC"
    )


def parse_cone(content: bytes) -> pd.DataFrame:
    """A TAP VOTable result with ``source_id, ra, dec`` (``ref_epoch, pmra, pmdec`` optional)."""
    if not content or not content.strip():
        raise ParseError("empty response where a Gaia cone-search result was expected")
    if looks_like_html(content):
        raise ParseError("an HTML page where a Gaia cone-search result was expected")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            votable = parse_votable(io.BytesIO(content), verify="ignore")
    except Exception as error:
        raise ParseError(f"unreadable Gaia cone-search result ({type(error).__name__}: {str(error)[:200]})") from None
    _raise_archive_error(votable, "cone search")
    tables = list(votable.iter_tables())
    if not tables:
        raise ParseError("Gaia cone-search result holds no table")
    table = _as_table(tables[0])
    names = set(table.colnames)
    if not {"source_id", "ra", "dec"} <= names:
        raise ParseError(f"Gaia cone-search result lacks source_id/ra/dec (has {', '.join(sorted(names)[:10])})")
    n = len(table)
    frame = pd.DataFrame({"source_id": _strings(table, "source_id"), "ra": _floats(table, "ra"),
                          "dec": _floats(table, "dec")})
    for column in ("ref_epoch", "pmra", "pmdec"):
        frame[column] = _floats(table, column) if column in names else np.full(n, np.nan)
    return frame[frame["source_id"].str.fullmatch(r"[0-9]{1,19}") & np.isfinite(frame["ra"])
                 & np.isfinite(frame["dec"])].reset_index(drop=True)





def match_separation(candidates: pd.DataFrame, ra: float, dec: float, epoch: float,
                     default_ref_epoch: float) -> np.ndarray:
    """Arcsec from (ra, dec) to each candidate: the smaller of the distances to its
    catalogue position (at its ``ref_epoch``) and to that position moved by its
    proper motion to ``epoch`` (linear, in the tangent plane)."""
    ref_epoch = candidates["ref_epoch"].fillna(default_ref_epoch).to_numpy(dtype=float)
    years = epoch - ref_epoch
    pmra = candidates["pmra"].fillna(0.0).to_numpy(dtype=float)  # mas/yr, includes cos(dec)
    pmdec = candidates["pmdec"].fillna(0.0).to_numpy(dtype=float)
    cos_dec = np.maximum(np.cos(np.radians(candidates["dec"].to_numpy(dtype=float))), 1e-6)
    moved_ra = candidates["ra"].to_numpy(dtype=float) + pmra * years / 3.6e6 / cos_dec
    moved_dec = np.clip(candidates["dec"].to_numpy(dtype=float) + pmdec * years / 3.6e6, -90.0, 90.0)
    at_gaia_epoch = separation_arcsec(candidates["ra"], candidates["dec"], ra, dec)
    at_target_epoch = separation_arcsec(np.mod(moved_ra, 360.0), moved_dec, ra, dec)
    return np.fmin(at_gaia_epoch, at_target_epoch)


def target_epoch(target: Target) -> float:
    """The Julian year of the target's coordinates (TOM's ``epoch`` field), 2000 when unset."""
    try:
        value = float(target.epoch)
    except (TypeError, ValueError):
        return 2000.0
    return value if math.isfinite(value) and 1900.0 <= value <= 2100.0 else 2000.0


# -- broker ------------------------------------------------------------------------


@dataclass(frozen=True)
class GaiaRelease:
    label: str  # the archive's RELEASE value
    source_table: str
    ref_epoch: float


class GaiaEpochPhotometryBroker(BHTOMBroker):
    """Shared by ``GAIA_DR3`` and ``GAIA_DR2``; a subclass sets ``data_source`` and ``release``.

    Cross-match: a cone search of the release's ``gaia_source`` within
    ``cross_match_max_separation`` (1 arcsec by default), the nearest source
    wins and the others are logged. Gaia positions are at the release's
    reference epoch (2016.0 for DR3, 2015.5 for DR2); the target's coordinates
    are taken at its ``epoch`` (2000 when unset). A TOM's ``epoch`` is often
    only the equinox, so a candidate matches when either its catalogue position
    or that position moved by its proper motion to the target's epoch is within
    the radius; the cone is widened by 1 arcsec per year between the two epochs
    so that fast movers are among the candidates.
    """

    release: GaiaRelease
    update_cadence = None  # a data release: fetched once; ``update_reduced_data --force`` refetches
    default_cross_match_max_separation = 1 * u.arcsec
    facility_name = "Gaia"
    observer_name = "Gaia"

    parse = staticmethod(parse)

    def find_survey_name(self, target: Target) -> str | None:
        if target.ra is None or target.dec is None:
            raise NoSurveyName(f"{target.name} has no {self.data_source.target_name_label} and no coordinates")
        radius = self.cross_match_max_separation
        epoch = target_epoch(target)
        margin = abs(epoch - self.release.ref_epoch) * PM_MARGIN_PER_YEAR
        query = cone_query(self.release.source_table, target.ra, target.dec, radius + margin)
        response = self.http.get(
            f"{self.base_url}{TAP_SYNC_PATH}",
            params={"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "votable", "QUERY": query},
        )
        candidates = parse_cone(response.content)
        radius_arcsec = float(radius.to_value(u.arcsec))
        if len(candidates):
            separation = match_separation(candidates, float(target.ra), float(target.dec), epoch,
                                          self.release.ref_epoch)
            inside = np.flatnonzero(separation <= radius_arcsec)
        else:
            inside = np.array([], dtype=int)
        if len(inside) == 0:
            raise NoSurveyName(
                f"no {self.pretty_name} source within {radius_arcsec:g} arcsec of "
                f"RA {float(target.ra):.6f}, Dec {float(target.dec):.6f}"
            )
        order = inside[np.argsort(separation[inside], kind="stable")]
        if len(order) > 1:
            others = ", ".join(f"{candidates['source_id'].iloc[i]} ({separation[i]:.2f}\")" for i in order[1:])
            self.logger.info("%s: %d %s sources within %g\"; nearest %s (%.2f\"), also %s", target.name,
                             len(order), self.pretty_name, radius_arcsec, candidates["source_id"].iloc[order[0]],
                             separation[order[0]], others)
        return str(candidates["source_id"].iloc[order[0]])

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # A data release never changes: always the whole lightcurve.
        source_id = str(int(survey_name))  # validated already; int() is a second guard for the URL
        return self.http.get(
            f"{self.base_url}{DATALINK_PATH}",
            params={
                "RETRIEVAL_TYPE": "EPOCH_PHOTOMETRY",
                "ID": source_id,
                "RELEASE": self.release.label,
                "DATA_STRUCTURE": "INDIVIDUAL",
                "FORMAT": "votable",
                "VALID_DATA": "false",
                "USE_ZIP_ALWAYS": "true",
            },
        )
