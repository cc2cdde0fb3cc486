"""What one update of one (target, source) pair came to."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class LightcurveUpdateReport:
    target_name: str
    source: str
    status: str
    new_points: int = 0
    total_points: int = 0
    last_point: datetime | None = None
    duration: float = 0.0
    error: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        text = f"{self.target_name} {self.source}: {self.status}, {self.new_points} new of {self.total_points}"
        if self.error:
            text += f" ({self.error})"
        return text
