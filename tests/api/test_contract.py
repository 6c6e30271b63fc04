"""The API's contract: its OpenAPI document matches its routes, and no input makes it fail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_api import create_app
from consent_api.openapi import document
from tests.api.conftest import KEY1, LOG_KEY, OPERATOR, PAGE_ORIGIN, request_body
from tests.harness import Served


@pytest.fixture(scope="module")
def app(site: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("fuzz")
    app = create_app({
        "ENV": "development", "DATABASE_URL": f"sqlite:///{tmp / 'fuzz.sqlite3'}", "SITE_DIR": str(site.site_dir),
        "SIGNING_KEYS": json.dumps([KEY1]), "LOG_KEYS": json.dumps([LOG_KEY]), "LOG_DIR": str(tmp / "log"),
        "SEAL_INTERVAL": 0, "OPERATOR_TOKEN": OPERATOR, "CORS_ORIGINS": PAGE_ORIGIN, "RATELIMIT": "1000000/minute",
    })
    yield app


def test_the_openapi_document_lists_exactly_the_routes(app: Flask) -> None:
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            routes[path] = sorted(m.lower() for m in (rule.methods or set()) - {"HEAD", "OPTIONS"})
    documented = {path: sorted(ops) for path, ops in document()["paths"].items()}
    assert routes == documented


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELDS = list(request_body())


@st.composite
def mutated_requests(draw: st.DrawFn) -> Any:
    """Valid requests with fields removed, replaced by any JSON, or added; or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    body: dict[str, Any] = request_body()
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            body.pop(field, None)
        else:
            body[field] = draw(JSON)
    if draw(st.booleans()):
        body[draw(st.text(max_size=12))] = draw(JSON)
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutated_requests())
def test_no_receipt_request_makes_the_api_fail(app: Flask, body: Any) -> None:
    response = app.test_client().post("/api/v1/receipts", data=json.dumps(body), content_type="application/json")
    assert response.status_code in {200, 201, 400, 409, 413, 415, 422}, response.data
    if response.status_code >= 400:
        assert response.is_json and "error" in (response.json or {})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet="abcdef0123456789-/.%?=&", max_size=60), method=st.sampled_from(
    ["GET", "POST", "PUT", "DELETE", "PATCH"]),
    token=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_no_path_method_or_token_makes_the_api_fail(app: Flask, path: str, method: str, token: str) -> None:
    client = app.test_client()
    response = client.open(f"/api/v1/{path}", method=method, headers={"Authorization": f"Bearer {token}"},
                           data=b"{}", content_type="application/json")
    assert response.status_code < 500, (path, method, response.data)
    verify = client.post("/api/v1/receipts/verify", json={"token": token})
    assert verify.status_code < 500


def test_the_product_server_answers_the_api_under_api(site: Served, tmp_path: Path) -> None:
    from tests.harness import fetch, free_port, serve

    env_site = site.site_dir
    port = free_port()
    with serve(env_site, port) as served:
        status, headers, body = fetch(served.url("api/healthz"))
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert headers["Content-Type"] == "application/json"


def test_a_server_fault_answers_5xx_with_retry_after_never_4xx(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The widget drops a 4xx and retries a 5xx with the same receipt id: a fault of ours must be a 5xx."""
    from sqlalchemy.exc import OperationalError

    log = app.extensions["consent"].log

    def database_down(*_: object) -> None:
        raise OperationalError("INSERT ...", {}, Exception("the database is not answering"))

    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    client = app.test_client()
    for fault, status in ((database_down, 503), (broken, 500)):
        monkeypatch.setattr(log, "insert", fault)
        response = client.post("/api/v1/receipts", json=request_body())
        assert response.status_code == status and response.headers["Retry-After"] == "1", response.data
        assert response.is_json and response.json is not None and "error" in response.json


def test_the_product_server_logs_neither_tokens_nor_addresses(site: Served, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import uuid

    from tests.harness import ROOT, fetch, free_port, wait_until_up

    port, log = free_port(), tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "DATABASE_URL"}
    env.update(CONSENT_ENV="development", CONSENT_KEY_FILE=str(tmp_path / "keys.json"),
               CONSENT_LOG_KEY_FILE=str(tmp_path / "log-keys.json"), CONSENT_LOG_DIR=str(tmp_path / "log"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", NO_MKDOCS_2_WARNING="1")
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "legal_pages.cli", "serve", "--no-build", "--site-dir",
                                   str(site.site_dir), "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", server)
        secret = "a-receipt-token-that-must-not-be-logged"
        assert fetch(f"http://127.0.0.1:{port}/api/v1/receipts/{uuid.uuid4()}?token={secret}")[0] == 401
        assert fetch(f"http://127.0.0.1:{port}/privacy/?token={secret}")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
    logged = log.read_text()
    assert '"GET /api/v1/receipts/' in logged and '"GET /privacy/" 200' in logged  # requests are logged...
    assert secret not in logged and "127.0.0.1 -" not in logged  # ...without tokens or addresses
