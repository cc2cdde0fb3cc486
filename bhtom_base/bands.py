"""Plot colours by physical band and marker shapes by survey.

A band keeps its colour in every survey: ZTF g, ANTARES g, ASAS-SN g and AAVSO
Sloan g (``SG``) are all the same green, so two surveys of one band line up by
eye. The palette follows wavelength (blue-violet for u/U/B, green for g/V, red
and orange for r/R/o, dark red for i/I, grey-black for broad bands) and is
documented in docs/lightcurve.md. Stored band names look like ``"g(ZTF DR24)"``:
the physical band is the part before the parenthesis.
"""
from __future__ import annotations

import hashlib

# physical band -> (label, colour). Sloan bands written by AAVSO as SU/SG/SR/SI/SZ are u/g/r/i/z.
BAND_COLOURS: dict[str, tuple[str, str]] = {
    "u": ("u", "#7b2cbf"),
    "U": ("U", "#5a189a"),
    "B": ("B", "#1f4e9e"),
    "BP": ("BP", "#3a7bd5"),
    "c": ("c", "#17a2b8"),
    "g": ("g", "#2ca02c"),
    "V": ("V", "#7a9a01"),
    "G": ("G", "#222222"),
    "r": ("r", "#d62728"),
    "R": ("R", "#e6550d"),
    "o": ("o", "#ff9f1c"),
    "RP": ("RP", "#a50f15"),
    "i": ("i", "#8c2d04"),
    "I": ("I", "#6b3e26"),
    "z": ("z", "#5e3c58"),
    "J": ("J", "#9e6b9e"),
    "H": ("H", "#b07aa1"),
    "K": ("K", "#c994c7"),
    "W1": ("W1", "#8c564b"),
    "W2": ("W2", "#e377c2"),
    "CL": ("clear", "#7f7f7f"),
}
ALIASES = {"SU": "u", "SG": "g", "SR": "r", "SI": "i", "SZ": "z", "Ks": "K", "C": "CL", "CV": "CL", "clear": "CL"}
FALLBACK_COLOURS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#bcbd22", "#17becf")

# Marker shapes given to surveys in name order (limits are always downward triangles).
SURVEY_SYMBOLS = ("circle", "square", "diamond", "cross", "x", "triangle-up", "star", "hexagon", "pentagon",
                  "star-triangle-up", "hourglass", "bowtie", "triangle-left", "triangle-right", "star-square",
                  "diamond-tall")
LIMIT_SYMBOL = "triangle-down"


def physical_band(bandpass: str) -> str:
    """``"g(ZTF DR24)"`` -> ``"g"``; ``"SG(AAVSO)"`` -> ``"g"``; an unknown band stays as written."""
    band = (bandpass or "").split("(", 1)[0].strip()
    return ALIASES.get(band, band)


def band_label(bandpass: str) -> str:
    band = physical_band(bandpass)
    return BAND_COLOURS[band][0] if band in BAND_COLOURS else (band or "?")


def band_colour(bandpass: str) -> str:
    """The band's documented colour; an unknown band gets a stable colour from its name."""
    band = physical_band(bandpass)
    if band in BAND_COLOURS:
        return BAND_COLOURS[band][1]
    digest = hashlib.sha1(band.encode()).digest()
    return FALLBACK_COLOURS[digest[0] % len(FALLBACK_COLOURS)]


def survey_symbols(sources: list[str], known: list[str] = ()) -> dict[str, str]:
    """One marker shape per survey, by its place among all the site's surveys (``known``), so a
    survey keeps its shape on every target; surveys not in ``known`` follow in name order."""
    order = sorted(set(known)) + sorted(set(sources) - set(known))
    return {source: SURVEY_SYMBOLS[order.index(source) % len(SURVEY_SYMBOLS)] for source in set(sources)}
