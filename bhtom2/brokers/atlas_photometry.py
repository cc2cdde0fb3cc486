"""ATLAS forced photometry result files -> the object's brightness (pure; used by :mod:`bhtom2.brokers.atlas`).

What a row means depends on the images the server measured, which the broker
chooses per target (:func:`uses_reduced_images`):

* **reduced images** (``use_reduced``; a target in ATLAS's reference images —
  a star, a microlensing source, and ``auto``): ``uJy`` is the object's total
  flux. S/N >= 5 is a detection (``m``, ``dm``); -5 < S/N < 5 is a true
  non-detection, stored as the image's 5-sigma limit ``mag5sig``; S/N <= -5
  is a failed fit (tphot over-subtracting the sky, ATLAS FAQ), left out.
* **difference images** (a person's ``difference`` choice: a transient absent
  from the reference): ``uJy`` is the transient's flux. S/N >= 5 is a
  detection; |S/N| < 5 is a true limit ``mag5sig``; S/N <= -5 is no flux of
  the transient (a template that holds it, or a bad subtraction), left out.

Quality cuts (all counted in ``skipped``): the ATLAS forced photometry FAQ's
"common sense filters" (``duJy < 10000``, ``err == 0``, ``100 < x, y < 10460``,
``1.6 < maj, min < 5``, ``-1 < apfit < -0.1``, ``mag5sig > 17``, ``Sky > 17``);
flux 0 with error 0 is nothing measured; a non-detection whose PSF fit has
``chi/N > 10`` (the chi-square cut of Rest et al. 2024, ATClean) is a failed
fit, not a limit. Detections keep any chi/N: on reduced images a bright star's
chi/N grows with its flux. Filters other than c and o (g, H...) are left out.

Errors: the larger of ``dm`` and 2.5/ln(10) x ``duJy``/``uJy``, the magnitude error of the flux error
(the output description's Taylor expansion): ATLAS's ``dm`` is ``duJy``/``uJy``, 8 % smaller.

Time: ``MJD`` is the UTC MJD of the *start* of the 30 s exposure, not
barycentric (ATLAS output description); the stored time is mid-exposure,
MJD + 15 s. Point id: ``Obs``, the exposure's file name (one measurement per
exposure for one position; ATLAS has exposures sharing one MJD).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext, count_skipped, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import mjd_to_utc

DETECTION_SNR = 5.0
EXPOSURE_SECONDS = 30.0
BANDS = ("c", "o")
REQUIRED = ("MJD", "m", "dm", "uJy", "duJy", "F", "err", "chi/N", "x", "y", "maj", "min", "apfit", "mag5sig",
            "Sky", "Obs")
MAX_LIMIT_CHI_N = 10.0
MAG_PER_FRACTION = 2.5 / np.log(10)
TIME_SYSTEM = "MJD UTC (start of the 30 s exposure)"
# (reason, test that a good row passes), from the ATLAS forced photometry FAQ
FAQ_CUTS: tuple[tuple[str, object], ...] = (
    ("tphot error code (err != 0)", lambda c: c["err"] == 0),
    ("flux error too large (duJy >= 10000)", lambda c: c["duJy"] < 10000),
    ("near the chip edge (x, y)", lambda c: (c["x"] > 100) & (c["x"] < 10460) & (c["y"] > 100) & (c["y"] < 10460)),
    ("PSF shape out of range (maj, min)",
     lambda c: (c["maj"] > 1.6) & (c["maj"] < 5) & (c["min"] > 1.6) & (c["min"] < 5)),
    ("aperture correction out of range (apfit)", lambda c: (c["apfit"] > -1) & (c["apfit"] < -0.1)),
    ("shallow or failed image (mag5sig <= 17)", lambda c: c["mag5sig"] > 17),
    ("bright sky (Sky <= 17)", lambda c: c["Sky"] > 17),
)


def uses_reduced_images(brightness: Brightness) -> bool:
    """Reduced (input) images unless a person said the target is a transient absent from the reference."""
    return brightness != Brightness.DIFFERENCE


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An ATLAS forced photometry result text -> standard frame, columns found by header name."""
    reduced = uses_reduced_images((context or ParseContext()).brightness)
    frame, skipped = _read_table(content)
    number = {name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
              for name in REQUIRED if name not in ("F", "Obs")}
    band = frame["F"].astype(str).to_numpy()
    keep = np.isfinite(number["MJD"])
    count_skipped(skipped, "unreadable MJD", ~keep)
    for reason, mask in (("unknown filter", ~np.isin(band, BANDS)),
                         ("nothing measured (flux 0, error 0)", (number["uJy"] == 0) & (number["duJy"] == 0))):
        count_skipped(skipped, reason, keep & mask)
        keep &= ~mask
    with np.errstate(invalid="ignore", divide="ignore"):
        for reason, test in FAQ_CUTS:
            failed = keep & ~np.asarray(test(number), dtype=bool)
            count_skipped(skipped, reason, failed)
            keep &= ~failed
        snr = np.where(number["duJy"] > 0, number["uJy"] / number["duJy"], np.nan)
    no_error = keep & ~np.isfinite(snr)
    count_skipped(skipped, "no flux error", no_error)
    keep &= ~no_error
    negative = keep & (snr <= -DETECTION_SNR)
    count_skipped(skipped, "significant negative flux on a reduced image (failed fit)" if reduced
           else "significant negative difference flux (no flux of a transient)", negative)
    keep &= ~negative
    detection = keep & (snr >= DETECTION_SNR)
    implausible = detection & ~((number["m"] > 0) & np.isfinite(number["dm"]))
    count_skipped(skipped, "detection without a magnitude", implausible)
    detection &= ~implausible
    non_detection = keep & (snr < DETECTION_SNR)
    bad_fit = non_detection & ~(number["chi/N"] <= MAX_LIMIT_CHI_N)
    count_skipped(skipped, f"non-detection with a failed PSF fit (chi/N > {MAX_LIMIT_CHI_N:g})", bad_fit)
    non_detection &= ~bad_fit
    selected = detection | non_detection
    is_detection = detection[selected]
    mid_exposure = number["MJD"][selected] + EXPOSURE_SECONDS / 2 / 86400.0
    # ATLAS's dm is duJy/uJy, 2.5/ln 10 = 1.086 times smaller than the magnitude error of its own flux error
    with np.errstate(divide="ignore", invalid="ignore"):
        flux_mag_err = MAG_PER_FRACTION * number["duJy"][selected] / number["uJy"][selected]
    mag_err = np.fmax(number["dm"][selected], flux_mag_err)
    return make_lightcurve(
        time=mjd_to_utc(mid_exposure),
        mag=np.where(is_detection, number["m"][selected], np.nan),
        mag_err=np.where(is_detection, mag_err, np.nan),
        band=band[selected],
        limit=np.where(is_detection, np.nan, number["mag5sig"][selected]),
        point_id=frame["Obs"].astype(str).to_numpy()[selected],
        survey_time=frame["MJD"].to_numpy()[selected],
        time_system=TIME_SYSTEM,
        skipped=skipped,
    )


def _read_table(content: bytes) -> tuple[pd.DataFrame, dict[str, int]]:
    """The whitespace table under the ``###MJD ...`` header, as text; short rows counted."""
    text = decode_text(content, what="ATLAS forced photometry result")
    reject_html(text, what="ATLAS forced photometry result")
    lines = [line for line in text.splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines[:5])
                      if {"MJD", "uJy"} <= set(line.lstrip("#").split())), None)
    if header_at is None:
        raise ParseError("not an ATLAS forced photometry result: no '###MJD m dm uJy duJy F ...' header")
    names = lines[header_at].lstrip("#").split()
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ParseError(f"ATLAS forced photometry result lacks columns {missing}")
    rows = [line.split() for line in lines[header_at + 1:]]
    complete = [row for row in rows if len(row) == len(names)]
    skipped: dict[str, int] = {}
    if len(complete) < len(rows):
        skipped["unparseable row"] = len(rows) - len(complete)
    return pd.DataFrame(complete, columns=names, dtype=object), skipped
