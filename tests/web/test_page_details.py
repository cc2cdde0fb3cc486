"""Details of the target page: band palette, JSON plot fields, precision, button messages, custom.css."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum

from bhtom_base.bands import BAND_COLOURS, band_colour, band_label, physical_band, survey_symbols
from bhtom_base.precision import format_measurement
from bhtom_base.update_messages import update_message

T0 = datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize("bandpasses", [("g(ZTF)", "g(ANTARES)", "g(ASAS-SN)", "SG(AAVSO)", "g(ZTF DR24)"),
                                        ("V(AAVSO)", "V(ASAS-SN)", "V(KMTNet)"), ("I(OGLE EWS)", "I(KMTNet)"),
                                        ("r(ZTF)", "SR(AAVSO)"), ("G(Gaia)", "G(Gaia DR3)", "G(Gaia DR2)")])
def test_a_band_has_one_colour_in_every_survey(bandpasses):
    assert len({band_colour(b) for b in bandpasses}) == 1
    assert len({band_label(b) for b in bandpasses}) == 1


def test_different_bands_have_different_colours_and_unknown_bands_a_stable_one():
    colours = [colour for _, colour in BAND_COLOURS.values()]
    assert len(set(colours)) == len(colours)
    assert physical_band("SZ(AAVSO)") == "z" and band_label("CL(CRTS)") == "clear"
    assert band_colour("Y(VISTA)") == band_colour("Y(other)") and band_colour("Y(VISTA)").startswith("#")


def test_a_survey_keeps_its_marker_whatever_else_the_target_has():
    known = ["GAIA", "ZTF", "ANTARES", "AAVSO"]
    assert survey_symbols(["ZTF"], known)["ZTF"] == survey_symbols(["ZTF", "GAIA", "AAVSO"], known)["ZTF"]
    shapes = survey_symbols(known, known)
    assert len(set(shapes.values())) == len(known) and "triangle-down" not in shapes.values()


@pytest.mark.parametrize("mag, err, shown", [
    (17.15279769897461, 0.1963560730218887, ("17.15", "0.20")),
    (14.1234567, 0.0123, ("14.123", "0.012")),
    (12.3456789, 0.00012, ("12.3457", "0.0001")),
    (20.5, None, ("20.500", "")),
    (11.04, 1.5, ("11.0", "1.5")),
])
def test_magnitudes_are_shown_to_the_precision_of_their_error(mag, err, shown):
    assert format_measurement(mag, err) == shown


@pytest.mark.django_db
def test_plot_json_carries_survey_names_band_colours_and_markers(client, users, gaia_target):
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=gaia_target, timestamp=T0, source_name="ZTF_DR8", bandpass="g(ZTF DR24)",
                               brightness=17.0, brightness_error=0.02),
        PhotometryReducedDatum(target=gaia_target, timestamp=T0, source_name="ANTARES", bandpass="g(ANTARES)",
                               brightness=17.1, brightness_error=0.03),
        PhotometryReducedDatum(target=gaia_target, timestamp=T0, source_name="KMT_NET", bandpass="I(KMTNet)",
                               brightness=15.0, brightness_error=0.01)])
    client.force_login(users["viewer"])
    payload = client.get(reverse("bhtom_base:lightcurve-data", kwargs={"pk": gaia_target.pk})).json()
    series = {entry["source"]: entry for entry in payload["series"]}
    assert series["ZTF_DR8"]["survey"] == "ZTF DR" and series["KMT_NET"]["survey"] == "KMTNet"
    assert series["ZTF_DR8"]["colour"] == series["ANTARES"]["colour"] == BAND_COLOURS["g"][1]
    assert series["ZTF_DR8"]["band_label"] == "g" and series["KMT_NET"]["band_label"] == "I"
    assert len({entry["symbol"] for entry in series.values()}) == 3


@pytest.mark.django_db
def test_photometry_tab_is_rounded_and_offers_the_downloads(client, users, gaia_target):
    PhotometryReducedDatum.objects.create(target=gaia_target, timestamp=T0, source_name="ANTARES",
                                          bandpass="g(ANTARES)", brightness=17.15279769897461,
                                          brightness_error=0.1963560730218887)
    PhotometryReducedDatum.objects.create(target=gaia_target, timestamp=T0 + timedelta(days=1), source_name="ZTF",
                                          bandpass="r(ZTF)", limit=20.512345)
    client.force_login(users["viewer"])
    html = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    table = html.split('id="bhtom-latest-points"', 1)[1].split("</table>", 1)[0]
    assert "17.15" in table and "0.20" in table and "17.1527" not in table and "0.1963" not in table
    assert "&gt;20.512" in table and "20.5123" not in table
    download = reverse("bhtom_base:lightcurve-download", kwargs={"pk": gaia_target.pk})
    for fmt in ("csv", "ecsv", "votable"):
        assert f'href="{download}?format={fmt}"' in html
    assert 'id="bhtom-download-form"' in html and 'name="source" value="ANTARES"' in html


@pytest.mark.django_db
def test_button_message_is_true_for_each_backend(users, gaia_target, settings):
    from bhtom_base.models import LightcurveUpdateState

    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status="done", new_points=28)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert update_message(1, gaia_target) == "Updated Gaia14aaa from 1 source: 28 new points."
    LightcurveUpdateState.objects.filter(source="GAIA").update(status="failed", new_points=0)
    assert update_message(1, gaia_target) == ("Updated Gaia14aaa from 1 source: 0 new points; "
                                              "1 failed (in red below the plot).")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    assert update_message(3, gaia_target).startswith("Queued 3 lightcurve updates for Gaia14aaa; background workers")
    assert update_message(0, gaia_target) == "Every source of Gaia14aaa is already queued or running."


def test_custom_css_that_toms_base_template_links_exists():
    from django.contrib.staticfiles import finders

    assert finders.find("tom_common/css/custom.css")  # base.html links it on every page
