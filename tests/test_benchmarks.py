"""Every benchmark also runs here, in its seconds-long smoke mode, so that a change that breaks
one (a renamed endpoint, a new Content-Security-Policy) fails the build instead of rotting."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.harness import ROOT, clean_env


def run_bench(*args: str) -> str:
    env = clean_env("LEGAL_")
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)  # the figures, in the test's output
    return done.stdout


def test_the_api_benchmark_runs_and_every_receipt_is_sealed() -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed (scripts/install-system-deps.sh installs it)")
        pytest.skip("wrk is not installed (scripts/install-system-deps.sh installs it)")
    out = run_bench("bench/bench_api.py", "--smoke")
    rows = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    assert {"ceiling", "SQLite"} <= rows, out
    assert "forged compressed token of 7.5 KB" in out, out
    assert "sealer's checks per turn:" in out and "of the baseline HEAD's rate" in out, out


def test_the_build_benchmark_runs() -> None:
    out = run_bench("bench/bench_build.py", "--smoke")
    assert "engine time growth when versions double" in out, out
    assert "engine warm rebuild over baseline at 5 versions:" in out, out
    assert "compare page at 4 versions:" in out, out
    assert re.search(r"the real site \(docs/, 7 languages, \d+ pages\): \d+\.\d+ s", out), out


def test_the_widget_benchmark_runs() -> None:
    out = run_bench("bench/bench_widget.py", "--smoke")
    assert "banner time ours / vanilla:" in out and "JS + CSS:" in out, out
    assert "Per language, gzip -9 (bytes): JS + CSS" in out and re.search(r" de \d+ / \d+", out), out
    assert "changes page, CPU 4x slower" in out and "LCP ours - no widget:" in out, out


def test_the_report_benchmark_runs() -> None:
    out = run_bench("bench/bench_report.py", "--smoke")
    assert out.splitlines()[2].split()[0] == "SQLite" and "20,000 receipts" in out, out
    if os.environ.get("CI"):  # scripts/install-system-deps.sh starts PostgreSQL there
        assert "PostgreSQL not reachable" not in out and out.splitlines()[3].split()[0] == "PostgreSQL", out
