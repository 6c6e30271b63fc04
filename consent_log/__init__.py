"""The consent log as a transparency log, with nothing of the web service in it.

- ``merkle``: the RFC 9162 Merkle tree, its inclusion and consistency proofs;
- ``checkpoint``: C2SP tlog-checkpoint bodies in C2SP signed notes, the log's Ed25519 keys
  and their published forms, the checkpoints file;
- ``leaf``: a receipt's canonical JSON, the bytes each leaf hashes;
- ``verify`` and ``cli``: ``consent-verify``, anyone's offline check of a downloaded receipt.

It imports nothing of the project's: the API (``consent_api``), the site build
(``consent_widget``) and the verifier all stand on it.
"""
