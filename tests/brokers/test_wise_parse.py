"""NEOWISE and AllWISE parsers on real recorded IRSA Gator tables; counts computed here from the raw text."""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

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


def with_columns(text: str, added: dict[str, list[str]]) -> str:
    """A recorded IPAC table with char columns appended at the right (cuts its query did not ask for)."""
    lines = text.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("|")]
    width = len(lines[header[0]])
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(("\\", "|"))]
    assert all(len(lines[i].rstrip()) < width for i in rows)
    for name, values in added.items():
        size = max(len(name), *(len(value) for value in values)) + 1
        for i, label in zip(header, (name, "char", "", "null"), strict=True):
            lines[i] = lines[i] + label.ljust(size) + "|"
        for i, value in zip(rows, values, strict=True):
            lines[i] = lines[i].ljust(width) + value.rjust(size) + " "
        width += size + 1
    return "\n".join(lines) + "\n"


def test_neowise_table_without_quality_columns_is_refused_not_stored():
    """Issue #18 finding 3: the demo's Gaia20fnr W2 points at 6.07 and 8.55 mag."""
    raw = columns(GAIA20FNR)
    assert len(raw["mjd"]) == 281 and "cc_flags" not in raw
    w1, w2 = raw["w1mpro"], raw["w2mpro"].astype(float)
    # the star is W2 10.5-11.0 in 279 frames; in two frames W2 alone is 2.3 and 4.8 mag brighter while
    # W1 (10.64, 10.52) is normal: single-frame W2 artefacts, what cc_flags/qual_frame/saa_sep mark.
    # The table was recorded with selcols=ra,dec,mjd,w1mpro,w1sigmpro,w2mpro,w2sigmpro: no cut could run.
    assert sorted(w2[w2 < 10])[:2] == [6.068, 8.546]
    assert sorted(w1[w2 < 10].astype(float)) == [10.516, 10.643]
    assert (w2 >= 10.4).sum() == 279
    with pytest.raises(ParseError, match=r"lacks the quality columns \['qual_frame', 'cc_flags', 'ph_qual'\]"):
        neowise.parse(fixture_bytes(GAIA20FNR))


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
    assert frame.attrs["skipped"] == {"frame: poor frame (qual_frame = 0)": 14, "W2: artefact flag (cc_flags)": 1}
    assert frame["time_system"].eq("MJD UTC (mid-point of the frame)").all()
    assert set(frame["survey_time"].astype(float)) <= set(raw["mjd"].astype(float))
    first = frame.iloc[0]  # the table's first row: mjd 58227.64203649, W1 11.334 +- 0.020
    expected = Time(58227.64203649, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    assert abs((first["time"] - pd.Timestamp(expected)).total_seconds()) < 1e-5
    assert (first["band"], first["mag"], first["mag_err"], first["survey_time"]) == ("W1", 11.334, 0.02, 58227.64203649)


def test_neowise_saa_moon_and_frame_quality_cuts():
    """The cuts the recorded query lacked, on the same real rows with those columns added."""
    raw = columns(ASASSN21QJ)
    n = len(raw["mjd"])
    saa = ["-3.2" if i % 50 == 1 else "40.0" for i in range(n)]  # 7 rows inside the SAA
    moon = ["01" if i % 40 == 2 else "00" for i in range(n)]  # 8 rows: W2 in the Moon's mask
    qi = ["0.5" if i % 100 == 3 else "1.0" for i in range(n)]  # 4 degraded frames
    text = with_columns(fixture_bytes(ASASSN21QJ).decode(), {"saa_sep": saa, "moon_masked": moon, "qi_fact": qi})
    frame = neowise.parse(text.encode())
    good = raw["qual_frame"].astype(int) > 0
    inside_saa = np.array([s.startswith("-") for s in saa])
    degraded = np.array([q == "0.5" for q in qi])
    mooned = np.array([m[1] == "1" for m in moon])
    expected_frame = good & ~degraded & ~inside_saa
    skipped = frame.attrs["skipped"]
    assert skipped["frame: degraded frame (qi_fact < 0.9)"] == (good & degraded).sum()
    assert skipped["frame: inside the South Atlantic Anomaly (saa_sep <= 0)"] == (good & ~degraded & inside_saa).sum()
    assert skipped["W2: Moon scattered light (moon_masked)"] == (expected_frame & mooned).sum()
    assert (frame["band"] == "W1").sum() == expected_frame.sum()
    clean_w2 = np.array([flags[1] == "0" for flags in raw["cc_flags"]])
    assert (frame["band"] == "W2").sum() == (expected_frame & ~mooned & clean_w2).sum()


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


def test_allwise_magnitude_without_error_is_a_95_percent_upper_limit():
    lines = fixture_bytes(ALLWISE).decode().splitlines()
    index = next(i for i, line in enumerate(lines) if "55270.73537550" in line)
    fields = lines[index].split()
    assert (fields[7], fields[8]) == ("10.870", "0.031")  # w2mpro_ep, w2sigmpro_ep
    lines[index] = lines[index].replace("0.031 ", " null ", 1)
    frame = allwise.parse("\n".join(lines).encode())
    limits = frame[frame["limit"].notna()]
    assert list(limits["band"]) == ["W2"] and list(limits["limit"]) == [10.870]
    assert limits["mag"].isna().all() and frame.attrs["skipped"] == {}
    assert len(frame) == 68


def test_allwise_cuts_run_where_the_table_has_the_columns():
    raw = columns(ALLWISE)
    n = len(raw["mjd"])
    cc = ["0d00" if i == 5 else "0000" for i in range(n)]  # W2 diffraction spike in one frame
    moon = ["1000" if i == 6 else "0000" for i in range(n)]  # W1 in the Moon's mask in another
    saa = ["-1.0" if i == 7 else "12.0" for i in range(n)]
    text = with_columns(fixture_bytes(ALLWISE).decode(), {"cc_flags": cc, "moon_masked": moon, "saa_sep": saa})
    frame = allwise.parse(text.encode())
    assert frame.attrs["skipped"] == {"frame: inside the South Atlantic Anomaly (saa_sep <= 0)": 1,
                                      "W1: Moon scattered light (moon_masked)": 1,
                                      "W2: artefact flag (cc_flags)": 1}
    assert (frame["band"] == "W1").sum() == 32 and (frame["band"] == "W2").sum() == 32


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


@pytest.mark.parametrize("heading, words", [
    ("## NEOWISE (`NEOWISE`)", ("qual_frame", "qi_fact", "saa_sep", "moon_masked", "cc_flags", "ph_qual",
                                "95 %", "mid-point")),
    ("## AllWISE (`ALLWISE`)", ("qi_fact", "saa_sep", "moon_masked", "cc_flags", "null error", "mid-point")),
])
def test_docs_surveys_section_states_columns_cuts_limits_and_time(heading, words):
    text = (Path(__file__).resolve().parents[2] / "docs" / "surveys.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    assert all(word in section for word in words)
