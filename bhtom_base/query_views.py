"""``alerts/query/create/`` without ``?broker=`` (a 500 in TOM) lists the brokers to choose from."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from tom_alerts.alerts import get_service_classes
from tom_alerts.views import BrokerQueryCreateView

from .query_pages import survey_label


class ChooseBrokerQueryCreateView(BrokerQueryCreateView):
    """TOM's create view; without a (known) broker it lists the brokers instead of failing."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)
        source = request.GET if request.method == "GET" else request.POST
        broker = source.get("broker", "")
        brokers = sorted(get_service_classes())
        if broker not in brokers:
            status = 200 if not broker and request.method == "GET" else 400
            message = ("Choose the broker to query." if not broker
                       else f"There is no broker named {broker[:50]!r} on this site; choose one of these.")
            choices = [(name, survey_label(name)) for name in brokers]
            return render(request, "bhtom_base/choose_broker.html", {"brokers": choices, "message": message},
                          status=status)
        return super().dispatch(request, *args, **kwargs)
