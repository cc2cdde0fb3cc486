"""The pages astronomers live in, in a real headless Chromium at 1440x900 (issue #15).

Every request to a host other than the live server is left hanging (as an
unreachable CDN does offline): the plot must not wait for any of them. The
screenshots of docs/screenshots/ come from these tests.
"""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from astropy.io import ascii as astropy_ascii
from astropy.io.votable import parse_single_table
from astropy.time import Time
from django.utils import timezone
from guardian.shortcuts import assign_perm
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.bands import band_colour
from bhtom_base.summary import refresh_summary

from .conftest import PASSWORD
from .test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"),
    pytest.mark.django_db(transaction=True),
]

VIEWPORT = {"width": 1440, "height": 900}
T0 = datetime(2021, 6, 1, 4, 5, 6, tzinfo=UTC)
NUMBER = re.compile(r"^\d+(\.\d+)?$")


@pytest.fixture
def browser(live_server):
    """A logged-out page at 1440x900; requests to other hosts are recorded and blocked, or with
    ``page.hang_external = True`` never answered (a CDN that does not answer offline)."""
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    hang = {"on": False}

    def route(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
            return
        external.append(route.request.url)
        if not hang["on"]:
            route.abort()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.route("**/*", route)
        page.external_requests = external
        page.hang_external = hang
        yield page
        chromium.close()


def log_in(page, live_server, user: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/", wait_until="commit")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"), wait_until="commit")


@pytest.fixture
def two_surveys(gaia_target):
    """ZTF g/r and ANTARES g/R detections plus ZTF r limits: the g band is in two surveys."""
    rows = []
    for i in range(30):
        when = T0 + timedelta(days=3 * i)
        rows.append(PhotometryReducedDatum(target=gaia_target, timestamp=when, source_name="ZTF", bandpass="g(ZTF)",
                                           brightness=17.0 + 0.01 * i, brightness_error=0.031, telescope="P48"))
        rows.append(PhotometryReducedDatum(target=gaia_target, timestamp=when + timedelta(hours=2),
                                           source_name="ZTF", bandpass="r(ZTF)", brightness=16.5, brightness_error=0.02,
                                           telescope="P48"))
    for i in range(10):
        when = T0 + timedelta(days=5 * i + 1)
        rows.append(PhotometryReducedDatum(target=gaia_target, timestamp=when, source_name="ANTARES",
                                           bandpass="g(ANTARES)", brightness=17.1, brightness_error=0.05))
        rows.append(PhotometryReducedDatum(target=gaia_target, timestamp=when, source_name="ANTARES",
                                           bandpass="R(ANTARES)", brightness=16.4, brightness_error=0.05))
    rows += [PhotometryReducedDatum(target=gaia_target, timestamp=T0 - timedelta(days=10 + i), source_name="ZTF",
                                    bandpass="r(ZTF)", limit=20.5) for i in range(3)]
    PhotometryReducedDatum.objects.bulk_create(rows)
    refresh_summary(gaia_target.pk)
    return rows


def plot_ready(page, timeout: float = 10_000) -> float:
    started = time.monotonic()
    page.wait_for_function("() => window.bhtomLightcurve && window.bhtomLightcurve.ready", timeout=timeout)
    return time.monotonic() - started


def traces(page) -> list[dict]:
    return page.evaluate("""() => document.getElementById('bhtom-lightcurve-plot').data.map(t => ({
        name: t.name, colour: t.marker.color, symbol: t.marker.symbol, n: t.x.length, meta: t.meta}))""")


def tick_texts(page) -> list[str]:
    return page.eval_on_selector_all("#bhtom-lightcurve-plot .xtick text", "nodes => nodes.map(n => n.textContent)")


def test_target_page_plot_first_band_colours_ticks_hover(live_server, users, gaia_target, two_surveys, browser):
    page = browser
    log_in(page, live_server, "member")
    page.hang_external["on"] = True
    page.external_requests.clear()
    started = time.monotonic()
    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="commit")
    plot_ready(page, timeout=10_000)
    elapsed = time.monotonic() - started
    # the page asked for CDN scripts (Alpine, Aladin) that never answer, and the plot did not wait for them
    assert any("cdn.jsdelivr.net" in url or "aladin" in url for url in page.external_requests)
    print(f"plot ready {elapsed:.2f} s after navigation, {len(page.external_requests)} external requests hanging")
    assert elapsed < 8.0, f"plot ready after {elapsed:.1f} s"

    # the plot is the first thing below the name, above the fold at 1440x900
    name_box = page.locator("#bhtom-target-heading h3").bounding_box()
    plot_box = page.locator("#bhtom-lightcurve-plot").bounding_box()
    assert name_box["y"] < plot_box["y"] < 260 and plot_box["y"] + plot_box["height"] / 2 < VIEWPORT["height"]
    assert page.locator("#bhtom-lightcurve-plot .main-svg").first.is_visible()

    # colour by physical band: g is the same in ZTF and ANTARES; marker shape by survey
    shown = traces(page)
    g = [t for t in shown if t["meta"]["band"] == "g"]
    assert {t["meta"]["source"] for t in g} == {"ZTF", "ANTARES"}
    assert {t["colour"] for t in g} == {band_colour("g(ZTF)")}
    assert len({t["symbol"] for t in g}) == 2
    r_like = {t["meta"]["band"]: t["colour"] for t in shown if t["meta"]["band"] in ("r", "R")}
    assert r_like["r"] != r_like["R"] != band_colour("g(ZTF)")
    names = {t["name"] for t in shown}
    assert {"ZTF g", "ANTARES g", "ZTF r", "ANTARES R", "ZTF r limit"} <= names
    assert not any("[" in name or "(" in name for name in names)  # no internal keys in the legend
    legend = page.eval_on_selector_all("#bhtom-lightcurve-plot .legend .traces", "ts => ts.map(t => t.textContent)")
    assert set(legend) == {"ZTF g", "ANTARES g", "ZTF r", "ANTARES R"}, legend
    limits = [t for t in shown if t["symbol"] == "triangle-down"]
    assert [t["n"] for t in limits] == [3]

    # MJD and JD ticks are full numbers (no 58.3k / 2.4585M)
    page.select_option("#bhtom-time-axis", "mjd")
    mjd_ticks = [text.replace("\u2212", "-") for text in tick_texts(page)]
    assert mjd_ticks and all(NUMBER.match(text) and 59000 < float(text) < 60000 for text in mjd_ticks), mjd_ticks
    page.select_option("#bhtom-time-axis", "jd")
    jd_ticks = tick_texts(page)
    assert jd_ticks and all(NUMBER.match(text) and 2459000 < float(text) < 2460000 for text in jd_ticks), jd_ticks

    # hover: full date, MJD, magnitude ± error, band, survey
    page.select_option("#bhtom-time-axis", "date")
    # the mouse on the latest ZTF g point (well apart from the others)
    x, y = page.evaluate("""() => {
        const gd = document.getElementById('bhtom-lightcurve-plot');
        const trace = gd.data.find(t => t.name === 'ZTF g');
        const last = trace.x.indexOf([...trace.x].sort().at(-1));
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
        return [box.left + xa._offset + xa.l2p(xa.d2l(trace.x[last])), box.top + ya._offset + ya.l2p(trace.y[last])];
    }""")
    page.mouse.move(x, y)
    page.wait_for_selector("#bhtom-lightcurve-plot .hoverlayer .hovertext")
    hover = page.eval_on_selector_all("#bhtom-lightcurve-plot .hoverlayer .hovertext tspan.line",
                                      "spans => spans.map(s => s.textContent).join('\\n')")
    latest = max((row for row in two_surveys if row.bandpass == "g(ZTF)"), key=lambda row: row.timestamp)
    assert f"{latest.timestamp:%Y-%m-%d %H:%M:%S} UTC" in hover, hover
    assert f"MJD {Time(latest.timestamp).mjd:.5f}" in hover
    assert f"{latest.brightness:.3f} ± 0.031 mag" in hover and "g band" in hover and "ZTF" in hover
    page.screenshot(path=str(SCREENSHOTS / "target_lightcurve.png"), clip={"x": 0, "y": 0, **VIEWPORT})

    # zoom and pan are kept when the points reload (as after an update)
    page.evaluate("() => Plotly.relayout('bhtom-lightcurve-plot', {'xaxis.range': ['2021-07-01', '2021-08-01']})")
    loads = page.evaluate("() => window.bhtomLightcurve.loads")
    page.evaluate("() => window.bhtomLightcurve.reload()")
    page.wait_for_function(f"() => window.bhtomLightcurve.loads > {loads} && window.bhtomLightcurve.ready")
    kept = page.evaluate("() => document.getElementById('bhtom-lightcurve-plot')._fullLayout.xaxis.range")
    assert [value[:10] for value in kept] == ["2021-07-01", "2021-08-01"]

    # survey status: one line for each survey with points; the others folded with their reason
    page.mouse.move(5, 5)
    page.evaluate("() => Plotly.relayout('bhtom-lightcurve-plot', {'xaxis.autorange': true})")
    page.screenshot(path=str(SCREENSHOTS / "target_page.png"))


@pytest.fixture
def four_sources(settings, gaia_target):
    """Gaia Alerts failed, Gaia DR3 not in this survey, TNS not configured, ZTF DR never run."""
    from bhtom_base.models import LightcurveUpdateState, UpdateStatus

    settings.TOM_ALERT_CLASSES = ["bhtom2.brokers.gaia_alerts.GaiaAlertsBroker", "bhtom2.brokers.tns.TNSBroker",
                                 "bhtom2.brokers.gaia_dr3.GaiaDR3Broker", "bhtom2.brokers.ztf_dr.ZTFDataReleaseBroker"]
    now = timezone.now()
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.FAILED,
                                         last_attempt=now, last_error="gsaweb.ast.cam.ac.uk: HTTP 500")
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA_DR3", status=UpdateStatus.NO_SURVEY_NAME,
                                         last_attempt=now, last_error="no Gaia DR3 source within 1 arcsec")


def test_status_lines_fold_the_quiet_surveys_and_show_failures_in_red(live_server, users, gaia_target, four_sources,
                                                                        browser):
    page = browser
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="commit")
    plot_ready(page)
    failed = page.locator("#bhtom-update-status .bhtom-status-lines [data-source=GAIA]")
    assert "HTTP 500" in failed.inner_text()
    colour = failed.locator(".bhtom-status-error").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(220, 53, 69)"  # Bootstrap's danger red
    summary = page.locator("#bhtom-status-folded summary")
    assert summary.inner_text() == "3 other surveys: 1 never run, 1 not configured, 1 not in this survey"
    tns = page.locator("#bhtom-status-folded [data-source=TNS]")
    assert not tns.is_visible()
    summary.click()
    assert "TNS_API_KEY" in tns.inner_text()  # the reason, once expanded
    assert tns.evaluate("e => getComputedStyle(e.querySelector('.bhtom-status')).color") != colour  # neutral
    assert "within 1 arcsec" in page.inner_text("#bhtom-status-folded [data-source=GAIA_DR3]")


def test_empty_target_says_no_photometry_yet(live_server, users, gaia_target, browser):
    page = browser
    log_in(page, live_server, "member")
    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="commit")
    plot_ready(page)
    assert page.locator("#bhtom-lightcurve-empty").is_visible()
    assert "No photometry yet for Gaia14aaa" in page.inner_text("#bhtom-lightcurve-empty")
    assert not page.locator("#bhtom-lightcurve-plot").is_visible()  # no empty axes (-1...4 mag, year 2000)


@pytest.mark.parametrize("fmt", ["csv", "ecsv", "votable"])
def test_download_from_the_target_page(live_server, users, gaia_target, two_surveys, browser, fmt, tmp_path):
    page = browser
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}/targets/{gaia_target.pk}/", wait_until="commit")
    page.click("#bhtom-download summary")
    page.select_option("#bhtom-download-form select[name=format]", fmt)
    page.check("#bhtom-download-form input[name=source][value=ZTF]")
    with page.expect_download() as info:
        page.click("#bhtom-download-button")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    table = (parse_single_table(str(path)).to_table() if fmt == "votable"
             else astropy_ascii.read(str(path), format="ecsv" if fmt == "ecsv" else "csv"))
    ztf = [row for row in two_surveys if row.source_name == "ZTF"]
    assert len(table) == len(ztf) and set(table["survey"]) == {"ZTF"}
    assert sorted(round(float(v), 6) for v in table["mjd"]) == sorted(round(Time(r.timestamp).mjd, 6) for r in ztf)


@pytest.fixture
def listed_targets(users):
    """Faint (seen a day ago), Bright (40 days ago) and Outburst (2 mag up five hours ago)."""
    viewer = users["viewer"]
    now = timezone.now()
    for name, mags, days_ago in [("Faint", [19.0] * 8, 1), ("Bright", [13.0] * 8, 40),
                                 ("Outburst", [17.0, 17.02, 16.98, 17.01, 16.99, 17.0, 17.03, 15.0], 0.2)]:
        target = Target.objects.create(name=name, type="SIDEREAL", ra=10, dec=10)
        assign_perm("tom_targets.view_target", viewer, target)
        last = now - timedelta(days=days_ago)
        PhotometryReducedDatum.objects.bulk_create([
            PhotometryReducedDatum(target=target, timestamp=last - timedelta(days=10 * (len(mags) - 1 - i)),
                                   source_name="ZTF", bandpass="g(ZTF)", brightness=mag, brightness_error=0.03)
            for i, mag in enumerate(mags)])
        refresh_summary(target.pk)


def test_target_list_sorts_by_last_magnitude_and_marks_brightened(live_server, users, listed_targets, browser):
    page = browser
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}/targets/", wait_until="domcontentloaded")

    def names() -> list[str]:
        return page.eval_on_selector_all("div.table-container tbody tr td:nth-child(2) a",
                                         "links => links.map(a => a.textContent.trim())")

    page.click("div.table-container th:has-text('Last magnitude')")  # htmx: the table alone is replaced
    page.wait_for_function("""() => [...document.querySelectorAll('div.table-container tbody tr td:nth-child(2) a')]
        .map(a => a.textContent.trim()).slice(0, 3).join() === 'Bright,Outburst,Faint'""", timeout=5_000)
    assert names()[:3] == ["Bright", "Outburst", "Faint"]
    row = page.locator("div.table-container tbody tr", has_text="Outburst")
    assert "15.00 ± 0.03 (g, ZTF)" in row.inner_text() and "h ago" in row.inner_text()
    assert row.locator(".bhtom-brightened-badge").is_visible()
    assert page.locator(".bhtom-brightened-badge").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "target_list.png"))

    page.fill("input[name=seen_within_days]", "3")
    page.wait_for_function("""() => [...document.querySelectorAll('div.table-container tbody tr td:nth-child(2) a')]
        .map(a => a.textContent.trim()).sort().join() === 'Faint,Outburst'""", timeout=5_000)
