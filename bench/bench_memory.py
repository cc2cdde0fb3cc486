"""Memory benchmark: peak RSS of one process ingesting a 1,000,000-point lightcurve.

The frame is built, cleaned (``clean_lightcurve``, as every update does) and
ingested through ``prepare_rows`` + ``reconcile`` (inserted in chunks of
``BATCH_SIZE`` rows, all in one transaction) into a fresh SQLite database. The peak resident
set size of the whole process (Python, Django, pandas, the frame and the
ingest) is read from ``getrusage`` at the end.

    /work/main/.venv/bin/python bench/bench_memory.py [--points 1000000]
"""
from __future__ import annotations

import argparse
import resource
import time

import _django
from bench_ingest import make_target, project_path, synthetic_lightcurve


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    _django.setup()
    from bhtom_base.ingest import BATCH_SIZE
    from bhtom_base.lightcurve import clean_lightcurve

    target_id = make_target()
    _django.fresh_database("memory")
    frame, _ = synthetic_lightcurve(args.points)
    cleaned = clean_lightcurve(frame)
    del frame
    before = rss_mb()
    start = time.perf_counter()
    result = project_path(cleaned, target_id)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.added == len(cleaned) == args.points, result
    print(f"{args.points:,} points ingested in {elapsed:.1f} s ({result.added:,} rows, chunks of {BATCH_SIZE:,})")
    print(f"RSS with Django, the frame and the cleaned frame loaded: {before:.0f} MB")
    print(f"peak RSS of the whole process: {peak:.0f} MB (goal < 1024 MB)")
    _django.cleanup()


if __name__ == "__main__":
    main()
