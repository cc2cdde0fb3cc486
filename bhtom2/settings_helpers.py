"""Pieces of settings.py derived from the DataSource registry (no Django settings needed)."""
from __future__ import annotations

from collections.abc import Mapping

# The real services' base URLs; a broker appends the service's own paths.
DEFAULT_URLS: dict[str, str] = {
    "GAIA": "https://gsaweb.ast.cam.ac.uk",
    "ZTF": "https://api.alerce.online",
    "CPCS": "https://gsaweb.ast.cam.ac.uk",
    "AAVSO": "https://www.aavso.org",
    "TNS": "https://www.wis-tns.org",
    "ASASSN": "https://asas-sn.osu.edu",
    "ANTARES": "https://api.antares.noirlab.edu",
    "GAIA_DR2": "https://gea.esac.esa.int",
    "ZTF_DR8": "https://irsa.ipac.caltech.edu",
    "GAIA_DR3": "https://gea.esac.esa.int",
    "ATLAS": "https://fallingstar-data.com",
    "NEOWISE": "https://irsa.ipac.caltech.edu",
    "ALLWISE": "https://irsa.ipac.caltech.edu",
    "OGLE_EWS": "https://www.astrouw.edu.pl",  # data files; ogle.astrouw.edu.pl serves only HTML
    "KMT_NET": "https://kmtnet.kasi.re.kr",
    "CRTS": "http://nunuku.caltech.edu",
    # Rubin/LSST: Fink by default; ALeRCE and Lasair when BHTOM_LSST_SERVICE chooses them.
    "LSST": "https://api.lsst.fink-portal.org",
    "LSST_ALERCE": "https://api-lsst.alerce.online",
    "LSST_LASAIR": "https://api.lasair.lsst.ac.uk",
}


def survey_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """Each survey's base URL: ``BHTOM_URL_<NAME>`` if set, else the real service."""
    return {name: environ.get(f"BHTOM_URL_{name}", url).rstrip("/") for name, url in DEFAULT_URLS.items()}


def survey_name_extra_fields() -> list[dict[str, str]]:
    from .data_sources import SOURCE_NAMES

    # hidden: TOM's target_data lists only non-hidden extras; the survey names are shown by
    # bhtom_base's survey_names tag (labels, links) instead of one bare row per source.
    return [{"name": name, "type": "string", "hidden": True} for name in SOURCE_NAMES]
