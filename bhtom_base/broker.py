"""``BHTOMBroker``: a TOM Toolkit broker that keeps one survey's lightcurves current.

A subclass says only what is specific to its survey:

* ``data_source`` — its member of the site's ``DataSource`` registry;
* ``fetch(target, survey_name, since)`` — the raw response(s) over HTTP;
* ``parse(content, context)`` — a pure function, raw bytes and a
  :class:`~bhtom_base.lightcurve.ParseContext` (the target's coordinates, its
  name in the survey, a person's choice of what its brightness is) -> standard
  lightcurve frame (see :mod:`bhtom_base.lightcurve`); names of the target that
  the response reveals go in ``frame.attrs["survey_names"]`` and are stored here;
* optionally ``find_survey_name(target)`` — a cross-match by coordinates when
  the target has no name in the survey yet, ``needs_survey_name = False`` for a
  survey searched by coordinates alone, and ``configuration_problem()`` when the
  survey needs credentials;
* ``incremental = True`` when ``fetch`` honours ``since`` (only points from then
  on); such a broker still fetches everything every ``full_refetch_cadence``
  and when ``data_version`` (what it fetches from, e.g. a data release) changes.

Everything else — survey names, cleaning, ingestion, update state, reports —
is done here and in :mod:`bhtom_base.update`.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

import astropy.units as u
import pandas as pd
from django.core.exceptions import ValidationError
from tom_alerts.alerts import GenericBroker
from tom_targets.models import Target

from . import conf
from .brightness import brightness_choice
from .errors import BrokerError, NoSurveyName
from .http import Fetched, base_url, get_client
from .lightcurve import SURVEY_NAMES, ParseContext, concat_lightcurves
from .query_pages import LightcurveOnlyQueryForm, lightcurve_only_message
from .report import LightcurveUpdateReport
from .survey_names import get_survey_name, set_survey_name
from .update import update_lightcurve


class BHTOMBroker(GenericBroker):
    """Base class of every survey broker of this site."""

    data_source: ClassVar[Any] = None
    name: ClassVar[str] = ""
    update_cadence: ClassVar[u.Quantity | None] = 1 * u.day
    default_cross_match_max_separation: ClassVar[u.Quantity] = 2 * u.arcsec
    incremental_overlap: ClassVar[u.Quantity] = 1 * u.day
    # True for a broker whose fetch asks only for points from ``since`` on; it still fetches
    # everything every ``full_refetch_cadence`` (late data) and when ``data_version`` changes.
    incremental: ClassVar[bool] = False
    full_refetch_cadence: ClassVar[u.Quantity | None] = 7 * u.day
    facility_name: ClassVar[str] = ""
    observer_name: ClassVar[str] = ""
    # False for a survey searched by the target's coordinates alone (no name needed).
    needs_survey_name: ClassVar[bool] = True
    form = LightcurveOnlyQueryForm  # a broker with an alert stream sets its own

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.data_source is not None:
            cls.name = cls.data_source.name

    def __init__(self) -> None:
        self.logger = logging.getLogger(f"bhtom.broker.{self.name or type(self).__name__}")

    # -- identity --------------------------------------------------------------

    @property
    def pretty_name(self) -> str:
        return self.data_source.pretty_name

    @property
    def filters(self) -> list[str]:
        return self.data_source.filters

    def filter_name(self, band: str) -> str:
        return self.data_source.filter_name(band)

    @property
    def facility(self) -> str:
        return self.facility_name or self.pretty_name

    @property
    def observer(self) -> str:
        return self.observer_name or self.pretty_name

    @property
    def data_version(self) -> str:
        """What the source fetches from (e.g. a data release); recorded on the rows and the update state."""
        return ""

    @property
    def cross_match_max_separation(self) -> u.Quantity:
        """``BHTOM_CROSS_MATCH_MAX_SEPARATION[<SOURCE>]`` in arcsec, else the broker's default."""
        configured = conf.setting("BHTOM_CROSS_MATCH_MAX_SEPARATION").get(self.name)
        if configured is not None:
            return float(configured) * u.arcsec
        return self.default_cross_match_max_separation

    @property
    def base_url(self) -> str:
        return base_url(self.name)

    @property
    def http(self):
        return get_client()

    # -- survey names ----------------------------------------------------------

    def get_target_name(self, target: Target) -> str | None:
        """The target's stored name in this survey, validated; None when it has none."""
        stored = get_survey_name(target, self.name)
        if stored is None:
            return None
        try:
            return self.data_source.validate_name(stored)
        except ValidationError as error:
            raise BrokerError(f"stored {self.data_source.target_name_label} is invalid: {error.messages[0]}") from None

    def resolve_survey_name(self, target: Target) -> str:
        """The stored name, or one found by :meth:`find_survey_name` (then stored)."""
        name = self.get_target_name(target)
        if name is not None:
            return name
        found = self.find_survey_name(target)
        if not found:
            raise NoSurveyName(f"{target.name} has no {self.data_source.target_name_label}")
        found = self.data_source.validate_name(found)
        set_survey_name(target, self.name, found)
        self.logger.info("%s: found %s %s", target.name, self.data_source.target_name_label, found)
        return found

    def find_survey_name(self, target: Target) -> str | None:
        """Cross-match by coordinates; brokers that can do it override this."""
        return None

    # -- configuration -----------------------------------------------------------

    def configuration_problem(self) -> str | None:
        """Why this broker cannot run on this site (missing credentials...), or None."""
        return None

    # -- fetching and parsing ----------------------------------------------------

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched | list[Fetched]:
        raise NotImplementedError(f"{type(self).__name__} must implement fetch()")

    @staticmethod
    def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
        raise NotImplementedError("a broker must implement parse()")

    def parse_context(self, target: Target, survey_name: str, since: datetime | None) -> ParseContext:
        return ParseContext(
            target_name=target.name,
            survey_name=survey_name,
            ra=None if target.ra is None else float(target.ra),
            dec=None if target.dec is None else float(target.dec),
            brightness=brightness_choice(target),
            since=since,
        )

    def load_lightcurve(self, target: Target, since: datetime | None) -> tuple[pd.DataFrame, str]:
        """Standard frame and the URL it came from; raise a ``BrokerError`` on failure."""
        if self.needs_survey_name:
            survey_name = self.resolve_survey_name(target)
        else:
            if target.ra is None or target.dec is None:
                raise NoSurveyName(f"{target.name} has no coordinates for a {self.pretty_name} search")
            survey_name = self.get_target_name(target) or ""
        fetched = self.fetch(target, survey_name, since)
        responses = fetched if isinstance(fetched, list) else [fetched]
        context = self.parse_context(target, survey_name, since)
        frame = concat_lightcurves([self.parse(response.content, context) for response in responses])
        self.store_survey_names(target, frame.attrs.get(SURVEY_NAMES, {}))
        location = responses[0].url if responses else ""
        return frame, location

    def store_survey_names(self, target: Target, names: dict[str, str]) -> None:
        """Keep the names a response revealed: this survey's always, another survey's only where it has none.

        A name that does not validate is logged and left out; the points are kept.
        """
        from .sources import data_sources

        sources = data_sources()
        for source_name, name in names.items():
            source = sources.get(source_name)
            if source is None or not name:
                continue
            if source_name != self.name and get_survey_name(target, source_name) is not None:
                continue
            try:
                valid = source.validate_name(str(name))
            except ValidationError:
                self.logger.info("%s: %s name %r not stored", target.name, source_name, str(name)[:40])
                continue
            if get_survey_name(target, source_name) != valid:
                set_survey_name(target, source_name, valid)
                self.logger.info("%s: %s name %s stored", target.name, source_name, valid)

    # -- TOM Toolkit broker interface ------------------------------------------

    def process_reduced_data(self, target: Target, alert=None) -> LightcurveUpdateReport:
        return update_lightcurve(self, target)

    def return_for_no_new_points(self, target: Target | None = None) -> LightcurveUpdateReport:
        """The report of an update that found nothing new (kept from BHTOM's API)."""
        from .models import LightcurveUpdateState

        state = LightcurveUpdateState.objects.filter(target=target, source=self.name).first() if target else None
        return LightcurveUpdateReport(
            target_name=target.name if target else "",
            source=self.name,
            status="done",
            total_points=state.total_points if state else 0,
            last_point=state.last_point if state else None,
        )

    def fetch_alerts(self, parameters: dict) -> tuple[Iterator[dict], str]:
        """Surveys without an alert stream have nothing to list on the broker query page: say why."""
        return iter(()), lightcurve_only_message(self.name)

    def to_generic_alert(self, alert):
        raise NotImplementedError(f"{self.name} has no alert stream")
