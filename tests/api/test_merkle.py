"""The log's tree and checkpoints against independent references: Certificate Transparency's
published test vectors, RFC 9162's own example tree, the RFC's recursive definitions written
out here, pymerkle (an independent RFC 9162 implementation from PyPI), and signed notes that
must fail when any byte changes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pymerkle import InmemoryTree

from consent_log import merkle
from consent_log.checkpoint import Checkpoint, LogKey, NoteError, Verifier, open_note, split_notes

# RFC 6962 / Certificate Transparency reference leaves and the roots of their prefixes
# (the vectors CT's and Trillian's test suites publish).
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION_0_OF_8 = ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]


# -- the RFC's definitions, written out as recursion (independent of merkle.py's iterations) --

def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def data(n: int) -> list[bytes]:
    return [f"receipt {i}".encode() for i in range(n)]


def test_roots_match_the_certificate_transparency_vectors() -> None:
    tree = merkle.Levels([merkle.leaf_hash(d) for d in CT_LEAVES])
    assert [tree.root(n).hex() for n in range(1, 9)] == CT_ROOTS
    assert tree.root(0) == hashlib.sha256(b"").digest()
    assert [h.hex() for h in merkle.inclusion_proof(tree.get, 0, 8)] == CT_INCLUSION_0_OF_8


def test_proofs_match_the_rfc_example_tree_of_seven_leaves() -> None:
    """RFC 9162 §2.1.5: the audit paths and consistency proofs it lists, node by node."""
    d = data(7)
    a, b, c, dd, e, f, j = (merkle.leaf_hash(x) for x in d)
    g, h, i = merkle.node_hash(a, b), merkle.node_hash(c, dd), merkle.node_hash(e, f)
    k, ll = merkle.node_hash(g, h), merkle.node_hash(i, j)
    tree = merkle.Levels([a, b, c, dd, e, f, j])
    assert tree.root() == merkle.node_hash(k, ll)
    assert merkle.inclusion_proof(tree.get, 0, 7) == [b, h, ll]
    assert merkle.inclusion_proof(tree.get, 3, 7) == [c, g, ll]
    assert merkle.inclusion_proof(tree.get, 4, 7) == [f, j, k]
    assert merkle.inclusion_proof(tree.get, 6, 7) == [i, k]
    assert merkle.consistency_proof(tree.get, 3, 7) == [c, dd, g, ll]
    assert merkle.consistency_proof(tree.get, 4, 7) == [ll]
    assert merkle.consistency_proof(tree.get, 6, 7) == [i, j, k]


def test_every_proof_of_trees_of_1_to_70_leaves_agrees_with_the_references_and_verifies() -> None:
    leaves = data(70)
    tree = merkle.Levels([merkle.leaf_hash(x) for x in leaves])
    reference = InmemoryTree(algorithm="sha256")
    for n in range(1, 71):
        reference.append_entry(leaves[n - 1])
        root = tree.root(n)
        assert root == mth(leaves[:n]) == reference.get_root(n)
        for m in range(n):
            proof = merkle.inclusion_proof(tree.get, m, n)
            assert proof == path(m, leaves[:n])
            assert proof == [bytes.fromhex(x) for x in reference.prove_inclusion(m + 1, n).serialize()["path"][1:]]
            assert merkle.verify_inclusion(tree.get(0, m), m, n, proof, root)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(tree.get, m, n)
            assert proof == (subproof(m, leaves[:n], True) if m < n else [])
            assert merkle.verify_consistency(m, n, tree.root(m), root, proof)


def test_a_proof_fails_for_another_leaf_position_root_or_altered_hash() -> None:
    tree = merkle.Levels([merkle.leaf_hash(x) for x in data(70)])
    for n in (2, 7, 33, 64, 70):
        root = tree.root(n)
        for m in range(0, n, 5):
            leaf, proof = tree.get(0, m), merkle.inclusion_proof(tree.get, m, n)
            assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), m, n, proof, root)
            assert not merkle.verify_inclusion(leaf, (m + 1) % n, n, proof, root) or n == 1
            assert not merkle.verify_inclusion(leaf, m, n, proof, tree.root(n - 1))
            assert not merkle.verify_inclusion(leaf, m, n, [*proof, root], root)
            assert not proof or not merkle.verify_inclusion(leaf, m, n, proof[:-1], root)
            for x in range(len(proof)):
                altered = [*proof[:x], bytes([proof[x][0] ^ 1]) + proof[x][1:], *proof[x + 1:]]
                assert not merkle.verify_inclusion(leaf, m, n, altered, root)
        for m in range(1, n, 3):
            proof = merkle.consistency_proof(tree.get, m, n)
            assert not merkle.verify_consistency(m, n, tree.root(m), merkle.leaf_hash(b"x"), proof)
            assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), root, proof)
            for x in range(len(proof)):
                altered = [*proof[:x], bytes([proof[x][0] ^ 1]) + proof[x][1:], *proof[x + 1:]]
                assert not merkle.verify_consistency(m, n, tree.root(m), root, altered)


KEY = LogKey("legal.test/consent-log", bytes(range(32)), "2026-01-01T00:00:00Z")


def test_a_checkpoint_verifies_with_the_published_key_and_fails_with_any_byte_changed() -> None:
    body = Checkpoint(KEY.name, 70, merkle.leaf_hash(b"root")).body()
    note = KEY.sign_note(body)
    published = Verifier.parse(KEY.verifier.text())
    assert KEY.verifier.text().startswith("legal.test/consent-log+")
    assert open_note(note, [published]).checkpoint == Checkpoint.parse(body)
    raw = note.encode()
    for position in range(len(raw)):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        try:
            text = changed.decode()
        except UnicodeDecodeError:
            continue  # not a note any more, let alone a valid one
        with pytest.raises(NoteError):
            opened = open_note(text, [published])
            if opened.checkpoint != Checkpoint.parse(body):  # (a change that leaves the same checkpoint is none)
                raise AssertionError(f"byte {position} changed the checkpoint and it still verified")
            raise NoteError("same")


def test_a_checkpoint_signed_by_another_key_or_for_another_log_is_refused() -> None:
    other = LogKey("legal.test/consent-log", bytes(32), "2026-01-01T00:00:00Z")
    note = other.sign_note(Checkpoint(KEY.name, 1, bytes(32)).body())
    with pytest.raises(NoteError, match="no signature by a known log key"):
        open_note(note, [KEY.verifier])
    foreign = KEY.sign_note(Checkpoint("elsewhere/log", 1, bytes(32)).body())
    with pytest.raises(NoteError, match="of log 'elsewhere/log'"):
        open_note(foreign, [KEY.verifier])


def test_a_checkpoints_file_splits_into_its_notes() -> None:
    notes = [KEY.sign_note(Checkpoint(KEY.name, n, bytes([n]) * 32).body()) for n in (1, 2, 3)]
    assert split_notes("\n".join(notes) + "\n") == notes
    assert base64.b64decode(notes[1].split("\n")[2]) == bytes([2]) * 32


def test_a_forged_compressed_or_oversized_token_is_refused_before_anything_in_it_is_decoded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    import zlib

    from itsdangerous.encoding import base64_encode

    from consent_api import signing
    from consent_api.signing import Key, ReceiptSigner

    signer = ReceiptSigner([Key("k1", "first-test-secret-0123456789abcdefghijklmnop")])
    bomb = "." + base64_encode(zlib.compress(b'{"kid":"k1","x":"' + b"A" * 5_000_000 + b'"}', 9)).decode()
    forged = [bomb + ".c2lnbmF0dXJlLWZvcmdlZC0wMDAwMDAwMDAwMDAwMDAwMDAw",
              "eyJraWQiOiJrMSJ9" * 200 + ".c2lnbmF0dXJlLWZvcmdlZC0wMDAwMDAwMDAwMDAwMDAwMDAw",
              "eyJraWQiOiJrMSJ9.c2lnbmF0dXJlLWZvcmdlZC0wMDAwMDAwMDAwMDAwMDAwMDAw"]

    def never(*_: object, **__: object) -> object:
        raise AssertionError("a token was decoded before its signature was checked")

    monkeypatch.setattr(zlib, "decompress", never)
    monkeypatch.setattr(signing, "_b64decode", never)
    monkeypatch.setattr("consent_api.signing.json.loads", never)
    normal = signer.sign({"rid": "r", "sid": "s", "sha": "0" * 64})
    for token in forged:
        started = time.perf_counter()
        assert signer.verify(token) is None
        print(f"forged token of {len(token)} characters refused in {(time.perf_counter() - started) * 1e6:.0f} us")
    monkeypatch.undo()
    started = time.perf_counter()
    assert signer.verify(normal) is not None
    print(f"a genuine token verified in {(time.perf_counter() - started) * 1e6:.0f} us")
