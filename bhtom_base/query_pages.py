"""TOM's broker query pages made clear for survey brokers that only fetch lightcurves.

Most surveys here have no alert stream to search: their query form says so
instead of offering only "Query name", and running such a query explains why
the table is empty (see ``BHTOMBroker.fetch_alerts``).
"""
from __future__ import annotations

from crispy_forms.layout import HTML, Layout
from django.utils.html import format_html
from tom_alerts.alerts import GenericQueryForm


def survey_label(broker_name: str) -> str:
    """The survey's pretty name for a broker name (``GAIA_DR3`` -> ``Gaia DR3``)."""
    from .sources import data_sources  # here: sources -> registry -> broker imports this module

    source = data_sources().get(broker_name)
    return str(getattr(source, "pretty_name", "") or broker_name)


def lightcurve_only_message(broker_name: str) -> str:
    return (f"{survey_label(broker_name)} has no alert stream to search: this broker keeps the lightcurves "
            f"of the TOM's targets up to date. Use \u201cUpdate lightcurves\u201d on a target's page, or "
            f"manage.py update_reduced_data.")


class LightcurveOnlyQueryForm(GenericQueryForm):
    """The query form of a broker without an alert stream: it says so above the name field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        broker = (self.initial.get("broker") or self.data.get("broker") or "This survey")
        notice = format_html('<div class="alert alert-info" id="bhtom-no-alert-stream">{}</div>',
                             lightcurve_only_message(broker))
        self.helper.layout = Layout(HTML(notice), "query_name", "broker")
