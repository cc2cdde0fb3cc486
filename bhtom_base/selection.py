"""Which points of a target a plot or a download asks for: some surveys and a time range.

Read from the query string (``?source=GAIA&source=ZTF&start=2020-01-01&end=60000``),
validated before anything reaches a query: a source is a survey name of this
site or of the target's rows, a time is an ISO date/time (UTC), an MJD or a JD.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from astropy.time import Time
from django.http import QueryDict

from .sources import data_sources
from .times import MJD_OFFSET, valid_jd

SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
JD_THRESHOLD = 2_000_000.0  # numbers above are Julian dates, below modified Julian dates


class SelectionError(ValueError):
    """A query string the user must fix; the message says how."""


@dataclass(frozen=True)
class Selection:
    sources: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def filter(self, queryset):
        if self.sources:
            queryset = queryset.filter(source_name__in=self.sources)
        if self.start is not None:
            queryset = queryset.filter(timestamp__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(timestamp__lte=self.end)
        return queryset

    def describe(self) -> str:
        parts = [", ".join(self.sources) if self.sources else "all surveys"]
        if self.start:
            parts.append(f"from {self.start:%Y-%m-%d %H:%M:%S} UTC")
        if self.end:
            parts.append(f"to {self.end:%Y-%m-%d %H:%M:%S} UTC")
        return " ".join(parts)


def parse_time(name: str, raw: str) -> datetime | None:
    """An ISO date/time (UTC), an MJD or a JD -> an aware UTC datetime; empty -> None."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            jd = number if number > JD_THRESHOLD else number + MJD_OFFSET
            if not valid_jd(jd):
                raise SelectionError(f"{name}: {text} is outside 1800-2200 as an MJD or JD.")
            time = Time(jd, format="jd", scale="utc")
        else:
            time = Time(text, scale="utc")  # ISO forms: 2020-01-02, 2020-01-02T03:04:05, 2020-01-02 03:04
            if not valid_jd(time.jd):
                raise SelectionError(f"{name}: {text} is outside 1800-2200.")
    except SelectionError:
        raise
    except ValueError:
        raise SelectionError(
            f"{name}: {text[:40]!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC), an MJD or a JD."
        ) from None
    return time.to_datetime(timezone=UTC)


def parse_selection(query: QueryDict, known_sources: set[str] = frozenset()) -> Selection:
    """The selection in a query string; ``known_sources`` adds survey names beyond the site's registry."""
    requested = [name.strip() for value in query.getlist("source") for name in value.split(",") if name.strip()]
    allowed = set(data_sources()) | set(known_sources)
    for name in requested:
        if not SOURCE_PATTERN.match(name) or name not in allowed:
            shown = name[:40]
            raise SelectionError(f"source: unknown survey {shown!r}; known: {', '.join(sorted(allowed))}.")
    start = parse_time("start", query.get("start", ""))
    end = parse_time("end", query.get("end", ""))
    if start and end and end < start:
        raise SelectionError("end is before start.")
    return Selection(tuple(dict.fromkeys(requested)), start, end)
