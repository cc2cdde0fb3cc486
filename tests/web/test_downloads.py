"""Lightcurve downloads (CSV, ECSV, VOTable): every point, parsable by astropy, selections, permissions, speed."""
from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from astropy.io import ascii as astropy_ascii
from astropy.io.votable import parse_single_table
from astropy.table import Table
from astropy.time import Time
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum

pytestmark = pytest.mark.django_db

T0 = datetime(2020, 5, 17, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture
def points(gaia_target):
    rows = [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(days=i), source_name="GAIA",
                                   bandpass="G(Gaia)", brightness=17.15279769897461 + i / 100,
                                   brightness_error=0.0196356, telescope="Gaia",
                                   value={"point_id": f"gaia-{i}", "survey_time": str(2458986.6 + i),
                                          "time_system": "JD TCB"})
            for i in range(4)]
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(days=100 + i), source_name="ZTF",
                                    bandpass="r(ZTF)", limit=20.5 + i, telescope="P48, \"Oschin\"")
             for i in range(2)]
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(days=200), source_name="ZTF",
                                    bandpass="g(ZTF)", brightness=18.25, brightness_error=0.05, telescope="P48")]
    PhotometryReducedDatum.objects.bulk_create(rows)
    return rows


def download(client, target, **params):
    response = client.get(reverse("bhtom_base:lightcurve-download", kwargs={"pk": target.pk}), params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def read(body: bytes, fmt: str) -> Table:
    if fmt == "votable":
        return parse_single_table(io.BytesIO(body)).to_table()
    return astropy_ascii.read(body.decode(), format="ecsv" if fmt == "ecsv" else "csv")


@pytest.mark.parametrize("fmt", ["csv", "ecsv", "votable"])
def test_every_point_in_every_format_parses_with_astropy(client, users, gaia_target, points, fmt):
    client.force_login(users["viewer"])
    response, body = download(client, gaia_target, format=fmt)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"] and "Gaia14aaa_lightcurve" in response["Content-Disposition"]
    table = read(body, fmt)
    assert len(table) == len(points) == 7
    assert list(table["survey"]) == ["GAIA"] * 4 + ["ZTF"] * 3  # time order
    expected = Time([row.timestamp for row in points], scale="utc")
    np.testing.assert_allclose(np.asarray(table["mjd"], dtype=float), expected.mjd, atol=1e-8)
    np.testing.assert_allclose(np.asarray(table["jd"], dtype=float), expected.jd, atol=1e-8)
    assert Time(list(table["time_utc"]), scale="utc").isot[0] == "2020-05-17T03:04:05.679"
    assert float(table["mag"][0]) == 17.15279769897461 and float(table["mag_err"][0]) == 0.0196356
    assert np.ma.is_masked(table["mag"][4]) or np.isnan(float(table["mag"][4]))  # a limit has no magnitude
    assert float(table["limit"][5]) == 21.5
    assert table["point_id"][2] == "gaia-2" and table["time_system"][0] == "JD TCB"
    assert str(table["survey_time"][1]) == "2458987.6"  # CSV readers guess a number
    assert table["facility"][4] == 'P48, "Oschin"'  # a comma and quotes survive
    assert [str(b) for b in table["band"]][-1] == "g(ZTF)"
    if fmt != "csv":
        assert str(table["mjd"].unit) == "d" and str(table["mag"].unit) == "mag"


def test_some_surveys_and_a_time_range(client, users, gaia_target, points):
    client.force_login(users["viewer"])
    _, body = download(client, gaia_target, format="csv", source="ZTF")
    assert set(read(body, "csv")["survey"]) == {"ZTF"} and len(read(body, "csv")) == 3
    start_mjd = Time(T0 + timedelta(days=1.5)).mjd
    _, body = download(client, gaia_target, format="csv", start=f"{start_mjd}", end="2020-09-01")
    table = read(body, "csv")
    assert list(table["point_id"].filled("")) == ["gaia-2", "gaia-3", "", ""]
    _, body = download(client, gaia_target, format="csv", source="GAIA", start=str(Time(T0).jd + 2.5))
    assert list(read(body, "csv")["point_id"]) == ["gaia-3"]


def test_json_api_takes_the_same_selection_and_formats(client, users, gaia_target, points):
    client.force_login(users["viewer"])
    url = reverse("bhtom_base:lightcurve-data", kwargs={"pk": gaia_target.pk})
    payload = client.get(url, {"source": "ZTF"}).json()
    assert payload["points"] == 3 and {entry["source"] for entry in payload["series"]} == {"ZTF"}
    response = client.get(url, {"format": "ecsv", "source": "GAIA"})
    assert len(read(b"".join(response.streaming_content), "ecsv")) == 4
    error = client.get(url, {"start": "yesterday"})
    assert error.status_code == 400 and "not a date" in error.json()["error"]


@pytest.mark.parametrize("params, message", [
    ({"format": "xlsx"}, "is not one of csv, ecsv, votable"),
    ({"source": "ZTF' OR 1=1"}, "unknown survey"),
    ({"start": "2021-01-01", "end": "2020-01-01"}, "end is before start"),
    ({"end": "99999999"}, "outside 1800-2200"),
])
def test_bad_parameters_get_a_clear_400(client, users, gaia_target, points, params, message):
    client.force_login(users["viewer"])
    response, body = download(client, gaia_target, **params)
    assert response.status_code == 400 and message in body.decode()


def test_download_needs_view_permission(client, users, gaia_target, points):
    url = reverse("bhtom_base:lightcurve-download", kwargs={"pk": gaia_target.pk})
    client.force_login(users["outsider"])
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code in (403, 404)


def test_fifty_thousand_points_stream_in_well_under_a_second(client, users, gaia_target):
    rows = [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(minutes=i), source_name="ZTF",
                                   bandpass="g(ZTF)", brightness=15 + (i % 1000) / 1000, brightness_error=0.01,
                                   value={"point_id": str(10**12 + i)})
            for i in range(50_000)]
    PhotometryReducedDatum.objects.bulk_create(rows, batch_size=5000)
    client.force_login(users["viewer"])
    url = reverse("bhtom_base:lightcurve-download", kwargs={"pk": gaia_target.pk})
    timings = []
    for _ in range(2):  # the better of two runs: the machine is shared
        started = time.perf_counter()
        response = client.get(url, {"format": "csv"})
        first = next(iter(response.streaming_content))
        first_chunk = time.perf_counter() - started
        body = first + b"".join(response.streaming_content)
        timings.append((time.perf_counter() - started, first_chunk))
    elapsed, first_chunk = min(timings)
    print(f"50,000 points: first chunk {first_chunk:.3f} s, whole file {elapsed:.3f} s")
    assert first_chunk < 0.2, first_chunk
    assert elapsed < 0.8, elapsed
    table = read(body, "csv")
    assert len(table) == 50_000 and table["point_id"][-1] == 10**12 + 49_999
