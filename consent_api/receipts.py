"""The receipts resource: create, read (JSON, or the visitor's receipt page), verify a token,
and a subject's history."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import OperationalError

from consent_log import merkle
from consent_log.leaf import canonical

from .auth import claims, expired, subject_for, when
from .errors import ApiError, Conflict, Forbidden, NotFound, Unavailable, UnsupportedMediaType
from .integrity import row_problems
from .pagetexts import direction, page_language
from .receipt import Duplicate, NewReceipt, Stored, build_receipt, report_columns, request_digest
from .validation import UUID4, validate
from .web import SECURITY_HEADERS, b64, json_body, limit, services, whole_number

bp = Blueprint("receipts", __name__, url_prefix="/api")
HISTORY_PAGE = 100  # receipts per history page, at most


def proof_of(stored: Stored, tree_size: int | None = None) -> dict[str, Any] | None:
    """The receipt's inclusion proof against the signed checkpoint of ``tree_size`` (default:
    the latest), with that checkpoint; None until the receipt is sealed. The proof is checked
    against the checkpoint's signed root before it is served: one built from edited nodes, or
    for a row moved to another leaf, is never handed out."""
    log = services().log
    if stored.leaf_index is None:
        return None
    signed = log.checkpoint(tree_size)
    if signed is None or stored.leaf_index >= signed.checkpoint.size:
        return None
    size = signed.checkpoint.size
    try:
        hashes = log.inclusion_proof(stored.leaf_index, size)
    except LookupError as exc:
        current_app.logger.critical("consent log: no proof for receipt %s: %s", stored.receipt_id, exc)
        return None
    leaf = merkle.leaf_hash(stored.body_json.encode())
    if not merkle.verify_inclusion(leaf, stored.leaf_index, size, hashes, signed.checkpoint.root):
        current_app.logger.critical("consent log: receipt %s is not leaf %s of the signed checkpoint of size %s: "
                                    "the database was edited (run verify)", stored.receipt_id, stored.leaf_index, size)
        return None
    return {"leaf_index": stored.leaf_index, "tree_size": size, "hashes": b64(hashes), "checkpoint": signed.note}


def intact(stored: Stored | None) -> Stored | None:
    """The stored receipt if its own token vouches for it; None (logged) if the row was
    written or edited outside the API: nothing of it is served."""
    if stored is None:
        return None
    problems = row_problems(services().signer, stored)
    if problems:
        current_app.logger.error("consent log: receipt row %s is not served: %s", stored.receipt_id[:36],
                                 "; ".join(problems))
        return None
    return stored


def _out(stored: Stored, *, token: bool = True, tree_size: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"receipt": stored.body}
    if token:
        out["token"] = stored.token
    out.update(created_at=stored.created_at, url=f"/api/v1/receipts/{stored.receipt_id}",
               proof=proof_of(stored, tree_size))
    return out


@bp.post("/v1/receipts")
def create() -> Response:
    """Validate, build, sign, store durably, answer: all here, in the request's own thread."""
    limit("receipts")
    svc = services()
    svc.site.refresh()
    now = dt.datetime.now(dt.UTC)
    data = validate(json_body(), svc.site, now, svc.origins)
    data["subject_id"] = subject_for(data["subject_id"], data["receipt_id"])
    stamp = int(now.timestamp())
    receipt = build_receipt(data, now=stamp, sec_gpc=request.headers.get("Sec-GPC") == "1",
                            settings=svc.settings, categories=svc.site.categories)
    body_json = canonical(receipt)
    token = svc.signer.sign({"rid": data["receipt_id"], "sid": data["subject_id"],
                             "sha": hashlib.sha256(body_json.encode()).hexdigest(),
                             "exp": stamp + svc.settings.token_days * 86400})
    new = NewReceipt(data["receipt_id"], data["subject_id"], stamp, request_digest(data), body_json, token,
                     svc.signer.newest.kid, report_columns(receipt))
    try:
        stored, created = svc.log.insert(new)
    except Duplicate:
        raise Conflict("this receipt_id is already stored with different content", field="receipt_id") from None
    except OperationalError as exc:  # the database is down or busy: the widget retries a 503
        current_app.logger.error("a receipt could not be stored: %s", exc)
        raise Unavailable("the receipt could not be stored; try again (receipts are idempotent "
                          "on receipt_id)", retry_after=1) from None
    response = jsonify(_out(stored))
    response.status_code = 201 if created else 200
    return response


@bp.route("/v1/receipts/<receipt_id>", methods=["GET", "POST"])
def read(receipt_id: str) -> Response:
    """A receipt: JSON (its token in the Authorization header), or the visitor's receipt page
    and its download (the token POSTed by a form: the cookie dialog's "View your receipt")."""
    limit("reads")
    if request.method == "POST" and request.mimetype != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("POST the receipt page's form (application/x-www-form-urlencoded)")
    form = request.form if request.method == "POST" else request.args
    who = claims()
    if who is not None and who.get("rid") != receipt_id:
        raise Forbidden("this token is for another receipt")
    stored = intact(services().log.get(receipt_id)) if UUID4.fullmatch(receipt_id) else None
    if stored is None:
        raise NotFound(f"no receipt {receipt_id}")
    wants_html = form.get("format") == "html" or (
        form.get("format") != "json"
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_html:
        history = [s for s in services().log.for_subject(stored.subject_id, limit=HISTORY_PAGE) if intact(s)]
        page = Response(receipt_page(stored, history), mimetype="text/html")
        # Its one form (the download) posts back here; it still runs and loads nothing.
        page.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "form-action 'none'", "form-action 'self'")
        return page
    wanted = request.args.get("tree_size")
    response = jsonify(_out(stored, tree_size=whole_number("tree_size", wanted) if wanted is not None else None))
    if form.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt_id}.json"'
    return response


@bp.post("/v1/receipts/verify")
def verify() -> Response:
    limit("reads")
    data = json_body()
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise ApiError("send {\"token\": \"...\"}", field="token")
    verified = services().signer.verify(token)
    if verified is None:
        return jsonify({"genuine": False, "stored": False, "unaltered": False, "kid": None,
                        "expires": None, "expired": False})
    payload, kid = verified
    stored = services().log.get(str(payload.get("rid", "")))
    unaltered = stored is not None and hashlib.sha256(stored.body_json.encode()).hexdigest() == payload.get("sha")
    exp = payload.get("exp")
    return jsonify({"genuine": True, "stored": stored is not None, "unaltered": unaltered, "kid": kid,
                    "receipt_id": payload.get("rid"), "subject_id": payload.get("sid"),
                    "expires": when(exp) if isinstance(exp, int) else None, "expired": expired(payload)})



@bp.get("/v1/subjects/<subject_id>/receipts")
def history(subject_id: str) -> Response:
    """A subject's receipts, oldest first, a page at a time (``?after=`` the previous page's
    ``next``), without their tokens: a token is a credential for one receipt."""
    limit("reads")
    who = claims()
    if who is not None and who.get("sid") != subject_id:
        raise Forbidden("this token is for another subject")
    if not UUID4.fullmatch(subject_id):
        raise NotFound(f"no subject {subject_id}")
    after = request.args.get("after", "0")
    if not after.isascii() or not after.isdigit() or len(after) > 18:
        raise ApiError("'after' must be the 'next' of the previous page", field="after")
    found = services().log.for_subject(subject_id, after=int(after), limit=HISTORY_PAGE + 1)
    page, more = found[:HISTORY_PAGE], len(found) > HISTORY_PAGE
    return jsonify({"subject_id": subject_id, "receipts": [_out(s, token=False) for s in page if intact(s)],
                    "next": str(page[-1].seq) if more else None})




def receipt_page(stored: Stored, history: list[Stored]) -> str:
    """The human-readable copy of a receipt, with every choice of the same subject, oldest first,
    in the language the visitor was shown (the widget's catalogue of it)."""
    language, tr, local_time = page_language(stored.body.get("language", ""))
    return render_template("receipt.html", stored=stored, body=stored.body, history=history, when=when,
                           lang=language, dir=direction(language), tr=tr, local_time=local_time,
                           categories=list(stored.body["choices"]), history_page=HISTORY_PAGE,
                           key_url=services().site.site_url.rstrip("/") + "/.well-known/consent-log.pub")
