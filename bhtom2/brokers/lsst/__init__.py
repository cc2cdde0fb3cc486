"""Rubin/LSST lightcurves (``LSST``): a diaObject's alerts and forced photometry.

A target's name in this source is its 64-bit ``diaObjectId``, kept as text end
to end. Which service answers is a setting, ``BHTOM_LSST_SERVICE``: ``fink``
(default, no account; :mod:`.fink`), ``alerce`` (:mod:`.alerce`) or ``lasair``
(needs ``LASAIR_TOKEN``, else the source is "not configured"; :mod:`.lasair`).

Photometry (:mod:`.photometry`). Fluxes are nJy (AB): m = 31.4 - 2.5 log10(f),
sigma_m = 1.0857 sigma_f / f. Which flux is the object's brightness depends on
the object (:mod:`.brightness`): for a transient absent from the template (a
supernova) the positive difference ``psfFlux`` (negative differences are left
out and counted); for an object in the template (a star, an AGN) the total,
``scienceFlux`` (or ``templateFlux + psfFlux``). The service's classification
decides (Lasair's Sherlock class, Fink's cross-matches and CATS class, ALeRCE's
top-ranked classes); the target's ``bhtom_brightness`` extra ("total" /
"difference") overrides it; without either the object is taken as a transient.
Limits: forced photometry below 5 sigma becomes a 5-sigma upper limit from the
flux error of the chosen flux; alerts (schema >= 8) carry no limits.
Quality cuts: ``psfFlux_flag`` set, ``timeWithdrawnMjdTai`` set, bands other
than ugrizy, forced measurements at a detection's own visit (counted, left out).

Times: ``midpointMjdTai`` (mid-exposure, TAI) -> UTC with astropy
(``bhtom_base.times.mjd_to_utc(scale="tai")``); the survey's value and "MJD TAI"
go into the point's ``value``, with its diaSourceId / diaForcedSourceId.

Cross-match: the chosen service's cone search, nearest object within
``BHTOM_CROSS_MATCH_MAX_SEPARATION["LSST"]`` (default 1 arcsec, Rubin's own
association radius). Fink requests of simultaneous updates are batched
(:mod:`.batching`). docs/surveys.md, "Rubin/LSST (LSST)", says the same for users.
"""
from .broker import LSSTBroker
from .response import parse

__all__ = ["LSSTBroker", "parse"]
