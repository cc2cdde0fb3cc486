"""A target's photometry as compact columnar JSON for the browser plot.

One ``values_list`` query, no model instances: one entry per (source, band)
with parallel arrays (MJD, magnitude, error for detections; MJD, limit for
non-detections). Times are MJD (UTC) rounded to 1e-6 d (0.09 s), magnitudes
to 1e-4 mag: the plot needs no more and the JSON stays small.
"""
from __future__ import annotations

from datetime import datetime

from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

MJD_UNIX_EPOCH = 40587.0
SECONDS_PER_DAY = 86400.0


def mjd(timestamp: datetime) -> float:
    return round(timestamp.timestamp() / SECONDS_PER_DAY + MJD_UNIX_EPOCH, 6)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def lightcurve_payload(target: Target) -> dict:
    series: dict[tuple[str, str], dict] = {}
    rows = (
        PhotometryReducedDatum.objects.filter(target=target)
        .order_by("timestamp")
        .values_list("source_name", "bandpass", "timestamp", "brightness", "brightness_error", "limit")
    )
    count = 0
    for source, band, timestamp, mag, err, limit in rows.iterator(chunk_size=10000):
        if mag is None and limit is None:
            continue
        key = (source or "", band or "")
        entry = series.get(key)
        if entry is None:
            entry = series[key] = {"source": key[0], "band": key[1], "t": [], "mag": [], "err": [],
                                   "lt": [], "lim": []}
        if mag is not None:
            entry["t"].append(mjd(timestamp))
            entry["mag"].append(_round(mag))
            entry["err"].append(_round(err))
        else:
            entry["lt"].append(mjd(timestamp))
            entry["lim"].append(_round(limit))
        count += 1
    return {"target": target.name, "time": "mjd_utc", "points": count,
            "series": sorted(series.values(), key=lambda entry: (entry["source"], entry["band"]))}
