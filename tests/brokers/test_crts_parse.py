"""CRTS cone-search page parser on the real recorded pages."""
from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.crts import cone_query, parse
from bhtom_base.errors import ParseError
from bhtom_base.replay import HTML_ERROR_PAGE
from tests.conftest import fixture_bytes

COVERED = "crts/crts_cone_137.97214_38.29239.html"
NOT_COVERED = "crts/crts_not_covered_283.61614_0.81912.html"


def photometry_rows(relative: str) -> list[list[str]]:
    """The cells of each row after the 'Photometry of Objs:' caption, split by hand."""
    text = fixture_bytes(relative).decode("latin-1")
    table = text.split("Photometry of Objs:")[1].split("</table>")[0]
    rows = [line for line in table.split("</tr>") if "<td>" in line]
    return [row.split("<td>")[1:] for row in rows]


def test_real_page_gives_every_point_of_the_object():
    rows = photometry_rows(COVERED)
    assert len(rows) == 172 and {row[0].strip() for row in rows} == {"1138040035002"}
    frame = parse(fixture_bytes(COVERED))
    assert len(frame) == 172 and frame.attrs["skipped"] == {}
    assert frame.attrs["survey_names"] == {"CRTS": "1138040035002"}
    assert frame["mag"].tolist() == [float(row[1]) for row in rows]
    assert frame["mag_err"].tolist() == [float(row[2]) for row in rows]
    assert set(frame["band"]) == {"CL"}
    mjd = np.array([float(row[5]) for row in rows])
    parsed = Time(frame["time"].dt.tz_localize(None).to_numpy(), scale="utc").mjd
    assert np.abs(parsed - mjd).max() * 86400 < 0.001
    assert frame["time"].min().isoformat().startswith("2005-11-") and frame["time"].max().year == 2013


def test_not_covered_page_is_an_empty_result():
    frame = parse(fixture_bytes(NOT_COVERED))
    assert len(frame) == 0 and list(frame.columns)[:3] == ["time", "mag", "mag_err"]


def test_only_the_nearest_object_is_kept():
    text = fixture_bytes(COVERED).decode("latin-1")
    master = "<tr><td>1138040035002<td>19.654<td>137.971427<td>38.292543<td>   2.09</tr>"
    neighbour = "<tr><td>1138040099999<td>18.100<td>137.972000<td>38.293000<td>   4.50</tr>"
    extra_row = "<tr><td>1138040099999<td>18.10<td>0.10<td>137.9720<td>38.2930<td>53711.37082</tr>\n"
    text = text.replace(master, neighbour + master)
    text = text.replace("</tr><tr><td>1138040035002<td>20.50", "</tr>" + extra_row + "<tr><td>1138040035002<td>20.50")
    frame = parse(text.encode("latin-1"))
    assert len(frame) == 172 and frame.attrs["skipped"] == {"another CRTS object in the cone": 1}
    assert 18.10 not in frame["mag"].tolist()


def test_covered_area_without_an_object_is_an_empty_result():
    text = fixture_bytes(NOT_COVERED).decode("latin-1").replace(
        "<font size=5 color=red> This area is not covered by CSS data.</font>", "")
    assert len(parse(text.encode())) == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (HTML_ERROR_PAGE, "not a CRTS cone-search result page (503 Service Temporarily Unavailable)"),
        (b"Internal error: database unavailable\n", "not a CRTS cone-search result page"),
    ],
)
def test_pages_that_are_not_results_are_parse_errors(content, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(content)


def test_photometry_table_without_its_columns_is_an_error():
    text = fixture_bytes(COVERED).decode("latin-1").replace("<th>Magerr", "<th>Sigma")
    with pytest.raises(ParseError, match="lacks columns"):
        parse(text.encode("latin-1"))


def test_cone_query_formats_numbers_only():
    query = cone_query(137.972141, 38.2923901, 6 * u.arcsec)
    assert query == {"RA": "137.97214", "Dec": "38.29239", "Rad": "0.1", "DB": "photcat", "OUT": "web",
                     "SHORT": "short"}
