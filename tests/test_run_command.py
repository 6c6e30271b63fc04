"""The README's run command: build the site and serve it on one port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, Served, fetch, free_port, wait_until_up


def test_serve_builds_the_site_and_answers_with_the_current_policy(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "legal_pages.cli", "serve", "--port", str(port),
         "--site-dir", str(tmp_path / "site"), "--date", "2026-11-22"],
        cwd=ROOT, stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(base, process, timeout=120)
        status, headers, body = fetch(base + "privacy/")
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert b"Effective <time datetime=\"2026-11-22\">November 22, 2026</time>" in body
        status, headers, _ = fetch(base + "policies.json")
        assert (status, headers["Content-Type"]) == (200, "application/json")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_server_answers_missing_and_escaping_paths_with_404(site: Served) -> None:
    for path in ("no-such-page/", "..%2f..%2fetc/passwd", "../pyproject.toml"):
        status, _, _ = fetch(site.base_url + path)
        assert status == 404, path
