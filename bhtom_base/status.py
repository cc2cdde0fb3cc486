"""What the status panel shows for each source of a target."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tom_targets.models import Target

from .credentials import scrub_secrets
from .models import FINISHED_STATUSES, LightcurveUpdateState, UpdateStatus
from .registry import broker_classes
from .scheduling import busy_text

# Statuses whose message the panel shows (a held pair says what it would remove and how to accept it).
PROBLEM_STATUSES = (UpdateStatus.FAILED, UpdateStatus.HELD, UpdateStatus.NOT_CONFIGURED, UpdateStatus.NO_SURVEY_NAME)


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
    busy: str = ""  # "running for 12 min": how long it has been queued or running

    @property
    def finished(self) -> bool:
        return self.status not in (UpdateStatus.QUEUED, UpdateStatus.RUNNING)

    @property
    def prominent(self) -> bool:
        """Shown on its own line: it has points, is busy, or failed. The rest is folded away."""
        if self.status == UpdateStatus.DONE:
            return self.total_points > 0
        return self.status in (UpdateStatus.QUEUED, UpdateStatus.RUNNING, UpdateStatus.FAILED, UpdateStatus.HELD)

    @property
    def folded_label(self) -> str:
        return "no points" if self.status == UpdateStatus.DONE else self.label


def folded_summary(folded: list[SourceStatus]) -> str:
    """``"3 not in this survey, 2 not configured"``: the folded sources counted by what they are."""
    counts: dict[str, int] = {}
    for entry in folded:
        counts[entry.folded_label] = counts.get(entry.folded_label, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {label}" for label, count in ordered)



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
            error=scrub_secrets(state.last_error) if state.status in PROBLEM_STATUSES else "",
            when=when, busy=busy_text(state),
        ))
    return result
