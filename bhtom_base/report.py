"""What one update of one (target, source) pair came to.

``new_points`` / ``revised_points`` / ``removed_points``: what the reconcile
did; ``held_removals``: the removals a held answer would make (nothing was
applied); ``full_fetch``: the whole lightcurve was fetched and reconciled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class LightcurveUpdateReport:
    target_name: str
    source: str
    status: str
    new_points: int = 0
    revised_points: int = 0
    removed_points: int = 0
    held_removals: int = 0
    full_fetch: bool = False
    total_points: int = 0
    last_point: datetime | None = None
    duration: float = 0.0
    error: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def held(self) -> bool:
        return self.status == "held"

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        text = (f"{self.target_name} {self.source}: {self.status}, {self.new_points} new, "
                f"{self.revised_points} revised, {self.removed_points} removed, {self.total_points} in all")
        if self.error:
            text += f" ({self.error})"
        return text
