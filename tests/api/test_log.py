"""The receipt log as the operator meets it: keys, tampering, purge, export, concurrency, crashes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from consent_log import merkle
from consent_log.checkpoint import LogKey, split_notes
from tests.api.conftest import KEY1, KEY2, PAGE_ORIGIN, Api, Local, api_env, database, request_body, start
from tests.harness import BUILD_DATE, ROOT, Served, cli


def _engine(api: Api):  # type: ignore[no-untyped-def]
    url = api.env["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url)


def _unsealed(api: Api) -> int:
    engine = _engine(api)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM consent_receipts r WHERE NOT EXISTS "
                                      "(SELECT 1 FROM consent_log_leaves l WHERE l.seq = r.seq)")).scalar_one())
    engine.dispose()
    return count


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


@pytest.fixture
def quiet(backend: str, site: Served, tmp_path: Path) -> Iterator[Api]:
    """An API whose log is sealed only by the operator's ``seal``: the witness's checkpoints are
    then exactly the ones the test made."""
    api = start(api_env(database(backend, tmp_path), site.site_dir, [KEY1], CONSENT_SEAL_INTERVAL="0"), tmp_path)
    yield api
    api.stop()


def seal_and_witness(api: Api, tmp: Path, count: int) -> Path:
    """Post ``count`` receipts, seal them, and keep a copy of the checkpoints file off the
    'machine' (as a witness would), before any attack."""
    post_many(api, count)
    sealed = api.flask("seal")
    assert sealed.returncode == 0, sealed.stderr
    witness = tmp / "witness-checkpoints"
    shutil.copy(Path(api.env["CONSENT_LOG_DIR"]) / "checkpoints", witness)
    verify = api.flask("verify", "--checkpoint", str(witness))
    assert verify.returncode == 0, verify.stderr  # the untouched log passes
    return witness


def at_leaf(index: int) -> str:
    """SQL: the receipt row that is leaf ``index``."""
    return f"seq = (SELECT seq FROM consent_log_leaves WHERE leaf_index = {index})"


def recompute_tree(conn: Any) -> None:
    """What an insider with write access but no keys does after changing receipts: recompute
    every leaf and node hash from the receipts as they now are (and drop the stored checkpoints,
    which cannot be re-signed)."""
    bodies = conn.execute(text("SELECT r.body FROM consent_receipts r JOIN consent_log_leaves l ON l.seq = r.seq "
                               "ORDER BY l.leaf_index")).scalars().all()
    tree = merkle.Levels([merkle.leaf_hash(b.encode()) for b in bodies])
    conn.execute(text("DELETE FROM consent_log_nodes"))
    conn.execute(text("DELETE FROM consent_log_checkpoints"))
    conn.execute(text("INSERT INTO consent_log_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                 [{"l": level, "i": i, "h": h} for level, row in enumerate(tree.levels) for i, h in enumerate(row)])


def attacked(api: Api, witness: Path, *statements: str, recompute: bool = True) -> str:
    engine = _engine(api)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
        if recompute:
            recompute_tree(conn)
    engine.dispose()
    result = api.flask("verify", "--checkpoint", str(witness))
    assert result.returncode == 1, result.stdout
    return result.stderr


def receipt_at(api: Api, leaf: int) -> str:
    engine = _engine(api)
    with engine.connect() as conn:
        found = str(conn.execute(text(f"SELECT receipt_id FROM consent_receipts WHERE {at_leaf(leaf)}")).scalar())
    engine.dispose()
    return found


def test_an_edited_receipt_fails_verify_even_with_every_hash_recomputed(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    edited = receipt_at(quiet, 2)
    report = attacked(quiet, witness, "UPDATE consent_receipts SET body = replace(body, '\"analytics\":false', "
                                    f"'\"analytics\":true') WHERE {at_leaf(2)}")
    assert f"leaf 2 (receipt {edited}): its token was issued for other content" in report
    assert "the log's first 8 leaves do not match it" in report


def test_a_receipt_the_report_would_count_as_another_choice_fails_verify(quiet: Api, tmp_path: Path) -> None:
    """The report groups by columns copied from the receipt: changing one leaves the tree
    intact but would skew the report, so verify compares them with the receipt."""
    witness = seal_and_witness(quiet, tmp_path, 4)
    edited = receipt_at(quiet, 1)
    report = attacked(quiet, witness, "UPDATE consent_receipts SET choices = replace(choices, 'analytics=0', "
                                    f"'analytics=1') WHERE {at_leaf(1)}", recompute=False)
    assert report.count("disagrees with the receipt's") == 1
    assert f"leaf 1 (receipt {edited}): its choices column (advertising=0,analytics=1,necessary=1) disagrees" in report


def test_a_deleted_receipt_fails_verify_even_with_the_tree_rebuilt(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    report = attacked(quiet, witness, f"DELETE FROM consent_receipts WHERE {at_leaf(2)}",
                      "DELETE FROM consent_log_leaves WHERE leaf_index = 2",
                      "UPDATE consent_log_leaves SET leaf_index = leaf_index + 100 WHERE leaf_index > 2",
                      "UPDATE consent_log_leaves SET leaf_index = leaf_index - 101 WHERE leaf_index > 100")
    assert "checkpoint of size 8: the log has only 7 leaves: leaves 7..7 are missing" in report


def test_two_swapped_receipts_fail_verify(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    report = attacked(quiet, witness, "UPDATE consent_log_leaves SET leaf_index = 100 WHERE leaf_index = 1",
                      "UPDATE consent_log_leaves SET leaf_index = 1 WHERE leaf_index = 3",
                      "UPDATE consent_log_leaves SET leaf_index = 3 WHERE leaf_index = 100")
    assert "the log's first 8 leaves do not match it: a receipt among leaves 0..7" in report


def test_the_last_three_receipts_dropped_fail_verify_naming_the_missing_range(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    report = attacked(quiet, witness, "DELETE FROM consent_receipts WHERE seq IN (SELECT seq FROM consent_log_leaves "
                      "WHERE leaf_index >= 5)", "DELETE FROM consent_log_leaves WHERE leaf_index >= 5")
    assert "leaves 5..7 are missing (the log was truncated)" in report


def test_an_inserted_receipt_fails_verify(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    copy = ("INSERT INTO consent_receipts (receipt_id, subject_id, created_at, request_sha256, body, token, kid) "
            "SELECT '00000000-0000-4000-8000-000000000000', subject_id, created_at, request_sha256, body, token, kid "
            f"FROM consent_receipts WHERE {at_leaf(7)}")
    report = attacked(quiet, witness, copy, "INSERT INTO consent_log_leaves (leaf_index, seq) SELECT 8, seq FROM "
                      "consent_receipts WHERE receipt_id = '00000000-0000-4000-8000-000000000000'")
    assert ("leaf 8 (receipt 00000000-0000-4000-8000-000000000000): its token was issued for another receipt"
            in report)


def test_a_forged_purge_fails_verify(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 8)
    forged = ("INSERT INTO consent_log_purges (note, created_at) VALUES ('legal.test/consent-log\npurge\n2-2\n"
              "retention\n\n\u2014 legal.test/consent-log AAAAAA==\n', 0)")
    report = attacked(quiet, witness, f"DELETE FROM consent_receipts WHERE {at_leaf(2)}", forged, recompute=False)
    assert "purge record 1 in the database:" in report
    assert "leaf 2: no receipt, and no signed purge statement covers it (a receipt was deleted)" in report


def test_purge_keeps_the_leaf_hashes_and_the_log_still_verifies(api: Api, tmp_path: Path) -> None:
    post_many(api, 2)
    cutoff = int(time.time()) + 1  # the first two are older than the cutoff (by their signed timestamps)
    while time.time() < cutoff:
        time.sleep(0.05)
    post_many(api, 1)
    assert api.flask("seal").returncode == 0
    witness = tmp_path / "witness"
    shutil.copy(Path(api.env["CONSENT_LOG_DIR"]) / "checkpoints", witness)
    result = api.flask("purge", "--before", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cutoff)),
                       "--reason", "retention: 12 months", "--yes")
    assert result.returncode == 0, result.stderr
    assert "purged 2 receipts" in result.stdout
    assert "purged 2 receipts" in result.stderr  # the logged, explicit action
    post_many(api, 1)
    assert api.flask("seal").returncode == 0
    verify = api.flask("verify", "--checkpoint", str(witness),
                       "--checkpoint", str(Path(api.env["CONSENT_LOG_DIR"]) / "checkpoints"))
    assert verify.returncode == 0, verify.stderr
    assert "4 leaves (2 receipts, 2 purged), 0 receipts not sealed yet" in verify.stdout


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
    env = api_env(db, site.site_dir, [KEY1], CONSENT_LOG_DIR=str(tmp_path / "consent-log"))
    first, second = start(env, tmp_path, server=True), start(env, tmp_path, server=True)
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
        for api in (first, second):
            assert api.flask("seal").returncode == 0
        result = first.flask("verify", "--checkpoint", str(Path(env["CONSENT_LOG_DIR"]) / "checkpoints"))
        assert result.returncode == 0, result.stderr
        assert "160 leaves (160 receipts, 0 purged), 0 receipts not sealed yet" in result.stdout
    finally:
        first.stop()
        second.stop()


def test_every_acknowledged_receipt_survives_a_sigkill(backend: str, site: Served, tmp_path: Path) -> None:
    db = database(backend, tmp_path)
    env = api_env(db, site.site_dir, [KEY1], CONSENT_LOG_DIR=str(tmp_path / "consent-log"))
    api = start(env, tmp_path, server=True)
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
        deadline = time.monotonic() + 30  # the restarted API's sealer seals what the killed one had not
        while restarted.flask("seal").returncode == 0 and _unsealed(restarted) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _unsealed(restarted) == 0
        verify = restarted.flask("verify", "--checkpoint", str(Path(env["CONSENT_LOG_DIR"]) / "checkpoints"))
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


REFUSED_PAGE = "/refused-by-the-database/"


def _refuse_in_the_database(api: Api) -> None:
    """A trigger that makes the database itself refuse a receipt of REFUSED_PAGE: a failure no
    validation catches, on the insert that shares its transaction with other receipts."""
    engine = _engine(api)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_receipt BEFORE INSERT ON consent_receipts "
                f"WHEN instr(NEW.body, '{REFUSED_PAGE}') > 0 "
                "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END")
        else:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_receipt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF strpos(NEW.body, '{REFUSED_PAGE}') > 0 THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
                "RETURN NEW; END $$")
            conn.exec_driver_sql("CREATE TRIGGER refuse_receipt BEFORE INSERT ON consent_receipts "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_receipt()")
    engine.dispose()


def test_a_malformed_request_in_a_burst_of_good_ones_affects_none_of_them(api: Api) -> None:
    """Requests the API refuses (400, 422) and receipts the database refuses (500, each alone, though
    concurrent receipts share a transaction) among 150 good ones sent at the same time."""
    _refuse_in_the_database(api)
    bad = [b"{not json", json.dumps(request_body(receipt_id="not-a-uuid")).encode(),
           json.dumps(request_body(choices={"necessary": False, "analytics": False, "advertising": False})).encode()]
    answers: dict[str, int] = {}
    bad_answers: list[int] = []
    refused: list[tuple[int, str | None]] = []

    def good(count: int) -> None:
        for _ in range(count):
            body = request_body()
            answers[body["receipt_id"]] = api.call("POST", "api/v1/receipts", body)[0]

    def refused_by_the_database(count: int) -> None:
        for _ in range(count):
            status, headers, _ = api.call("POST", "api/v1/receipts", request_body(page=PAGE_ORIGIN + REFUSED_PAGE))
            refused.append((status, headers.get("Retry-After")))

    threads = [threading.Thread(target=good, args=(25,)) for _ in range(6)]
    threads += [threading.Thread(target=refused_by_the_database, args=(4,)) for _ in range(3)]
    for t in threads:
        t.start()
    for raw in bad * 3:
        bad_answers.append(api.call("POST", "api/v1/receipts", raw=raw)[0])
    for t in threads:
        t.join()
    assert sorted(set(answers.values())) == [201] and len(answers) == 150
    assert bad_answers == [400, 422, 422] * 3
    assert refused == [(500, "1")] * 12
    engine = _engine(api)
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT receipt_id FROM consent_receipts")).scalars())
    engine.dispose()
    assert stored == set(answers)


def test_a_visitor_proves_a_downloaded_receipt_with_nothing_but_the_sites_published_key(
        site: Served, tmp_path: Path) -> None:
    env = api_env(database("sqlite", tmp_path), site.site_dir, [KEY1], CONSENT_LOG_DIR=str(tmp_path / "log"))
    api = start(env, tmp_path, server=True)  # consent-verify --api fetches from it
    try:
        post_many(api, 3)
        deadline = time.monotonic() + 10  # sealed, so that the fourth is in a checkpoint of its own
        while str(api.call("GET", "api/v1/log/checkpoint")[2]).split("\n")[1:2] != ["3"]:
            assert time.monotonic() < deadline, "the first three receipts were not sealed within 10 s"
            time.sleep(0.1)
        body = request_body()
        status, _, created = api.call("POST", "api/v1/receipts", body)
        assert status == 201 and created["proof"] is None  # stored now, sealed within a second
        auth = {"Authorization": f"Bearer {created['token']}"}
        deadline = time.monotonic() + 10
        download: dict[str, Any] = {}
        while not download.get("proof") and time.monotonic() < deadline:
            time.sleep(0.2)
            download = api.call("GET", f"api/v1/receipts/{body['receipt_id']}?format=json&download=1",
                                headers=auth)[2]
        assert download["proof"]["tree_size"] == 4
        # With the API at hand, the tool also checks the witnessed checkpoints against one another.
        witnessed = tmp_path / "log" / "checkpoints"
        assert len({n.split("\n")[1] for n in split_notes(witnessed.read_text())}) >= 2  # two sizes at least
        (tmp_path / "live.json").write_text(json.dumps(download))
        live = subprocess.run([str(Path(sys.executable).parent / "consent-verify"), str(tmp_path / "live.json"),
                               "--key", str(tmp_path / "log" / "consent-log.pub"), "--checkpoint", str(witnessed),
                               "--api", api.base], capture_output=True, text=True, timeout=60)
        assert live.returncode == 0, live.stderr
        assert "checkpoints given agree" in live.stdout and "not checked" not in live.stdout
    finally:
        api.stop()
    published = tmp_path / "published-site"
    cli("build", "--site-dir", str(published), "--date", BUILD_DATE, "--site-url", site.base_url,
        env_extra={"LEGAL_CONSENT_LOG_DIR": str(tmp_path / "log")})
    key = published / ".well-known" / "consent-log.pub"
    assert key.read_text() == (tmp_path / "log" / "consent-log.pub").read_text()
    assert json.loads((published / ".well-known" / "consent-log.json").read_text())["keys"][0]["verifier"] == \
        key.read_text().strip()
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(download))
    consent_verify = str(Path(sys.executable).parent / "consent-verify")

    def check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([consent_verify, str(path), *extra], capture_output=True, text=True, timeout=60)

    proven = check(receipt, "--key", str(key))
    assert proven.returncode == 0, proven.stderr
    assert f"receipt {body['receipt_id']} is leaf 3 of the log legal.test/consent-log" in proven.stdout
    checkpoint = published / ".well-known" / "consent-log-checkpoint"
    assert check(receipt, "--checkpoint", str(checkpoint), "--key", str(key)).returncode == 0
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(download).replace('"analytics": false', '"analytics": true'))
    refused = check(altered, "--key", str(key))
    assert refused.returncode == 1 and "is NOT leaf 3" in refused.stderr
    other_key = tmp_path / "other.pub"
    other_key.write_text(LogKey("legal.test/consent-log", bytes(32), "2026-01-01T00:00:00Z").verifier.text())
    forged = check(receipt, "--key", str(other_key))
    assert forged.returncode == 1 and "no signature by a known log key" in forged.stderr


def test_a_corrupt_receipt_row_is_named_and_verify_goes_on(quiet: Api, tmp_path: Path) -> None:
    witness = seal_and_witness(quiet, tmp_path, 4)
    corrupt = receipt_at(quiet, 1)
    report = attacked(quiet, witness, f"UPDATE consent_receipts SET body = 'not json {{' WHERE {at_leaf(1)}",
                      "UPDATE consent_receipts SET body = replace(body, '\"analytics\":false', "
                      f"'\"analytics\":true') WHERE {at_leaf(3)}", recompute=False)
    assert f"leaf 1 (receipt {corrupt}): its body is not JSON (the row is corrupt)" in report
    assert "leaf 3 (receipt" in report  # the entries after the corrupt one are still checked
    assert "Traceback" not in report


def test_consent_keys_rewrites_a_readable_key_file_private_and_refuses_a_symlink(tmp_path: Path) -> None:
    consent_keys = str(Path(sys.executable).parent / "consent-keys")
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps([KEY1]))
    key_file.chmod(0o644)  # readable by others, as an earlier version or a careless copy left it
    done = subprocess.run([consent_keys, "rotate", "--key-file", str(key_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(json.loads(key_file.read_text())) == 2
    target = tmp_path / "elsewhere.json"
    target.write_text("unrelated\n")
    link = tmp_path / "linked.json"
    link.symlink_to(target)
    refused = subprocess.run([consent_keys, "rotate", "--key-file", str(link)], capture_output=True, text=True)
    assert refused.returncode != 0 and "is a symbolic link" in refused.stderr
    assert target.read_text() == "unrelated\n"


def test_a_database_that_kept_leaf_indexes_in_the_receipt_rows_is_carried_over(local: Local) -> None:
    """The version before kept each receipt's leaf index in its own row: ``init-db`` moves them
    to the leaves table and lists the unsealed receipts for the sealer, and the log verifies."""
    sealed = [local.post() for _ in range(3)]
    local.seal()
    waiting = local.post()
    local.sql("ALTER TABLE consent_receipts ADD COLUMN leaf_index BIGINT")
    local.sql("UPDATE consent_receipts SET leaf_index = (SELECT l.leaf_index FROM consent_log_leaves l "
              "WHERE l.seq = consent_receipts.seq)")
    local.sql("DROP TABLE consent_log_leaves")
    local.sql("DROP TABLE consent_log_pending")
    assert local.flask("init-db").exit_code == 0
    assert [n.split("\n")[1] for n in local.seal()] == ["4"]  # the waiting one, and only it
    for index, answer in enumerate([*sealed, waiting]):
        rid = answer["receipt"]["consentReceiptID"]
        got = local.operator_get(f"/api/v1/receipts/{rid}?format=json").get_json()
        assert got["proof"]["leaf_index"] == index
    result = local.flask("verify")
    assert result.exit_code == 0, result.output
