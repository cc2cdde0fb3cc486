"""The Rubin/LSST broker: one DataSource (``LSST``), three services behind a setting."""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import astropy.units as u
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom2.settings_helpers import DEFAULT_URLS
from bhtom_base import conf
from bhtom_base.brightness import brightness_choice
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import NoSurveyName
from bhtom_base.http import Fetched, base_url
from bhtom_base.lightcurve import Brightness, ParseContext

from . import alerce, fink, lasair
from . import brightness as rules
from .batching import batcher
from .response import parse

SERVICES = ("fink", "alerce", "lasair")
URL_NAMES = {"fink": "LSST", "alerce": "LSST_ALERCE", "lasair": "LSST_LASAIR"}
TOKEN_VARIABLE = "LASAIR_TOKEN"
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{8,200}")


class LSSTBroker(BHTOMBroker):
    """Rubin/LSST alert and forced photometry of a diaObject (``LSST``), from Fink, ALeRCE or Lasair."""

    data_source = DataSource.LSST
    update_cadence = 1 * u.day
    # Rubin associates a diaSource with a diaObject within 1 arcsec.
    default_cross_match_max_separation = 1 * u.arcsec
    facility_name = "Rubin Observatory"
    observer_name = "Rubin/LSST"

    parse = staticmethod(parse)

    def __init__(self) -> None:
        super().__init__()
        self._service_brightness: Brightness | None = None

    # -- configuration ---------------------------------------------------------

    @property
    def service(self) -> str:
        return str(conf.setting("BHTOM_LSST_SERVICE") or "fink").strip().lower()

    @property
    def lasair_token(self) -> str:
        return str(conf.setting("BHTOM_LASAIR_TOKEN") or "").strip()

    def configuration_problem(self) -> str | None:
        if self.service not in SERVICES:
            return f"BHTOM_LSST_SERVICE must be one of {', '.join(SERVICES)}, not {self.service[:20]!r}"
        if self.service == "lasair":
            if not self.lasair_token:
                return f"{TOKEN_VARIABLE} is not set (Lasair-LSST needs an API token)"
            if not _TOKEN.fullmatch(self.lasair_token):
                return f"{TOKEN_VARIABLE} holds characters an API token cannot have"
        return None

    @property
    def base_url(self) -> str:
        name = URL_NAMES.get(self.service, "LSST")
        return base_url(name, DEFAULT_URLS.get(name))

    @property
    def batch_window(self) -> float:
        return float(conf.setting("BHTOM_LSST_BATCH_WINDOW"))

    @property
    def batch_size(self) -> int:
        return max(1, int(conf.setting("BHTOM_LSST_BATCH_SIZE")))

    def _lasair_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.lasair_token}", "Accept": "application/json"}

    # -- fetching ----------------------------------------------------------------

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> list[Fetched]:
        # No service filters an object's history by time: the whole history comes each
        # time (one object's alerts) and the database skips the points it already has.
        if self.service == "lasair":
            response = self.http.get(f"{self.base_url}{lasair.OBJECT_PATH}",
                                     params={"objectId": survey_name, "lasair_added": "true"},
                                     headers=self._lasair_headers(), accept_status=(200, 404))
            self._raise_if_unknown(response, survey_name)
            return [response]
        if self.service == "alerce":
            params = {"survey_id": alerce.SURVEY, "oid": survey_name}
            response = self.http.get(f"{self.base_url}{alerce.LIGHTCURVE_PATH}", params=params,
                                     accept_status=(200, 404))
            self._raise_if_unknown(response, survey_name)
            if brightness_choice(target) is Brightness.AUTO:
                probabilities = self.http.get(f"{self.base_url}{alerce.PROBABILITY_PATH}", params=params)
                self._service_brightness = alerce.classify(probabilities.content)
            return [response]
        sources = self._fink(fink.SOURCES_PATH, fink.SOURCE_COLUMNS, survey_name)
        forced = self._fink(fink.FORCED_PATH, fink.FORCED_COLUMNS, survey_name)
        # One answer for parse: the alerts carry Fink's classification, which decides how the
        # forced photometry is read, and a forced measurement at an alert's own visit is left out.
        merged = fink.merge_answers(sources, forced)
        if merged.content == b"[]":
            raise NoSurveyName(f"{self.pretty_name} (fink) has no alerts of diaObject {survey_name}")
        return [merged]

    def _fink(self, path: str, columns: tuple[str, ...], object_id: str) -> Fetched:
        url = f"{self.base_url}{path}"

        def send(ids: list[str]) -> Fetched:
            return self.http.get(url, params={"diaObjectId": ",".join(ids), "columns": ",".join(columns),
                                              "output-format": "json"})

        return batcher.fetch(url, object_id, send, fink.split_by_object, window=self.batch_window,
                             max_size=self.batch_size, empty=b"[]")

    def _raise_if_unknown(self, response: Fetched, survey_name: str) -> None:
        if response.status == 404:
            raise NoSurveyName(f"{self.pretty_name} ({self.service}) has no diaObject {survey_name}")

    def parse_context(self, target: Target, survey_name: str, since: datetime | None) -> ParseContext:
        """The person's brightness choice, else the verdict of a classification fetched apart (ALeRCE)."""
        context = super().parse_context(target, survey_name, since)
        if context.brightness is Brightness.AUTO and self._service_brightness is not None:
            return dataclasses.replace(context, brightness=rules.decide(Brightness.AUTO, self._service_brightness))
        return context

    # -- cross-match -------------------------------------------------------------

    def find_survey_name(self, target: Target) -> str | None:
        """The nearest diaObject within the cross-match radius, from the chosen service's cone search.

        No LSST service documents a cross-reference from a ZTF object id to a diaObjectId
        (Fink resolves TNS, SIMBAD and Solar System names; Lasair and ALeRCE search by
        position), so a target's ZTF id is not used: its coordinates are.
        """
        if target.ra is None or target.dec is None:
            return None
        ra, dec = float(target.ra), float(target.dec)
        radius = float(self.cross_match_max_separation.to_value(u.arcsec))
        if self.service == "lasair":
            response = self.http.get(f"{self.base_url}{lasair.CONE_PATH}",
                                     params={"ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "radius": f"{radius:g}",
                                             "requestType": "nearest"},
                                     headers=self._lasair_headers())
            found = [object_id for object_id, separation in lasair.parse_cone(response.content)
                     if separation <= radius]
            return found[0] if found else None
        if self.service == "alerce":
            response = self.http.get(f"{self.base_url}{alerce.OBJECTS_PATH}",
                                     params={"survey": alerce.SURVEY, "ra": f"{ra:.7f}", "dec": f"{dec:.7f}",
                                             "radius": f"{radius:g}"})
            return alerce.nearest_in_cone(response.content, ra, dec, radius)
        response = self.http.get(f"{self.base_url}{fink.CONE_PATH}",
                                 params={"ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "radius": f"{radius:g}",
                                         "columns": ",".join(fink.CONE_COLUMNS), "output-format": "json"})
        return fink.nearest_in_cone(response.content, ra, dec, radius)

