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
from itertools import islice
from xml.sax.saxutils import escape

import astropy.units as u
import numpy as np
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
from astropy.table import Table
from django.db import connection
from django.db.models import CharField, F, Func, Q
from django.db.models.fields.json import KT
from tom_targets.models import Target

from .lightcurve_json import visible_photometry
from .selection import Selection

MJD_UNIX_EPOCH = 40_587.0
MICROSECONDS_PER_DAY = 86_400e6
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


class UTCText(Func):
    """A datetime column as ISO text in UTC (``YYYY-MM-DD[ T]HH:MM:SS[.ffffff]``), made by the database.

    SQLite already keeps that text (the cast stops sqlite3 from parsing it into a datetime); PostgreSQL
    formats it. numpy then reads a whole chunk at once.
    """

    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS TEXT)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        return self.as_sql(compiler, connection, template=template, **extra)


VALUE_COLUMNS = ("brightness", "brightness_error", "limit", "bandpass", "source_name", "telescope", "point_id",
                 "survey_time", "time_system")


def _raw_chunks(target: Target, user, selection: Selection) -> Iterator[list[tuple]]:
    """Rows in time order, ``CHUNK_ROWS`` at a time: (UTC text or datetime, *VALUE_COLUMNS)."""
    queryset = (
        selection.filter(visible_photometry(target, user))
        .filter(Q(brightness__isnull=False) | Q(limit__isnull=False))
        .annotate(point_id=KT("value__point_id"), survey_time=KT("value__survey_time"),
                  time_system=KT("value__time_system"))
        .order_by("timestamp", "pk")
    )
    if connection.vendor in ("sqlite", "postgresql"):
        # The ORM builds the SQL; the rows are plain text and floats, so skip its per-row converters.
        sql, params = queryset.annotate(utc=UTCText(F("timestamp"))).values_list("utc", *VALUE_COLUMNS) \
            .query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(CHUNK_ROWS):
                yield rows
        return
    rows = queryset.values_list("timestamp", *VALUE_COLUMNS).iterator(chunk_size=CHUNK_ROWS)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield [(t.astimezone(UTC).replace(tzinfo=None).isoformat(), *rest) for t, *rest in chunk]


def _text(values: list) -> list[str]:
    """Cells of one column: floats in full (shortest round-trip) precision, blanks for missing values."""
    return ["" if value is None else repr(value) if isinstance(value, float) else str(value) for value in values]


def photometry_chunks(target: Target, user, selection: Selection) -> Iterator[list[list[str]]]:
    """The download's rows as text cells, a chunk at a time; times converted by numpy per chunk."""
    for rows in _raw_chunks(target, user, selection):
        columns = list(zip(*rows, strict=True))
        times = np.array([text.replace(" ", "T")[:26] for text in columns[0]], dtype="datetime64[us]")
        mjd = times.view("i8") / MICROSECONDS_PER_DAY + MJD_UNIX_EPOCH
        cells = [np.datetime_as_string(times, unit="us").tolist(), [f"{value:.8f}" for value in mjd.tolist()],
                 [f"{value + MJD_TO_JD:.8f}" for value in mjd.tolist()]]
        cells += [_text(column) for column in columns[1:]]
        yield [list(row) for row in zip(*cells, strict=True)]


def _csv_chunks(chunks: Iterable[list[list[str]]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for rows in chunks:
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _header_line() -> str:
    return ",".join(column.name for column in COLUMNS) + "\n"


def stream_csv(chunks: Iterable[list[list[str]]], meta: dict) -> Iterator[str]:
    yield _header_line()
    yield from _csv_chunks(chunks)


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


def stream_ecsv(chunks: Iterable[list[list[str]]], meta: dict) -> Iterator[str]:
    yield ecsv_header(meta)  # ends with the column-name line
    yield from _csv_chunks(chunks)


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


def stream_votable(chunks: Iterable[list[list[str]]], meta: dict) -> Iterator[str]:
    head, tail = votable_parts(meta)
    yield head
    for rows in chunks:
        yield "".join("<TR>" + "".join(f"<TD>{escape(cell)}</TD>" for cell in row) + "</TR>\n" for row in rows)
    yield tail


STREAMS = {"csv": stream_csv, "ecsv": stream_ecsv, "votable": stream_votable}


def download_filename(target: Target, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target.name)[:80] or f"target{target.pk}"
    return f"{safe}_lightcurve.{FORMATS[fmt][1]}"


def lightcurve_stream(target: Target, user, selection: Selection, fmt: str) -> Iterator[bytes]:
    meta = {"target": target.name, "selection": selection.describe(),
            "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    for text in STREAMS[fmt](photometry_chunks(target, user, selection), meta):
        if text:
            yield text.encode("utf-8")
