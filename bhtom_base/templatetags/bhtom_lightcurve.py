"""Template tags for the target page: survey names, the update status panel and the lightcurve plot."""
from __future__ import annotations

from django import template

from .. import brightness
from ..download_views import target_sources
from ..lightcurve_json import survey_pretty_names, visible_photometry
from ..permissions import can_update
from ..precision import format_measurement
from ..sources import survey_names_for
from ..survey_names import get_survey_name
from ..views import plotly_js_version, status_context

register = template.Library()


def update_button_context(context) -> dict:
    """Context of the button TOM shows through ``target_detail_buttons()``."""
    target = context.get("target") or context.get("object")
    request = context.get("request")
    allowed = bool(target is not None and request is not None and can_update(request.user, target))
    return {"bhtom_can_update": allowed}


@register.inclusion_tag("bhtom_base/partials/survey_names.html")
def survey_names(target):
    """The target's survey names, and its brightness choice for difference-imaging surveys."""
    choice = get_survey_name(target, brightness.BRIGHTNESS_KEY)
    return {"survey_names": survey_names_for(target), "brightness_label": brightness.LABEL,
            "brightness": brightness.describe(choice), "brightness_set": bool(choice)}


@register.inclusion_tag("bhtom_base/partials/update_status.html", takes_context=True)
def lightcurve_update_status(context, target):
    return status_context(context["request"], target)


@register.inclusion_tag("bhtom_base/partials/latest_points.html", takes_context=True)
def latest_points(context, target, limit: int = 100):
    """The newest points as a table (TOM's table lists every point: tens of MB for a long lightcurve),
    magnitudes to the precision of their errors (bhtom_base.precision)."""
    rows = (visible_photometry(target, context["request"].user).order_by("-timestamp")
            .values_list("timestamp", "source_name", "bandpass", "brightness", "brightness_error", "limit")[:limit])
    pretty = survey_pretty_names()
    shown = []
    for timestamp, source, band, mag, err, limit_mag in rows:
        mag_text, err_text = format_measurement(mag, err)
        shown.append({"time": timestamp, "survey": pretty.get(source, source), "source": source, "band": band,
                      "mag": mag_text, "err": err_text,
                      "limit": "" if limit_mag is None else format_measurement(limit_mag, None)[0]})
    return {"rows": shown, "limit": limit}


@register.inclusion_tag("bhtom_base/partials/lightcurve_plot.html", takes_context=True)
def lightcurve_plot(context, target):
    request = context.get("request")
    return {"target": target, "plotly_version": plotly_js_version(),
            "bhtom_can_update": bool(request is not None and can_update(request.user, target))}


@register.inclusion_tag("bhtom_base/partials/download_form.html", takes_context=True)
def lightcurve_download_form(context, target):
    """CSV / ECSV / VOTable of all or some surveys over a time range (bhtom_base.download_views)."""
    pretty = survey_pretty_names()
    sources = sorted(target_sources(target, context["request"].user))
    return {"target": target, "formats": [("csv", "CSV"), ("ecsv", "ECSV (astropy)"), ("votable", "VOTable")],
            "sources": [(source, pretty.get(source, source)) for source in sources]}
