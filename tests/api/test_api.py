"""The consent API over HTTP, against gunicorn, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from consent_api.validation import UUID4
from tests.api.conftest import KEY1, OPERATOR, PAGE_ORIGIN, REVISION, Api, api_env, database, request_body, start
from tests.harness import ROOT, Served

AUTH = {"Authorization": f"Bearer {OPERATOR}"}


def create(api: Api, proof: str | None = None, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A receipt; ``proof``: a token of the subject it joins (an existing subject needs one)."""
    body = request_body(**changes)
    headers = {"Authorization": f"Bearer {proof}"} if proof else None
    status, _, answer = api.call("POST", "api/v1/receipts", body, headers=headers)
    assert status == 201, answer
    return body, answer


def test_a_choice_is_stored_as_a_signed_kantara_receipt(api: Api, site: Served) -> None:
    body, answer = create(api, choices={"necessary": True, "analytics": True, "advertising": False})
    receipt = answer["receipt"]
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["consentReceiptID"] == body["receipt_id"]
    # A first receipt starts a subject the API names (the widget adopts it); its token proves it later.
    assert UUID4.fullmatch(receipt["piiPrincipalId"]) and receipt["piiPrincipalId"] != body["subject_id"]
    assert receipt["policyUrl"] == site.url("privacy/2026-11-22/")
    assert isinstance(receipt["consentTimestamp"], int)
    assert {"jurisdiction", "collectionMethod", "piiControllers", "services", "sensitive", "spiCat"} <= set(receipt)
    assert [p["purpose"] for p in receipt["services"][0]["purposes"]] == ["necessary", "analytics"]
    manifest = json.loads((site.site_dir / "policies.json").read_text())
    sha = manifest["policies"]["privacy"]["versions"][1]["sha256"]
    assert receipt["policy"] == {"id": "privacy", "version": "2026-11-22", "url": receipt["policyUrl"], "sha256": sha}
    assert receipt["configRevision"] == REVISION and receipt["collectionMethod"] == "banner"
    assert answer["token"] and answer["url"] == f"/api/v1/receipts/{body['receipt_id']}"


def test_a_repeated_receipt_id_is_the_same_receipt_and_other_content_conflicts(api: Api) -> None:
    body, first = create(api)
    status, _, again = api.call("POST", "api/v1/receipts", body)
    assert status == 200 and again == first
    status, _, conflict = api.call("POST", "api/v1/receipts", dict(body, method="dialog"))
    assert status == 409 and conflict["error"] == "conflict" and conflict["field"] == "receipt_id"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"extra": 1}, "extra", "unknown field(s): extra"),
        ({"receipt_id": "not-a-uuid"}, "receipt_id", "'receipt_id' must be a lowercase UUID version 4"),
        ({"policy": {"id": "terms", "version": "2026-11-22"}}, "policy.id", "unknown policy 'terms' (known: privacy)"),
        ({"policy": {"id": "privacy", "version": "2030-01-01"}}, "policy.version",
         "'2030-01-01' is not a version of 'privacy' in effect or archived"),
        ({"choices": {"necessary": True, "analytics": False}}, "choices",
         "'choices' must give exactly the categories necessary, analytics, advertising"),
        ({"choices": {"necessary": False, "analytics": False, "advertising": False}}, "choices.necessary",
         "'necessary' is required: it cannot be refused"),
        ({"choices": {"necessary": True, "analytics": "yes", "advertising": False}}, "choices.analytics",
         "'choices.analytics' must be true or false"),
        ({"method": "cookiewall"}, "method", "'method' must be one of banner, dialog, gpc, withdrawal"),
        ({"consented_at": "yesterday"}, "consented_at", "'consented_at' must be an ISO 8601 date and time"),
        ({"page": "javascript:alert(1)"}, "page", "'page' must be an http(s) URL"),
        # Hardening (issue 16): whole-string patterns, the site's own pages, a known revision form.
        ({"receipt_id": "6f1d8a52-2c4b-4d7e-9a3f-0b1c2d3e4f50\n"}, "receipt_id",
         "'receipt_id' must be a lowercase UUID version 4"),
        ({"subject_id": "6F1D8A52-2C4B-4D7E-9A3F-0B1C2D3E4F50"}, "subject_id",
         "'subject_id' must be a lowercase UUID version 4"),
        ({"language": "en\n"}, "language", "'language' must be a language tag like 'en' or 'pt-BR'"),
        ({"language": "ja"}, "language",
         "'ja' is not a language of the site (built in: de, en, es, fr, it, nl, pl)"),
        ({"config_revision": "anything at all"}, "config_revision",
         "'config_revision' must be the site's config revision (16 lowercase hexadecimal digits)"),
        ({"config_revision": "0123456789abcdef\n"}, "config_revision",
         "'config_revision' must be the site's config revision (16 lowercase hexadecimal digits)"),
        ({"page": "https://evil.example/privacy/"}, "page",
         "'page' must be a page of this site ({origins})"),
        ({"page": "http://127.0.0.1:8000/privacy/?email=someone@example.com"}, "page",
         "'page' must carry no query or fragment (they can hold personal data)"),
        ({"page": "http://127.0.0.1:8000/privacy/#someone@example.com"}, "page",
         "'page' must carry no query or fragment (they can hold personal data)"),
        ({"page": "http://user:secret@127.0.0.1:8000/privacy/"}, "page", "'page' must be an http(s) URL"),
        ({"gpc": "yes"}, "gpc", "'gpc' must be true or false"),
        ({"policy": {"id": "privacy"}}, "policy", "'policy' must be an object with exactly 'id' and 'version'"),
        ({"consented_at": "2026-11-22T10:00:00"}, "consented_at", "'consented_at' must carry a time zone (like Z)"),
    ],
)
def test_an_invalid_receipt_gets_422_naming_the_field(api: Api, site: Served, change: dict[str, Any], field: str,
                                                      message: str) -> None:
    status, _, answer = api.call("POST", "api/v1/receipts", request_body(**change))
    assert status == 422
    origins = ", ".join(sorted([site.base_url.rstrip("/"), PAGE_ORIGIN]))
    assert answer == {"error": "invalid_receipt", "message": message.replace("{origins}", origins), "field": field}


def test_malformed_requests_get_400_413_415_405_as_json(api: Api) -> None:
    status, _, answer = api.call("POST", "api/v1/receipts", raw=b"{not json")
    assert status == 400 and answer["error"] == "bad_request" and "not valid JSON" in answer["message"]
    status, _, answer = api.call("POST", "api/v1/receipts", raw=b"[]")
    assert status == 422 and answer["message"] == "the body must be a JSON object"
    status, _, answer = api.call("POST", "api/v1/receipts", raw=b'{"a": "' + b"x" * 20_000 + b'"}')
    assert status == 413 and answer["error"] == "request_entity_too_large"
    status, _, answer = api.call("POST", "api/v1/receipts", raw=b"{}", content_type="text/plain")
    assert status == 415 and answer["error"] == "unsupported_media_type"
    status, headers, answer = api.call("DELETE", "api/v1/receipts")
    assert status == 405 and answer["error"] == "method_not_allowed" and "POST" in headers["Allow"]
    status, _, answer = api.call("GET", "api/v1/nothing-here")
    assert status == 404 and answer["error"] == "not_found"


def test_a_receipt_is_read_with_its_token_or_by_the_operator(api: Api) -> None:
    body, answer = create(api)
    rid, token = body["receipt_id"], answer["token"]
    path = f"api/v1/receipts/{rid}"
    status, _, read = api.call("GET", path, headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and read == answer
    assert api.call("GET", f"{path}?token={token}")[0] == 401  # never from a URL: logs and Referers keep those
    assert api.call("GET", path, headers=AUTH)[0] == 200
    status, _, denied = api.call("GET", path)
    assert status == 401 and denied["error"] == "unauthorized"
    _, other = create(api)
    status, _, denied = api.call("GET", path, headers={"Authorization": f"Bearer {other['token']}"})
    assert status == 403 and denied["message"] == "this token is for another receipt"
    missing = "00000000-0000-4000-8000-000000000000"
    status, _, _ = api.call("GET", f"api/v1/receipts/{missing}", headers=AUTH)
    assert status == 404


def test_a_receipt_reads_as_a_page_and_downloads_as_json(api: Api) -> None:
    body, answer = create(api)
    form = "application/x-www-form-urlencoded"
    path = f"api/v1/receipts/{body['receipt_id']}"
    status, headers, page = api.call("POST", path, raw=urlencode({"token": answer["token"]}).encode(),
                                     content_type=form, headers={"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body["receipt_id"] in page and "2026-11-22" in page and "Download this receipt (JSON)" in page
    assert "form-action 'self'" in headers["Content-Security-Policy"]  # its download form; no script
    assert "script-src" not in headers["Content-Security-Policy"]
    status, headers, download = api.call(
        "POST", path, raw=urlencode({"token": answer["token"], "format": "json", "download": "1"}).encode(),
        content_type=form)
    assert status == 200 and "attachment" in headers["Content-Disposition"] and download == answer
    status, _, refused = api.call("POST", path, {"token": answer["token"]})  # JSON is not the form
    assert status == 415 and refused["error"] == "unsupported_media_type"


def test_verify_confirms_a_genuine_token_and_rejects_one_altered_by_one_character(api: Api) -> None:
    body, answer = create(api)
    status, _, verdict = api.call("POST", "api/v1/receipts/verify", {"token": answer["token"]})
    assert status == 200
    assert verdict == {"genuine": True, "stored": True, "unaltered": True, "kid": "k1",
                       "receipt_id": body["receipt_id"], "subject_id": answer["receipt"]["piiPrincipalId"],
                       "expires": verdict["expires"], "expired": False}
    token = answer["token"]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    status, _, verdict = api.call("POST", "api/v1/receipts/verify", {"token": altered})
    assert status == 200 and verdict["genuine"] is False


def test_a_subject_sees_its_history_in_order(api: Api) -> None:
    first, answer = create(api)
    subject = answer["receipt"]["piiPrincipalId"]
    second, _ = create(api, answer["token"], subject_id=subject, method="dialog",
                       choices={"necessary": True, "analytics": True, "advertising": False})
    create(api)  # someone else
    path = f"api/v1/subjects/{subject}/receipts"
    status, _, history = api.call("GET", path, headers={"Authorization": f"Bearer {answer['token']}"})
    assert status == 200
    assert [r["receipt"]["consentReceiptID"] for r in history["receipts"]] == [first["receipt_id"],
                                                                               second["receipt_id"]]
    assert api.call("GET", path, headers=AUTH)[0] == 200
    assert api.call("GET", f"api/v1/subjects/{second['receipt_id']}/receipts",
                    headers={"Authorization": f"Bearer {answer['token']}"})[0] == 403


def test_the_gpc_header_is_recorded(api: Api) -> None:
    body = request_body()
    status, _, answer = api.call("POST", "api/v1/receipts", body, headers={"Sec-GPC": "1"})
    assert status == 201
    assert answer["receipt"]["gpc"] is True and answer["receipt"]["secGpcHeader"] is True


def test_cors_allows_the_site_origin_only(api: Api, site: Served) -> None:
    origin = site.base_url.rstrip("/")
    _, headers, _ = api.call("OPTIONS", "api/v1/receipts", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert headers.get("Access-Control-Allow-Origin") == origin
    _, headers, _ = api.call("OPTIONS", "api/v1/receipts", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in headers


def test_health_and_openapi_are_served(api: Api) -> None:
    status, _, health = api.call("GET", "api/healthz")
    assert (status, health) == (200, {"status": "ok", "sealing": "ok", "held_out_of_log": 0})
    status, _, document = api.call("GET", "api/v1/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"


def test_no_ip_address_is_stored(tmp_path: Path, site: Served) -> None:
    db = database("sqlite", tmp_path)
    api = start(api_env(db, site.site_dir, [KEY1], CONSENT_CORS_ORIGINS="https://legal.example"), tmp_path)
    try:
        for _ in range(3):
            create(api, page="https://legal.example/privacy/")
    finally:
        api.stop()
    dump = "\n".join(sqlite3.connect(db.removeprefix("sqlite:///")).iterdump())
    assert site.base_url in dump  # the policy's permanent URL is the only place the host appears
    assert "127.0.0.1" not in dump.replace(site.base_url, "")


def test_the_rate_limit_answers_429_for_receipts_and_for_reads(tmp_path: Path, site: Served) -> None:
    api = start(api_env(database("sqlite", tmp_path), site.site_dir, [KEY1], CONSENT_RATELIMIT="3/minute",
                        CONSENT_RATELIMIT_READS="4/minute", CONSENT_WORKERS="1"), tmp_path)
    try:
        statuses = [api.call("POST", "api/v1/receipts", request_body())[0] for _ in range(4)]
        status, headers, answer = api.call("POST", "api/v1/receipts", request_body())
        reads = [api.call("POST", "api/v1/receipts/verify", {"token": "x.y"})[0],
                 api.call("GET", "api/v1/log/checkpoint")[0],
                 api.call("GET", "api/v1/log/proof/consistency?from=1&to=1")[0],
                 api.call("GET", f"api/v1/receipts/{request_body()['receipt_id']}", headers=AUTH)[0],
                 api.call("GET", "api/v1/log/checkpoint")[0]]
    finally:
        api.stop()
    assert statuses == [201, 201, 201, 429]
    assert status == 429 and answer["error"] == "too_many_requests" and "Retry-After" in headers
    assert reads[:4] != [429] * 4 and reads[4] == 429  # the fifth read within the minute


def test_outside_development_the_api_refuses_to_start_without_a_key(tmp_path: Path, site: Served) -> None:
    env = api_env(database("sqlite", tmp_path), site.site_dir, [KEY1])
    del env["CONSENT_SIGNING_KEYS"]
    api = Api("http://127.0.0.1:1/", env)
    result = api.flask("init-db")
    assert result.returncode != 0
    assert "no signing key: set CONSENT_SIGNING_KEYS or CONSENT_KEY_FILE" in result.stderr


def test_a_history_comes_in_pages_without_tokens(api: Api) -> None:
    first, answer = create(api)
    subject = answer["receipt"]["piiPrincipalId"]
    ids = [first["receipt_id"]] + [create(api, answer["token"], subject_id=subject)[0]["receipt_id"]
                                   for _ in range(104)]
    path = f"api/v1/subjects/{subject}/receipts"
    auth = {"Authorization": f"Bearer {answer['token']}"}
    status, _, page = api.call("GET", path, headers=auth)
    assert status == 200 and len(page["receipts"]) == 100 and page["next"]
    assert all("token" not in r for r in page["receipts"])  # a token is a credential for one receipt
    status, _, rest = api.call("GET", f"{path}?after={page['next']}", headers=auth)
    assert status == 200 and rest["next"] is None
    assert [r["receipt"]["consentReceiptID"] for r in page["receipts"] + rest["receipts"]] == ids
    assert api.call("GET", f"{path}?after=x", headers=auth)[0] == 400


def test_the_operator_token_works_in_the_header_only(api: Api) -> None:
    body, _ = create(api)
    assert api.call("GET", f"api/v1/receipts/{body['receipt_id']}", headers=AUTH)[0] == 200
    status, _, refused = api.call("GET", f"api/v1/receipts/{body['receipt_id']}?token={OPERATOR}")
    assert status == 401 and refused["error"] == "unauthorized"  # a credential in a URL is never read


def test_a_short_operator_token_is_refused_at_start(site: Served, tmp_path: Path) -> None:
    env = api_env(database("sqlite", tmp_path), site.site_dir, [KEY1], CONSENT_OPERATOR_TOKEN="short-token")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "consent_api", "init-db"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "CONSENT_OPERATOR_TOKEN must be at least 32 characters" in result.stderr


def test_a_token_reads_its_receipt_until_it_expires_and_says_so_after(api: Api) -> None:
    from consent_api.signing import Key, ReceiptSigner

    body, answer = create(api)
    verdict = api.call("POST", "api/v1/receipts/verify", {"token": answer["token"]})[2]
    assert verdict["genuine"] and verdict["expired"] is False
    expires = dt.datetime.strptime(verdict["expires"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    assert 394 <= (expires - dt.datetime.now(dt.UTC)).days <= 395  # CONSENT_TOKEN_DAYS' default
    # The same claims, signed with the same key, a day past their expiry (the test holds the key).
    claims = json.loads(base64.urlsafe_b64decode(answer["token"].split(".")[0] + "==="))
    payload = {"rid": claims["rid"], "sid": claims["sid"], "sha": claims["sha"],
               "exp": int(dt.datetime.now(dt.UTC).timestamp()) - 86400}
    expired = ReceiptSigner([Key(KEY1["kid"], KEY1["secret"])]).sign(payload)
    status, _, refused = api.call("GET", f"api/v1/receipts/{body['receipt_id']}",
                                  headers={"Authorization": f"Bearer {expired}"})
    assert status == 403 and refused["message"].startswith("this token expired on ")
    assert "consent-verify" in refused["message"]
    verdict = api.call("POST", "api/v1/receipts/verify", {"token": expired})[2]
    assert (verdict["genuine"], verdict["unaltered"], verdict["expired"]) == (True, True, True)


def test_a_receipt_joins_a_subject_only_with_a_token_issued_to_it(api: Api) -> None:
    first, answer = create(api)
    subject = answer["receipt"]["piiPrincipalId"]
    # Knowing the subject id (the cookie dialog shows it) is not enough: a new subject starts.
    body, outsider = create(api, subject_id=subject)
    assert outsider["receipt"]["piiPrincipalId"] not in (subject, body["subject_id"])
    assert UUID4.fullmatch(outsider["receipt"]["piiPrincipalId"])
    again = api.call("POST", "api/v1/receipts", body)  # a retry lands in the same new subject
    assert again[0] == 200 and again[2]["receipt"] == outsider["receipt"]
    _, other = create(api)  # a genuine token, of another subject
    assert create(api, other["token"], subject_id=subject)[1]["receipt"]["piiPrincipalId"] != subject
    # With a token issued to the subject, the receipt joins it; a retry of it is the same receipt.
    joined, member = create(api, answer["token"], subject_id=subject)
    assert member["receipt"]["piiPrincipalId"] == subject
    retried = api.call("POST", "api/v1/receipts", joined, headers={"Authorization": f"Bearer {answer['token']}"})
    assert retried[0] == 200 and retried[2]["receipt"] == member["receipt"]
    history = api.call("GET", f"api/v1/subjects/{subject}/receipts", headers=AUTH)[2]
    assert [r["receipt"]["consentReceiptID"] for r in history["receipts"]] == [
        first["receipt_id"], member["receipt"]["consentReceiptID"]]
