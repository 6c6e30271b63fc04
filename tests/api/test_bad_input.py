"""Bad input at every endpoint: a clear JSON 4xx naming what is wrong, never a 5xx, and
nothing stored. The kinds found by hand first, then Hypothesis over every endpoint."""

from __future__ import annotations

import http.client
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import KEY1, OPERATOR, PAGE_ORIGIN, Local, api_env, database, request_body, start
from tests.harness import Served

RECEIPTS = "/api/v1/receipts"


def stored(local: Local) -> int:
    return int(local.sql("SELECT count(*) FROM consent_receipts")[0][0])


def refused(local: Local, raw: bytes | str, path: str = RECEIPTS) -> tuple[int, dict[str, Any]]:
    answer = local.client.post(path, data=raw, content_type="application/json")
    assert answer.is_json, answer.get_data(as_text=True)[:200]
    return answer.status_code, answer.get_json()


@pytest.mark.parametrize("path", [RECEIPTS, f"{RECEIPTS}/verify"])
def test_a_body_nested_thousands_deep_is_a_400(local: Local, path: str) -> None:
    status, error = refused(local, "[" * 5000 + "]" * 5000, path)
    assert status == 400 and "nests too deeply" in error["message"]
    assert stored(local) == 0


def test_a_lone_surrogate_in_a_string_is_a_400(local: Local) -> None:
    raw = json.dumps(request_body()).replace("/privacy/", "/privacy/\\ud800")
    status, error = refused(local, raw)
    assert status == 400 and "lone UTF-16 surrogate" in error["message"]
    assert stored(local) == 0


@pytest.mark.parametrize("path", ["/pri\u0000vacy/", "/pri%00vacy/", "/pri\nvacy/", "/pri%0Avacy/", "/pri\tvacy/",
                                  "/privacy/\u202e/", "/privacy/%E2%80%AE/", "/privacy/jane.doe@example.com/",
                                  "/privacy/jane.doe%40example.com/", "/privacy/%FF/", "/pri vacy/"])
def test_a_page_path_that_could_hide_text_or_an_address_is_refused(local: Local, path: str) -> None:
    status, error = refused(local, json.dumps(request_body(page=PAGE_ORIGIN + path)))
    assert (status, error["field"]) == (422, "page"), error
    assert stored(local) == 0


def test_a_plain_page_path_is_accepted(local: Local) -> None:
    local.post(page=PAGE_ORIGIN + "/de/privacy/2026-11-22/changes/")
    local.post(page=PAGE_ORIGIN + "/privacy/caf%C3%A9/")


def test_a_repeated_key_is_a_400_naming_it(local: Local) -> None:
    body = json.dumps(request_body())
    raw = body[:-1] + ', "method": "dialog"}'
    status, error = refused(local, raw)
    assert status == 400 and error["field"] == "method" and "repeats the key 'method'" in error["message"]
    nested = body.replace('"necessary": true', '"necessary": true, "necessary": false')
    assert refused(local, nested)[1]["field"] == "necessary"
    assert stored(local) == 0


def test_a_large_chunked_body_without_a_length_is_a_413(site: Served, tmp_path: Path) -> None:
    """Through gunicorn, which reads chunked bodies (the test client does not)."""
    api = start(api_env(database("sqlite", tmp_path), site.site_dir, [KEY1]), tmp_path, server=True)
    try:
        host, port = api.base.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        chunk = b"[" + b" " * 65534 + b"]"
        conn.request("POST", RECEIPTS, body=iter([chunk] * 16), headers={"Content-Type": "application/json"},
                     encode_chunked=True)
        answer = conn.getresponse()
        body = json.loads(answer.read())
        assert answer.status == 413, body
        assert body["error"] == "request_entity_too_large"
        conn.close()
    finally:
        api.stop()


# -- fuzzed ----------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                                max_size=5), max_leaves=25)
FIELDS = list(request_body())
TEXT = st.text(max_size=60)


def mutated(field: str, value: Any) -> dict[str, Any]:
    """A valid request with one field replaced: the fuzzer reaches past the first check."""
    body = request_body()
    if field.startswith("policy."):
        body["policy"][field.split(".")[1]] = value
    elif field.startswith("choices."):
        body["choices"][field.split(".")[1]] = value
    else:
        body[field] = value
    return body


REQUESTS = st.one_of(
    st.tuples(st.just("POST"), st.just(RECEIPTS), JSON.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("POST"), st.just(RECEIPTS), st.binary(max_size=300)),
    st.tuples(st.just("POST"), st.sampled_from([RECEIPTS, f"{RECEIPTS}/verify"]),
              st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n)),
    st.tuples(st.just("POST"), st.just(RECEIPTS), st.sampled_from(FIELDS).map(
        lambda f: json.dumps(request_body()).replace(f'"{f}":', f'"{f}": 1, "{f}":', 1).encode())),
    st.tuples(st.just("POST"), st.just(RECEIPTS),
              st.builds(mutated, st.sampled_from([*FIELDS, "policy.id", "policy.version", "choices.analytics"]),
                        JSON | ANY_TEXT.map(lambda t: PAGE_ORIGIN + "/" + t)).map(lambda b: json.dumps(b).encode())),
    st.tuples(st.just("POST"), st.just(f"{RECEIPTS}/verify"), JSON.map(lambda v: json.dumps({"token": v}).encode())),
    st.tuples(st.just("POST"), st.just(f"{RECEIPTS}/verify"), st.binary(max_size=200)),
    st.tuples(st.just("GET"), TEXT.map(lambda t: f"{RECEIPTS}/{quote(t, safe='')}?format=json"), st.none()),
    st.tuples(st.just("GET"), st.builds(lambda s, a: f"/api/v1/subjects/{quote(s, safe='')}/receipts?after="
                                                     f"{quote(a, safe='')}", TEXT, TEXT), st.none()),
    st.tuples(st.just("GET"), st.builds(lambda r, n: f"/api/v1/log/proof/inclusion?receipt_id={quote(r, safe='')}"
                                                     f"&tree_size={quote(n, safe='')}",
                                        TEXT | st.just(str(uuid.uuid4())), TEXT | st.integers().map(str)),
              st.none()),
    st.tuples(st.just("GET"), st.builds(lambda a, b: f"/api/v1/log/proof/consistency?from={quote(a, safe='')}"
                                                     f"&to={quote(b, safe='')}", TEXT | st.integers().map(str),
                                        TEXT | st.integers().map(str)), st.none()),
    st.tuples(st.just("GET"), st.builds(lambda a, b, c: f"/api/v1/report?since={quote(a, safe='')}&until="
                                                        f"{quote(b, safe='')}&by={quote(c, safe='')}",
                                        TEXT, TEXT, TEXT), st.none()),
    st.tuples(st.sampled_from(["GET", "POST"]), st.sampled_from(["/api/v1/log/checkpoint", "/api/healthz",
                                                                 "/api/metrics", "/api/v1/openapi.json"]),
              st.binary(max_size=50)),
)
CREDENTIALS = st.sampled_from([None, OPERATOR, "x", "a.b"]) | st.text(max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=REQUESTS, credential=CREDENTIALS)
def test_no_input_makes_any_endpoint_answer_5xx_or_log_a_traceback(local: Local, caplog: Any, request: Any,
                                                                   credential: str | None) -> None:
    method, path, body = request
    headers = {"Authorization": f"Bearer {credential}"} if credential and credential.isprintable() else {}
    if not hasattr(local, "_warm"):  # the first request of a process loads the site data
        local.client.get("/api/healthz")
        local._warm = True  # type: ignore[attr-defined]
    def send() -> tuple[Any, float]:
        started = time.thread_time()
        answer = local.client.open(path, method=method, data=body, headers=headers, content_type="application/json")
        return answer, time.thread_time() - started

    caplog.clear()
    with caplog.at_level(logging.ERROR):
        answer, spent = send()
        if spent >= 0.05:  # once more: a garbage collection or a first import is not the input's cost
            spent = min(spent, send()[1])
    assert answer.status_code < 500, (path, body, answer.get_data(as_text=True)[:300])
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    if answer.status_code >= 400:
        assert answer.is_json and answer.get_json()["message"]
    # CPU time of this thread, not wall time: a loaded machine does not make it fail, a
    # decompression bomb or a quadratic parser does.
    assert spent < 0.05, f"{method} {path} took {spent * 1000:.0f} ms of CPU"
