"""Every point keeps the survey's own id (where it has one), time and time system, read back from the real files."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from bhtom2.brokers import aavso, asassn, crts, gaia_alerts, kmtnet, ogle_ews
from bhtom_base.lightcurve import ParseContext, clean_lightcurve
from tests.conftest import fixture_bytes


def test_aavso_keeps_obsid_and_jd():
    content = fixture_bytes("aavso/aavso_vsx_apidelim_GAIA20FNR_2rows_bhtom2_test.txt")
    rows = list(csv.DictReader(io.StringIO(content.decode()), delimiter="~"))
    frame = aavso.parse(content)
    assert frame["point_id"].tolist() == [row["obsID"] for row in rows] == ["1285239870", "1285239871"]
    assert frame["survey_time"].astype(float).tolist() == [float(row["JD"]) for row in rows]
    assert set(frame["time_system"]) == {"JD UTC"}


def test_gaia_alerts_keep_the_tcb_date_as_given():
    content = fixture_bytes("gaia_alerts/Gaia14aaa.csv")
    frame = gaia_alerts.parse(content)
    dates = [line.split(",")[0].strip() for line in content.decode().splitlines()[2:] if line.strip()]
    kept = [d for d, line in zip(dates, content.decode().splitlines()[2:], strict=False)
            if line.split(",")[2].strip().lower() not in ("null", "untrusted", "nan")]
    assert frame["survey_time"].tolist() == kept
    assert set(frame["time_system"]) == {"TCB date"} and set(frame["point_id"]) == {""}


def test_ogle_keeps_the_hjd():
    content = fixture_bytes("ogle_ews/OGLE-2014-BLG-0939_phot.dat")
    table = np.loadtxt(io.StringIO(content.decode()))
    frame = ogle_ews.parse(content, ParseContext(ra=268.23354, dec=-29.63647))
    kept = table[table[:, 2] <= 9]
    np.testing.assert_array_equal(frame["survey_time"].astype(float), kept[:, 0])
    assert set(frame["time_system"]) == {"HJD UTC"}


def test_asassn_v1_keeps_the_ut_date_it_reads():
    content = fixture_bytes("asassn/asassn_skypatrol_v1_ASASSN-21qj_light_curve_c4765b75.csv")
    table = pd.read_csv(io.BytesIO(content), dtype=str)
    frame = asassn.parse(content)
    assert set(frame["survey_time"]) <= set(table["UT Date"].str.strip())
    assert set(frame["time_system"]) == {"UT date (geocentric UTC)"}


@pytest.mark.parametrize(("frame", "system"), [
    (lambda: kmtnet.parse_pysis(fixture_bytes("kmtnet/KB180003/KMTC12_I.pysis"), site="C", band="I"),
     "HJD UTC - 2450000"),
    (lambda: crts.parse(fixture_bytes("crts/crts_cone_137.97214_38.29239.html")), "MJD UTC"),
])
def test_every_point_has_its_survey_time(frame, system):
    cleaned = clean_lightcurve(frame())
    assert len(cleaned) and cleaned["survey_time"].notna().all() and set(cleaned["time_system"]) == {system}
