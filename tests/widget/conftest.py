"""Widget fixtures: a stand-in for Google's tag (no internet here) and helpers to read
the consent cookie, on the real site served by the product's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from tests.harness import Served, build, free_port, serve, wait_for

ANALYTICS_HOST = "googletagmanager.com"
#: What the stand-in tag does when it runs: count itself and set Google's cookies.
STAND_IN_TAG = """
window.__analyticsRuns = (window.__analyticsRuns || 0) + 1;
document.cookie = "_ga=GA1.1.1234.5678; Path=/; Max-Age=3600";
document.cookie = "_ga_TEST123=GS1.1.1; Path=/; Max-Age=3600";
"""


@dataclass
class Visit:
    """A page whose analytics requests are answered by the stand-in tag and recorded."""

    page: Any
    site: Served
    analytics_requests: list[str] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.site.url(path))

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.page.context.cookies()}

    def choice(self) -> dict[str, Any] | None:
        raw = self.cookies().get("imr_consent")
        return json.loads(unquote(raw)) if raw else None

    def set_choice(self, **changes: Any) -> None:
        """Rewrite the stored choice (to age it, or pretend an older revision). First wait until
        the widget is done with its receipt: the API's answer may give the choice a new subject,
        and the widget then rewrites the cookie, which would race with this rewrite."""
        wait_for(self.page, "JSON.parse(localStorage.getItem('imr_consent_queue') || '[]').length === 0")
        record = self.choice()
        assert record is not None
        record.update(changes)
        self.page.context.add_cookies([{
            "name": "imr_consent", "value": quote(json.dumps(record, separators=(",", ":"))),
            "url": self.site.base_url,
        }])

    def analytics_ran(self) -> int:
        return int(self.page.evaluate("window.__analyticsRuns || 0"))

    def data_layer(self) -> list[list[Any]]:
        data: list[list[Any]] = self.page.evaluate(
            "(window.dataLayer || []).map((a) => Array.from(a))"
        )
        return data

    def banner_visible(self) -> bool:
        return bool(self.page.locator("#imr-consent-banner").is_visible())


def route_analytics(page: Any, visit: Visit) -> None:
    def answer(route: Any) -> None:
        visit.analytics_requests.append(route.request.url)
        route.fulfill(status=200, content_type="text/javascript", body=STAND_IN_TAG)

    page.context.route("**/*googletagmanager.com/**", answer)


@pytest.fixture
def visit(site: Served, page: Any) -> Visit:
    v = Visit(page, site)
    route_analytics(page, v)
    return v


@pytest.fixture
def api_up(visit: Visit) -> Iterator[Visit]:
    """Receipts answered by a stand-in consent API (the real one is tested in tests/api), which
    holds every request the widget builds against the schema the API publishes and validates
    with (a request it refuses fails the test)."""
    from jsonschema import Draft202012Validator

    from consent_api.openapi import request_schema

    schema = Draft202012Validator(request_schema())
    refused: list[str] = []

    def answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        problems = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in schema.iter_errors(body)]
        if problems:
            refused.append(f"{body}: {problems}")
            route.fulfill(status=422, content_type="application/json", body=json.dumps({"error": problems}))
            return
        visit.receipts.append(body)
        route.fulfill(status=201, content_type="application/json",
                      body=json.dumps({"receipt": body, "token": f"token-{body['receipt_id']}"}))

    visit.page.context.route("**/api/v1/receipts", answer)
    yield visit
    assert refused == [], "the widget posted requests the API's schema refuses"


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fixture policies (their landing page carries a gated inline script), served."""
    port = free_port()
    site_dir = tmp_path_factory.mktemp("widget-fixture-site")
    docs = Path(__file__).parents[1] / "pages" / "fixtures" / "docs"
    build(site_dir, site_url=f"http://127.0.0.1:{port}/", date="2026-11-01", docs_dir=docs)
    with serve(site_dir, port) as served:
        yield served
