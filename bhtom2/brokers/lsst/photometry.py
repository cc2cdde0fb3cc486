"""Rubin fluxes (nJy, AB) -> the standard lightcurve frame, for every LSST service.

Each service's parser turns its own response into one *measurement table*
(:data:`MEASUREMENT_COLUMNS`, one row per diaSource or diaForcedSource) and
hands it to :func:`lightcurve_from_fluxes` with the target's brightness choice:

``Brightness.DIFFERENCE`` (a transient absent from the template)
    detections: the positive difference flux ``psfFlux``; a negative or zero
    difference says nothing about the transient's brightness and is left out.
    Forced photometry: ``psfFlux`` at S/N >= 5 is a detection, anything fainter
    is a 5-sigma upper limit from ``psfFluxErr``.
``Brightness.TOTAL`` (an object in the template, e.g. a star)
    detections: ``scienceFlux`` (the visit image at the source's position), or
    ``templateFlux + psfFlux`` where the service gives no ``scienceFlux``.
    Forced photometry: ``scienceFlux`` at S/N >= 5, else a 5-sigma limit from
    ``scienceFluxErr`` (a true limit on the total brightness). A difference-image
    limit is never stored for such an object: it only says "no change".

m = 31.4 - 2.5 log10(f / nJy); sigma_m = 2.5 / ln 10 * sigma_f / f. Times are
``midpointMjdTai`` (mid-exposure, TAI) converted to UTC with astropy.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bhtom_base.lightcurve import Brightness, empty_lightcurve, make_lightcurve
from bhtom_base.times import mjd_to_utc

AB_ZERO_POINT_NJY = 31.4  # 2.5 log10(3631 Jy / 1 nJy)
MAG_PER_RELATIVE_FLUX = 2.5 / np.log(10)  # 1.0857...
LIMIT_SIGMA = 5.0
BANDS = ("u", "g", "r", "i", "z", "y")
TIME_SYSTEM = "MJD TAI (midpointMjdTai)"
MEASUREMENT_COLUMNS = (
    "mjd_tai", "band", "point_id", "forced", "diff_flux", "diff_flux_err", "sci_flux", "sci_flux_err",
    "template_flux", "template_flux_err", "flagged", "withdrawn",
)


def flux_to_mag(flux) -> np.ndarray:
    """AB magnitude of a flux in nJy (NaN where the flux is not positive)."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, AB_ZERO_POINT_NJY - 2.5 * np.log10(flux), np.nan)


def flux_error_to_mag_error(flux, flux_err) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return MAG_PER_RELATIVE_FLUX * np.asarray(flux_err, dtype=float) / np.asarray(flux, dtype=float)


def id_text(value: object) -> str:
    """A Rubin id (64-bit) as text; "" for anything that is not a plain integer (a float has lost digits)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    return text if text.isdigit() else ""


def measurement_table(**columns) -> pd.DataFrame:
    """A measurement table from column-like values; missing columns become NaN / False / ""."""
    n = max((len(value) for value in columns.values() if value is not None), default=0)
    table = {}
    for name in MEASUREMENT_COLUMNS:
        value = columns.get(name)
        if name in ("band", "point_id"):
            table[name] = pd.Series([""] * n if value is None else list(value), dtype=object).fillna("").astype(str)
        elif name in ("forced", "flagged", "withdrawn"):
            table[name] = np.zeros(n, dtype=bool) if value is None else _truthy(value)
        else:
            table[name] = np.full(n, np.nan) if value is None else _numbers(value)
    return pd.DataFrame(table)


def _numbers(values) -> np.ndarray:
    """Numbers (or numeric text) as floats; anything else in a garbage row (lists, objects, booleans) is NaN."""
    plain = [value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
             for value in values]
    return pd.to_numeric(pd.Series(plain, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _truthy(values) -> np.ndarray:
    return np.array([value is True or str(value).strip().lower() in ("true", "1", "t") for value in values],
                    dtype=bool)


def lightcurve_from_fluxes(
    table: pd.DataFrame,
    brightness: Brightness,
    *,
    observer: str = "",
    skipped: dict[str, int] | None = None,
    survey_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Measurement table -> standard frame, as the object's brightness says (``AUTO`` is not allowed here)."""
    if brightness is Brightness.AUTO:
        raise ValueError("decide the object's brightness before converting its fluxes")
    skipped = dict(skipped or {})
    if table.empty:
        frame = empty_lightcurve()
        frame.attrs["skipped"] = skipped
        if survey_names:
            frame.attrs["survey_names"] = dict(survey_names)
        return frame
    mjd = table["mjd_tai"].to_numpy(dtype=float)
    band = table["band"].astype(str).str.strip()
    forced = table["forced"].to_numpy(dtype=bool)
    keep = np.ones(len(table), dtype=bool)
    keep &= _drop(skipped, "band not u/g/r/i/z/y", keep & ~band.isin(BANDS).to_numpy())
    keep &= _drop(skipped, "withdrawn by Rubin (timeWithdrawnMjdTai)", keep & table["withdrawn"].to_numpy(bool))
    keep &= _drop(skipped, "flagged flux (psfFlux_flag)", keep & table["flagged"].to_numpy(bool))
    keep &= _drop(skipped, "forced photometry at a detection's visit", keep & forced & _at_detection(mjd, band, forced))

    if brightness is Brightness.DIFFERENCE:
        flux = table["diff_flux"].to_numpy(dtype=float)
        err = table["diff_flux_err"].to_numpy(dtype=float)
        keep &= _drop(skipped, "negative difference (transient absent from the template)",
                      keep & ~forced & np.isfinite(flux) & (flux <= 0))
    else:
        science, science_err = table["sci_flux"].to_numpy(float), table["sci_flux_err"].to_numpy(float)
        summed = table["template_flux"].to_numpy(float) + table["diff_flux"].to_numpy(float)
        summed_err = np.hypot(table["template_flux_err"].to_numpy(float), table["diff_flux_err"].to_numpy(float))
        use_science = np.isfinite(science) | forced
        flux = np.where(use_science, science, summed)
        err = np.where(use_science, science_err, summed_err)
        keep &= _drop(skipped, "total flux not positive", keep & ~forced & np.isfinite(flux) & (flux <= 0))
    keep &= _drop(skipped, "no flux", keep & ~np.isfinite(flux))
    keep &= _drop(skipped, "invalid flux error", keep & ~(np.isfinite(err) & (err > 0)))

    detected = ~forced | (flux >= LIMIT_SIGMA * err)
    mag = np.where(detected, flux_to_mag(flux), np.nan)
    mag_err = np.where(detected, flux_error_to_mag_error(flux, err), np.nan)
    limit = np.where(detected, np.nan, flux_to_mag(LIMIT_SIGMA * err))
    return make_lightcurve(
        time=mjd_to_utc(mjd[keep], scale="tai").to_numpy(),
        mag=mag[keep],
        mag_err=mag_err[keep],
        band=band[keep].to_numpy(dtype=object),
        limit=limit[keep],
        observer=observer,
        point_id=table["point_id"].to_numpy(dtype=object)[keep],
        survey_time=mjd[keep],
        time_system=TIME_SYSTEM,
        skipped=skipped,
        survey_names=survey_names,
    )


def _drop(skipped: dict[str, int], reason: str, mask: np.ndarray) -> np.ndarray:
    """Count the rows of ``mask`` under ``reason``; return the rows to keep."""
    count = int(mask.sum())
    if count:
        skipped[reason] = skipped.get(reason, 0) + count
    return ~mask


def _at_detection(mjd: np.ndarray, band: pd.Series, forced: np.ndarray) -> np.ndarray:
    """Rows whose (visit time, band) is also a detection's (same visit: forced and alert photometry coincide)."""
    keys = pd.Series(np.round(mjd, 6).astype(str)) + "|" + band.reset_index(drop=True)
    detected_keys = set(keys[~forced])
    return keys.isin(detected_keys).to_numpy()
