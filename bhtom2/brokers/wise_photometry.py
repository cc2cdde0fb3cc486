"""WISE single-exposure rows (NEOWISE, AllWISE multi-epoch) -> the object's W1/W2 brightness, with the
quality cuts of the WISE explanatory supplements (pure; used by :mod:`bhtom2.brokers.neowise` and
:mod:`bhtom2.brokers.allwise`).

Per frame (every band of the row): ``qual_frame`` > 0 (0 = poor frame), ``qi_fact`` >= 0.9 (the
frame's image quality factor is 1.0; 0.5 and 0 mark degraded frames), ``saa_sep`` > 0 (outside the
South Atlantic Anomaly, where charged-particle hits fake brightenings).
Per band (its character in the flag strings; W1 first, W2 second): ``moon_masked`` ``0`` (no Moon
scattered light), ``cc_flags`` ``0`` (no diffraction spike, persistence/latent, halo or ghost),
``ph_qual`` ``A``/``B``/``C`` a detection, ``U`` a 95 % brightness upper limit (stored as a limit),
anything else no measurement. A null error with a magnitude is what the supplements say it is, a
95 % confidence upper limit, stored as a limit (AllWISE gives no ``ph_qual``; NEOWISE's ``U`` rows
are the same thing).

A table must hold the flag columns its catalogue needs (``required``): a row of the NEOWISE
single-exposure table, which holds every frame "regardless of quality", means nothing without
``cc_flags``, ``ph_qual`` and ``qual_frame``. The other cuts run wherever the table carries the
column (the brokers always request them).

Times: ``mjd`` is the UTC MJD of the frame mid-point (the supplements' column description; not
barycentric), stored as given.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from astropy.table import Table

from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import count_skipped, make_lightcurve
from bhtom_base.times import mjd_to_utc

from .irsa_gator import column_floats, column_strings, parse_ipac_table

DETECTION_QUALITY = ("A", "B", "C")
UPPER_LIMIT_QUALITY = "U"
MIN_QI_FACT = 0.9
TIME_SYSTEM = "MJD UTC (mid-point of the frame)"


def parse_wise_table(content: bytes | str, *, what: str, bands: dict[str, tuple[str, str]],
                     required: Sequence[str] = ()) -> pd.DataFrame:
    """A Gator IPAC table of WISE single exposures -> standard lightcurve frame.

    ``bands`` maps a band (``W1``) to its magnitude and error columns, in the order of the
    bands' characters in the flag strings; ``required`` are flag columns without which the
    table's rows cannot be vetted (a ``ParseError`` names them).
    """
    table = parse_ipac_table(content, what=what,
                             required=["mjd", *(column for pair in bands.values() for column in pair)])
    missing = [name for name in required if name not in table.colnames]
    if missing and len(table):
        raise ParseError(f"{what} lacks the quality columns {missing}: its points cannot be vetted")
    columns = wise_lightcurve(table, bands)
    return make_lightcurve(
        time=mjd_to_utc(columns["mjd"]),
        mag=columns["mag"],
        mag_err=columns["mag_err"],
        band=columns["band"],
        limit=columns["limit"],
        survey_time=columns["survey_time"],
        time_system=TIME_SYSTEM,
        skipped=columns["skipped"],
    )


def wise_lightcurve(table: Table, bands: dict[str, tuple[str, str]]) -> dict:
    """The columns of a standard lightcurve (W1 and W2 rows) and the counts of what was left out."""
    skipped: dict[str, int] = {}
    mjd = column_floats(table, "mjd")
    good_frame = _good_frames(table, skipped)
    parts: dict[str, list] = {"mjd": [], "survey_time": [], "mag": [], "mag_err": [], "band": [], "limit": []}
    for position, (band, (mag_column, err_column)) in enumerate(bands.items()):
        mag, err = column_floats(table, mag_column), column_floats(table, err_column)
        keep = good_frame.copy()
        for column, clean, reason in (("moon_masked", "0", "Moon scattered light (moon_masked)"),
                                      ("cc_flags", "0", "artefact flag (cc_flags)")):
            if column in table.colnames:
                flagged = keep & (_band_characters(table, column, position) != clean)
                count_skipped(skipped, f"{band}: {reason}", flagged)
                keep &= ~flagged
        is_limit = keep & np.isfinite(mag) & ~np.isfinite(err)  # null sigma: a 95 % upper limit
        if "ph_qual" in table.colnames:
            quality = _band_characters(table, "ph_qual", position)
            is_limit = keep & (quality == UPPER_LIMIT_QUALITY)
            unusable = keep & ~is_limit & ~np.isin(quality, DETECTION_QUALITY)
            count_skipped(skipped, f"{band}: no measurement (ph_qual X/Z)", unusable)
            keep &= ~unusable
        no_mag = keep & ~np.isfinite(mag)
        count_skipped(skipped, f"{band}: null magnitude", no_mag)
        keep &= ~no_mag
        no_error = keep & ~is_limit & ~np.isfinite(err)
        count_skipped(skipped, f"{band}: null error", no_error)
        keep &= ~no_error
        for mask, as_limit in ((keep & ~is_limit, False), (keep & is_limit, True)):
            count = int(mask.sum())
            parts["mjd"].append(mjd[mask])
            parts["survey_time"].append(mjd[mask])
            parts["mag"].append(np.full(count, np.nan) if as_limit else mag[mask])
            parts["mag_err"].append(np.full(count, np.nan) if as_limit else err[mask])
            parts["limit"].append(mag[mask] if as_limit else np.full(count, np.nan))
            parts["band"].append(np.full(count, band, dtype=object))
    columns: dict = {key: np.concatenate(values) if values else np.array([]) for key, values in parts.items()}
    bad_time = ~np.isfinite(columns["mjd"].astype(float))
    if bad_time.any():
        skipped["null mjd"] = int(bad_time.sum())
        columns = {key: values[~bad_time] for key, values in columns.items()}
    columns["skipped"] = skipped
    return columns


def _good_frames(table: Table, skipped: dict[str, int]) -> np.ndarray:
    """Rows whose frame passes the frame-level cuts the table carries; each failure counted once per row."""
    good = np.ones(len(table), dtype=bool)
    with np.errstate(invalid="ignore"):
        for column, test, reason in (
            ("qual_frame", lambda v: v > 0, "poor frame (qual_frame = 0)"),
            ("qi_fact", lambda v: v >= MIN_QI_FACT, f"degraded frame (qi_fact < {MIN_QI_FACT:g})"),
            ("saa_sep", lambda v: v > 0, "inside the South Atlantic Anomaly (saa_sep <= 0)"),
        ):
            if column in table.colnames:
                failed = good & ~test(column_floats(table, column))
                count_skipped(skipped, f"frame: {reason}", failed)
                good &= ~failed
    return good


def _band_characters(table: Table, column: str, position: int) -> np.ndarray:
    values = column_strings(table, column)
    return np.array([value[position] if len(value) > position else "" for value in values])
