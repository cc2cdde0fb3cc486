"""The surveys this site knows, seen from the survey-agnostic layer.

``bhtom_base`` never imports the site's registry directly: it reads the
``data_source`` of each installed broker, and optionally every member of the
registry named by ``settings.BHTOM_DATA_SOURCE_REGISTRY`` (a dotted path to an
iterable of data sources, e.g. ``"bhtom2.data_sources.DataSource"``) so that
survey names are shown even for surveys without a broker on this site. A data
source only needs ``name``, ``pretty_name``, ``target_name_label`` and
``object_url(name)``.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string
from tom_targets.models import Target, TargetExtra

from . import conf
from .registry import broker_classes


def data_sources() -> dict[str, object]:
    """Source name -> data source object; installed brokers first, then the rest of the registry."""
    found: dict[str, object] = {}
    for name, cls in broker_classes().items():
        found[name] = cls.data_source
    registry = conf.setting("BHTOM_DATA_SOURCE_REGISTRY")
    if registry:
        for source in import_string(registry):
            found.setdefault(source.name, source)
    return found


@dataclass(frozen=True)
class SurveyName:
    source: str
    label: str
    survey: str
    name: str
    url: str | None


def survey_names_for(target: Target) -> list[SurveyName]:
    """The target's name in each known survey (stored as TargetExtra keyed by the source name)."""
    sources = data_sources()
    rows = TargetExtra.objects.filter(target=target, key__in=list(sources)).values_list("key", "value")
    result = []
    for key, value in sorted(rows):
        value = (value or "").strip()
        if not value:
            continue
        source = sources[key]
        try:
            url = source.object_url(value)
        except Exception:  # noqa: BLE001 - a stored name the registry cannot link is shown without a link
            url = None
        result.append(SurveyName(key, source.target_name_label, source.pretty_name, value, url))
    return result
