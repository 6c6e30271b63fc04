"""The README's run command: build the site and serve it on one port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT, Served, clean_env, fetch, wait_until_up


def test_the_readme_run_command_serves_the_site_and_the_api_on_port_8000(tmp_path: Path) -> None:
    """``make run``, exactly as the README says, from the repository."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8000)) == 0:
            pytest.fail("port 8000 is already in use: stop what listens there to run this test")
    env = clean_env("LEGAL_")
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=log,
                                   start_new_session=True)
        base = "http://127.0.0.1:8000/"
        try:
            wait_until_up(base, process, timeout=300)
            status, headers, body = fetch(base + "privacy/")
            assert status == 200 and headers["Content-Type"].startswith("text/html")
            assert b'id="imr-consent-config"' in body  # the widget, pointed at the API below
            status, headers, _ = fetch(base + "policies.json")
            assert (status, headers["Content-Type"]) == (200, "application/json")
            status, _, body = fetch(base + "api/healthz")  # the consent API, on the same port
            assert (status, json.loads(body)) == (200, {"status": "ok", "sealing": "ok", "held_out_of_log": 0})
            status, _, body = fetch(base + ".well-known/gpc.json")
            assert status == 200 and b'"gpc": true' in body
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- make run said:\n{log_path.read_text()[-3000:]}") from None
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def test_server_answers_missing_and_escaping_paths_with_404(site: Served) -> None:
    for path in ("no-such-page/", "..%2f..%2fetc/passwd", "../pyproject.toml"):
        status, _, _ = fetch(site.base_url + path)
        assert status == 404, path
