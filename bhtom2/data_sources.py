"""The single registry of surveys this site knows.

Each survey is declared once, as a member of :class:`DataSource`; everything
else (``PRETTY_SURVEY_NAME``, ``TARGET_NAME_KEYS``, ``FILTERS``, the survey-name
validators, the links to the survey's own pages) is derived from that one
declaration.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from django.core.exceptions import ValidationError

from bhtom_base import conf

MAX_SURVEY_NAME_LENGTH = 64


class UnknownDataSource(KeyError):
    """Raised for a survey name that is not a member of :class:`DataSource`."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown data source"


@dataclass(frozen=True)
class SourceSpec:
    """What the site knows about one survey."""

    pretty_name: str | Callable[[], str]
    target_name_label: str
    bands: tuple[str, ...]
    name_pattern: str
    name_example: str
    object_url: str | None = None
    normalise: Callable[[str], str] | None = field(default=None, compare=False)
    needs_name: bool = True

    def pretty(self) -> str:
        return self.pretty_name() if callable(self.pretty_name) else self.pretty_name


def _ztf_release_pretty_name() -> str:
    release = conf.setting("BHTOM_ZTF_DATA_RELEASE")
    return f"ZTF {release.upper()}"


def _gaia_alert_name(value: str) -> str:
    return "Gaia" + value[4:].lower() if value.lower().startswith("gaia") else value


def _tns_name(value: str) -> str:
    """'AT 2021abc', 'SN2021abc' and '2021abc' all become '2021abc'."""
    return re.sub(r"^(AT|SN|TDE|FRB|KN)\s*", "", value, flags=re.IGNORECASE)


def _ztf_name(value: str) -> str:
    return "ZTF" + value[3:].lower() if value.upper().startswith("ZTF") else value


def _cpcs_name(value: str) -> str:
    """A numeric CPCS alert id stays as is; an alert name gets CPCS's ``ivo://`` prefix."""
    if value.isdigit() or value.lower().startswith("ivo://"):
        return value
    return "ivo://" + value


def _lower(value: str) -> str:
    return value.lower()


def _upper(value: str) -> str:
    return value.upper()


_INTEGER_ID = r"[0-9]{1,19}"
# AAVSO/VSX star names: letters, digits, spaces and a few punctuation marks
# ("V* RS Oph", "NOVA CAS 2021", "PDS 110"); no '/', '%', '&', quotes or control
# characters, so a name can never change the meaning of a URL or a query.
_STAR_NAME = r"[A-Za-z0-9][A-Za-z0-9 +\-_.*()\[\]]{0,63}"


class DataSource(Enum):
    """Every survey the site can fetch photometry from."""

    GAIA = SourceSpec(
        pretty_name="Gaia",
        target_name_label="Gaia Alerts name",
        bands=("G",),
        name_pattern=r"Gaia[0-9]{2}[a-z]{3,4}",
        name_example="Gaia16aye",
        object_url="https://gsaweb.ast.cam.ac.uk/alerts/alert/{name}/",
        normalise=_gaia_alert_name,
    )
    ZTF = SourceSpec(
        pretty_name="ZTF",
        target_name_label="ZTF object id",
        bands=("g", "r", "i"),
        name_pattern=r"ZTF[0-9]{2}[a-z]{7}",
        name_example="ZTF18abcdefg",
        object_url="https://alerce.online/object/{name}",
        normalise=_ztf_name,
    )
    CPCS = SourceSpec(
        pretty_name="CPCS",
        target_name_label="CPCS alert id",
        bands=(),
        name_pattern=r"[0-9]{1,10}|ivo://[A-Za-z0-9_.+\-]{1,56}",
        name_example="ivo://Gaia19drz",
        normalise=_cpcs_name,
    )
    AAVSO = SourceSpec(
        pretty_name="AAVSO",
        target_name_label="AAVSO name",
        # Johnson-Cousins and Sloan: the bands kept by default (BHTOM_AAVSO_BANDS).
        bands=("U", "B", "V", "R", "I", "SU", "SG", "SR", "SI", "SZ"),
        name_pattern=_STAR_NAME,
        name_example="V* RS Oph",
        object_url="https://www.aavso.org/vsx/index.php?view=results.submit1&ident={name}",
    )
    TNS = SourceSpec(
        pretty_name="TNS",
        target_name_label="TNS name",
        bands=(),
        name_pattern=r"[0-9]{4}[a-z]{1,4}",
        name_example="2021abc",
        object_url="https://www.wis-tns.org/object/{name}",
        normalise=_tns_name,
    )
    ASASSN = SourceSpec(
        pretty_name="ASAS-SN",
        # Only a Sky Patrol light-curve id can be fetched (see bhtom2/brokers/asassn.py).
        target_name_label="ASAS-SN Sky Patrol light curve id",
        bands=("V", "g"),
        name_pattern=r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        name_example="c4765b75-bfa4-4fc6-9d3a-9b3d11555506",
        object_url="https://asas-sn.osu.edu/sky-patrol/coordinate/{name}",
        normalise=_lower,
    )
    ANTARES = SourceSpec(
        pretty_name="ANTARES",
        target_name_label="ANTARES locus id",
        bands=("g", "R", "i"),
        name_pattern=r"ANT[0-9]{4}[a-z0-9]{3,12}|ZTF[0-9]{2}[a-z]{7}",
        name_example="ANT2020g7nq",
        object_url="https://antares.noirlab.edu/loci/{name}",
    )
    GAIA_DR2 = SourceSpec(
        pretty_name="Gaia DR2",
        target_name_label="Gaia DR2 source_id",
        bands=("G", "BP", "RP"),
        name_pattern=_INTEGER_ID,
        name_example="4583627001381815936",
        needs_name=False,
    )
    ZTF_DR8 = SourceSpec(
        pretty_name=_ztf_release_pretty_name,
        target_name_label="ZTF data-release object ids",
        bands=("g", "r", "i"),
        name_pattern=rf"{_INTEGER_ID}(,{_INTEGER_ID}){{0,31}}",
        name_example="633207400004730,633207300001225",
        needs_name=False,
    )
    GAIA_DR3 = SourceSpec(
        pretty_name="Gaia DR3",
        target_name_label="Gaia DR3 source_id",
        bands=("G", "BP", "RP"),
        name_pattern=_INTEGER_ID,
        name_example="4583627001381815936",
        needs_name=False,
    )
    ATLAS = SourceSpec(
        pretty_name="ATLAS",
        target_name_label="ATLAS name",
        bands=("c", "o"),
        name_pattern=r"ATLAS[0-9]{2}[a-z]{3,4}",
        name_example="ATLAS21abcd",
        needs_name=False,
    )
    NEOWISE = SourceSpec(
        pretty_name="NEOWISE",
        target_name_label="NEOWISE designation",
        bands=("W1", "W2"),
        name_pattern=r"J[0-9]{6}\.[0-9]{2}[+\-][0-9]{6}\.[0-9]",
        name_example="J060104.08-185803.7",
        needs_name=False,
    )
    ALLWISE = SourceSpec(
        pretty_name="AllWISE",
        target_name_label="AllWISE designation",
        bands=("W1", "W2"),
        name_pattern=r"J[0-9]{6}\.[0-9]{2}[+\-][0-9]{6}\.[0-9]",
        name_example="J060104.08-185803.7",
        needs_name=False,
    )
    OGLE_EWS = SourceSpec(
        pretty_name="OGLE EWS",
        target_name_label="OGLE EWS event",
        bands=("I",),
        name_pattern=r"OGLE-[0-9]{4}-(BLG|DG|GD|LMC|SMC)-[0-9]{4}",
        name_example="OGLE-2023-BLG-0123",
        normalise=_upper,
        needs_name=False,
    )
    KMT_NET = SourceSpec(
        pretty_name="KMTNet",
        target_name_label="KMTNet event",
        bands=("I", "V"),
        name_pattern=r"KMT-[0-9]{4}-(BLG|SAO)-[0-9]{4}",
        name_example="KMT-2016-BLG-1533",
        normalise=_upper,
    )
    CRTS = SourceSpec(
        pretty_name="CRTS",
        target_name_label="CRTS id",
        bands=("CL",),
        name_pattern=r"[0-9]{13}|CSS[0-9]{6}:[0-9]{6}[+\-][0-9]{6}",
        name_example="1118060051368",
        needs_name=False,
    )

    # -- derived properties -------------------------------------------------

    @property
    def spec(self) -> SourceSpec:
        return self.value

    @property
    def pretty_name(self) -> str:
        return self.value.pretty()

    @property
    def default_url(self) -> str | None:
        """The real service's base URL (``BHTOM_URL_<NAME>`` overrides it, see bhtom_base.conf)."""
        from .settings_helpers import DEFAULT_URLS

        return DEFAULT_URLS.get(self.name)

    @property
    def well_known_object(self):
        """The object ``manage.py check_surveys`` asks this survey for (bhtom2/survey_probes.py)."""
        from .survey_probes import WELL_KNOWN_OBJECTS

        return WELL_KNOWN_OBJECTS.get(self.name)

    @property
    def target_name_label(self) -> str:
        return self.value.target_name_label

    def filter_name(self, band: str) -> str:
        """The TOM bandpass of a band of this survey, e.g. ``G(Gaia DR3)``."""
        return f"{band}({self.pretty_name})"

    @property
    def filters(self) -> list[str]:
        return [self.filter_name(band) for band in self.value.bands]

    def validate_name(self, value: object) -> str:
        """Return the survey name normalised, or raise ``ValidationError``."""
        text = str(value if value is not None else "").strip()
        if not text:
            raise ValidationError(f"{self.target_name_label} is empty.")
        if len(text) > MAX_SURVEY_NAME_LENGTH and self is not DataSource.ZTF_DR8:
            raise ValidationError(
                f"{self.target_name_label} is too long ({len(text)} characters)."
            )
        if self.value.normalise is not None:
            text = self.value.normalise(text)
        if not re.fullmatch(self.value.name_pattern, text):
            raise ValidationError(
                f"{text[:80]!r} is not a valid {self.target_name_label} "
                f"(expected something like {self.value.name_example!r})."
            )
        if self.value.name_pattern == _INTEGER_ID and int(text) >= 2**63:
            raise ValidationError(f"{text!r} is not a valid {self.target_name_label} (too large).")
        return text

    def object_url(self, name: str) -> str | None:
        template = self.value.object_url
        if template is None:
            return None
        from urllib.parse import quote

        return template.format(name=quote(name, safe=""))


def get_data_source(name: str | DataSource) -> DataSource:
    """The member called ``name``; a clear error for anything else."""
    if isinstance(name, DataSource):
        return name
    try:
        return DataSource[str(name).strip().upper()]
    except KeyError:
        known = ", ".join(source.name for source in DataSource)
        raise UnknownDataSource(f"Unknown data source {name!r}; known sources: {known}.") from None


def get_pretty_survey_name(name: str | DataSource) -> str:
    return get_data_source(name).pretty_name


class _RegistryView(Mapping):
    """A read-only mapping computed from the registry on every access (settings may change)."""

    def __init__(self, compute: Callable[[DataSource], object]) -> None:
        self._compute = compute

    def __getitem__(self, key: str | DataSource):
        return self._compute(get_data_source(key))

    def __iter__(self):
        return iter(DataSource)

    def __len__(self) -> int:
        return len(DataSource)

    def __contains__(self, key: object) -> bool:
        try:
            get_data_source(key)  # type: ignore[arg-type]
        except UnknownDataSource:
            return False
        return True


SOURCE_NAMES: tuple[str, ...] = tuple(DataSource.__members__)
PRETTY_SURVEY_NAME: Mapping = _RegistryView(lambda source: source.pretty_name)
TARGET_NAME_KEYS: Mapping = _RegistryView(lambda source: source.target_name_label)
FILTERS: Mapping = _RegistryView(lambda source: source.filters)
