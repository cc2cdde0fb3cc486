"""Cross-survey consistency (#18 part 3): the stored rows of two services agree where they see the same object.

Every broker runs end to end through the replay server (``update_reduced_data``, as a user would); the
comparisons read only the STORED rows (``PhotometryReducedDatum``).

Overlaps found in the recorded data (``tests/fixtures``, ``/work/shared/fixtures``, the demo targets):

1. **ZTF18abbuksn seen by ALeRCE and ANTARES** (the same ZTF alerts). Only ALeRCE was recorded for this
   object; the ANTARES answer is derived from it (``antares_locus_from_alerce``, see
   ``fixtures/antares/PROVENANCE.md``): ANTARES serves ZTF's own ``candid``/``jd``/``magpsf``/``sigmapsf``/
   ``diffmaglim`` and its corrected magnitude is ZTF's reference + difference, the same quantity as ALeRCE's
   ``magpsf_corr``, so its lightcurve CSV is a re-expression of the recorded detections. Check: every alert
   stored by both has the same geocentric UTC time within ``SAME_EXPOSURE_SECONDS`` and the same magnitude
   within ``SAME_EXPOSURE_MAG`` in the same ZTF filter (g = g, r = ANTARES ``R``: band offset 0).
2. **ASASSN-21qj in ASAS-SN (g, V) and ATLAS (c, o, reduced images)**, real recordings of both, and its Gaia
   EDR3 mean photometry (a real archive answer, ``fixtures/gaia_dr3/gaia_edr3_cone_400arcsec_ASASSN-21qj.ecsv``).
   a. ASAS-SN against Gaia: every Gaia source within ASAS-SN's aperture (radius 2 pixels, 16") becomes V with
      the Gaia EDR3 relation G - V = -0.02704 + 0.01424 x - 0.2156 x^2 + 0.01426 x^3, x = BP - RP (Gaia EDR3
      documentation, chapter 5, photometric relationships with other systems; scatter about 0.05 mag), and
      their fluxes are summed (the star, G 13.38, BP - RP 0.83, and a G 16.9 neighbour 5" away: V 13.51; the
      recording holds only sources with G < 17, so fainter neighbours, each under 2 % of the star's flux, are
      left out). The median stored ASAS-SN V (all before the 2021 dimming) must agree within
      ``GAIA_V_TOLERANCE`` (measured: -0.02 mag).
   b. ASAS-SN against ATLAS: ATLAS never observed it in c and o on the same night, so the object's colour
      c - o is measured in the ATLAS data as the difference of its median c and o before the dimming
      (MJD < 59300): 0.32 mag. ATLAS points become g and V with published transformations: g = c + 0.67 (c - o)
      (Tonry et al. 2018, PASP 130, 064505: g = 1.67 c - 0.67 o, r = 0.35 c + 0.65 o, so g - r = 1.32 (c - o))
      and V = g - 0.59 (g - r) - 0.01 (Jester et al. 2005, AJ 130, 873, stars with R - I < 1.15). For ASAS-SN
      points with an ATLAS point within ``NEARBY_DAYS`` the median of ASAS-SN minus ATLAS must lie in
      ``CROWDING_RANGE``. Measured: g -0.28, V -0.27 mag: ATLAS is fainter than ASAS-SN and Gaia here. The
      ATLAS server's FAQ says why: its ``tphot`` on reduced (not difference) images fits one PSF over a sky
      level that neighbours in a crowded field push too high, so it loses flux; ASAS-SN's large aperture can
      only add neighbours' light. ASAS-SN minus ATLAS is therefore never positive, and this pair cannot check
      agreement to better than 0.4 mag; a 0.3 mag zero point either way leaves the range (on the brighter side
      by only 0.02-0.03 mag: the Gaia check (a) is the sharp one).

No two recorded surveys overlap for the other checks: no Gaia alert has recorded Gaia DR3 epochs (the DR3
epoch fixtures are other sources; the demo's Gaia14aaa has an empty DR3 cone), no ZTF DR object has recorded
alerts, AAVSO's Gaia20fnr rows have no optical partner (only NEOWISE/AllWISE infrared), and the CPCS, TNS,
CRTS, OGLE, KMTNet and LSST fixtures are of different objects. A barycentric time or a time at exposure
start can therefore only be checked on pair 1 (both services give ZTF's own exposure start; both must store
mid-exposure, 15 s later).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.table import Table
from astropy.time import Time
from django.core.management import call_command
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from tests.conftest import fixture_bytes
from tests.replay_handlers import atlas as atlas_server

pytestmark = pytest.mark.django_db

SAME_EXPOSURE_SECONDS = 1.0  # one alert's time as two services store it (both from ZTF's own jd)
SAME_EXPOSURE_MAG = 0.01  # one alert's magnitude as two services store it
NEARBY_DAYS = 0.5  # ASAS-SN and ATLAS points compared when this close in time
CROWDING_RANGE = (-0.40, 0.0)  # median ASAS-SN - ATLAS (mag): ATLAS tphot loses flux, ASAS-SN's aperture adds it
GAIA_V_TOLERANCE = 0.10  # ASAS-SN V against Gaia EDR3 (twice the scatter of the G - V relation)
ASASSN_APERTURE_ARCSEC = 16.0  # Sky Patrol v1 aperture: radius 2 pixels of 8"
GAIA_CONE = "gaia_dr3/gaia_edr3_cone_400arcsec_ASASSN-21qj.ecsv"
QUIESCENT_MJD = 59300.0  # before ASASSN-21qj's dimming
ZP_ERROR = 0.3
ANTARES_NAME = "ANT2018abbuksn"  # a label for the derived locus (no recorded ANTARES locus id of this object)
ZTF_POSITION = (313.7733232785203, 39.09800386874637)
ASASSN_21QJ = (123.84754, -38.98983)
ASASSN_21QJ_UUID = "c4765b75-bfa4-4fc6-9d3a-9b3d11555506"

SAME_BAND = {"g(ZTF)": "g(ANTARES)", "r(ZTF)": "R(ANTARES)"}  # ZTF fid 1 and 2 under both services' names


def run(*args) -> None:
    call_command("update_reduced_data", *args, stdout=io.StringIO())


def stored(target: Target, source: str) -> list[PhotometryReducedDatum]:
    return list(PhotometryReducedDatum.objects.filter(target=target, source_name=source).order_by("timestamp"))


# -- pair 1: the same ZTF alerts through ALeRCE and ANTARES ------------------------------------------


def antares_locus_from_alerce(detections: list[dict]) -> str:
    """ANTARES' ``/v1/loci/<id>`` answer for the recorded ALeRCE detections, column by column.

    ``alert_id`` = ``ztf_candidate:<candid>``, ``ant_mjd`` = ZTF ``jd`` - 2400000.5 (ALeRCE's ``mjd``),
    ``ant_passband`` g/R for fid 1/2, ``ant_mag``/``ant_magerr``/``ant_maglim`` = ``magpsf``/``sigmapsf``/
    ``diffmaglim``, ``ant_mag_corrected`` = ``magpsf_corr`` (reference + difference). ANTARES computes its own
    corrected error; ALeRCE's usable one (``sigmapsf_corr``, or ``sigmapsf_corr_ext`` where the former is its
    placeholder 100) stands in for it, and errors are not compared.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["alert_id", "ant_mjd", "ant_survey", "ant_passband", "ant_mag", "ant_magerr", "ant_maglim",
                     "ant_mag_corrected", "ant_magerr_corrected"])
    for d in detections:
        error = d["sigmapsf_corr"] if d["sigmapsf_corr"] < 100 else d["sigmapsf_corr_ext"]
        writer.writerow([f"ztf_candidate:{d['candid']}", repr(d["mjd"]), 1, {1: "g", 2: "R"}[d["fid"]],
                         d["magpsf"], d["sigmapsf"], d["diffmaglim"], d["magpsf_corr"], error])
    locus = {"data": {"type": "locus", "id": ANTARES_NAME, "attributes": {
        "ra": ZTF_POSITION[0], "dec": ZTF_POSITION[1], "lightcurve": out.getvalue(),
        "properties": {"is_corrected": "true", "ztf_object_id": "ZTF18abbuksn"}}}}
    return json.dumps(locus)


@pytest.fixture
def ztf_star(replay):
    """ZTF18abbuksn updated from ALeRCE (recorded) and ANTARES (derived from the same alerts)."""
    detections = json.loads(fixture_bytes("alerce/ZTF18abbuksn_detections_first43.json"))
    replay.inject(path=f"/v1/loci/{ANTARES_NAME}", body=antares_locus_from_alerce(detections),
                  content_type="application/vnd.api+json")
    target = Target.objects.create(name="ZTF18abbuksn", type="SIDEREAL", ra=ZTF_POSITION[0], dec=ZTF_POSITION[1])
    TargetExtra.objects.create(target=target, key="ZTF", value="ZTF18abbuksn")
    TargetExtra.objects.create(target=target, key="ANTARES", value=ANTARES_NAME)
    run("ZTF18abbuksn", "--source", "ZTF")
    run("ZTF18abbuksn", "--source", "ANTARES")
    return target, detections


def same_alert_mismatches(alerce: list, antares: list) -> list[str]:
    """Every alert stored by both services whose time, band or magnitude differ beyond the tolerances."""
    by_candid = {row.value["point_id"].removeprefix("ztf_candidate:"): row for row in antares}
    problems = []
    for row in alerce:
        other = by_candid.get(row.value["point_id"])
        if other is None:
            problems.append(f"{row.value['point_id']}: not stored by ANTARES")
            continue
        seconds = abs((row.timestamp - other.timestamp).total_seconds())
        if seconds > SAME_EXPOSURE_SECONDS:
            problems.append(f"{row.value['point_id']}: times {seconds:.1f} s apart")
        if SAME_BAND[row.bandpass] != other.bandpass:
            problems.append(f"{row.value['point_id']}: bands {row.bandpass} / {other.bandpass}")
        if abs(row.brightness - other.brightness) > SAME_EXPOSURE_MAG:
            problems.append(f"{row.value['point_id']}: {row.brightness:.3f} / {other.brightness:.3f} mag")
    return problems


def test_the_same_ztf_alerts_have_the_same_time_band_and_magnitude_in_alerce_and_antares(ztf_star):
    target, detections = ztf_star
    alerce, antares = stored(target, "ZTF"), stored(target, "ANTARES")
    assert len(alerce) == len(antares) == len(detections) == 43
    assert same_alert_mismatches(alerce, antares) == []
    # what both agree on is the star's apparent magnitude at mid-exposure, not the difference image's
    first = alerce[0]
    assert (first.bandpass, round(first.brightness, 3)) == ("g(ZTF)", 15.444)
    start = Time(detections[0]["mjd"], format="mjd", scale="utc").datetime.replace(tzinfo=first.timestamp.tzinfo)
    assert abs((first.timestamp - start).total_seconds() - 15) < 1e-3


def barycentric_shift(row, ra: float, dec: float) -> timedelta:
    """The light travel time to the solar-system barycentre (astropy) a barycentric time would add."""
    when = Time(row.timestamp, scale="utc", location=EarthLocation.from_geocentric(0, 0, 0, unit=u.m))
    return timedelta(seconds=when.light_travel_time(SkyCoord(ra, dec, unit="deg")).to_value(u.s))


def difference_magnitude(row, detections: dict) -> None:
    row.brightness = detections[row.value["point_id"]]["magpsf"]  # ALeRCE magpsf instead of magpsf_corr


def zero_point(row, detections: dict) -> None:
    row.brightness += ZP_ERROR


def barycentric_time(row, detections: dict) -> None:
    row.timestamp += barycentric_shift(row, *ZTF_POSITION)


def exposure_start(row, detections: dict) -> None:
    row.timestamp -= timedelta(seconds=15)


@pytest.mark.parametrize("mistake", [difference_magnitude, zero_point, barycentric_time, exposure_start])
def test_negative_control_each_mistake_in_the_stored_alerce_rows_fails_the_comparison(ztf_star, mistake):
    target, detections = ztf_star
    by_candid = {d["candid"]: d for d in detections}
    alerce = stored(target, "ZTF")
    for row in alerce:
        mistake(row, by_candid)
    PhotometryReducedDatum.objects.bulk_update(alerce, ["brightness", "timestamp"])
    problems = same_alert_mismatches(stored(target, "ZTF"), stored(target, "ANTARES"))
    assert len(problems) == len(alerce) == 43  # every alert is caught
    if mistake is barycentric_time:  # ZTF18abbuksn in June-July 2018: 113 to 257 s
        shifts = [barycentric_shift(row, *ZTF_POSITION).total_seconds() for row in alerce]
        assert 100 < min(shifts) and max(shifts) < 300


# -- pair 2: ASASSN-21qj in ASAS-SN and ATLAS -------------------------------------------------------


@pytest.fixture
def dimming_star(replay, settings):
    settings.BHTOM_ATLAS_TOKEN = "test-token"
    atlas_server.reset()
    target = Target.objects.create(name="ASASSN-21qj", type="SIDEREAL", ra=ASASSN_21QJ[0], dec=ASASSN_21QJ[1])
    TargetExtra.objects.create(target=target, key="ASASSN", value=ASASSN_21QJ_UUID)
    run("ASASSN-21qj", "--source", "ASASSN")
    run("ASASSN-21qj", "--source", "ATLAS")
    yield target
    atlas_server.reset()


def mjd_and_mag(rows: list, band: str) -> tuple[np.ndarray, np.ndarray]:
    chosen = [r for r in rows if r.bandpass == band and r.brightness is not None]
    return (Time([r.timestamp for r in chosen], scale="utc").mjd, np.array([r.brightness for r in chosen]))


def atlas_as(atlas: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ATLAS c and o points as g and V, with the object's c - o measured in the ATLAS data before the dimming."""
    c_mjd, c = mjd_and_mag(atlas, "c(ATLAS)")
    o_mjd, o = mjd_and_mag(atlas, "o(ATLAS)")
    colour = np.median(c[c_mjd < QUIESCENT_MJD]) - np.median(o[o_mjd < QUIESCENT_MJD])
    mjd, g = np.concatenate([c_mjd, o_mjd]), np.concatenate([c + 0.67 * colour, o + 1.67 * colour])
    v = g - 0.59 * 1.32 * colour - 0.01
    return {"g(ASAS-SN)": (mjd, g), "V(ASAS-SN)": (mjd, v)}


def asassn_minus_atlas(asassn: list, atlas: list) -> dict[str, tuple[int, float]]:
    """Per ASAS-SN band: (pairs, median of ASAS-SN minus the ATLAS points within NEARBY_DAYS)."""
    result = {}
    for band, (atlas_mjd, atlas_mag) in atlas_as(atlas).items():
        differences = []
        for mjd, mag in zip(*mjd_and_mag(asassn, band), strict=True):
            near = np.abs(atlas_mjd - mjd) < NEARBY_DAYS
            if near.any():
                differences.append(mag - np.median(atlas_mag[near]))
        result[band] = (len(differences), float(np.median(differences)))
    return result


def shift_zero_point(rows: list, error: float) -> None:
    """A survey's points stored with a zero point off by ``error`` mag (detections and limits alike)."""
    for row in rows:
        row.brightness = None if row.brightness is None else row.brightness + error
        row.limit = None if row.limit is None else row.limit + error
    PhotometryReducedDatum.objects.bulk_update(rows, ["brightness", "limit"])


def within_crowding_range(offsets: dict[str, tuple[int, float]]) -> bool:
    return all(CROWDING_RANGE[0] <= median <= CROWDING_RANGE[1] for _, median in offsets.values())


def test_asassn_and_atlas_agree_on_asassn_21qj_within_the_crowding_range(dimming_star):
    asassn, atlas = stored(dimming_star, "ASASSN"), stored(dimming_star, "ATLAS")
    offsets = asassn_minus_atlas(asassn, atlas)
    assert offsets["g(ASAS-SN)"][0] > 300 and offsets["V(ASAS-SN)"][0] > 50  # many nearby pairs in each band
    assert offsets["g(ASAS-SN)"][1] == pytest.approx(-0.28, abs=0.02)
    assert offsets["V(ASAS-SN)"][1] == pytest.approx(-0.27, abs=0.02)
    assert within_crowding_range(offsets)


@pytest.mark.parametrize("error", [ZP_ERROR, -ZP_ERROR])
def test_negative_control_a_wrong_atlas_zero_point_leaves_the_crowding_range(dimming_star, error):
    shift_zero_point(stored(dimming_star, "ATLAS"), error)
    assert not within_crowding_range(asassn_minus_atlas(stored(dimming_star, "ASASSN"), stored(dimming_star, "ATLAS")))


def gaia_v_in_asassn_aperture(ra: float, dec: float) -> float:
    """V of all Gaia EDR3 sources within ASAS-SN's aperture, from G and BP - RP (Gaia EDR3 documentation, chapter 5)."""
    sources = Table.read(io.BytesIO(fixture_bytes(GAIA_CONE)), format="ascii.ecsv")
    centre = SkyCoord(ra, dec, unit="deg")
    inside = centre.separation(SkyCoord(sources["ra"], sources["dec"], unit="deg")).arcsec < ASASSN_APERTURE_ARCSEC
    g, x = np.asarray(sources["phot_g_mean_mag"][inside]), np.asarray(sources["bp_rp"][inside])
    v = g - (-0.02704 + 0.01424 * x - 0.2156 * x**2 + 0.01426 * x**3)
    return float(-2.5 * np.log10(np.sum(10 ** (-0.4 * v))))


def asassn_v_minus_gaia(asassn: list) -> float:
    return float(np.median(mjd_and_mag(asassn, "V(ASAS-SN)")[1]) - gaia_v_in_asassn_aperture(*ASASSN_21QJ))


def test_asassn_v_agrees_with_gaia_edr3_photometry_of_the_stars_in_its_aperture(dimming_star):
    assert gaia_v_in_asassn_aperture(*ASASSN_21QJ) == pytest.approx(13.51, abs=0.01)  # the star and one neighbour
    asassn = stored(dimming_star, "ASASSN")
    assert len(mjd_and_mag(asassn, "V(ASAS-SN)")[1]) > 700
    assert abs(asassn_v_minus_gaia(asassn)) < GAIA_V_TOLERANCE


@pytest.mark.parametrize("error", [ZP_ERROR, -ZP_ERROR])
def test_negative_control_a_wrong_asassn_zero_point_fails_against_gaia(dimming_star, error):
    shift_zero_point(stored(dimming_star, "ASASSN"), error)
    assert abs(asassn_v_minus_gaia(stored(dimming_star, "ASASSN"))) > GAIA_V_TOLERANCE
