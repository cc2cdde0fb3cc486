"""The target page itself, the lightcurve JSON, survey names and plotly.js (Django test client)."""
from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import plotly
import pytest
from astropy.time import Time
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import TargetExtra

pytestmark = pytest.mark.django_db

T0 = datetime(2021, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


@pytest.fixture
def points(gaia_target):
    rows = [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(hours=7 * i), source_name="GAIA",
                                   bandpass="G(Gaia)", brightness=18.0 + i / 7, brightness_error=0.01 * i)
            for i in range(6)]
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(days=30 + i), source_name="ZTF",
                                    bandpass="r(ZTF)", limit=20.25 + i) for i in range(3)]
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(days=40), source_name="ZTF",
                                    bandpass="r(ZTF)", brightness=19.5, brightness_error=0.1)]
    PhotometryReducedDatum.objects.bulk_create(rows)
    return rows


def get_json(client, target) -> dict:
    return client.get(reverse("bhtom_base:lightcurve-data", kwargs={"pk": target.pk})).json()


def test_lightcurve_json_is_columnar_per_source_and_band(client, users, gaia_target, points):
    client.force_login(users["viewer"])
    payload = get_json(client, gaia_target)
    assert payload["points"] == 10
    series = {(entry["source"], entry["band"]): entry for entry in payload["series"]}
    assert set(series) == {("GAIA", "G(Gaia)"), ("ZTF", "r(ZTF)")}
    gaia, ztf = series["GAIA", "G(Gaia)"], series["ZTF", "r(ZTF)"]
    order = np.argsort(gaia["t"])
    expected_mjd = Time([T0 + timedelta(hours=7 * i) for i in range(6)]).utc.mjd
    np.testing.assert_allclose(np.array(gaia["t"])[order], expected_mjd, atol=1.5e-6)
    np.testing.assert_allclose(np.array(gaia["mag"])[order], [round(18.0 + i / 7, 4) for i in range(6)], atol=1e-9)
    np.testing.assert_allclose(np.array(gaia["err"])[order], [0.01 * i for i in range(6)], atol=1e-9)
    assert gaia["lt"] == [] and gaia["lim"] == []
    assert sorted(ztf["lim"]) == [20.25, 21.25, 22.25] and len(ztf["lt"]) == 3
    assert ztf["mag"] == [19.5] and ztf["err"] == [0.1]
    assert ztf["t"][0] == pytest.approx(Time(T0 + timedelta(days=40)).mjd, abs=1.5e-6)


def test_lightcurve_json_is_gzipped_when_asked(client, users, gaia_target, points):
    client.force_login(users["viewer"])
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=gaia_target, timestamp=T0 + timedelta(minutes=i), source_name="X",
                               bandpass="V", brightness=15.0, brightness_error=0.02) for i in range(200)])
    response = client.get(reverse("bhtom_base:lightcurve-data", kwargs={"pk": gaia_target.pk}),
                          HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content))["points"] == 210


def test_target_page_has_our_plot_and_not_toms_inline_plotly(client, users, gaia_target, points):
    client.force_login(users["member"])
    html = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    assert 'id="bhtom-lightcurve-plot"' in html and 'id="bhtom-update-status"' in html
    assert reverse("bhtom_base:plotly-js", kwargs={"version": plotly.__version__}) in html
    assert "Plotly.newPlot" not in html and len(html) < 200_000
    assert 'id="bhtom-update-button"' in html  # member may change the target
    assert 'href="https://gsaweb.ast.cam.ac.uk/alerts/alert/Gaia14aaa/"' in html  # survey page of the object


def test_viewer_sees_the_page_without_the_button(client, users, gaia_target):
    client.force_login(users["viewer"])
    html = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    assert 'id="bhtom-lightcurve-plot"' in html and 'id="bhtom-update-button"' not in html


def test_survey_names_show_every_registry_source_with_its_label(client, users, gaia_target, settings):
    from bhtom2.data_sources import DataSource

    settings.BHTOM_DATA_SOURCE_REGISTRY = "bhtom2.data_sources.DataSource"  # sources without a broker too
    TargetExtra.objects.create(target=gaia_target, key="ZTF", value="ZTF18abcdefg")
    client.force_login(users["viewer"])
    html = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    assert DataSource.ZTF.target_name_label in html
    assert DataSource.ZTF.object_url("ZTF18abcdefg") in html


def test_plotly_js_comes_from_the_plotly_package_once_and_gzipped(client, users):
    client.force_login(users["viewer"])
    url = reverse("bhtom_base:plotly-js", kwargs={"version": plotly.__version__})
    from pathlib import Path

    raw = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    plain = client.get(url)
    assert plain.content == raw and "immutable" in plain["Cache-Control"]
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert gzip.decompress(zipped.content) == raw and len(zipped.content) < len(raw) / 2
    assert client.get(reverse("bhtom_base:plotly-js", kwargs={"version": "0.0.1"})).status_code == 404


def test_deferred_tom_panels_need_view_permission(client, users, gaia_target):
    url = reverse("bhtom_base:deferred-panel", kwargs={"pk": gaia_target.pk, "panel": "spectroscopy"})
    client.force_login(users["outsider"])
    assert client.get(url).status_code == 302  # TOM's 403 -> login redirect
    client.force_login(users["viewer"])
    assert client.get(url).status_code == 200
    bad = reverse("bhtom_base:deferred-panel", kwargs={"pk": gaia_target.pk, "panel": "secrets"})
    assert client.get(bad).status_code == 404


def test_update_form_has_labelled_survey_name_fields_and_the_page_no_bare_rows(client, users, gaia_target):
    from bhtom2.data_sources import DataSource

    client.force_login(users["member"])
    form = client.get(reverse("targets:update", kwargs={"pk": gaia_target.pk})).content.decode()
    assert 'name="GAIA"' in form and DataSource.GAIA.target_name_label in form and 'name="ZTF"' in form
    page = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    assert '<dt class="col-sm-6">CPCS</dt>' not in page  # no empty row per source from TOM's target_data


def test_with_per_row_permissions_only_permitted_points_are_served(client, users, gaia_target, points, settings):
    from guardian.shortcuts import assign_perm

    settings.TARGET_PERMISSIONS_ONLY = False  # TOM then checks view_photometryreduceddatum per row
    client.force_login(users["viewer"])
    assert get_json(client, gaia_target)["points"] == 0
    for row in PhotometryReducedDatum.objects.filter(source_name="ZTF"):
        assign_perm("tom_dataproducts.view_photometryreduceddatum", users["viewer"], row)
    payload = get_json(client, gaia_target)
    assert payload["points"] == 4 and [entry["source"] for entry in payload["series"]] == ["ZTF"]
    client.force_login(users["staff"])
    assert get_json(client, gaia_target)["points"] == 10
