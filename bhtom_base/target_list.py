"""TOM's target list with each target's latest photometry: sortable, filterable, "brightened" marked.

The columns read :class:`~bhtom_base.models.TargetLightcurveSummary` through one
join (``select_related``), kept current by the update path itself, so the list
costs the same number of queries for 20 or 10,000 targets. Mounted at TOM's own
``targets/`` path (see urls.py); everything else of TOM's list is kept.
"""
from __future__ import annotations

from datetime import timedelta

import django_filters
import django_tables2 as tables
from crispy_forms.layout import Column, Row
from django import forms
from django.db.models import F
from django.utils import timezone
from django.utils.html import format_html
from tom_common.htmx_table import htmx_attributes_delayed, htmx_attributes_instant
from tom_targets.filters import TargetFilterSet
from tom_targets.tables import TargetTable
from tom_targets.views import TargetListView

from .sources import data_sources

SUMMARY = "lightcurve_summary"


def pretty_survey(source: str) -> str:
    return str(getattr(data_sources().get(source), "pretty_name", source) or source)


def days_ago_text(days: float) -> str:
    if days < 1:
        hours = days * 24
        return "under an hour ago" if hours < 1 else f"{hours:.0f} h ago"
    return f"{days:.0f} day{'s' if round(days) != 1 else ''} ago"


class LightcurveTargetTable(TargetTable):
    last_mag = tables.Column(verbose_name="Last magnitude", accessor=f"{SUMMARY}__last_mag",
                             attrs={"td": {"class": "bhtom-last-mag"}})
    last_point = tables.Column(verbose_name="Last point", accessor=f"{SUMMARY}__last_point",
                               attrs={"td": {"class": "bhtom-last-point"}})
    brightened = tables.Column(verbose_name="Brightened", accessor=f"{SUMMARY}__brightening", default="",
                               attrs={"td": {"class": "bhtom-brightened"}})

    class Meta(TargetTable.Meta):
        fields = ["selection", "name", "type", "ra", "dec"]
        sequence = ("selection", "name", "last_mag", "last_point", "brightened", "type", "ra", "dec")

    def render_last_mag(self, value, record):
        summary = record.lightcurve_summary
        band = summary.last_band.split("(", 1)[0] or "?"
        error = f" ± {summary.last_mag_error:.2f}" if summary.last_mag_error is not None else ""
        return format_html('<span data-mag="{}">{}</span>{} <small class="text-muted">({}, {})</small>',
                           value, f"{value:.2f}", error, band, pretty_survey(summary.last_source))

    def render_last_point(self, value):
        days = (timezone.now() - value).total_seconds() / 86400
        return format_html('<span title="{} UTC" data-days="{}">{}</span>', f"{value:%Y-%m-%d %H:%M}",
                           f"{days:.3f}", days_ago_text(days))

    def render_brightened(self, value, record):
        summary = record.lightcurve_summary
        if not summary.brightened:
            return ""
        return format_html(
            '<span class="badge bg-warning text-dark bhtom-brightened-badge" title="{} mag brighter than the '
            'median of the year before ({}) in {}">&#9650; {} mag</span>',
            f"{value:.2f}", f"{summary.baseline_mag:.2f}", summary.last_band, f"{value:.2f}")

    def _nulls_last(self, queryset, field: str, is_descending: bool):
        expression = F(f"{SUMMARY}__{field}")
        ordering = expression.desc(nulls_last=True) if is_descending else expression.asc(nulls_last=True)
        return queryset.order_by(ordering, "pk"), True

    def order_last_mag(self, queryset, is_descending):
        return self._nulls_last(queryset, "last_mag", is_descending)

    def order_last_point(self, queryset, is_descending):
        return self._nulls_last(queryset, "last_point", is_descending)

    def order_brightened(self, queryset, is_descending):
        return self._nulls_last(queryset, "brightening", is_descending)


class LightcurveTargetFilterSet(TargetFilterSet):
    brighter_than = django_filters.NumberFilter(
        field_name=f"{SUMMARY}__last_mag", lookup_expr="lte", label="Last magnitude brighter than",
        widget=forms.NumberInput(attrs={"step": "0.1", "placeholder": "e.g. 15", **htmx_attributes_delayed}))
    seen_within_days = django_filters.NumberFilter(
        method="filter_seen_within_days", label="Last point within (days)",
        widget=forms.NumberInput(attrs={"step": "1", "min": "0", "placeholder": "e.g. 3",
                                        **htmx_attributes_delayed}))
    brightened = django_filters.BooleanFilter(
        field_name=f"{SUMMARY}__brightened", label="Brightened",
        widget=forms.Select(choices=[("", "any"), ("true", "brightened only"), ("false", "not brightened")],
                            attrs=htmx_attributes_instant))

    def filter_seen_within_days(self, queryset, name, value):
        return queryset.filter(**{f"{SUMMARY}__last_point__gte": timezone.now() - timedelta(days=float(value))})

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            form.helper.layout.insert(1, Row(
                Column("brighter_than", css_class="form-group col-md-3"),
                Column("seen_within_days", css_class="form-group col-md-3"),
                Column("brightened", css_class="form-group col-md-3"),
            ))
        return self._form


class LightcurveTargetListView(TargetListView):
    """TOM's list (filters, groups, export) plus the photometry columns; no sky map (a blank area offline)."""

    template_name = "bhtom_base/target_list.html"
    table_class = LightcurveTargetTable
    filterset_class = LightcurveTargetFilterSet

    def get_queryset(self, *args, **kwargs):
        return super().get_queryset(*args, **kwargs).select_related(SUMMARY)
