"""Per-(target, source) update state: what happened the last time, and when next."""
from __future__ import annotations

from django.db import models
from tom_targets.models import Target


class UpdateStatus(models.TextChoices):
    NEVER_RUN = "never_run", "never run"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    NOT_CONFIGURED = "not_configured", "not configured"
    NO_SURVEY_NAME = "no_survey_name", "not in this survey"


FINISHED_STATUSES = (
    UpdateStatus.DONE,
    UpdateStatus.FAILED,
    UpdateStatus.NOT_CONFIGURED,
    UpdateStatus.NO_SURVEY_NAME,
)


class LightcurveUpdateState(models.Model):
    """One row per (target, source)."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="lightcurve_update_states")
    source = models.CharField(max_length=32, db_index=True)
    status = models.CharField(max_length=20, choices=UpdateStatus.choices, default=UpdateStatus.NEVER_RUN)
    queued_at = models.DateTimeField(null=True, blank=True)
    last_attempt = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    running_until = models.DateTimeField(
        null=True, blank=True, help_text="A running update not finished by then is taken as dead."
    )
    new_points = models.IntegerField(default=0)
    total_points = models.IntegerField(default=0)
    skipped_rows = models.IntegerField(default=0, help_text="Rows of the response left out (garbage, limits cut...)")
    last_point = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    consecutive_failures = models.IntegerField(default=0)
    next_due = models.DateTimeField(null=True, blank=True, db_index=True,
                                    help_text="Empty: never again unless forced (a data release).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "source"], name="unique_update_state")]
        ordering = ["target_id", "source"]
        verbose_name = "lightcurve update state"

    def __str__(self) -> str:
        return f"{self.target} / {self.source}: {self.get_status_display()}"


class TargetLightcurveSummary(models.Model):
    """A target's latest photometry at a glance, for the target list (one row per target).

    Written by :func:`bhtom_base.summary.refresh_summary` at the end of every
    successful update, so the list reads it with one join instead of a query
    per row.
    """

    target = models.OneToOneField(Target, on_delete=models.CASCADE, primary_key=True,
                                  related_name="lightcurve_summary")
    last_mag = models.FloatField(null=True, blank=True, db_index=True, help_text="latest detection (mag)")
    last_mag_error = models.FloatField(null=True, blank=True)
    last_band = models.CharField(max_length=100, blank=True, default="")
    last_source = models.CharField(max_length=100, blank=True, default="")
    last_mag_time = models.DateTimeField(null=True, blank=True)
    last_point = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="latest point of any kind (detection or limit)")
    points = models.IntegerField(default=0)
    baseline_mag = models.FloatField(null=True, blank=True,
                                     help_text="median of the band's earlier points within the baseline window")
    brightening = models.FloatField(null=True, blank=True,
                                    help_text="baseline minus the latest points' mean (mag; positive = brighter)")
    brightened = models.BooleanField(default=False, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lightcurve summary"
        verbose_name_plural = "lightcurve summaries"

    def __str__(self) -> str:
        return f"{self.target}: {self.last_mag} {self.last_band}"
