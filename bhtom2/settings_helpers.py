"""The real services' base URLs and the survey-name target fields, derived from the DataSource registry."""
from __future__ import annotations

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
}


def survey_name_extra_fields() -> list[dict[str, str]]:
    """``EXTRA_FIELDS``: every survey's name, and the per-target brightness choice (``bhtom_brightness``)."""
    from .data_sources import SOURCE_NAMES

    # hidden: TOM's target_data lists only non-hidden extras; the survey names and the brightness
    # choice are shown by bhtom_base's survey_names tag (labels, links) instead of bare key/value rows.
    fields = [{"name": name, "type": "string", "hidden": True} for name in SOURCE_NAMES]
    return [*fields, {"name": "bhtom_brightness", "type": "string", "hidden": True}]
