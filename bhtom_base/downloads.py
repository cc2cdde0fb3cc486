"""A target's lightcurve as CSV, ECSV or VOTable, streamed row by row.

Every format carries the same columns: the time as ISO UTC, MJD and JD (UTC);
magnitude, error and upper limit; the stored band and the survey; the facility;
and the survey's own point id, original time and time system where the
update stored them in the row's ``value`` JSON (blank otherwise). The headers
come from astropy (ECSV's YAML header, VOTable's FIELDs) and the rows are
written as the database yields them, so a 50,000-point lightcurve starts
arriving at once and never sits whole in memory.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import astropy.units as u
import numpy as np
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
from astropy.table import Table
from django.db.models.fields.json import KT
from tom_targets.models import Target

from .lightcurve_json import visible_photometry
from .selection import Selection

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
MJD_TO_JD = 2_400_000.5
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class DownloadColumn:
    name: str
    kind: str  # "str" or "float"
    unit: str = ""
    ucd: str = ""
    description: str = ""


COLUMNS = (
    DownloadColumn("time_utc", "str", ucd="time.epoch",
                   description="time of the observation, ISO 8601, UTC (geocentric)"),
    DownloadColumn("mjd", "float", "d", "time.epoch", "modified Julian date, UTC"),
    DownloadColumn("jd", "float", "d", "time.epoch", "Julian date, UTC"),
    DownloadColumn("mag", "float", "mag", "phot.mag", "apparent magnitude; blank for an upper limit"),
    DownloadColumn("mag_err", "float", "mag", "stat.error;phot.mag", "magnitude error"),
    DownloadColumn("limit", "float", "mag", "phot.mag;stat.max", "upper limit (faintest magnitude) of a non-detection"),
    DownloadColumn("band", "str", ucd="instr.filter", description="band as stored, e.g. g(ZTF)"),
    DownloadColumn("survey", "str", ucd="meta.id", description="source (survey) name"),
    DownloadColumn("facility", "str", ucd="instr.tel", description="telescope or facility"),
    DownloadColumn("point_id", "str", ucd="meta.id", description="the survey's own id of the point, if it has one"),
    DownloadColumn("survey_time", "str", description="the time as the survey gave it"),
    DownloadColumn("time_system", "str", description="the survey's time scale and reference, e.g. JD TCB"),
)
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "ecsv": ("text/plain; charset=utf-8", "ecsv"),
    "votable": ("application/x-votable+xml; charset=utf-8", "vot"),
}


def photometry_rows(target: Target, user, selection: Selection) -> Iterator[tuple]:
    """Rows in time order, as the download columns (strings and floats, None where blank)."""
    queryset = (
        selection.filter(visible_photometry(target, user))
        .annotate(point_id=KT("value__point_id"), survey_time=KT("value__survey_time"),
                  time_system=KT("value__time_system"))
        .order_by("timestamp", "pk")
        .values_list("timestamp", "brightness", "brightness_error", "limit", "bandpass", "source_name",
                     "telescope", "point_id", "survey_time", "time_system")
    )
    for timestamp, mag, err, limit, band, survey, facility, point_id, survey_time, system in queryset.iterator(
        chunk_size=CHUNK_ROWS
    ):
        if mag is None and limit is None:
            continue
        moment = timestamp.astimezone(UTC)
        mjd = (moment - MJD_EPOCH).total_seconds() / 86400.0
        yield (moment.strftime("%Y-%m-%dT%H:%M:%S.%f"), mjd, mjd + MJD_TO_JD, mag, err, limit, band or "",
               survey or "", facility or "", point_id or "", survey_time or "", system or "")


def _cells(row: tuple) -> list[str]:
    """Text of each cell: floats with full precision (times to 1e-8 d), blanks for missing values."""
    time_utc, mjd, jd, *rest = row
    out = [time_utc, f"{mjd:.8f}", f"{jd:.8f}"]
    for value in rest:
        out.append("" if value is None else repr(value) if isinstance(value, float) else str(value))
    return out


def _csv_chunks(rows: Iterable[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, row in enumerate(rows, 1):
        writer.writerow(_cells(row))
        if i % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _header_line() -> str:
    return ",".join(column.name for column in COLUMNS) + "\n"


def stream_csv(rows: Iterable[tuple], meta: dict) -> Iterator[str]:
    yield _header_line()
    yield from _csv_chunks(rows)


def ecsv_header(meta: dict) -> str:
    """ECSV 1.0 header (YAML) written by astropy for an empty table with the download's columns."""
    table = Table(meta=meta)
    for column in COLUMNS:
        table[column.name] = np.array([], dtype=float if column.kind == "float" else str)
        table[column.name].unit = u.Unit(column.unit) if column.unit else None
        table[column.name].description = column.description
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv", delimiter=",")
    return buffer.getvalue()


def stream_ecsv(rows: Iterable[tuple], meta: dict) -> Iterator[str]:
    yield ecsv_header(meta)  # ends with the column-name line
    yield from _csv_chunks(rows)


def votable_parts(meta: dict) -> tuple[str, str]:
    """The VOTable document written by astropy around an empty TABLEDATA: (before rows, after rows)."""
    votable = VOTableFile()
    resource = Resource()
    votable.resources.append(resource)
    table = TableElement(votable, name="lightcurve")
    resource.tables.append(table)
    for key, value in meta.items():
        resource.infos.append(Info(name=key, value=str(value)))
    for column in COLUMNS:
        kwargs = {"datatype": "double"} if column.kind == "float" else {"datatype": "unicodeChar", "arraysize": "*"}
        field = Field(votable, name=column.name, unit=column.unit or None, ucd=column.ucd or None, **kwargs)
        field.description = column.description
        table.fields.append(field)
    table.create_arrays(0)
    buffer = io.BytesIO()
    votable.to_xml(buffer, tabledata_format="tabledata")
    text = buffer.getvalue().decode("utf-8")
    head, tail = text.rsplit("</TABLE>", 1)
    return head + "<DATA><TABLEDATA>\n", "</TABLEDATA></DATA>\n</TABLE>" + tail


def stream_votable(rows: Iterable[tuple], meta: dict) -> Iterator[str]:
    head, tail = votable_parts(meta)
    yield head
    lines: list[str] = []
    for row in rows:
        lines.append("<TR>" + "".join(f"<TD>{escape(cell)}</TD>" for cell in _cells(row)) + "</TR>\n")
        if len(lines) >= CHUNK_ROWS:
            yield "".join(lines)
            lines = []
    yield "".join(lines)
    yield tail


STREAMS = {"csv": stream_csv, "ecsv": stream_ecsv, "votable": stream_votable}


def download_filename(target: Target, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target.name)[:80] or f"target{target.pk}"
    return f"{safe}_lightcurve.{FORMATS[fmt][1]}"


def lightcurve_stream(target: Target, user, selection: Selection, fmt: str) -> Iterator[bytes]:
    meta = {"target": target.name, "selection": selection.describe(),
            "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    for text in STREAMS[fmt](photometry_rows(target, user, selection), meta):
        if text:
            yield text.encode("utf-8")
