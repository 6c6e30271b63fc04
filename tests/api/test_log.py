"""The receipt log as the operator meets it: keys, tampering, purge, export, concurrency, crashes."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.api.conftest import KEY1, KEY2, Api, api_env, database, request_body, start
from tests.harness import ROOT, Served


def _engine(api: Api):  # type: ignore[no-untyped-def]
    url = api.env["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url)


def post_many(api: Api, count: int) -> list[dict[str, object]]:
    out = []
    for _ in range(count):
        status, _, answer = api.call("POST", "api/v1/receipts", request_body())
        assert status == 201, answer
        out.append(answer)
    return out


def test_key_rotation_keeps_old_receipts_verifiable(backend: str, site: Served, tmp_path: Path) -> None:
    db = database(backend, tmp_path)
    api = start(api_env(db, site.site_dir, [KEY1]), tmp_path)
    [old] = post_many(api, 1)
    api.stop()
    api = start(api_env(db, site.site_dir, [KEY1, KEY2]), tmp_path)
    try:
        [new] = post_many(api, 1)
        verdicts = [api.call("POST", "api/v1/receipts/verify", {"token": r["token"]})[2] for r in (old, new)]
        assert [(v["genuine"], v["unaltered"], v["kid"]) for v in verdicts] == [(True, True, "k1"),
                                                                                  (True, True, "k2")]
        assert api.flask("verify").returncode == 0
    finally:
        api.stop()
    dropped = start(api_env(db, site.site_dir, [KEY2]), tmp_path)
    try:
        verdict = dropped.call("POST", "api/v1/receipts/verify", {"token": old["token"]})[2]
        assert verdict["genuine"] is False  # dropping a key invalidates what it signed
    finally:
        dropped.stop()


def _tampered(api: Api, statement: str) -> str:
    post_many(api, 4)
    assert api.flask("verify").returncode == 0
    engine = _engine(api)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()
    result = api.flask("verify")
    assert result.returncode == 1
    return result.stderr


def test_an_edited_row_is_named_by_verify(api: Api) -> None:
    report = _tampered(api, "UPDATE consent_receipts SET body = replace(body, '\"analytics\":false', "
                            "'\"analytics\":true') WHERE seq = 2")
    assert "entry seq=2 receipt" in report and "does not match its hash (the row was edited)" in report


def test_a_deleted_row_is_named_by_verify(api: Api) -> None:
    report = _tampered(api, "DELETE FROM consent_receipts WHERE seq = 2")
    assert "entry seq=3 receipt" in report and "chain broken before it" in report


def test_reordered_rows_are_named_by_verify(api: Api) -> None:
    report = _tampered(api, "UPDATE consent_receipts SET seq = CASE seq WHEN 2 THEN 1002 WHEN 3 THEN 2 END "
                            "WHERE seq IN (2, 3)")
    assert "chain broken before it" in report and "entry seq=2 receipt" in report


def test_purge_removes_old_receipts_and_the_rest_still_verifies(api: Api) -> None:
    post_many(api, 3)
    engine = _engine(api)
    with engine.begin() as conn:  # pretend the first two are two years old
        conn.execute(text("UPDATE consent_receipts SET created_at = created_at - 63072000 WHERE seq <= 2"))
    engine.dispose()
    # (the chain hashes the receipt body, not created_at, so the log still verifies)
    result = api.flask("purge", "--before", time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400 * 365)),
                       "--reason", "retention: 12 months", "--yes")
    assert result.returncode == 0, result.stderr
    assert "purged 2 receipts" in result.stdout
    assert "purged 2 receipts" in result.stderr  # the logged, explicit action
    post_many(api, 1)
    verify = api.flask("verify")
    assert verify.returncode == 0, verify.stderr
    assert "2 receipts checked: the log verifies" in verify.stdout


def test_export_writes_jsonl_and_csv_for_a_time_range(api: Api) -> None:
    answers = post_many(api, 2)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    jsonl = api.flask("export", "--since", today, "--until", tomorrow, "--format", "jsonl")
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [line["receipt"] for line in lines] == [a["receipt"] for a in answers]
    csv = api.flask("export", "--since", today, "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("seq,receipt_id,subject_id,created_at,method,policy_version,choices")
    assert len(csv) == 3 and "advertising=no analytics=no necessary=yes" in csv[1]
    empty = api.flask("export", "--until", today, "--format", "jsonl")
    assert empty.stdout == ""


def test_two_api_processes_writing_at_once_leave_a_log_that_verifies(site: Served, tmp_path: Path) -> None:
    db = database("postgres", tmp_path)
    env = api_env(db, site.site_dir, [KEY1])
    first, second = start(env, tmp_path), start(env, tmp_path)
    created: list[int] = []
    try:
        def writer(api: Api) -> None:
            for _ in range(40):
                status, _, _ = api.call("POST", "api/v1/receipts", request_body())
                created.append(status)

        threads = [threading.Thread(target=writer, args=(a,)) for a in (first, second, first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert created.count(201) == 160
        result = first.flask("verify")
        assert result.returncode == 0, result.stderr
        assert "160 receipts checked: the log verifies" in result.stdout
    finally:
        first.stop()
        second.stop()


def test_every_acknowledged_receipt_survives_a_sigkill(backend: str, site: Served, tmp_path: Path) -> None:
    db = database(backend, tmp_path)
    env = api_env(db, site.site_dir, [KEY1])
    api = start(env, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            body = request_body()
            try:
                status, _, _ = api.call("POST", "api/v1/receipts", body)
            except OSError:
                continue
            if status == 201:
                acknowledged.append(body["receipt_id"])

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    while len(acknowledged) < 150:
        time.sleep(0.01)
    api.stop(kill=True)  # SIGKILL, mid-load
    stop.set()
    for t in threads:
        t.join()
    restarted = start(env, tmp_path)
    try:
        engine = _engine(restarted)
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT receipt_id FROM consent_receipts"))}
        engine.dispose()
        assert set(acknowledged) <= stored
        verify = restarted.flask("verify")
        assert verify.returncode == 0, verify.stderr
    finally:
        restarted.stop()


def test_the_first_signing_key_is_created_by_the_operator_and_the_api_then_starts(
    site: Served, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "consent-keys.json"
    env = api_env(database("sqlite", tmp_path), site.site_dir, [KEY1])
    del env["CONSENT_SIGNING_KEYS"]
    env["CONSENT_KEY_FILE"] = str(key_file)
    consent_keys = str(Path(sys.executable).parent / "consent-keys")
    refused = subprocess.run([sys.executable, "-m", "flask", "--app", "consent_api", "init-db"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and f"consent-keys rotate --key-file {key_file}" in refused.stderr
    for _ in range(2):
        made = subprocess.run([consent_keys, "rotate"], env=env, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(json.loads(key_file.read_text())) == 2
    api = start(env, tmp_path)
    try:
        status, _, answer = api.call("POST", "api/v1/receipts", request_body())
        assert status == 201 and answer["token"]
    finally:
        api.stop()


def test_processes_taking_turns_keep_one_chain(backend: str, site: Served, tmp_path: Path) -> None:
    """Each process remembers the head it last wrote; when another process appended since,
    its one-statement append must notice, not fork the chain."""
    db = database(backend, tmp_path)
    first = start(api_env(db, site.site_dir, [KEY1]), tmp_path)
    second = start(api_env(db, site.site_dir, [KEY1]), tmp_path)
    try:
        for turn in range(12):
            post_many(first if turn % 2 == 0 else second, 2)
        report = first.flask("verify")
        assert report.returncode == 0, report.stdout + report.stderr
        engine = _engine(first)
        with engine.connect() as conn:
            links = conn.execute(text("SELECT prev_hash, hash FROM consent_receipts ORDER BY seq")).all()
        engine.dispose()
        assert len(links) == 24
        assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(links))
    finally:
        first.stop()
        second.stop()
