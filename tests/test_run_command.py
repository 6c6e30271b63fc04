"""The README's run command: build the site and serve it on one port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, Served, fetch, free_port, wait_until_up


def test_serve_builds_the_site_and_serves_it_with_the_api(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "DATABASE_URL"}
    env.update(CONSENT_KEY_FILE=str(tmp_path / "keys.json"), DATABASE_URL=f"sqlite:///{tmp_path}/c.sqlite3")
    process = subprocess.Popen(
        [sys.executable, "-m", "legal_pages.cli", "serve", "--port", str(port),
         "--site-dir", str(tmp_path / "site"), "--date", "2026-11-22"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
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
        status, _, body = fetch(base + "api/healthz")  # the consent API, on the same port
        assert (status, body) == (200, b'{"status":"ok"}\n')
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_server_answers_missing_and_escaping_paths_with_404(site: Served) -> None:
    for path in ("no-such-page/", "..%2f..%2fetc/passwd", "../pyproject.toml"):
        status, _, _ = fetch(site.base_url + path)
        assert status == 404, path
