"""The target page in a real headless Chromium: log in, press the button, see the status and the points.

Runs against pytest-django's live server (transactional database) with the
Gaia Alerts survey served by the replay server. Screenshots go to
docs/screenshots/.
"""
from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from astropy.time import Time
from tom_dataproducts.models import PhotometryReducedDatum

from ..conftest import fixture_bytes
from .conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"),
]

PLOTTED_POINTS_JS = """() => {
  const plot = document.getElementById('bhtom-lightcurve-plot');
  return (plot && plot.data) ? plot.data.reduce((n, trace) => n + trace.x.length, 0) : -1;
}"""


def gaia14aaa_expected() -> tuple[int, float]:
    """Points with a magnitude in the recorded Gaia14aaa file, and the MJD (UTC) of the first one."""
    lines = fixture_bytes("gaia_alerts/Gaia14aaa.csv").decode().splitlines()[2:]  # name line, header line
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines))) if row]
    good = [row for row in rows if row[2] not in ("null", "untrusted")]
    first_jd_tcb = min(float(row[1]) for row in good)
    return len(good), Time(first_jd_tcb, format="jd", scale="tcb").utc.mjd


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright  # requirements-dev.txt; never `playwright install`

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        yield page
        browser.close()


@pytest.fixture
def ztf_points(gaia_target):
    """A few points of another source (5 detections, 2 limits) to exercise the source filter."""
    t0 = datetime(2019, 6, 1, tzinfo=UTC)
    rows = [PhotometryReducedDatum(target=gaia_target, timestamp=t0 + timedelta(days=i), source_name="ZTF",
                                   bandpass="g(ZTF)", brightness=17.0 + i / 10, brightness_error=0.05)
            for i in range(5)]
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=t0 + timedelta(days=10 + i), source_name="ZTF",
                                    bandpass="g(ZTF)", limit=20.5) for i in range(2)]
    PhotometryReducedDatum.objects.bulk_create(rows)
    return len(rows)


@pytest.mark.django_db(transaction=True)
def test_update_button_status_panel_and_plot(live_server, replay, users, gaia_target, ztf_points, browser_page):
    expected, first_mjd = gaia14aaa_expected()
    page = browser_page
    # Nothing leaves the machine: only the live server is reachable (base.html also names CDNs).
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
               else route.abort())

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "member")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state("domcontentloaded")

    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="domcontentloaded")
    assert page.get_attribute("#bhtom-update-status [data-source=GAIA]", "data-status") == "never_run"
    page.wait_for_function("() => window.bhtomLightcurve && window.bhtomLightcurve.ready")
    assert page.evaluate(PLOTTED_POINTS_JS) == ztf_points
    survey_link = page.locator("#bhtom-survey-names a")
    assert survey_link.inner_text() == "Gaia14aaa"
    assert survey_link.get_attribute("href").endswith("/alerts/alert/Gaia14aaa/")

    page.click("#bhtom-update-button")
    page.wait_for_selector("#bhtom-update-status[data-finished=true] [data-source=GAIA][data-status=done]")
    assert f"{expected} new points" in page.inner_text("#bhtom-update-status [data-source=GAIA]")
    # the immediate backend already ran the update: the message says what came of it, in view below the navbar
    message = page.locator(".alert", has_text="Updated Gaia14aaa").first  # (TOM repeats it in a hidden tab)
    assert f"from 1 source: {expected} new points." in message.inner_text()
    navbar_bottom = page.locator("nav.fixed-top").bounding_box()["height"]
    for box in (message.bounding_box(), page.locator("#bhtom-target-heading h3").bounding_box()):
        assert navbar_bottom <= box["y"] and box["y"] + box["height"] <= 900
    page.wait_for_function(f"() => ({PLOTTED_POINTS_JS})() === {expected + ztf_points}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "target_after_update.png"), full_page=True)

    # limits are downward triangles on an inverted magnitude axis, drawn with WebGL
    traces = page.evaluate("""() => document.getElementById('bhtom-lightcurve-plot').data.map(
        t => ({type: t.type, name: t.name, symbol: t.marker.symbol || 'circle', n: t.x.length}))""")
    assert {trace["type"] for trace in traces} == {"scattergl"}
    limits = [trace for trace in traces if trace["symbol"] == "triangle-down"]
    assert [trace["n"] for trace in limits] == [2]
    low, high = page.evaluate("() => document.getElementById('bhtom-lightcurve-plot')._fullLayout.yaxis.range")
    assert low > high  # bright at the top

    # MJD axis: the earliest Gaia point where the recorded JD(TCB) says it is
    page.select_option("#bhtom-time-axis", "mjd")
    gaia_min = page.evaluate("""() => Math.min(...document.getElementById('bhtom-lightcurve-plot').data
        .filter(t => t.meta.source === 'GAIA').flatMap(t => t.x))""")
    assert gaia_min == pytest.approx(first_mjd, abs=2e-6)

    # source filter: hide ZTF, only the Gaia points remain
    page.uncheck("#bhtom-source-filter input[data-value=ZTF]")
    assert page.evaluate(PLOTTED_POINTS_JS) == expected


@pytest.mark.django_db(transaction=True)
def test_status_panel_polls_until_a_worker_finishes(live_server, replay, users, gaia_target, browser_page,
                                                    settings):
    """Production-like: the button only queues (a worker runs the task later); the panel polls, shows
    'queued', then 'done' once the worker has finished, and the plot reloads its points by itself."""
    from bhtom_base.tasks import update_target_source

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # nothing runs
    expected, _ = gaia14aaa_expected()
    page = browser_page
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
               else route.abort())
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "member")
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state("domcontentloaded")
    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="domcontentloaded")
    page.click("#bhtom-update-button")
    page.wait_for_selector("#bhtom-update-status[data-finished=false] [data-source=GAIA][data-status=queued]")
    message = page.locator(".alert").first.inner_text()
    assert "Queued 1 lightcurve update for Gaia14aaa; background workers run them" in message
    page.wait_for_function("() => window.bhtomLightcurve && window.bhtomLightcurve.ready")
    assert page.locator("#bhtom-lightcurve-empty").is_visible()  # "No photometry yet", no empty axes

    # What `manage.py db_worker` would do; in a thread, as Playwright's event loop owns this one.
    with ThreadPoolExecutor(1) as worker:
        worker.submit(update_target_source.call, gaia_target.pk, "GAIA", True).result()

    page.wait_for_selector("#bhtom-update-status[data-finished=true] [data-source=GAIA][data-status=done]",
                           timeout=15_000)
    page.wait_for_function(f"() => ({PLOTTED_POINTS_JS})() === {expected}", timeout=15_000)
