"""The consent report on a year of receipts, on SQLite and PostgreSQL.

Fills a fresh database with --receipts receipts spread over the 365 days to 2026-11-30
(tests/api/generated.py: bodies as the API builds them, report columns as it writes them;
three in ten from a visitor seen before; banner 80%, dialog 12%, withdrawal 5%, GPC 3%),
runs ANALYZE (PostgreSQL: VACUUM ANALYZE, what autovacuum does to an insert-only table),
then times the report (counting in the database and rendering the HTML) for the whole year
by month and for October by day, the median of --repeat runs each.

Usage: .venv/bin/python bench/bench_report.py [--receipts 1000000] [--repeat 3]
       .venv/bin/python bench/bench_report.py --smoke    (seconds-long, run by the test suite)
Goal (issue 15): a year of 1,000,000 receipts in under 10 s, a month in under 1 s, on both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consent_api.report import build  # noqa: E402
from consent_api.report_page import render  # noqa: E402
from consent_api.schema import engine_for, metadata  # noqa: E402
from consent_api.sitedata import SiteData  # noqa: E402
from consent_api.storage import ReceiptLog  # noqa: E402
from tests.api.conftest import PG_URL, postgres_available  # noqa: E402
from tests.api.generated import Choice, store  # noqa: E402
from tests.harness import build as build_site  # noqa: E402

END = dt.date(2026, 12, 1)
START = END - dt.timedelta(days=365)


def receipts(count: int, seed: int = 7) -> Iterator[Choice]:
    rng = random.Random(seed)
    span = (END - START).days * 86_400
    seen: list[str] = []
    for n in range(count):
        when = dt.datetime.combine(START, dt.time(), dt.UTC) + dt.timedelta(seconds=rng.randrange(span))
        subject = rng.choice(seen) if seen and rng.random() < 0.3 else f"{rng.getrandbits(128):032x}"
        if len(seen) < 100_000:
            seen.append(subject)
        draw = rng.random()
        method = "banner" if draw < 0.80 else "dialog" if draw < 0.92 else "withdrawal" if draw < 0.97 else "gpc"
        analytics = method in ("banner", "dialog") and rng.random() < (0.6 if when.month % 2 else 0.45)
        advertising = method in ("banner", "dialog") and rng.random() < 0.3
        yield Choice(when, {"necessary": True, "analytics": analytics, "advertising": advertising},
                     version="2025-03-31" if when.date() < dt.date(2026, 11, 22) else "2026-11-22",
                     revision="0123456789abcdef" if n % 7 else "fedcba9876543210", method=method,
                     gpc=method == "gpc", subject=f"{subject[:8]}-{subject[8:12]}-4{subject[13:16]}-8{subject[17:20]}-"
                                                   f"{subject[20:32]}")


def timed(engine: object, site: SiteData, since: dt.date, until: dt.date, by: str, repeat: int) -> tuple[float, float]:
    """Median seconds: counting in the database, and the whole report (counting and rendering)."""
    counting, whole = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        figures = build(engine, site, since, until, by)  # type: ignore[arg-type]
        counted = time.perf_counter()
        render(figures, site_name="bench", generated=dt.datetime.now(dt.UTC))
        counting.append(counted - start)
        whole.append(time.perf_counter() - start)
    return statistics.median(counting), statistics.median(whole)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20,000 receipts, one run")
    args = parser.parse_args()
    count, repeat = (20_000, 1) if args.smoke else (args.receipts, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        build_site(site_dir, site_url="http://127.0.0.1:8000/", date="2026-11-30")
        site = SiteData(site_dir)
        backends = [("SQLite", f"sqlite:///{tmp}/receipts.sqlite3")]
        if postgres_available():
            backends.append(("PostgreSQL", PG_URL))
        else:
            print(f"PostgreSQL not reachable at {PG_URL}: SQLite only")
        print(f"{count:,} receipts from {START} to {END - dt.timedelta(days=1)}; median of {repeat}")
        print(f"{'database':<11} {'load':>9} {'year: count':>12} {'report':>8} {'October: count':>15} {'report':>8}")
        for name, url in backends:
            engine = engine_for(url)
            if name == "PostgreSQL":
                metadata.drop_all(engine)
            ReceiptLog(engine, []).create_schema()
            started = time.perf_counter()
            store(engine, site_dir, receipts(count), batch=10_000)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE" if name == "PostgreSQL" else "ANALYZE")
            load = time.perf_counter() - started
            year = timed(engine, site, START, END, "month", repeat)
            month = timed(engine, site, dt.date(2026, 10, 1), dt.date(2026, 11, 1), "day", repeat)
            print(f"{name:<11} {load:>8.1f}s {year[0]:>11.2f}s {year[1]:>7.2f}s {month[0]:>14.2f}s {month[1]:>7.2f}s")
            if name == "PostgreSQL":
                metadata.drop_all(engine)
            engine.dispose()
    print("goal: the year's report < 10 s and a month's < 1 s on each database (issue 15)")


if __name__ == "__main__":
    main()
