"""NEOWISE and AllWISE parsers on real recorded IRSA Gator tables; counts computed here from the raw text."""
from __future__ import annotations

from datetime import UTC

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time

from bhtom2.brokers import allwise, neowise
from bhtom2.brokers.irsa_gator import gator_params
from bhtom_base.errors import ParseError
from tests.conftest import fixture_bytes

GAIA20FNR = "neowise/neowise_gator_Gaia20fnr_5arcsec.tbl"
NO_COVERAGE = "neowise/neowise_gator_no_coverage_ra0_dec0.tbl"
ASASSN21QJ = "neowise/neowise_merge_gator_ASASSN-21qj_2013-2021.tbl"
ALLWISE = "allwise/allwise_mep_gator_Gaia20fnr_5arcsec.tbl"


def columns(relative: str) -> dict[str, np.ndarray]:
    """The raw table by whitespace splitting (no value in these files holds a space)."""
    lines = fixture_bytes(relative).decode().splitlines()
    names = [name.strip() for name in next(line for line in lines if line.startswith("|")).strip("|").split("|")]
    rows = [line.split() for line in lines if line.strip() and not line.startswith(("\\", "|"))]
    assert all(len(row) == len(names) for row in rows)
    return {name: np.array([row[i] for row in rows], dtype=object) for i, name in enumerate(names)}


def test_neowise_gaia20fnr_all_points_one_null_w1():
    raw = columns(GAIA20FNR)
    assert len(raw["mjd"]) == 281
    null_w1 = int((raw["w1mpro"] == "null").sum())
    assert null_w1 == 1 and (raw["w2mpro"] == "null").sum() == 0
    frame = neowise.parse(fixture_bytes(GAIA20FNR))
    assert (frame["band"] == "W1").sum() == 281 - null_w1
    assert (frame["band"] == "W2").sum() == 281
    assert frame["limit"].isna().all()
    assert frame.attrs["skipped"] == {"W1: null magnitude": 1}
    first = frame[frame["band"] == "W1"].iloc[0]
    expected = Time(59272.67500541, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    assert abs((first["time"] - pd.Timestamp(expected)).total_seconds()) < 1e-3
    assert (first["mag"], first["mag_err"]) == (10.582, 0.016)


def test_neowise_no_coverage_is_an_empty_lightcurve():
    frame = neowise.parse(fixture_bytes(NO_COVERAGE))
    assert len(frame) == 0 and frame.attrs["skipped"] == {}


def test_neowise_quality_cuts_on_a_real_table_with_flags():
    raw = columns(ASASSN21QJ)
    assert len(raw["mjd"]) == 312  # the header says RowsRetrieved = 315; 312 rows are in the file
    good_frame = raw["qual_frame"].astype(int) > 0
    frame = neowise.parse(fixture_bytes(ASASSN21QJ))
    for position, band in enumerate(("W1", "W2")):
        clean = np.array([flags[position] == "0" for flags in raw["cc_flags"]])
        detected = np.array([quality[position] in "ABC" for quality in raw["ph_qual"]])
        expected = good_frame & clean & detected & (raw[f"{band.lower()}mpro"] != "null")
        assert (frame["band"] == band).sum() == expected.sum()
    assert (frame["band"] == "W1").sum() == 298 and (frame["band"] == "W2").sum() == 297
    assert frame.attrs["skipped"] == {
        "W1: poor frame (qual_frame=0)": 14,
        "W2: poor frame (qual_frame=0)": 14,
        "W2: artefact flag (cc_flags)": 1,
    }


def test_neowise_upper_limits_from_ph_qual_u():
    text = fixture_bytes(ASASSN21QJ).decode()
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(" ") and " AA " in line)
    lines[index] = lines[index].replace(" AA ", " AU ", 1)
    frame = neowise.parse("\n".join(lines).encode())
    limits = frame[frame["limit"].notna()]
    assert len(limits) == 1 and limits["band"].iloc[0] == "W2" and np.isnan(limits["mag"].iloc[0])
    assert limits["limit"].iloc[0] == float(lines[index].split()[9])  # w2mpro


def test_allwise_multi_epoch_rows():
    raw = columns(ALLWISE)
    assert len(raw["mjd"]) == 34
    frame = allwise.parse(fixture_bytes(ALLWISE))
    assert (frame["band"] == "W1").sum() == (raw["w1mpro_ep"] != "null").sum() == 34
    assert (frame["band"] == "W2").sum() == (raw["w2mpro_ep"] != "null").sum() == 34
    w1 = frame[frame["band"] == "W1"]
    assert np.allclose(np.sort(w1["mag"]), np.sort(raw["w1mpro_ep"].astype(float)))
    assert np.allclose(np.sort(w1["mag_err"]), np.sort(raw["w1sigmpro_ep"].astype(float)))
    assert frame["time"].min().year == 2010


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty response"),
        (b"<html><head><title>IRSA down</title></head></html>", "HTML page"),
        (b'[struct stat="ERROR", msg="catalog neowiser_p1bs_psd is not available"]', "IRSA Gator error"),
        (b"ra dec mjd\n1 2 3\n", "not an IPAC table"),
    ],
)
def test_bad_input_is_a_parse_error(content, message):
    with pytest.raises(ParseError, match=message):
        neowise.parse(content)


def test_truncated_table_is_a_parse_error():
    content = fixture_bytes(GAIA20FNR)
    with pytest.raises(ParseError, match="truncated"):
        neowise.parse(content[: len(content) // 2])


def test_allwise_table_lacks_neowise_columns():
    with pytest.raises(ParseError, match="lacks columns"):
        neowise.parse(fixture_bytes(ALLWISE))


def test_gator_params_accept_only_numbers():
    params = gator_params("neowiser_p1bs_psd", 90.26701, -18.9677, 3, ("mjd",))
    assert params["objstr"] == "90.267010 -18.967700" and params["radius"] == "3"
    with pytest.raises(ValueError):
        gator_params("neowiser_p1bs_psd", 400, 0, 3, ("mjd",))
