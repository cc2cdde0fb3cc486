"""The survey brokers installed on this site (``TOM_ALERT_CLASSES`` that are BHTOM brokers)."""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .broker import BHTOMBroker


def broker_classes() -> dict[str, type[BHTOMBroker]]:
    classes: dict[str, type[BHTOMBroker]] = {}
    for path in getattr(settings, "TOM_ALERT_CLASSES", []):
        cls = import_string(path)
        if isinstance(cls, type) and issubclass(cls, BHTOMBroker) and cls.data_source is not None:
            classes[cls.name] = cls
    return classes


def get_broker(source_name: str) -> BHTOMBroker:
    classes = broker_classes()
    key = source_name.strip().upper()
    if key not in classes:
        known = ", ".join(sorted(classes)) or "none"
        raise KeyError(f"No broker for source {source_name!r} on this site; installed: {known}.")
    return classes[key]()
