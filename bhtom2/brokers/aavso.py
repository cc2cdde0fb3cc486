"""AAVSO International Database observations through the VSX ``api.delim`` endpoint.

Request: ``{BHTOM_URL_AAVSO}/vsx/index.php?view=api.delim&ident=<name>&fromjd=..&tojd=..&delimiter=..``.
Observer names ("Surname, Firstname") contain commas, so a multi-character
delimiter (:data:`DELIMITER`) is asked for; the parser reads the delimiter
back from the header line, so files saved with ``~`` or any other delimiter
parse the same way. The AID web "Download data" CSV (long column names,
``JD,Magnitude,Uncertainty,...``) is read too.

Kept: validated (``V``) and pre-validated (``Z``) observations of the
configured observation types (``BHTOM_AAVSO_OBS_TYPES``, CCD and DSLR by
default) in the configured bands (``BHTOM_AAVSO_BANDS``, Johnson-Cousins
UBVRI and Sloan ugriz by default). ``fainterThan=1`` rows (or a ``<`` before
the magnitude in the download CSV) are upper limits. The observer code
becomes the observer and the observer's affiliation the facility. Rows
without an uncertainty are left out ("no uncertainty"), unless
``BHTOM_AAVSO_MISSING_UNCERTAINTY`` gives a value to use for them. The
download CSV has no observation-type column: its rows are not filtered by
type (the band filter still removes visual estimates, band ``Vis.``).

Times. The ``JD`` column is the geocentric Julian Date (UTC) the observer
reported; it is read as UTC with astropy and not corrected further (the
download CSV's optional ``HJD`` column is ignored).

Empty results. A header line without rows is "no observations". No recording
of VSX's answer for a star without observations in the JD range was found; if
it were an empty body, that would show as an "empty response" failure.

Incremental: ``fromjd`` is the JD of ``since`` (the last stored point minus
the overlap), ``tojd`` one day after now.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from astropy.time import Time
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import jd_to_utc

DELIMITER = "|~|"
ACCEPTED_VALIDATION_FLAGS = frozenset({"V", "Z"})
DEFAULT_OBS_TYPES: tuple[str, ...] = ("CCD", "DSLR")
DEFAULT_BANDS: tuple[str, ...] = DataSource.AAVSO.spec.bands
WHAT = "AAVSO observations table"

# AID download CSV column -> api.delim column.
_LONG_NAMES = {
    "JD": "JD",
    "Magnitude": "mag",
    "Uncertainty": "uncert",
    "Band": "band",
    "Observer Code": "by",
    "Validation Flag": "val",
    "Observer Affiliation": "obsAffil",
}
_REQUIRED = ("JD", "mag", "band", "val")


def parse(
    content: bytes,
    *,
    obs_types: Iterable[str] | None = DEFAULT_OBS_TYPES,
    bands: Iterable[str] = DEFAULT_BANDS,
    missing_uncertainty: float | None = None,
) -> pd.DataFrame:
    """A VSX ``api.delim`` answer (or an AID download CSV) -> standard frame.

    ``obs_types=None`` keeps every observation type. A header without rows
    is an empty lightcurve (no observations in range); an empty body is a
    ``ParseError``, as for every survey.
    """
    text = decode_text(content, what=WHAT)
    reject_html(text, what=WHAT)
    table = _read_table(text)
    skipped: dict[str, int] = {}
    if table.attrs["bad rows"]:
        skipped["unparseable row"] = table.attrs["bad rows"]

    def drop(mask: np.ndarray, reason: str) -> None:
        nonlocal table
        count = int(mask.sum())
        if count:
            skipped[reason] = skipped.get(reason, 0) + count
            table = table.loc[~mask]

    drop(~table["val"].str.strip().str.upper().isin(ACCEPTED_VALIDATION_FLAGS).to_numpy(), "not validated")
    if obs_types is not None and "obsType" in table.columns:
        wanted = {value.upper() for value in obs_types}
        drop(~table["obsType"].str.strip().str.upper().isin(wanted).to_numpy(), "observation type not kept")
    drop(~table["band"].str.strip().isin(set(bands)).to_numpy(), "band not kept")

    mag_text = table["mag"].str.strip()
    fainter = mag_text.str.startswith("<").to_numpy(dtype=bool, copy=True)
    if "fainterThan" in table.columns:
        fainter |= (table["fainterThan"].str.strip() == "1").to_numpy()
    mag = pd.to_numeric(mag_text.str.lstrip("<"), errors="coerce").to_numpy(dtype=float)
    jd = pd.to_numeric(table["JD"].str.strip(), errors="coerce").to_numpy(dtype=float)
    uncert = pd.to_numeric(table["uncert"].str.strip(), errors="coerce").to_numpy(dtype=float)
    if missing_uncertainty is not None:
        uncert = np.where(np.isfinite(uncert), uncert, float(missing_uncertainty))

    unreadable = ~np.isfinite(mag) | ~np.isfinite(jd)
    no_uncertainty = ~unreadable & ~fainter & ~np.isfinite(uncert)
    for reason, mask in (("unreadable row", unreadable), ("no uncertainty", no_uncertainty)):
        if mask.any():
            skipped[reason] = skipped.get(reason, 0) + int(mask.sum())
    keep = ~unreadable & ~no_uncertainty
    table, mag, jd, uncert, fainter = table.loc[keep], mag[keep], jd[keep], uncert[keep], fainter[keep]
    return make_lightcurve(
        time=jd_to_utc(jd),
        mag=np.where(fainter, np.nan, mag),
        mag_err=np.where(fainter, np.nan, uncert),
        band=table["band"].str.strip().to_numpy(),
        limit=np.where(fainter, mag, np.nan),
        observer=table["by"].str.strip().to_numpy() if "by" in table.columns else "",
        facility=table["obsAffil"].str.strip().to_numpy() if "obsAffil" in table.columns else "",
        skipped=skipped,
    )


def _read_table(text: str) -> pd.DataFrame:
    """All columns as stripped strings, named as in ``api.delim``."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    match = re.match(r"^JD(.+?)mag(?:$|\1)", header)
    if header.startswith("JD,Magnitude,"):
        records = list(csv.reader(io.StringIO("\n".join(lines))))
        names = [_LONG_NAMES.get(name.strip(), name.strip()) for name in records[0]]
        rows = records[1:]
    elif match:
        delimiter = match.group(1)
        names = header.split(delimiter)
        rows = [line.split(delimiter) for line in lines[1:]]
    else:
        raise ParseError(f"not an {WHAT}: unexpected header {header[:80]!r}")
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise ParseError(f"{WHAT} lacks columns {missing}")
    good = [row for row in rows if len(row) == len(names)]
    if rows and not good:
        raise ParseError(f"{WHAT}: no row has the header's {len(names)} fields")
    table = pd.DataFrame(good, columns=names, dtype=object)
    table = table.loc[:, ~table.columns.duplicated()]
    if "uncert" not in table.columns:
        table["uncert"] = ""
    table.attrs["bad rows"] = len(rows) - len(good)
    return table.fillna("")


class AAVSOBroker(BHTOMBroker):
    """AAVSO International Database (``AAVSO``)."""

    data_source = DataSource.AAVSO
    facility_name = "AAVSO"
    observer_name = "AAVSO"

    def parse(self, content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
        missing = conf.setting("BHTOM_AAVSO_MISSING_UNCERTAINTY")
        return parse(
            content,
            obs_types=conf.setting("BHTOM_AAVSO_OBS_TYPES"),
            bands=conf.setting("BHTOM_AAVSO_BANDS"),
            missing_uncertainty=None if missing in (None, "") else float(missing),
        )

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        params = {
            "view": "api.delim",
            "ident": survey_name,
            "fromjd": f"{Time(since).jd:.5f}" if since is not None else "0",
            "tojd": f"{Time.now().jd + 1:.5f}",
            "delimiter": DELIMITER,
        }
        return self.http.get(f"{self.base_url}/vsx/index.php", params=params)
