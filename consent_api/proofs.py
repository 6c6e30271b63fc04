"""The consent log's public face: its latest signed checkpoint, and inclusion and consistency
proofs, each checked against a signed root before it is served."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from consent_log import merkle

from .errors import ApiError, NotFound, Unavailable
from .receipts import intact, proof_of
from .validation import UUID4
from .web import b64, limit, services, text, whole_number

bp = Blueprint("log", __name__, url_prefix="/api")


@bp.get("/v1/log/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
    limit("reads")
    latest = services().log.checkpoint()
    if latest is None:
        raise NotFound("nothing is sealed yet: the log has no checkpoint")
    return text(latest.note)


def _signed(name: str, value: str | None) -> Any:
    """The signed checkpoint of the size a proof is asked for (a proof is only worth something
    against a root the log key signed)."""
    size = whole_number(name, value)
    signed = services().log.checkpoint(size)
    if signed is None:
        latest = services().log.tree_size()
        raise ApiError(f"'{name}' must be the size of a signed checkpoint (the latest is {latest}; "
                       "/api/v1/log/checkpoint)", field=name)
    return signed


@bp.get("/v1/log/proof/inclusion")
def inclusion() -> Response:
    limit("reads")
    receipt_id = request.args.get("receipt_id", "")
    if not UUID4.fullmatch(receipt_id):
        raise ApiError("'receipt_id' must be a receipt id (a lowercase UUID version 4)", field="receipt_id")
    signed = _signed("tree_size", request.args.get("tree_size"))
    stored = intact(services().log.get(receipt_id))
    if stored is None or stored.leaf_index is None:
        raise NotFound(f"no sealed receipt {receipt_id}")
    if stored.leaf_index >= signed.checkpoint.size:
        raise ApiError(f"receipt {receipt_id} is leaf {stored.leaf_index}: ask for a checkpoint above it",
                       field="tree_size")
    proof = proof_of(stored, signed.checkpoint.size)
    if proof is None:
        raise NotFound(f"no proof of receipt {receipt_id} against this checkpoint (the log is being checked)")
    leaf = merkle.leaf_hash(stored.body_json.encode())
    return jsonify({"leaf_index": stored.leaf_index, "tree_size": proof["tree_size"],
                    "leaf_hash": base64.b64encode(leaf).decode(), "hashes": proof["hashes"]})


@bp.get("/v1/log/proof/consistency")
def consistency() -> Response:
    """That the log of ``from`` receipts is a prefix of the log of ``to``: both sizes of signed
    checkpoints, and the proof checked against their roots before it is served."""
    limit("reads")
    old, new = _signed("from", request.args.get("from")), _signed("to", request.args.get("to"))
    if old.checkpoint.size > new.checkpoint.size:
        raise ApiError("ask for from <= to", field="from")
    try:
        hashes = services().log.consistency_proof(old.checkpoint.size, new.checkpoint.size)
    except LookupError:
        hashes = []
    if not merkle.verify_consistency(old.checkpoint.size, new.checkpoint.size, old.checkpoint.root,
                                     new.checkpoint.root, hashes):
        current_app.logger.critical("consent log: no valid consistency proof from %s to %s: the tree was edited "
                                    "(run verify)", old.checkpoint.size, new.checkpoint.size)
        raise Unavailable("the log cannot prove this now; try again later", retry_after=60)
    return jsonify({"from": old.checkpoint.size, "to": new.checkpoint.size, "hashes": b64(hashes)})


