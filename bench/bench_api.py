"""Durable receipt creation against the framework's ceiling, on the same gunicorn configuration.

In one run: builds the site (for policies.json/consent.json), starts gunicorn with
deploy/gunicorn.conf.py serving (1) bench/ceiling_app.py, a Flask endpoint returning a
constant JSON body, and (2) the consent API on SQLite (WAL, synchronous=FULL) and, when
reachable, on PostgreSQL; loads each with wrk (Debian's package) from another process
on loopback, POSTing unique valid receipt requests; prints requests per second, p50/p99
latency and the ratio to the ceiling. Every receipt counted got a 201 after its
commit reached stable storage.

Each measurement is repeated (--rounds, default 3), ceiling, SQLite and PostgreSQL taking
turns, and the median is reported: on a 2-core machine with wrk on the same cores, single runs swing widely.

Usage: .venv/bin/python bench/bench_api.py [--seconds 10] [--connections 32] [--rounds 3]
Needs: apt-get install wrk. Goal (issue 6): receipts at >= 75% of the ceiling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.api.conftest import KEY1, PG_URL, postgres_available  # noqa: E402
from tests.harness import build, free_port, wait_until_up  # noqa: E402

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int, version: str) -> dict[str, float]:
    env = dict(os.environ, BENCH_VERSION=version, BENCH_NOW=dt.datetime.now(dt.UTC).isoformat())
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench/receipts.lua"), url],
        env=env, capture_output=True, text=True, check=True,
    )
    out = done.stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} requests failed:\n{done.stderr[:2000]}\n{out}")
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": latency["50"], "p99": latency["99"]}


def gunicorn(app: str | None, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(env, CONSENT_BIND=f"127.0.0.1:{port}")
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"] + ([app] if app else [])
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/api/healthz", process, timeout=60)
    return process, base


def measure(name: str, app: str | None, env: dict[str, str], tmp: Path, args: argparse.Namespace,
            version: str) -> dict[str, float]:
    if app is None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "consent_api", "init-db"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
    log = tmp / f"{name}.log"
    process, base = gunicorn(app, env, log)
    try:
        wrk(base, 2, args.connections, version)  # warm up
        return wrk(base, args.seconds, args.connections, version)
    except SystemExit:
        print(f"--- {name}: server log ---\n{log.read_text()[-6000:]}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)


def alternate(measurements: dict[str, Callable[[], dict[str, float]]], rounds: int) -> dict[str, dict[str, float]]:
    """Run the measurements in turns, ``rounds`` times; the median round of each (by requests per second)."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in measurements}
    for _ in range(rounds):
        for name, measure_once in measurements.items():
            results[name].append(measure_once())
    return {name: sorted(found, key=lambda r: r["rps"])[len(found) // 2] for name, found in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = build(tmp / "site", site_url="https://legal.example/")
        version = json.loads((site / "policies.json").read_text())["policies"]["privacy"]["current"]
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
        base_env.update(CONSENT_SITE_DIR=str(site), CONSENT_SIGNING_KEYS=json.dumps([KEY1]),
                        CONSENT_RATELIMIT="100000000/minute")  # counted (local://), never reached
        measurements = {
            "ceiling": lambda: measure("ceiling", "bench.ceiling_app:create_app()", base_env, tmp, args, version),
            "SQLite durable": lambda: measure(
                "sqlite", None, dict(base_env, DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}"), tmp, args, version),
        }
        if postgres_available():
            from sqlalchemy import create_engine

            from consent_api.storage import metadata

            engine = create_engine("postgresql+psycopg://" + PG_URL.split("://", 1)[1])
            metadata.drop_all(engine)
            engine.dispose()
            measurements["PostgreSQL"] = lambda: measure(
                "postgres", None, dict(base_env, DATABASE_URL=PG_URL), tmp, args, version)
        else:
            print(f"PostgreSQL is not reachable at {PG_URL}: measuring SQLite only", file=sys.stderr)
        found = alternate(measurements, args.rounds)
    print("gunicorn -c deploy/gunicorn.conf.py as deployed (1 gthread worker, 16 threads; its receipt writer); "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s on loopback, unique valid receipt requests; "
          f"median of {args.rounds} rounds")
    print(f"{'':28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'of ceiling':>12}")
    ceiling = found["ceiling"]["rps"]
    for name, r in found.items():
        print(f"{name:28}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['rps'] / ceiling:>12.0%}")


if __name__ == "__main__":
    main()
