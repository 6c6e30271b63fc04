"""The consent log against an insider who can write the database and holds no key.

Each attack is made as that insider would make it: SQL on the real database (SQLite and
PostgreSQL), hashes recomputed where that helps. What must hold: nothing fabricated is ever
signed with the log key or served with a proof, ``verify`` names the real culprit, and
``consent-verify`` refuses what the log did not sign.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from consent_api.receipt import report_columns
from consent_log import merkle
from consent_log.checkpoint import Checkpoint, LogKey, read_notes, split_notes
from consent_log.leaf import canonical
from consent_log.verify import ReceiptCheckError, verify_receipt
from tests.api.conftest import LOG_KEY, LOG_ORIGIN, Local

GENUINE = LogKey(LOG_KEY["name"], base64.b64decode(LOG_KEY["seed"]), LOG_KEY["created"])
VERIFIERS = [GENUINE.verifier]


def leaf(receipt: dict[str, Any]) -> bytes:
    return merkle.leaf_hash(canonical(receipt).encode())


def b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def fabricated(receipt: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A receipt the visitor never gave: theirs, with advertising granted, under a new id."""
    fake: dict[str, Any] = json.loads(json.dumps(receipt))
    fake["consentReceiptID"] = str(uuid.uuid4())
    fake["choices"]["advertising"] = True
    fake.update(changes)
    return fake


def insert_row(local: Local, body: dict[str, Any], token: str) -> None:
    """A receipt row written straight into the table, its columns consistent with its body, and
    listed for the sealer as the API lists the receipts it stores."""
    local.sql("INSERT INTO consent_receipts (receipt_id, subject_id, created_at, request_sha256, body, token, kid, "
              "created_day, method, gpc, policy_id, policy_version, config_revision, choices, language) VALUES "
              "(:rid, :sid, :at, :sha, :body, :token, 'k1', :created_day, :method, :gpc, :policy_id, "
              ":policy_version, :config_revision, :choices, :language)",
              {"rid": body["consentReceiptID"], "sid": body["piiPrincipalId"], "at": body["consentTimestamp"],
               "sha": "0" * 64, "body": canonical(body), "token": token, **report_columns(body)})
    local.sql("INSERT INTO consent_log_pending (seq) SELECT seq FROM consent_receipts WHERE receipt_id = :rid",
              {"rid": body["consentReceiptID"]})


def checkpoints_file(local: Local) -> Path:
    return local.log_dir / "checkpoints"


def witness(local: Local, tmp: Path) -> Path:
    """A copy of the checkpoints file kept off the machine, before the attack."""
    copy = tmp / "witness"
    copy.write_bytes(checkpoints_file(local).read_bytes())
    return copy


def verify(local: Local, *files: Path) -> tuple[int, str]:
    args = ["verify"]
    for f in files:
        args += ["--checkpoint", str(f)]
    result = local.flask(*args)
    return result.exit_code, result.stderr


def download(local: Local, answer: dict[str, Any]) -> dict[str, Any]:
    got = local.client.get(f"/api/v1/receipts/{answer['receipt']['consentReceiptID']}?format=json",
                           headers={"Authorization": f"Bearer {answer['token']}"})
    assert got.status_code == 200, got.get_json()
    found: dict[str, Any] = got.get_json()
    return found


def latest_note(local: Local) -> str:
    got = local.client.get("/api/v1/log/checkpoint")
    assert got.status_code == 200
    return str(got.get_data(as_text=True))


def consistency_from(local: Local) -> Any:
    def fetch(old: int, new: int) -> list[bytes]:
        got = local.client.get(f"/api/v1/log/proof/consistency?from={old}&to={new}")
        assert got.status_code == 200, got.get_json()
        return [base64.b64decode(h) for h in got.get_json()["hashes"]]

    return fetch


# -- 1. a fabricated history on a forged node ----------------------------------------------


def restarted(local: Local, site: Any) -> Local:
    """The same API after a restart: a new process, nothing in memory, the same database and files."""
    from consent_api import create_app
    from tests.api.conftest import local_config

    return Local(create_app(local_config(local.db_url, site.site_dir, local.log_dir)), local.db_url, local.log_dir)


def forge_tree(local: Local, tree: merkle.Levels) -> None:
    for level, row in enumerate(tree.levels):
        for index, digest in enumerate(row):
            local.sql("UPDATE consent_log_nodes SET hash = :h WHERE level = :l AND idx = :i",
                      {"h": digest, "l": level, "i": index})


def test_a_fabricated_history_on_forged_nodes_is_never_signed_and_verify_names_the_nodes(
        local: Local, site: Any, tmp_path: Path) -> None:
    honest = [local.post() for _ in range(16)]
    local.seal()
    kept = witness(local, tmp_path)
    # The insider's history: the same 16 leaves but leaf 3 is a visitor granting advertising;
    # every node of that subtree is written, so the stored tree is self-consistent.
    fake = fabricated(honest[3]["receipt"])
    leaves = [leaf(a["receipt"]) for a in honest]
    leaves[3] = leaf(fake)
    forged = merkle.Levels(leaves)
    forge_tree(local, forged)
    honest.append(local.post())
    [note17] = local.seal()  # the running sealer extends the edge it computed itself ...
    genuine = merkle.Levels([leaf(a["receipt"]) for a in honest])
    assert Checkpoint.parse(note17.split("\n\n")[0] + "\n").root == genuine.root()  # ... not the forged one
    proof = {"leaf_index": 3, "tree_size": 17, "checkpoint": latest_note(local),
             "hashes": b64(merkle.inclusion_proof(merkle.Levels([*leaves, genuine.get(0, 16)]).get, 3, 17))}
    with pytest.raises(ReceiptCheckError, match="is NOT leaf 3"):
        verify_receipt({"receipt": fake, "proof": proof}, VERIFIERS)
    assert download(local, honest[5])["proof"] is None  # a proof through a forged node is not served
    assert download(local, honest[16])["proof"] is None
    # A restarted sealer reads the edge back, finds it does not reproduce the signed root, and halts.
    again = restarted(local, site)
    again.post()
    assert again.seal() == []
    halted = again.svc.sealer.halted()
    assert halted and "do not reproduce the signed root of size 17" in halted
    assert latest_note(again) == note17
    health = again.client.get("/api/healthz").get_json()
    assert health["status"] == "degraded" and health["sealing"] == "halted"
    assert "consent_log_sealing_halted 1" in again.client.get("/api/metrics").get_data(as_text=True)
    # verify blames the nodes, not the honest receipts under them.
    code, report = verify(again, kept, checkpoints_file(again))
    assert code == 1
    assert "node (level 4, index 0): not the hash of leaves 0..15 (the tree was edited)" in report
    assert "leaf 3 (receipt" in report and "(a node was edited)" in report
    assert honest[0]["receipt"]["consentReceiptID"] not in report
    # Once the operator has repaired the tree, sealing resumes from the checked state.
    forge_tree(again, genuine)
    assert again.flask("seal").exit_code == 1  # still halted until the operator resumes
    resumed = again.flask("seal", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert "the tree has 18 leaves" in resumed.stdout
    assert verify(again, kept, checkpoints_file(again))[0] == 0
    again.svc.log.engine.dispose()


def test_a_forged_node_below_the_edge_gets_no_proof_served_and_verify_names_it(local: Local) -> None:
    honest = [local.post() for _ in range(20)]
    local.seal()
    local.sql("UPDATE consent_log_nodes SET hash = :h WHERE level = 2 AND idx = 1", {"h": b"\x07" * 32})
    assert download(local, honest[0])["proof"] is None  # its path runs through leaves 4..7's node
    assert download(local, honest[12])["proof"] is not None
    local.post()
    assert len(local.seal()) == 1  # the edge is intact: sealing goes on
    code, report = verify(local)
    assert code == 1 and "node (level 2, index 1): not the hash of leaves 4..7" in report


def test_a_sealer_restarted_on_a_database_that_forgot_its_checkpoints_trusts_its_file(
        local: Local, site: Any) -> None:
    [local.post() for _ in range(5)]
    local.seal()
    local.sql("DELETE FROM consent_log_checkpoints")  # the database forgets every checkpoint ...
    local.sql("UPDATE consent_log_nodes SET hash = :h WHERE level = 2 AND idx = 0", {"h": b"\x01" * 32})
    other = restarted(local, site)
    other.post()
    assert other.seal() == []  # ... but the checkpoints file remembers size 5
    assert "a checkpoint of size 5 was signed" in str(other.svc.sealer.halted())
    other.svc.log.engine.dispose()


# -- 2. a fabricated row -------------------------------------------------------------------


@pytest.mark.parametrize("token", ["garbage.token-that-no-key-made-000000", "copied"])
def test_a_fabricated_row_is_never_sealed_served_or_shown(local: Local, token: str) -> None:
    victim = local.post()
    local.seal()
    fake = fabricated(victim["receipt"])
    insert_row(local, fake, victim["token"] if token == "copied" else token)
    local.post()
    [note] = local.seal()
    assert Checkpoint.parse(note.split("\n\n")[0] + "\n").size == 2  # the honest one only
    fake_id = fake["consentReceiptID"]
    [(leaf_index,)] = local.sql("SELECT l.leaf_index FROM consent_receipts r LEFT JOIN consent_log_leaves l ON "
                                "l.seq = r.seq WHERE r.receipt_id = :r", {"r": fake_id})
    assert leaf_index is None
    assert local.operator_get(f"/api/v1/receipts/{fake_id}?format=json").status_code == 404
    subject = victim["receipt"]["piiPrincipalId"]
    history = local.client.get(f"/api/v1/subjects/{subject}/receipts",
                               headers={"Authorization": f"Bearer {victim['token']}"}).get_json()
    assert [r["receipt"]["consentReceiptID"] for r in history["receipts"]] == [victim["receipt"]["consentReceiptID"]]
    assert local.client.get("/api/healthz").get_json()["held_out_of_log"] == 1
    code, report = verify(local, checkpoints_file(local))
    reason = "its token was issued for another receipt" if token == "copied" else "its token is not genuine"
    assert code == 1 and f"({fake_id}): held out of the log, as it fails its own token: {reason}" in report
    assert local.flask("seal").stdout.count("1 receipt row(s) held out of the log") == 1
    report = local.operator_get("/api/v1/report").get_data(as_text=True)
    held = report[report.index('id="held"'):]
    assert "Rows that failed their own token" in held
    assert f'<th scope="row">{reason.split(" (")[0]}</th><td>1</td>' in held
    assert fake_id not in report


def test_an_honest_row_held_out_of_the_log_by_a_forged_quarantine_entry_is_named(local: Local) -> None:
    local.post()
    [(seq,)] = local.sql("SELECT seq FROM consent_receipts")
    local.sql("INSERT INTO consent_log_quarantine (seq, reason, created_at) VALUES (:s, 'forged', 0)", {"s": seq})
    assert local.seal() == []
    code, report = verify(local)
    assert code == 1 and "but it passes: an honest receipt was held back" in report


def test_a_receipt_taken_out_of_the_sealers_way_is_named_by_verify(local: Local) -> None:
    answer = local.post()
    local.sql("DELETE FROM consent_log_pending")  # the insider's way to keep a receipt out of the log
    assert local.seal() == []
    code, report = verify(local)
    rid = answer["receipt"]["consentReceiptID"]
    assert code == 1 and f"receipt {rid}: neither sealed, nor waiting for the sealer, nor held" in report


def test_a_sealed_receipt_listed_again_for_the_sealer_is_passed_over_and_named(local: Local) -> None:
    [local.post() for _ in range(3)]
    local.seal()
    local.sql("INSERT INTO consent_log_pending (seq) SELECT seq FROM consent_log_leaves WHERE leaf_index = 1")
    local.post()
    [note] = local.seal()  # sealing goes on, with the honest new receipt only
    assert note.split("\n")[1] == "4" and local.svc.sealer.halted() is None
    code, report = verify(local)
    assert code == 1 and "listed as waiting for the sealer although it is leaf 1" in report


def test_a_row_given_a_leaf_outside_the_sealer_halts_sealing_and_fails_verify(local: Local, site: Any) -> None:
    [local.post() for _ in range(3)]
    local.seal()
    answer = local.post()
    local.sql("INSERT INTO consent_log_leaves (leaf_index, seq) SELECT 3, seq FROM consent_receipts WHERE "
              "receipt_id = :r", {"r": answer["receipt"]["consentReceiptID"]})
    local.post()
    assert local.seal() == []
    assert "already stands where the tree of size 3 grows" in str(local.svc.sealer.halted())
    again = restarted(local, site)  # a sealer that reads the tree back names the row at once
    assert again.flask("seal", "--resume").exit_code == 1
    assert "is given leaf 3, beyond the signed tree of size 3" in str(again.svc.sealer.halted())
    again.svc.log.engine.dispose()
    code, report = verify(local)  # no witness file: the database's own checkpoints suffice
    assert code == 1 and "sealed beyond the latest signed checkpoint (size 3)" in report


# -- 3. garbage checkpoints ----------------------------------------------------------------


def _unknown_key_note(size: int) -> str:
    other = LogKey(LOG_ORIGIN, bytes(range(32)), "2026-01-01T00:00:00Z")
    return other.sign_note(Checkpoint(LOG_ORIGIN, size, b"\x05" * 32).body())


@pytest.mark.parametrize("kind", ["garbage", "unknown key", "moved"])
def test_a_bad_checkpoint_row_is_skipped_by_readers_and_the_sealer_goes_on(local: Local, kind: str) -> None:
    answers = [local.post() for _ in range(3)]
    [note3] = local.seal()
    bad = {"garbage": "not a note at all \u2014", "unknown key": _unknown_key_note(4), "moved": note3}[kind]
    local.sql("INSERT INTO consent_log_checkpoints (tree_size, note, created_at) VALUES (4, :n, 0)", {"n": bad})
    assert download(local, answers[0])["proof"]["tree_size"] == 3  # reads are served from the good one
    assert latest_note(local) == note3
    local.post()
    [note4] = local.seal()  # sealing went on; the bad row is gone, not copied
    assert latest_note(local) == note4
    found, _, problems = read_notes(checkpoints_file(local), VERIFIERS)
    assert [c.checkpoint.size for c in found] == [3, 4] and problems == []
    assert verify(local, checkpoints_file(local))[0] == 0


def test_verify_reads_a_checkpoints_file_on_past_a_bad_note(local: Local, tmp_path: Path) -> None:
    [local.post() for _ in range(3)]
    [note3] = local.seal()
    local.post()
    [note4] = local.seal()
    kept = tmp_path / "witness"
    kept.write_text(f"{note3}\nnot a note\n\n\u2014 nobody AAAA\n\n{note4}\n")
    local.sql("DELETE FROM consent_receipts WHERE seq = (SELECT seq FROM consent_log_leaves WHERE leaf_index = 3)")
    local.sql("DELETE FROM consent_log_nodes WHERE level = 0 AND idx = 3")
    code, report = verify(local, kept)
    assert code == 1 and f"{kept}: note 2:" in report
    assert f"{kept}: checkpoint of size 4: the log has only 3 leaves" in report  # the note after it still counts


# -- 4. purge laundering --------------------------------------------------------------------


def test_purge_selects_by_the_signed_timestamp_not_the_created_at_column(local: Local) -> None:
    old = [local.post(), local.post()]
    cut = int(time.time()) + 1
    while time.time() < cut:
        time.sleep(0.05)
    recent = local.post()
    local.seal()
    laundered = recent["receipt"]["consentReceiptID"]
    local.sql("UPDATE consent_receipts SET created_at = 0 WHERE receipt_id = :r", {"r": laundered})
    before = dt.datetime.fromtimestamp(cut, dt.UTC).replace(tzinfo=None).isoformat()
    result = local.flask("purge", "--before", before, "--reason", "retention", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "purged 2 receipts" in result.stdout
    assert f"kept, not purged: receipt {laundered}: its created_at column says before the cutoff" in result.stderr
    left = {r[0] for r in local.sql("SELECT receipt_id FROM consent_receipts")}
    assert left == {laundered}
    assert not {a["receipt"]["consentReceiptID"] for a in old} & left
    code, report = verify(local, checkpoints_file(local))
    assert code == 1
    assert f"(receipt {laundered}): its created_at column (0) disagrees with the receipt's consentTimestamp" in report
    assert "no signed purge statement" not in report  # the two genuinely purged leaves are covered


def test_verify_names_every_column_that_disagrees_with_its_receipt(local: Local) -> None:
    answer = local.post()
    local.seal()
    rid = answer["receipt"]["consentReceiptID"]
    for column, value in (("method", "dialog"), ("policy_version", "2025-03-31"), ("created_day", 1),
                          ("config_revision", "ffffffffffffffff"), ("language", "fr")):
        local.sql(f"UPDATE consent_receipts SET {column} = :v WHERE receipt_id = :r", {"v": value, "r": rid})
    code, report = verify(local)
    assert code == 1
    for column in ("method", "policy_version", "created_day", "config_revision", "language"):
        assert f"its {column} column" in report


# -- 5. forks -------------------------------------------------------------------------------


def _forked(local: Local, honest: list[dict[str, Any]], extra: int = 0) -> tuple[dict[str, Any], str, merkle.Levels]:
    """A second history of the same receipts in which one visitor granted advertising, signed
    with the log key (the operator equivocating, or its key stolen): what witnesses catch."""
    fake = fabricated(honest[1]["receipt"])
    leaves = [leaf(a["receipt"]) for a in honest] + [merkle.leaf_hash(b"extra %d" % i) for i in range(extra)]
    leaves[1] = leaf(fake)
    tree = merkle.Levels(leaves)
    return fake, GENUINE.sign_note(Checkpoint(LOG_ORIGIN, tree.size, tree.root()).body()), tree


def test_consent_verify_refuses_a_receipt_when_the_checkpoints_given_fork(local: Local, tmp_path: Path) -> None:
    honest = [local.post() for _ in range(4)]
    local.seal()
    fake, fork, tree = _forked(local, honest)
    forked_file = tmp_path / "forked"
    forked_file.write_text(checkpoints_file(local).read_text() + fork + "\n")
    notes = split_notes(forked_file.read_text())
    fake_download = {"receipt": fake, "proof": {"leaf_index": 1, "tree_size": 4, "checkpoint": fork,
                                                "hashes": b64(merkle.inclusion_proof(tree.get, 1, 4))}}
    for offered in (fake_download, download(local, honest[1])):
        with pytest.raises(ReceiptCheckError, match="two signed checkpoints of size 4 that disagree: the log was "
                                                    "forked"):
            verify_receipt(offered, VERIFIERS, notes)
    code, report = verify(local, forked_file)
    assert code == 1 and "two signed checkpoints of this size disagree (the log was forked)" in report


def test_consent_verify_checks_checkpoints_of_other_sizes_with_consistency_proofs(local: Local,
                                                                               tmp_path: Path) -> None:
    honest = [local.post() for _ in range(4)]
    local.seal()
    local.post()
    assert len(local.seal()) == 1
    mine = download(local, honest[0])
    notes = split_notes(checkpoints_file(local).read_text())
    proven = verify_receipt(mine, VERIFIERS, notes, consistency_from(local))
    assert "the 3 checkpoints given agree" in proven and "not checked" not in proven
    assert "not checked" in verify_receipt(mine, VERIFIERS, notes)
    _, fork, _ = _forked(local, honest, extra=2)  # a size-6 log that does not extend the size-4 one
    with pytest.raises(ReceiptCheckError, match="are not consistent"):
        verify_receipt(mine, VERIFIERS, [*notes, fork], lambda old, new: consistency_from(local)(old, min(new, 5)))


def test_a_rolled_back_database_halts_the_sealer(local: Local) -> None:
    [local.post() for _ in range(4)]
    local.seal()
    local.post()
    local.seal()
    local.sql("DELETE FROM consent_log_checkpoints WHERE tree_size = 5")
    local.sql("DELETE FROM consent_log_nodes WHERE idx >= 4 AND level = 0")
    local.sql("INSERT INTO consent_log_pending (seq) SELECT seq FROM consent_log_leaves WHERE leaf_index = 4")
    local.sql("DELETE FROM consent_log_leaves WHERE leaf_index = 4")
    local.post()
    assert local.seal() == []
    assert "checkpoints or leaves were removed (a rollback" in str(local.svc.sealer.halted())




@pytest.mark.parametrize("backend", ["postgres"])
def test_a_sealer_checks_and_signs_only_in_its_turn(local: Local, site: Any) -> None:
    """While another sealer holds the turn (mid-transaction, about to commit a checkpoint), a
    sealer neither signs nor checks: a check between two of the other's statements would see its
    leaves before its checkpoint and halt on an honest log. (PostgreSQL: SQLite's write
    transaction is exclusive by itself.)"""
    from sqlalchemy import text

    from consent_api.sealer import SEALER_LOCK

    [local.post() for _ in range(3)]
    local.seal()
    other = restarted(local, site)  # another process, its frontier not yet checked
    local.post()
    with local.svc.log.engine.begin() as conn:  # the first sealer's turn, held open
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEALER_LOCK})
        assert other.seal() == [] and other.svc.sealer.halted() is None
        assert other.svc.sealer._frontier is None  # it read nothing of the tree outside its turn
    assert len(other.seal()) == 1 and other.svc.sealer.halted() is None
    other.svc.log.engine.dispose()
