"""The fleet benchmark's brokers: every installed broker, each reading answers as for its recorded object.

Each is a subclass of the site's broker that changes one thing: the parse
context carries the recorded object's position (``fleet_scenarios``) instead
of the fleet target's, so the site's own ``parse`` reads the replayed answer as
it reads it for that object (CRTS keeps only rows within the radius of the
position; OGLE, KMTNet and Gaia DR2/DR3 correct times for light travel to it).
Fetching, parsing, cleaning, reconcile and the update state are the site's own code.
"""
from __future__ import annotations

import dataclasses

from django.utils.module_loading import import_string
from fleet_scenarios import recorded_position

from bhtom2.brokers import ALL


def _fleet_class(cls: type) -> type:
    ra, dec = recorded_position(cls.data_source.name)

    def parse_context(self, target, survey_name, since):
        return dataclasses.replace(cls.parse_context(self, target, survey_name, since), ra=ra, dec=dec)

    return type(f"Fleet{cls.__name__}", (cls,), {"parse_context": parse_context, "__module__": __name__})


CLASSES = {path: _fleet_class(import_string(path)) for path in ALL}
globals().update({cls.__name__: cls for cls in CLASSES.values()})
