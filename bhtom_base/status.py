"""What the status panel shows for each source of a target."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tom_targets.models import Target

from .models import FINISHED_STATUSES, LightcurveUpdateState, UpdateStatus
from .registry import broker_classes


@dataclass
class SourceStatus:
    source: str
    survey: str
    status: str
    label: str
    new_points: int = 0
    total_points: int = 0
    error: str = ""
    when: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status not in (UpdateStatus.QUEUED, UpdateStatus.RUNNING)


# Statuses whose message the panel shows (a held pair says what it would remove and how to accept it).
SHOWN_ERRORS = (UpdateStatus.FAILED, UpdateStatus.NOT_CONFIGURED, UpdateStatus.HELD)


def source_statuses(target: Target) -> list[SourceStatus]:
    """Every installed source, with its state row or 'never run' / 'not configured' when it has none."""
    states = {state.source: state for state in LightcurveUpdateState.objects.filter(target=target)}
    result = []
    for name, cls in sorted(broker_classes().items()):
        survey = getattr(cls.data_source, "pretty_name", name)
        state = states.get(name)
        if state is None:
            problem = cls().configuration_problem()
            status = UpdateStatus.NOT_CONFIGURED if problem else UpdateStatus.NEVER_RUN
            result.append(SourceStatus(name, survey, status, UpdateStatus(status).label, error=problem or ""))
            continue
        when = state.last_attempt if state.status in FINISHED_STATUSES else state.queued_at
        result.append(SourceStatus(
            name, survey, state.status, UpdateStatus(state.status).label,
            new_points=state.new_points, total_points=state.total_points,
            error=state.last_error if state.status in SHOWN_ERRORS else "",
            when=when,
        ))
    return result
