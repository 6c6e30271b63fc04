"""The whole product as visitors meet it: the built site, the widget and the real consent API
with a real database, served locally (one port, SQLite) or as in production (nginx in front
of the static site, gunicorn workers on PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.api.conftest import KEY1, api_env, database, start
from tests.harness import BUILD_DATE, ROOT, build, free_port, serve, urlopen, wait_for, wait_until_up
from tests.widget.conftest import STAND_IN_TAG

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BANNER = "#imr-consent-banner"
DIALOG = "#imr-consent-dialog"
REPORT_CSP = """document.addEventListener('securitypolicyviolation', (e) => window.__imrCsp({
  directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber,
  sample: e.sample, page: location.href}));"""
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


@dataclass
class Product:
    """One running instance of the product: where it answers and what it serves from."""

    label: str
    base_url: str
    site_dir: Path
    access_log: Path | None = None

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")


@dataclass
class Visitor:
    """A browser profile visiting the product; third parties other than the stand-in for
    Google's tag (no internet here) are unreachable, and CSP violations are collected."""

    page: Any
    product: Product
    analytics_requests: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.product.url(path))

    def banner(self, button: str) -> None:
        self.page.locator(BANNER).get_by_role("button", name=button).click()

    def open_settings_from_footer(self) -> Any:
        self.page.locator(".md-footer").get_by_role("button", name="Cookie settings").click()
        dialog = self.page.locator(DIALOG)
        expect(dialog).to_be_visible()
        return dialog

    def choice(self) -> dict[str, Any]:
        raw = {c["name"]: c["value"] for c in self.page.context.cookies()}.get("imr_consent")
        assert raw, "no consent cookie"
        found: dict[str, Any] = json.loads(unquote(raw))
        return found

    def queued(self) -> list[str]:
        queue = self.page.evaluate("JSON.parse(localStorage.getItem('imr_consent_queue') || '[]')")
        return [q["receipt_id"] for q in queue]

    def wait_until_stored(self) -> dict[str, Any]:
        """Wait until the API acknowledged the current choice; its receipt id and token."""
        rid = self.choice()["rid"]
        wait_for(
            self.page,
            """(rid) => { const r = JSON.parse(localStorage.getItem('imr_consent_receipt') || 'null');
                const q = JSON.parse(localStorage.getItem('imr_consent_queue') || '[]');
                return r && r.id === rid && q.length === 0; }""",
            arg=rid,
        )
        stored: dict[str, Any] = self.page.evaluate("JSON.parse(localStorage.getItem('imr_consent_receipt'))")
        return stored

    def history(self) -> list[dict[str, Any]]:
        """The subject's receipts as the API stores them, asked over HTTP with the visitor's token."""
        token = self.page.evaluate("JSON.parse(localStorage.getItem('imr_consent_receipt')).token")
        request = urllib.request.Request(
            self.product.url(f"api/v1/subjects/{self.choice()['sid']}/receipts"),
            headers={"Authorization": f"Bearer {token}"},
        )
        with urlopen(request, timeout=10) as response:
            receipts: list[dict[str, Any]] = json.loads(response.read())["receipts"]
        return [r["receipt"] for r in receipts]

    def analytics_ran(self) -> int:
        return int(self.page.evaluate("window.__analyticsRuns || 0"))


@pytest.fixture
def visitor_for(browser: Any) -> Iterator[Callable[..., Visitor]]:
    """Make a visitor of a product; ``gpc=True`` for a browser sending Global Privacy Control."""
    contexts: list[Any] = []

    def make(product: Product, *, gpc: bool = False) -> Visitor:
        context = browser.new_context(extra_http_headers={"Sec-GPC": "1"} if gpc else None,
                                      ignore_https_errors=True)  # nginx on loopback: the test's certificate
        contexts.append(context)
        page = context.new_page()
        visitor = Visitor(page, product)
        context.expose_binding("__imrCsp", lambda _source, v: visitor.csp_violations.append(v))
        context.add_init_script(REPORT_CSP)
        if gpc:
            context.add_init_script(GPC)

        def analytics(route: Any) -> None:
            visitor.analytics_requests.append(route.request.url)
            route.fulfill(status=200, content_type="text/javascript", body=STAND_IN_TAG)

        context.route("**/*googletagmanager.com/**", analytics)
        return visitor

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def local_product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    """The README's run command's setup: site and API on one port, SQLite."""
    port = free_port()
    site_dir = tmp_path_factory.mktemp("local") / "site"
    build(site_dir, site_url=f"http://127.0.0.1:{port}/", date=BUILD_DATE)
    with serve(site_dir, port) as served:
        yield Product("local, SQLite", served.base_url, site_dir)


NGINX_WRAPPER = """{user}
worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include conf.d/*.conf;
}}
"""


def install_nginx(prefix: Path, *, site_dir: Path, api_port: int, http_port: int, https_port: int) -> list[str]:
    """deploy/nginx/imarouter-legal.conf and its snippets as the README installs them, on loopback:
    only the ports, the certificate, the log paths, the site's root and the API's address are
    changed (each asserted present, so the file cannot drift from this test). nginx's arguments."""
    (prefix / "tmp").mkdir(parents=True)
    (prefix / "conf.d").mkdir()
    shutil.copytree(ROOT / "deploy" / "nginx" / "snippets", prefix / "snippets")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=legal.example.com", "-keyout", str(prefix / "key.pem"), "-out", str(prefix / "cert.pem")],
                   check=True, capture_output=True)
    installed = (ROOT / "deploy" / "nginx" / "imarouter-legal.conf").read_text()
    for original, here in (("listen 80;", f"listen 127.0.0.1:{http_port};"), ("listen [::]:80;", ""),
                           ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                           ("listen [::]:443 ssl http2;", ""),
                           ("/etc/ssl/legal.example.com/fullchain.pem", str(prefix / "cert.pem")),
                           ("/etc/ssl/legal.example.com/privkey.pem", str(prefix / "key.pem")),
                           ("/var/log/nginx/imarouter-legal.access.log", str(prefix / "access.log")),
                           ("/var/log/nginx/imarouter-legal.error.log", str(prefix / "site-error.log")),
                           ("root /srv/imarouter-legal/site;", f"root {site_dir};"),
                           ("server 127.0.0.1:8001;", f"server 127.0.0.1:{api_port};")):
        assert original in installed, original
        installed = installed.replace(original, here)
    (prefix / "conf.d" / "imarouter-legal.conf").write_text(installed)
    (prefix / "nginx.conf").write_text(NGINX_WRAPPER.format(
        user="user root;" if os.geteuid() == 0 else "",  # workers must read the pytest temp folders
        prefix=prefix))
    return ["-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


@contextlib.contextmanager
def nginx(site_dir: Path, https_port: int, api_port: int, prefix: Path) -> Iterator[Path]:
    """Debian's nginx with the exact files the README installs, on loopback; yields its access log."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (scripts/install-system-deps.sh installs it)")
    args = install_nginx(prefix, site_dir=site_dir, api_port=api_port, http_port=free_port(),
                         https_port=https_port)
    test = subprocess.run([NGINX, "-t", *args], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen([NGINX, *args, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"https://127.0.0.1:{https_port}/", process)
        yield prefix / "access.log"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    """As deployed: nginx serves the static site and proxies /api/ to gunicorn workers on
    PostgreSQL; the widget is built with the API's public URL."""
    tmp = tmp_path_factory.mktemp("production")
    port, api_port = free_port(), free_port()
    base = f"https://127.0.0.1:{port}/"
    site_dir = tmp / "site"
    build(site_dir, site_url=base, date=BUILD_DATE, api_url=base + "api/v1/receipts")
    env = api_env(database("postgres", tmp), site_dir, [KEY1], CONSENT_WORKERS="2", CONSENT_TRUSTED_PROXIES="1",
                  CONSENT_RATELIMIT="60/minute")
    api = start(env, tmp, port=api_port, server=True)
    try:
        with nginx(site_dir, port, api_port, tmp / "nginx") as access_log:
            yield Product("nginx + gunicorn, PostgreSQL", base, site_dir, access_log)
    finally:
        api.stop()


@pytest.fixture(params=["local", "production"])
def product(request: pytest.FixtureRequest) -> Product:
    """Journeys that run both on the local product and behind nginx on PostgreSQL."""
    found: Product = request.getfixturevalue(f"{request.param}_product" if request.param == "local"
                                             else "production")
    return found
