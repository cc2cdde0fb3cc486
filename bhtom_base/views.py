"""Target page pieces: the update button, the status panel, the lightcurve data and plotly.js.

The button and the admin put work on the django-tasks queue and return at once.
With the ``immediate`` backend (the default in settings.py, fine for tests and
a laptop) the updates run inside the request; production sets
``TASKS_BACKEND=database`` and runs ``manage.py db_worker`` on one or more
machines, so the request only writes the queued state rows.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import plotly
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.decorators.http import require_GET, require_POST
from tom_targets.models import Target

from .download_views import download_response, selection_for
from .lightcurve_json import lightcurve_payload
from .permissions import can_update, updatable_target, viewable_target
from .registry import broker_classes
from .scheduling import enqueue_pairs
from .selection import Selection, SelectionError
from .status import folded_summary, source_statuses
from .update_messages import update_message

POLL_SECONDS = 2


def enqueue_target(target: Target) -> int:
    """One forced task per installed source of the target (the user asked for fresh data).

    A source already queued or running (within its lease) is not queued again,
    atomically (:func:`bhtom_base.scheduling.claim_pairs`), so pressing the
    button twice, even at the same instant, does not double the work.
    """
    return enqueue_pairs([(target, source) for source in sorted(broker_classes())], force=True)


def queued_message(count: int, target: Target) -> str:
    return update_message(count, target)


def status_context(request: HttpRequest, target: Target) -> dict:
    statuses = source_statuses(target)
    folded = [status for status in statuses if not status.prominent]
    return {
        "target": target,
        "statuses": statuses,
        "shown_statuses": [status for status in statuses if status.prominent],
        "folded_statuses": folded,
        "folded_summary": folded_summary(folded),
        "all_finished": all(status.finished for status in statuses),
        "poll_seconds": POLL_SECONDS,
        "can_update": can_update(request.user, target),
    }


def render_status_panel(request: HttpRequest, target: Target) -> HttpResponse:
    context = status_context(request, target)
    response = render(request, "bhtom_base/partials/update_status.html", context)
    if context["all_finished"] and request.headers.get("HX-Request"):
        response["HX-Trigger"] = "bhtom-lightcurve-finished"
    return response


@require_POST
def update_lightcurves(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue one update per source of the target (POST with CSRF, change permission).

    Returns at once with the status panel (htmx) or a redirect to the target
    page. Production: ``TASKS_BACKEND=database`` + ``manage.py db_worker``; with
    the immediate backend the work runs inside this request.
    """
    target = updatable_target(request.user, pk)
    count = enqueue_target(target)
    if request.headers.get("HX-Request"):
        return render_status_panel(request, target)
    messages.info(request, queued_message(count, target))
    return redirect(reverse("targets:detail", kwargs={"pk": target.pk}))  # top: heading, message, plot


@require_GET
def update_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status panel alone; it polls itself (htmx) while any source is queued or running."""
    return render_status_panel(request, viewable_target(request.user, pk))


@require_GET
def lightcurve_data(request: HttpRequest, pk: int) -> HttpResponse:
    """Columnar JSON of every point (view permission on the target), gzip when the client accepts it.

    ``?source=``, ``start=``, ``end=`` select points; ``?format=csv|ecsv|votable`` gives the download instead.
    """
    target = viewable_target(request.user, pk)
    fmt = request.GET.get("format", "json").strip().lower()
    if fmt != "json":
        return download_response(request, target, fmt)
    try:
        selection = selection_for(request, target) if request.GET else Selection()
    except SelectionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    response = JsonResponse(lightcurve_payload(target, request.user, selection),
                            json_dumps_params={"separators": (",", ":")})
    response["Cache-Control"] = "private, no-cache"
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(response.content) > 1024:
        response.content = gzip.compress(response.content, compresslevel=1, mtime=0)
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


DEFERRED_PANELS = ("moon-distance", "spectroscopy")


@require_GET
def deferred_panel(request: HttpRequest, pk: int, panel: str) -> HttpResponse:
    """One of TOM's own heavy target-page plots, rendered only when asked for (htmx)."""
    if panel not in DEFERRED_PANELS:
        raise Http404("No such panel.")
    target = viewable_target(request.user, pk)
    return render(request, f"bhtom_base/deferred/{panel}.html", {"target": target, "object": target})


class CheckForNewDataView(View):
    """Replaces TOM's "Check for new data" (``dataproducts:update-reduced-data``).

    TOM's view runs every data service synchronously inside a GET. Here GET only
    shows a confirmation form (it never changes anything) and POST queues our
    updates for the target with the same permission rules as the update button.
    Production: ``TASKS_BACKEND=database`` + ``manage.py db_worker``.
    """

    def target_id(self, request: HttpRequest) -> int:
        raw = request.POST.get("target_id") or request.GET.get("target_id") or ""
        try:
            return int(raw)
        except ValueError:
            raise Http404("Choose a target: target_id is missing or not a number.") from None

    def get(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.get_full_path()}")
        target = viewable_target(request.user, self.target_id(request))
        return render(request, "bhtom_base/check_for_new_data.html", {
            "target": target, "can_update": can_update(request.user, target),
            "sources": sorted(broker_classes()),
        })

    def post(self, request: HttpRequest) -> HttpResponse:
        target = updatable_target(request.user, self.target_id(request))
        count = enqueue_target(target)
        messages.info(request, queued_message(count, target))
        return redirect(reverse("targets:detail", kwargs={"pk": target.pk}))  # top: heading, message, plot


# -- plotly.js, once, from the plotly package ------------------------------------------------

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes]:
    raw = PLOTLY_JS.read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0)


def plotly_js_version() -> str:
    return plotly.__version__


@require_GET
def plotly_js(request: HttpRequest, version: str) -> HttpResponse:
    """plotly.min.js shipped by the plotly package (no CDN), gzip when accepted, cached for a year.

    The URL carries the package version, so an upgrade changes the URL.
    """
    if version != plotly_js_version():
        raise Http404("Unknown plotly.js version.")
    raw, compressed = _plotly_bytes()
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(compressed if use_gzip else raw, content_type="text/javascript; charset=utf-8")
    if use_gzip:
        response["Content-Encoding"] = "gzip"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


