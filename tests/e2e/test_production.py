"""The production deployment (deploy/nginx in front of the static site, gunicorn workers on
PostgreSQL): the security headers, the cache lifetimes, the GPC statement, a strict
Content-Security-Policy, and access logs without addresses or tokens."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Product, Visitor
from tests.harness import ROOT, fetch

pytestmark = pytest.mark.browser


def test_pages_carry_the_security_headers_and_are_revalidated(production: Product) -> None:
    status, headers, body = fetch(production.url("privacy/"))
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Cache-Control"] == "no-cache"
    meta = re.search(rb'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', body)
    assert meta is not None
    script_src = re.search(rb"script-src ([^;]+)", meta.group(1))
    assert script_src is not None and b"'unsafe-inline'" not in script_src.group(1)
    assert b"'unsafe-eval'" not in meta.group(1)


def test_hashed_assets_are_cached_for_a_year(production: Product) -> None:
    _, _, page = fetch(production.url("privacy/"))
    assets = re.findall(rb'(?:src|href)="([^"]*assets/[^"]+\.[0-9a-f]{8,}(?:\.min)?\.(?:js|css))"', page)
    assert any(b"consent" in a for a in assets) and any(b"bundle" in a for a in assets)
    for asset in assets:
        status, headers, _ = fetch(production.url("privacy/" + asset.decode()))
        assert status == 200, asset
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", asset
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_site_states_that_it_honours_gpc(production: Product) -> None:
    status, headers, body = fetch(production.url(".well-known/gpc.json"))
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"gpc": True, "lastUpdate": "2026-11-22"}


def test_a_script_injected_into_a_page_is_refused(
    production: Product, visitor_for: Callable[..., Visitor]
) -> None:
    visitor = visitor_for(production)
    visitor.open("privacy/")
    refused = visitor.page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective));
        const s = document.createElement('script');
        s.textContent = 'window.__injected = true';
        document.body.append(s); })""")
    assert refused == "script-src-elem"
    assert visitor.page.evaluate("window.__injected === undefined")


def test_the_api_behind_nginx_answers_with_its_own_headers(production: Product) -> None:
    status, headers, body = fetch(production.url("api/healthz"))
    assert (status, json.loads(body)) == (200, {"status": "ok", "sealing": "ok", "held_out_of_log": 0})
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_access_logs_keep_neither_addresses_nor_receipt_tokens(production: Product) -> None:
    secret = "a-receipt-token-that-must-not-be-logged"
    status, _, _ = fetch(production.url(f"api/v1/receipts/{uuid.uuid4()}?token={secret}"))
    assert status == 401  # a token in a URL is never taken
    assert production.access_log is not None
    deadline = time.monotonic() + 10  # nginx writes the line in its log phase, after the answer has gone
    while "/api/v1/receipts/" not in (log := production.access_log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "/api/v1/receipts/" in log and "127.0.0.0 " in log
    assert "127.0.0.1" not in log and secret not in log


def test_the_daily_rebuild_switches_the_served_site_in_one_step(tmp_path: Path) -> None:
    env = {**os.environ, "LEGAL_SITE_URL": "https://legal.example.com/", "NO_MKDOCS_2_WARNING": "1",
           "IMAROUTER_LEGAL": str(Path(sys.executable).parent / "imarouter-legal")}
    served = tmp_path / "srv"
    for date in ("2026-03-01", "2026-11-22"):  # the day before, then the day a version takes effect
        result = subprocess.run([str(ROOT / "deploy" / "rebuild.sh"), str(served)],
                                env={**env, "LEGAL_BUILD_DATE": date}, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    builds = sorted((served / "builds").iterdir())
    assert len(builds) == 2 and (served / "site").resolve() == builds[-1]
    page = (served / "site" / "privacy" / "index.html").read_text()
    assert 'datetime="2026-11-22"' in page
    assert (served / "site" / ".well-known" / "gpc.json").is_file()


def api_errors_are_json_and_logs_keep_no_secret(port: int, logs: Path) -> None:
    """With the API down: nginx answers under /api/ in the API's JSON with its headers, and no
    log line holds a token, an address from a query string, or the client's address."""
    import json
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    secret = "eyJTOKEN.SECRET-never-logged"

    def call(method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
        try:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            connection.close()

    down = call("GET", f"/api/v1/receipts/6f1f6c43-6d2f-4a3e-9a55-2b8f0d2f3c11?token={secret}")
    too_large = call("POST", "/api/v1/receipts", b'{"pad": "' + b"x" * 20000 + b'"}')
    call("GET", "/privacy/?email=visitor@example.com")
    for (status, headers, body), expected in ((down, (503, "unavailable")), (too_large, (413, "too_large"))):
        assert (status, json.loads(body)["error"]) == expected
        assert headers["content-type"].startswith("application/json")
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"].startswith("default-src 'none'")
    assert down[1]["retry-after"] == "10"
    time.sleep(0.2)  # nginx writes its logs as it answers; give the writes a moment
    lines = [line for log in logs.glob("*.log") for line in log.read_text().splitlines()]
    assert any('"GET /api/v1/receipts/6f1f6c43-6d2f-4a3e-9a55-2b8f0d2f3c11 HTTP/1.1" 503' in line for line in lines)
    for line in lines:
        assert secret not in line and "SECRET" not in line, line
        assert "visitor@example.com" not in line, line
        assert "127.0.0.1" not in line and "client:" not in line, line


def test_the_server_file_the_readme_installs_passes_nginx_t_and_redirects_to_its_own_name(tmp_path: Path) -> None:
    """deploy/nginx/imarouter-legal.conf as an operator installs it, on Debian's nginx: only the
    ports, the certificate and the log paths are changed, to run it here."""
    from tests.e2e.conftest import NGINX, install_nginx
    from tests.harness import free_port

    http_port, https_port = free_port(), free_port()
    args = install_nginx(tmp_path, site_dir=tmp_path / "no-site", api_port=9, http_port=http_port,
                         https_port=https_port)  # port 9: the API is down
    checked = subprocess.run([NGINX, "-t", *args], capture_output=True, text=True)
    assert checked.returncode == 0 and "[emerg]" not in checked.stderr, checked.stderr
    server = subprocess.Popen([NGINX, *args, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
            try:
                connection.request("GET", "/privacy/", headers={"Host": "evil.example"})
                answer = connection.getresponse()
                status, location, software = answer.status, answer.getheader("Location"), answer.getheader("Server")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            finally:
                connection.close()
        assert status == 301
        assert location == "https://legal.example.com/privacy/"  # the configured name, not the client's Host
        assert software == "nginx"  # no version
        api_errors_are_json_and_logs_keep_no_secret(https_port, tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=10)
