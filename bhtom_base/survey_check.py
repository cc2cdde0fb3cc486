"""Ask a survey for its well-known object and say how the answer compares with the recording.

Used by ``manage.py check_surveys``: the first run on a machine with a network
shows at once which survey moved, went away or changed its format. The
broker's own code path runs (name resolution, fetch, parse, cleaning) inside a
transaction that is rolled back, so nothing is stored.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.db import transaction
from tom_targets.models import Target

from .broker import BHTOMBroker
from .errors import BrokerError, FetchError, NoSurveyName, ParseError, ResponseTooLarge
from .lightcurve import clean_lightcurve
from .survey_names import set_survey_name

OK = "ok"
NOT_CONFIGURED = "not configured"
UNREACHABLE = "unreachable"
HTTP_ERROR = "http error"
DIFFERS = "differs"
NO_OBJECT = "no object"
FAILURES = (UNREACHABLE, HTTP_ERROR, DIFFERS, NO_OBJECT)

_HTTP_STATUS = re.compile(r": HTTP \d{3}|error responses")


@dataclass
class SurveyCheck:
    source: str
    status: str
    detail: str
    url: str = ""
    object_name: str = ""
    points: int = 0
    usable_points: int = 0
    recorded_points: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in FAILURES

    def line(self) -> str:
        where = f" {self.object_name!r} at {self.url}" if self.object_name else f" {self.url}"
        return f"{self.source:<9} {self.status.upper():<14} {self.seconds:6.1f} s {self.detail}  [{where.strip()}]"


class _Rollback(Exception):
    pass


def check_survey(broker: BHTOMBroker) -> SurveyCheck:
    """One survey: reachable, answering in the expected format, how many points, how long."""
    url = _base_url_or_empty(broker)
    problem = broker.configuration_problem()
    if problem:
        return SurveyCheck(broker.name, NOT_CONFIGURED, problem, url=url)
    known = getattr(broker.data_source, "well_known_object", None)
    if known is None:
        return SurveyCheck(broker.name, NOT_CONFIGURED, "no well-known object to ask for", url=url)
    check = SurveyCheck(broker.name, OK, "", url=url, object_name=known.name, recorded_points=known.recorded_points)
    started = time.monotonic()
    try:
        _load_in_rollback(broker, known, check)
    except ParseError as error:
        _failed(check, DIFFERS, f"answered, but not in the expected format: {error}")
    except NoSurveyName as error:
        _failed(check, NO_OBJECT, f"answered, but without the well-known object: {error}")
    except ResponseTooLarge as error:
        _failed(check, DIFFERS, str(error))
    except FetchError as error:
        _failed(check, HTTP_ERROR if _HTTP_STATUS.search(str(error)) else UNREACHABLE, str(error))
    except BrokerError as error:
        _failed(check, DIFFERS, str(error) or type(error).__name__)
    except Exception as error:  # a parser bug on an unforeseen answer is drift too
        _failed(check, DIFFERS, f"unexpected {type(error).__name__}: {error}"[:300])
    else:
        _compare_with_recording(check)
    check.seconds = time.monotonic() - started
    return check


def _load_in_rollback(broker: BHTOMBroker, known, check: SurveyCheck) -> None:
    """The broker's own update path up to cleaning, for a throw-away target that is never committed."""
    try:
        with transaction.atomic():
            target = Target.objects.create(name=f"check_surveys {broker.name} {known.name}"[:100],
                                           type="SIDEREAL", ra=known.ra, dec=known.dec)
            for source, survey_name in known.survey_names.items():
                set_survey_name(target, source, survey_name)
            frame, _ = broker.load_lightcurve(target, None)
            check.points, check.usable_points = len(frame), len(clean_lightcurve(frame))
            raise _Rollback
    except _Rollback:
        pass


def _compare_with_recording(check: SurveyCheck) -> None:
    counts = f"{check.points} points parsed, {check.usable_points} usable (the recording: {check.recorded_points})"
    if check.usable_points == 0 and check.recorded_points > 0:
        check.status = DIFFERS
        check.detail = f"answered in the expected format, but {counts}"
    else:
        check.detail = f"reachable, expected format, {counts}"


def _failed(check: SurveyCheck, status: str, detail: str) -> None:
    check.status, check.detail = status, detail


def _base_url_or_empty(broker: BHTOMBroker) -> str:
    try:
        return broker.base_url
    except FetchError:
        return ""
