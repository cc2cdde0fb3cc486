"""Lightcurve downloads: CSV, ECSV or VOTable of all surveys or some, over a time range.

``GET api/bhtom/targets/<pk>/lightcurve/download/?format=ecsv&source=GAIA&source=ZTF&start=2020-01-01&end=60500``
(view permission on the target; the same parameters work on the JSON endpoint
with ``format=``). Lives under ``api/`` so a script sees a real 403, not a
login redirect (see urls.py).
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from .downloads import FORMATS, download_filename, lightcurve_stream
from .lightcurve_json import visible_photometry
from .permissions import viewable_target
from .selection import Selection, SelectionError, parse_selection


def target_sources(target, user) -> set[str]:
    return set(visible_photometry(target, user).order_by().values_list("source_name", flat=True).distinct())


def selection_for(request: HttpRequest, target) -> Selection:
    return parse_selection(request.GET, known_sources=target_sources(target, request.user))


def bad_request(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


def download_response(request: HttpRequest, target, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        return bad_request(f"format: {fmt[:20]!r} is not one of {', '.join(FORMATS)}.")
    try:
        selection = selection_for(request, target)
    except SelectionError as error:
        return bad_request(str(error))
    content_type, _ = FORMATS[fmt]
    response = StreamingHttpResponse(lightcurve_stream(target, request.user, selection, fmt),
                                     content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{download_filename(target, fmt)}"'
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
def lightcurve_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The lightcurve file (view permission on the target), streamed."""
    target = viewable_target(request.user, pk)
    return download_response(request, target, request.GET.get("format", "csv").strip().lower())
