"""Target page with 50,000 points: TOM Toolkit's page vs ours, side by side, in one run.

    cd <repo> && /work/main/.venv/bin/python bench/plot_page.py [--points 50000] [--repeat 3]

A fresh SQLite database in a temporary directory (migrated here), one target
with N photometry points (3 bands, 10 % of them upper limits), a superuser,
then Django's test client (no network, no browser):

- TOM's page: ``/targets/<pk>/`` rendered with TOM Toolkit's own template
  (the project's template override switched off): plotly.js and the points
  inlined in the HTML.
- Our page: the same URL with our template, plus what the browser then fetches
  once: the lightcurve JSON, plotly.js (from the plotly package, gzip as every
  browser asks for it) and lightcurve.js.

Times are wall-clock of the server side (the client's request through every
middleware, view and template), best of ``--repeat`` after one warm-up.
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(db_path: Path) -> None:
    os.environ["SQLITE_PATH"] = str(db_path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_target(points: int):
    import numpy as np
    from django.utils import timezone
    from tom_dataproducts.models import PhotometryReducedDatum
    from tom_targets.models import Target

    target = Target.objects.create(name="Bench50k", type="SIDEREAL", ra=10.0, dec=20.0,
                                   permissions=Target.Permissions.PRIVATE)
    rng = np.random.default_rng(42)
    start = timezone.now() - timezone.timedelta(days=3650)
    offsets = np.sort(rng.uniform(0, 3650 * 86400, points))
    bands = np.array(["g(ZTF)", "r(ZTF)", "G(Gaia Alerts)"])[rng.integers(0, 3, points)]
    mags = rng.normal(17.0, 0.5, points)
    errs = rng.uniform(0.01, 0.1, points)
    is_limit = rng.random(points) < 0.1
    rows = []
    for i in range(points):
        limit = bool(is_limit[i])
        rows.append(PhotometryReducedDatum(
            target=target, timestamp=start + timezone.timedelta(seconds=float(offsets[i])),
            bandpass=str(bands[i]), source_name="BENCH", telescope="bench",
            brightness=None if limit else float(mags[i]), brightness_error=None if limit else float(errs[i]),
            limit=float(mags[i]) + 2.0 if limit else None, unit="AB mag",
        ))
    PhotometryReducedDatum.objects.bulk_create(rows, batch_size=5000)
    return target


def timed_get(client, url: str, repeat: int, **headers) -> tuple[float, bytes, int]:
    client.get(url, **headers)  # warm-up: templates compiled, caches filled
    best, body, status = float("inf"), b"", 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, **headers)
        elapsed = time.perf_counter() - started
        content = response.content if not response.streaming else b"".join(response.streaming_content)
        if elapsed < best:
            best, body, status = elapsed, content, response.status_code
    return best, body, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs of our page (best is kept)")
    parser.add_argument("--tom-repeat", type=int, default=1, help="measured runs of TOM's page")
    parser.add_argument("--skip-tom", action="store_true", help="measure our page only")
    parser.add_argument("--profile", action="store_true", help="cProfile our page and data endpoint")
    parser.add_argument("--dump", type=Path, help="write both pages' HTML into this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp) / "bench.sqlite3")
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.staticfiles import finders
        from django.test import Client, override_settings
        from django.urls import reverse

        from bhtom_base.views import plotly_js_version

        started = time.perf_counter()
        target = make_target(args.points)
        print(f"{args.points} points written in {time.perf_counter() - started:.1f} s "
              f"(fresh SQLite {Path(tmp) / 'bench.sqlite3'})")
        user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench-password-42")
        client = Client()
        client.force_login(user)
        page_url = reverse("targets:detail", kwargs={"pk": target.pk})

        tom_templates = [{**settings.TEMPLATES[0], "DIRS": []}]  # TOM's own tom_targets/target_detail.html
        if args.skip_tom:
            tom_time, tom_body = float("nan"), b""
        else:
            with override_settings(TEMPLATES=tom_templates):
                tom_time, tom_body, tom_status = timed_get(client, page_url, args.tom_repeat)
            assert tom_status == 200 and b"bhtom-lightcurve-plot" not in tom_body
        if args.profile:
            import cProfile
            import pstats

            data_url = reverse("bhtom_base:lightcurve-data", kwargs={"pk": target.pk})
            for url in (page_url, data_url):
                client.get(url)
                profiler = cProfile.Profile()
                profiler.runcall(client.get, url)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        page_time, page_body, status = timed_get(client, page_url, args.repeat)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            (args.dump / "tom_page.html").write_bytes(tom_body)
            (args.dump / "our_page.html").write_bytes(page_body)
        assert status == 200 and b"bhtom-lightcurve-plot" in page_body
        data_url = reverse("bhtom_base:lightcurve-data", kwargs={"pk": target.pk})
        data_time, data_body, status = timed_get(client, data_url, args.repeat, HTTP_ACCEPT_ENCODING="gzip")
        assert status == 200
        js_url = reverse("bhtom_base:plotly-js", kwargs={"version": plotly_js_version()})
        js_time, js_body, status = timed_get(client, js_url, args.repeat, HTTP_ACCEPT_ENCODING="gzip")
        assert status == 200
        plotly_raw = len(gzip.decompress(js_body))
        own_js = Path(finders.find("bhtom_base/lightcurve.js")).stat().st_size

        ours_time = page_time + data_time + js_time
        ours_bytes = len(page_body) + len(data_body) + len(js_body) + own_js
        mb = 1e6
        print()
        print(f"{'':38}{'time (s)':>10}{'size (MB)':>12}")
        print(f"{'TOM Toolkit 3.1 target page':38}{tom_time:10.3f}{len(tom_body) / mb:12.3f}")
        print(f"{'ours: target page HTML':38}{page_time:10.3f}{len(page_body) / mb:12.3f}")
        print(f"{'ours: lightcurve JSON':38}{data_time:10.3f}{len(data_body) / mb:12.3f}")
        print(f"{'ours: plotly.min.js (gzip)':38}{js_time:10.3f}{len(js_body) / mb:12.3f}"
              f"   ({plotly_raw / mb:.3f} MB uncompressed)")
        print(f"{'ours: lightcurve.js':38}{'':>10}{own_js / mb:12.3f}")
        print(f"{'ours: total':38}{ours_time:10.3f}{ours_bytes / mb:12.3f}")
        print(f"{'ours, without gzip of plotly.js':38}{'':>10}{(ours_bytes - len(js_body) + plotly_raw) / mb:12.3f}")
        print()
        print(f"ratio TOM / ours: time {tom_time / ours_time:.1f}x, size {len(tom_body) / ours_bytes:.1f}x")
        goal = ours_time < 1.0 and ours_bytes < 3 * mb
        print(f"goal (< 1 s and < 3 MB with plotly.js): {'met' if goal else 'NOT met'}")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end of the run")


if __name__ == "__main__":
    main()
