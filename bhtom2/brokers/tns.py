"""The Transient Name Server (``TNS``): an object's reported photometry and its other names.

API (bot credentials from the environment: ``TNS_API_KEY``, ``TNS_BOT_ID``,
``TNS_BOT_NAME``; without them the source is "not configured"): POST
``{BHTOM_URL_TNS}/api/get/object`` with ``api_key`` and
``data={"objname": ..., "photometry": "1"}``; a target without a TNS name is
looked up by a cone on ``/api/get/search``. Every request carries the
User-Agent ``tns_marker{"tns_id":ID,"type":"bot","name":"NAME"}`` TNS asks bots for.

The object's internal names from other surveys (``internal_names``, e.g.
"ZTF21aaxtctv, ATLAS21mmb, Gaia21cqz") become this target's survey names for
the sources they validate for — only where the target has none yet — so one
TNS lookup lets the Gaia, ZTF, ATLAS and ASAS-SN brokers run.

Photometry. Entries in magnitude units (``ABMag``, ``VegaMag``...) are kept;
``flux`` is the magnitude, ``fluxerr`` its error, and an entry with no
``flux`` but a ``limflux`` is a non-detection (limit). Entries in flux units
are left out and counted. Reports without an error keep a NaN error (the
framework then leaves them out as "invalid error"). The band is the TNS
filter name, the facility the TNS telescope name.

Times. ``obsdate`` is a UTC calendar date (``jd`` where it is missing, read
as a UTC Julian date); taken as UTC.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import load_json_object
from bhtom_base.times import isot_to_utc, jd_to_utc

OBJECT_PATH = "/api/get/object"
SEARCH_PATH = "/api/get/search"
# Internal names are tried against these sources, in this order.
NAMED_SOURCES = (DataSource.GAIA, DataSource.ZTF, DataSource.ATLAS, DataSource.ASASSN)
_BOT_NAME = re.compile(r"[A-Za-z0-9_.\- ]{1,64}")
_BAND = re.compile(r"[A-Za-z0-9_.+\-' ]{1,32}")


def _reply(content: bytes, what: str):
    """The ``reply`` of a TNS API answer (older API: data.reply; newer: data itself)."""
    answer = load_json_object(content, what=what)
    code = answer.get("id_code")
    if code not in (200, "200", None):
        raise ParseError(f"TNS answered {code} {str(answer.get('id_message') or '')[:120]}".rstrip())
    data = answer.get("data")
    if isinstance(data, dict) and "reply" in data:
        data = data["reply"]
    if data is None:
        raise ParseError(f"{what} has no data")
    return data


def _object_reply(content: bytes) -> dict:
    reply = _reply(content, "TNS object")
    if not isinstance(reply, dict):
        raise ParseError("TNS object reply is not a JSON object")
    if not isinstance(reply.get("objname"), str):  # e.g. {"objname": {"110": {"message": "No results found", ...}}}
        detail = "; ".join(_messages(reply)) or "no objname in the reply"
        raise ParseError(f"TNS: {detail[:200]}")
    return reply


def _messages(value, depth: int = 0) -> list[str]:
    if not isinstance(value, dict) or depth > 3:
        return []
    found = [str(value["message"])] if value.get("message") else []
    for item in value.values():
        found += _messages(item, depth + 1)
    return found


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A TNS ``get/object`` answer (with photometry) -> standard frame."""
    reply = _object_reply(content)
    entries = reply.get("photometry") or []
    if not isinstance(entries, list):
        raise ParseError("TNS photometry is not a list")
    skipped: dict[str, int] = {}
    rows = []
    for entry in entries:
        if not isinstance(entry, dict):
            skipped["unreadable entry"] = skipped.get("unreadable entry", 0) + 1
            continue
        unit = str(_name(entry.get("flux_unit")) or "")
        if not unit.lower().endswith("mag"):
            reason = f"flux unit {unit or 'missing'}"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        band = str(_name(entry.get("filters")) or "").strip()
        if not _BAND.fullmatch(band):
            skipped["unknown filter"] = skipped.get("unknown filter", 0) + 1
            continue
        rows.append({
            "obsdate": entry.get("obsdate"),
            "jd": entry.get("jd"),
            "flux": entry.get("flux"),
            "fluxerr": entry.get("fluxerr"),
            "limflux": entry.get("limflux"),
            "band": band,
            "facility": str(_name(entry.get("telescope")) or ""),
            "observer": str(entry.get("observer") or ""),
        })
    frame = pd.DataFrame(rows, columns=["obsdate", "jd", "flux", "fluxerr", "limflux", "band", "facility",
                                        "observer"])
    mag = pd.to_numeric(frame["flux"], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(frame["fluxerr"], errors="coerce").to_numpy(dtype=float)
    limit = pd.to_numeric(frame["limflux"], errors="coerce").to_numpy(dtype=float)
    detection = np.isfinite(mag)
    times = _utc_times(frame["obsdate"], pd.to_numeric(frame["jd"], errors="coerce"))
    return make_lightcurve(
        time=times,
        mag=mag,
        mag_err=np.where(detection, err, np.nan),
        band=frame["band"],
        limit=np.where(detection, np.nan, limit),
        observer=frame["observer"],
        facility=frame["facility"],
        skipped=skipped,
        survey_names=internal_survey_names(content),
    )


def _name(value) -> object:
    return value.get("name") if isinstance(value, dict) else value


def _utc_times(obsdate: pd.Series, jd: pd.Series) -> pd.Series:
    """UTC calendar dates; UTC Julian dates where a date is missing or unreadable (vectorised)."""
    dates = obsdate.map(lambda value: value.strip() if isinstance(value, str) else None)
    times = isot_to_utc(dates.to_numpy(dtype=object))
    need_jd = times.isna().to_numpy()
    if need_jd.any():
        from_jd = jd_to_utc(jd.to_numpy(dtype=float)[need_jd])
        times.iloc[np.flatnonzero(need_jd)] = from_jd.to_numpy()
    return times


def internal_survey_names(content: bytes) -> dict[str, str]:
    """The object's internal names that are valid survey names here: {source name: survey name}."""
    reply = _object_reply(content)
    names: list[str] = []
    for key in ("internal_names", "internal_name", "discoverer_internal_name"):
        value = reply.get(key)
        if isinstance(value, str):
            names += [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    found: dict[str, str] = {}
    for name in names:
        for source in NAMED_SOURCES:
            if source.name in found:
                continue
            try:
                found[source.name] = source.validate_name(name)
                break
            except ValidationError:
                continue
    return found


def parse_search(content: bytes) -> list[str]:
    """A TNS ``get/search`` answer -> the object names found, nearest first as TNS orders them."""
    reply = _reply(content, "TNS search")
    if isinstance(reply, dict):  # "no results" comes back as a dict of messages
        return []
    if not isinstance(reply, list):
        raise ParseError("TNS search reply is not a list")
    return [str(item["objname"]) for item in reply if isinstance(item, dict) and item.get("objname")]


class TNSBroker(BHTOMBroker):
    """Transient Name Server (``TNS``); needs a TNS bot's API key, id and name."""

    data_source = DataSource.TNS
    update_cadence = 1 * u.day
    default_cross_match_max_separation = 3 * u.arcsec
    facility_name = "TNS"
    observer_name = "TNS"

    parse = staticmethod(parse)

    # -- configuration ---------------------------------------------------------

    def _credentials(self) -> tuple[str, str, str]:
        return tuple(str(conf.setting(key) or "").strip()  # type: ignore[return-value]
                     for key in ("BHTOM_TNS_API_KEY", "BHTOM_TNS_BOT_ID", "BHTOM_TNS_BOT_NAME"))

    def configuration_problem(self) -> str | None:
        api_key, bot_id, bot_name = self._credentials()
        missing = [env for env, value in (("TNS_API_KEY", api_key), ("TNS_BOT_ID", bot_id),
                                          ("TNS_BOT_NAME", bot_name)) if not value]
        if missing:
            return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
        if not bot_id.isdigit():
            return "TNS_BOT_ID must be the bot's numeric id"
        if not _BOT_NAME.fullmatch(bot_name):
            return "TNS_BOT_NAME has characters a User-Agent cannot carry"
        return None

    def _post(self, path: str, data: dict) -> Fetched:
        api_key, bot_id, bot_name = self._credentials()
        marker = json.dumps({"tns_id": int(bot_id), "type": "bot", "name": bot_name}, separators=(",", ":"))
        return self.http.post(
            f"{self.base_url}{path}",
            data={"api_key": api_key, "data": json.dumps(data)},
            headers={"User-Agent": f"tns_marker{marker}"},
        )

    # -- names and photometry -----------------------------------------------------

    def find_survey_name(self, target: Target) -> str | None:
        if target.ra is None or target.dec is None:
            return None
        radius = self.cross_match_max_separation.to_value("arcsec")
        query = {"ra": f"{float(target.ra):.6f}", "dec": f"{float(target.dec):.6f}",
                 "radius": f"{radius:g}", "units": "arcsec"}
        names = parse_search(self._post(SEARCH_PATH, query).content)
        return names[0] if names else None

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # TNS sends an object's whole photometry; the database skips what it has.
        return self._post(OBJECT_PATH, {"objname": survey_name, "photometry": "1", "spectra": "0"})

