"""Is an LSST object in the template (its brightness = total flux) or a transient absent from it?

Each service classifies objects its own way; these rules read that
classification. A person's choice on the target (``bhtom_brightness``) always
wins; :func:`decide` applies it. Without a choice and without a usable
classification the object is taken as a transient (``DIFFERENCE``): that is what
an alert stream mostly carries, and a person sets ``total`` for a star.
"""
from __future__ import annotations

from bhtom_base.lightcurve import Brightness

# Lasair's Sherlock classes (https://lasair.readthedocs.io, "Sherlock"): variable star, cataclysmic
# variable, bright star and AGN sit in the template; supernova, nuclear transient and orphan do not.
SHERLOCK_TOTAL = frozenset({"VS", "CV", "BS", "AGN"})
SHERLOCK_DIFFERENCE = frozenset({"SN", "NT", "ORPHAN"})

# Fink's CATS broad classes (f:clf_cats_class): 21 periodic, 22 non-periodic (AGN) are in the template;
# 11 SN-like, 12 fast, 13 long transients are not.
CATS_TOTAL = frozenset({21, 22})
CATS_DIFFERENCE = frozenset({11, 12, 13})
# SIMBAD object types (f:xm_simbad_otype) of stars and AGN, and of transients.
SIMBAD_TOTAL_PREFIXES = ("*", "Star", "V*", "RR", "EB", "LP", "Mi", "Ce", "dS", "BY", "RS", "Ae", "Be", "YSO",
                         "TT", "Or", "WD", "CV", "AGN", "QSO", "Sy", "Bla", "BLL", "Pu", "Ro", "Er", "gD", "s*",
                         "HB", "RG", "C*", "S*", "Em*", "PM*", "HV*", "SB*", "El*", "Ir", "Pe*")
SIMBAD_DIFFERENCE = frozenset({"SN", "SN*", "SNR", "Transient", "TDE", "GRB", "KN"})

# ALeRCE classes (lc_classifier / stamp_classifier top class).
ALERCE_TOTAL = frozenset({"LPV", "E", "EB/EW", "EA", "DSCT", "RRL", "CEP", "Periodic-Other", "YSO", "CV/Nova",
                          "QSO", "AGN", "Blazar", "VS", "Periodic", "Stochastic", "Microlensing"})
ALERCE_DIFFERENCE = frozenset({"SNIa", "SNIbc", "SNII", "SNIIn", "SLSN", "SN", "TDE", "Transient"})


def decide(choice: Brightness, auto: Brightness | None) -> Brightness:
    """A person's choice, else the service's classification, else a transient."""
    if choice is not Brightness.AUTO:
        return choice
    return auto or Brightness.DIFFERENCE


def from_sherlock(classification: object) -> Brightness | None:
    value = str(classification or "").strip().upper()
    if value in SHERLOCK_TOTAL:
        return Brightness.TOTAL
    if value in SHERLOCK_DIFFERENCE:
        return Brightness.DIFFERENCE
    return None


def from_fink(*, gaia_name: object = None, vsx_type: object = None, gcvs_type: object = None,
              simbad_otype: object = None, cats_class: object = None) -> Brightness | None:
    """Fink's cross-matches first (a Gaia DR3, VSX or GCVS counterpart is a star), then SIMBAD, then CATS."""
    if any(_present(value) for value in (gaia_name, vsx_type, gcvs_type)):
        return Brightness.TOTAL
    otype = str(simbad_otype).strip() if _present(simbad_otype) else ""
    if otype in SIMBAD_DIFFERENCE:
        return Brightness.DIFFERENCE
    if otype and otype.startswith(SIMBAD_TOTAL_PREFIXES):
        return Brightness.TOTAL
    try:
        cats = int(float(cats_class))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if cats in CATS_TOTAL:
        return Brightness.TOTAL
    if cats in CATS_DIFFERENCE:
        return Brightness.DIFFERENCE
    return None


def from_alerce(top_classes: list[str]) -> Brightness | None:
    """The first top-ranked ALeRCE class that says either way."""
    for name in top_classes:
        if name in ALERCE_TOTAL:
            return Brightness.TOTAL
        if name in ALERCE_DIFFERENCE:
            return Brightness.DIFFERENCE
    return None


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        return value == value  # not NaN
    text = str(value).strip()
    return bool(text) and text.lower() not in ("nan", "none", "null", "unknown", "fail")
