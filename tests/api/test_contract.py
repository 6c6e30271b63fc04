"""The API's contract: its OpenAPI document matches its routes, and no input makes it fail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from consent_api import create_app
from consent_api.openapi import document
from consent_api.validation import ACCEPTS, SCHEMA
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


OTHER_TYPES: list[Any] = [None, 0, 1, 1.5, "", "true", [], {}, True, False]


def _boundaries(value: Any, schema: dict[str, Any]) -> list[Any]:
    """Values at and just past a field's limits, for the field's valid ``value``: lengths at each
    bound and one past it (in ASCII and in 'é'), the value with a final newline, a space before it
    or in capitals, every other JSON type (1 for True); for an object, each member missing, one
    added, each member's own boundaries, and as many members as allowed and one more."""
    found: list[Any] = list(OTHER_TYPES)
    if isinstance(value, str):
        found += [value + "\n", " " + value, value.upper(), value[:-1], value + value[-1:]]
        for bound in ("minLength", "maxLength"):
            if bound in schema:
                found += [c * n for c in "aé" for n in (schema[bound] - 1, schema[bound], schema[bound] + 1) if n >= 0]
    if isinstance(value, dict):
        inner = schema.get("properties", {})
        found += [{m: v for m, v in value.items() if m != k} for k in value]
        found += [{**value, "extra": True}]
        found += [{**value, k: v} for k in value
                  for v in _boundaries(value[k], inner.get(k, schema.get("additionalProperties") or {}))]
        if "maxProperties" in schema:
            found += [{f"c{i}": True for i in range(n)} for n in (schema["maxProperties"], schema["maxProperties"] + 1)]
    found += [v.upper() for v in schema.get("enum", [])] + list(schema.get("enum", []))
    return found


def boundary_requests() -> list[dict[str, Any]]:
    """One valid request for each boundary value of each field, and the request's own (about 300)."""
    valid = request_body()
    return [valid, {**valid, "extra": True}, *({m: v for m, v in valid.items() if m != k} for k in valid),
            *({**valid, name: v} for name in FIELDS for v in _boundaries(valid[name], SCHEMA["properties"][name]))]


@st.composite
def near_valid_requests(draw: st.DrawFn) -> Any:
    """A valid request with two or three fields at or just past the schema's limits."""
    body = request_body()
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=2, max_size=3, unique=True)):
        body[name] = draw(st.sampled_from(_boundaries(body[name], SCHEMA["properties"][name])))
    return body


HEX = "0123456789abcdef"
VALID_BY_SCHEMA = st.fixed_dictionaries({  # any value the schema allows in each field (not all in effect)
    "receipt_id": st.uuids(version=4).map(str), "subject_id": st.uuids(version=4).map(str),
    "config_revision": st.text(HEX, min_size=16, max_size=16),
    "policy": st.fixed_dictionaries({"id": st.text(min_size=1, max_size=64),
                                     "version": st.text(min_size=1, max_size=32)}),
    "choices": st.dictionaries(st.text(max_size=20), st.booleans(), max_size=32),
    "method": st.sampled_from(["banner", "dialog", "gpc", "withdrawal"]), "gpc": st.booleans(),
    "language": st.from_regex(r"\A[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}\Z"),
    "page": st.text(max_size=2048), "consented_at": st.text(max_size=40),
})
COMPILED_VERDICTS: dict[bool, int] = {True: 0, False: 0}


def _agree(body: Any) -> None:
    """Whatever the compiled schema accepts, jsonschema must accept (only a request it refuses
    goes on to jsonschema); where it refuses what jsonschema accepts, only a final newline that
    jsonschema lets '$' match may be why (refused either way: validate() matches fields whole)."""
    try:
        ACCEPTS(body)
        compiled = True
    except fastjsonschema.JsonSchemaException:
        compiled = False
    reference = not any(True for _ in Draft202012Validator(SCHEMA).iter_errors(body))
    COMPILED_VERDICTS[compiled] += 1
    assert compiled <= reference, f"accepted by the compiled schema only: {body!r}"
    if reference and not compiled:
        assert any(isinstance(v, str) and v.endswith("\n") for v in _strings(body)), body


def test_the_compiled_schema_and_jsonschema_agree_at_every_boundary() -> None:
    requests = boundary_requests()
    assert len(requests) > 200
    for body in requests:
        _agree(body)


@settings(max_examples=2000, deadline=None)
@given(body=VALID_BY_SCHEMA | near_valid_requests() | mutated_requests())
def test_the_compiled_schema_accepts_nothing_jsonschema_refuses(body: Any) -> None:
    _agree(body)


def _strings(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    yield value


def test_the_agreement_test_saw_both_verdicts_often() -> None:
    """The property above means something only if it saw many requests accepted and refused."""
    if sum(COMPILED_VERDICTS.values()) == 0:
        test_the_compiled_schema_accepts_nothing_jsonschema_refuses()
    assert COMPILED_VERDICTS[True] >= 300 and COMPILED_VERDICTS[False] >= 800, COMPILED_VERDICTS


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
    assert status == 200 and json.loads(body) == {"status": "ok", "sealing": "ok", "held_out_of_log": 0}
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
    import subprocess
    import sys
    import uuid

    from tests.harness import ROOT, clean_env, fetch, free_port, wait_until_up

    port, log = free_port(), tmp_path / "serve.log"
    env = clean_env()
    env.update(CONSENT_ENV="development", CONSENT_KEY_FILE=str(tmp_path / "keys.json"),
               CONSENT_LOG_KEY_FILE=str(tmp_path / "log-keys.json"), CONSENT_LOG_DIR=str(tmp_path / "log"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", NO_MKDOCS_2_WARNING="1")
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "consent_api.local", "--no-build", "--site-dir",
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
