"""The receipts resource: create, read, verify, and a subject's history."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from html import escape
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from consent_log import merkle
from consent_log.leaf import canonical

from .errors import (
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from .integrity import row_problems
from .openapi import document
from .receipt import build_receipt, report_columns, request_digest
from .report import CSP, html_report, window
from .services import Services
from .storage import Duplicate, NewReceipt, Stored
from .validation import UUID4, validate

bp = Blueprint("receipts", __name__, url_prefix="/api")

#: Answers carry receipt tokens and pseudonymous ids: not cached, not leaked in a Referer,
#: and the receipt page runs nothing and loads nothing.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


@bp.after_app_request
def security_headers(response: Response) -> Response:
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend([(k, v) for k, v in SECURITY_HEADERS.items() if k.lower() not in present])
    return response


def _limit(scope: str) -> None:
    """Count this request against the client's limit for ``scope``; 429 with Retry-After when over."""
    wait = current_app.extensions["consent_rate_limit"][scope].retry_after(request.remote_addr or "-")
    if wait is not None:
        raise RateLimited(f"too many requests ({scope}) from this client; try again later", retry_after=wait)


def services() -> Services:
    found: Services = current_app.extensions["consent"]
    return found


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key repeats: a signed record must read one way only."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ApiError(f"the body repeats the key '{twice[:40]}' in an object: send each key once",
                       field=twice[:64])
    return found


def _json_body() -> Any:
    """The request's JSON, or a 4xx saying what is wrong with it (never a 5xx)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 before this returns
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and len(raw) >= limit:  # chunked: the server stopped reading at the limit
        raise PayloadTooLarge(f"the body is {limit} bytes or more: a receipt request is far smaller")
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ApiError("the body nests too deeply to be a receipt request") from None
    except ValueError as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise ApiError("the body is not UTF-8") from None
        raise ApiError(f"the body is not valid JSON: {exc}") from None
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ApiError("the body holds a lone UTF-16 surrogate (\\ud800-\\udfff): not a Unicode string") from None
    return data


def _proof(stored: Stored, tree_size: int | None = None) -> dict[str, Any] | None:
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
    return {"leaf_index": stored.leaf_index, "tree_size": size, "hashes": _b64(hashes), "checkpoint": signed.note}


def _intact(stored: Stored | None) -> Stored | None:
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
               proof=_proof(stored, tree_size))
    return out


@bp.before_app_request
def _start_sealer() -> None:
    services().sealer.start()  # once per process, on its first request


@bp.post("/v1/receipts")
def create() -> Response:
    """Validate, build, sign, store durably, answer: all here, in the request's own thread."""
    _limit("receipts")
    svc = services()
    svc.site.refresh()
    now = dt.datetime.now(dt.UTC)
    data = validate(_json_body(), svc.site, now, svc.origins)
    data["subject_id"] = _subject(data["subject_id"], data["receipt_id"])
    stamp = int(now.timestamp())
    receipt = build_receipt(data, now=stamp, sec_gpc=request.headers.get("Sec-GPC") == "1",
                            settings=current_app.config, categories=svc.site.categories)
    body_json = canonical(receipt)
    token = svc.signer.sign({"rid": data["receipt_id"], "sid": data["subject_id"],
                             "sha": hashlib.sha256(body_json.encode()).hexdigest(),
                             "exp": stamp + int(current_app.config["TOKEN_DAYS"]) * 86400})
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


def _subject(claimed: str, receipt_id: str) -> str:
    """The subject a new receipt belongs to. The one it names only with proof of holding it: a
    genuine, unexpired token issued to that subject, as 'Authorization: Bearer' (a subject id
    alone shows in the cookie dialog). Without proof it starts a new subject, derived from its
    receipt id with a server secret: a retry lands in the same one, and no database read is
    needed to decide (measured: a read per receipt cost 40% of SQLite's receipts/s)."""
    bearer = _bearer()
    verified = services().signer.verify(bearer) if bearer else None
    if verified is not None and verified[0].get("sid") == claimed and not _expired(verified[0]):
        return claimed
    return _derived_subject(receipt_id)


def _derived_subject(receipt_id: str) -> str:
    oldest = next(iter(services().signer.keys.values()))  # a newer key does not move old subjects
    digest = bytearray(hmac.new(oldest.secret.encode(), f"subject:{receipt_id}".encode(),
                                hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40  # a version-4 UUID, like every subject id
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer "):].strip() if header.startswith("Bearer ") else None


def _is_operator(credential: str) -> bool:
    expected = current_app.config.get("OPERATOR_TOKEN")
    return bool(expected) and hmac.compare_digest(credential.encode(), str(expected).encode())


def _claims() -> dict[str, Any] | None:
    """The operator (by the Authorization header only): None; a visitor's genuine receipt token
    (the header, or the receipt page's POSTed form; never the URL, which logs and Referers keep):
    its payload; anything else: an error."""
    bearer = _bearer()
    if bearer and _is_operator(bearer):
        return None
    credential = bearer or (request.form.get("token") if request.method == "POST" else None)
    if not credential:
        raise Unauthorized("send the receipt's token (Authorization: Bearer <token>)")
    verified = services().signer.verify(credential)
    if verified is None:
        raise Forbidden("the token is not genuine")
    if _expired(verified[0]):
        raise Forbidden(f"this token expired on {_when(int(verified[0]['exp']))}: it no longer reads the "
                        "receipt; the receipt itself stays provable with its proof from the consent log "
                        "(consent-verify)")
    return verified[0]


def _expired(payload: dict[str, Any]) -> bool:
    """Past the expiry the operator set (CONSENT_TOKEN_DAYS); tokens signed before expiries
    existed carry none."""
    exp = payload.get("exp")
    return isinstance(exp, int) and exp < int(dt.datetime.now(dt.UTC).timestamp())


@bp.route("/v1/receipts/<receipt_id>", methods=["GET", "POST"])
def read(receipt_id: str) -> Response:
    """A receipt: JSON (its token in the Authorization header), or the visitor's receipt page
    and its download (the token POSTed by a form: the cookie dialog's "View your receipt")."""
    _limit("reads")
    if request.method == "POST" and request.mimetype != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("POST the receipt page's form (application/x-www-form-urlencoded)")
    form = request.form if request.method == "POST" else request.args
    claims = _claims()
    if claims is not None and claims.get("rid") != receipt_id:
        raise Forbidden("this token is for another receipt")
    stored = _intact(services().log.get(receipt_id)) if UUID4.fullmatch(receipt_id) else None
    if stored is None:
        raise NotFound(f"no receipt {receipt_id}")
    wants_html = form.get("format") == "html" or (
        form.get("format") != "json"
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_html:
        history = [s for s in services().log.for_subject(stored.subject_id, limit=HISTORY_PAGE) if _intact(s)]
        page = Response(_html(stored, history), mimetype="text/html")
        # Its one form (the download) posts back here; it still runs and loads nothing.
        page.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "form-action 'none'", "form-action 'self'")
        return page
    wanted = request.args.get("tree_size")
    response = jsonify(_out(stored, tree_size=_size("tree_size", wanted) if wanted is not None else None))
    if form.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt_id}.json"'
    return response


@bp.post("/v1/receipts/verify")
def verify() -> Response:
    _limit("reads")
    data = _json_body()
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
                    "expires": _when(exp) if isinstance(exp, int) else None, "expired": _expired(payload)})


HISTORY_PAGE = 100  # receipts per history page, at most


@bp.get("/v1/subjects/<subject_id>/receipts")
def history(subject_id: str) -> Response:
    """A subject's receipts, oldest first, a page at a time (``?after=`` the previous page's
    ``next``), without their tokens: a token is a credential for one receipt."""
    _limit("reads")
    claims = _claims()
    if claims is not None and claims.get("sid") != subject_id:
        raise Forbidden("this token is for another subject")
    if not UUID4.fullmatch(subject_id):
        raise NotFound(f"no subject {subject_id}")
    after = request.args.get("after", "0")
    if not after.isascii() or not after.isdigit() or len(after) > 18:
        raise ApiError("'after' must be the 'next' of the previous page", field="after")
    found = services().log.for_subject(subject_id, after=int(after), limit=HISTORY_PAGE + 1)
    page, more = found[:HISTORY_PAGE], len(found) > HISTORY_PAGE
    return jsonify({"subject_id": subject_id, "receipts": [_out(s, token=False) for s in page if _intact(s)],
                    "next": str(page[-1].seq) if more else None})


# -- the log --------------------------------------------------------------------------------


def _text(body: str) -> Response:
    return Response(body, mimetype="text/plain", content_type="text/plain; charset=utf-8")


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


@bp.get("/v1/log/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
    _limit("reads")
    latest = services().log.checkpoint()
    if latest is None:
        raise NotFound("nothing is sealed yet: the log has no checkpoint")
    return _text(latest.note)


def _size(name: str, value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiError(f"'{name}' must be a whole number", field=name)
    return int(value)


def _signed(name: str, value: str | None) -> Any:
    """The signed checkpoint of the size a proof is asked for (a proof is only worth something
    against a root the log key signed)."""
    size = _size(name, value)
    signed = services().log.checkpoint(size)
    if signed is None:
        latest = services().log.tree_size()
        raise ApiError(f"'{name}' must be the size of a signed checkpoint (the latest is {latest}; "
                       "/api/v1/log/checkpoint)", field=name)
    return signed


@bp.get("/v1/log/proof/inclusion")
def inclusion() -> Response:
    _limit("reads")
    receipt_id = request.args.get("receipt_id", "")
    if not UUID4.fullmatch(receipt_id):
        raise ApiError("'receipt_id' must be a receipt id (a lowercase UUID version 4)", field="receipt_id")
    signed = _signed("tree_size", request.args.get("tree_size"))
    stored = _intact(services().log.get(receipt_id))
    if stored is None or stored.leaf_index is None:
        raise NotFound(f"no sealed receipt {receipt_id}")
    if stored.leaf_index >= signed.checkpoint.size:
        raise ApiError(f"receipt {receipt_id} is leaf {stored.leaf_index}: ask for a checkpoint above it",
                       field="tree_size")
    proof = _proof(stored, signed.checkpoint.size)
    if proof is None:
        raise NotFound(f"no proof of receipt {receipt_id} against this checkpoint (the log is being checked)")
    leaf = merkle.leaf_hash(stored.body_json.encode())
    return jsonify({"leaf_index": stored.leaf_index, "tree_size": proof["tree_size"],
                    "leaf_hash": base64.b64encode(leaf).decode(), "hashes": proof["hashes"]})


@bp.get("/v1/log/proof/consistency")
def consistency() -> Response:
    """That the log of ``from`` receipts is a prefix of the log of ``to``: both sizes of signed
    checkpoints, and the proof checked against their roots before it is served."""
    _limit("reads")
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
    return jsonify({"from": old.checkpoint.size, "to": new.checkpoint.size, "hashes": _b64(hashes)})


@bp.get("/v1/report")
def report() -> Response:
    """The operator's consent report (the same as ``flask --app consent_api report``): the
    operator token in the Authorization header only; the window in the query."""
    _limit("reads")
    bearer = _bearer()
    if not bearer:
        raise Unauthorized("send the operator token (Authorization: Bearer <CONSENT_OPERATOR_TOKEN>)")
    if not _is_operator(bearer):
        raise Forbidden("the report is for the operator: this is not the operator token")
    try:
        start, end, by = window(request.args.get("since"), request.args.get("until"), request.args.get("by"),
                                dt.datetime.now(dt.UTC).date())
    except ValueError as exc:
        raise ApiError(str(exc), field=str(exc).split(":", 1)[0]) from None
    svc = services()
    svc.site.refresh()
    document = html_report(svc.log.engine, svc.site, start, end, by, site_name=current_app.config["SERVICE_NAME"])
    response = Response(document, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response


@bp.get("/v1/openapi.json")
def openapi() -> Response:
    return jsonify(document())


@bp.get("/healthz")
def health() -> Response:
    """The database answers (else a 5xx); "degraded" while sealing is halted, or while rows are
    held out of the log: receipts are still stored, the operator must look."""
    svc = services()
    svc.log.ping()
    halted, held = svc.sealer.halted(), svc.log.quarantine_count()
    out: dict[str, Any] = {"status": "degraded" if halted or held else "ok",
                           "sealing": "halted" if halted else "ok", "held_out_of_log": held}
    if halted:
        out["reason"] = halted
    return jsonify(out)


@bp.get("/metrics")
def metrics() -> Response:
    """The log's state for monitoring (Prometheus text format): counts only, nothing personal."""
    svc = services()
    lines = [
        "# HELP consent_log_sealing_halted 1 while the sealer refuses to sign (the database disagrees with a "
        "signed checkpoint)",
        "# TYPE consent_log_sealing_halted gauge", f"consent_log_sealing_halted {int(bool(svc.sealer.halted()))}",
        "# HELP consent_log_held_rows receipt rows held out of the log: they fail their own token",
        "# TYPE consent_log_held_rows gauge", f"consent_log_held_rows {svc.log.quarantine_count()}",
        "# HELP consent_log_tree_size leaves under the latest signed checkpoint",
        "# TYPE consent_log_tree_size gauge", f"consent_log_tree_size {svc.log.tree_size()}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain", content_type="text/plain; version=0.0.4")


def _when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _html(stored: Stored, history: list[Stored]) -> str:
    """The human-readable copy of a receipt, with every choice of the same subject, oldest first."""
    body = stored.body
    when = _when(body["consentTimestamp"])
    rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{"Yes" if v else "No"}</td></tr>'
                   for k, v in body["choices"].items())
    categories = list(body["choices"])
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in categories)
    current = ' aria-current="true"'
    past = "".join(
        f"<tr{current if s.receipt_id == stored.receipt_id else ''}>"
        f"<td><time>{_when(s.body['consentTimestamp'])}</time></td>"
        f"<td>{escape(s.body['collectionMethod'])}</td><td>{escape(s.body['policy']['version'])}</td>"
        + "".join(f"<td>{'Yes' if s.body['choices'].get(c) else 'No'}</td>" for c in categories)
        + f"<td><code>{escape(s.receipt_id)}</code></td></tr>"
        for s in history
    )
    token = escape(stored.token, quote=True)
    key_url = escape(services().site.site_url.rstrip("/") + "/.well-known/consent-log.pub", quote=True)
    proof_note = (f'it carries the proof that this receipt is leaf {stored.leaf_index} of our consent log. Anyone '
                  f'can check that proof, with no access to our systems, using the log\'s public key '
                  f'(<a href="{key_url}">consent-log.pub</a>) and the <code>consent-verify</code> command.'
                  if stored.leaf_index is not None else
                  "it will carry the proof that this receipt is in our consent log within seconds; open this "
                  "page again from the cookie settings to get it.")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Your consent receipt</title></head>
<body><main><h1>Your consent receipt</h1>
<p>Consent ID: <code>{escape(stored.receipt_id)}</code></p>
<p>Recorded: <time datetime="{when}">{when}</time> ({escape(body['collectionMethod'])})</p>
<p>Policy: <a href="{escape(body['policy']['url'], quote=True)}">{escape(body['policy']['id'])},
version {escape(body['policy']['version'])}</a></p>
<table><caption>Your choices</caption><tbody>{rows}</tbody></table>
<p>Global Privacy Control: {'on' if body['gpc'] else 'off'}</p>
<form method="post"><input type="hidden" name="token" value="{token}">
<input type="hidden" name="format" value="json"><input type="hidden" name="download" value="1">
<p><button type="submit">Download this receipt (JSON)</button>: {proof_note}</p></form>
<p>What that proof shows: that this receipt is in the consent log we signed, and, checked against a copy of
the log's state published earlier (our site publishes one every day), that the log was not rewritten since.
It does not show that your browser sent this choice: we hold the key that makes receipt tokens, so the
proof is our signed word, fixed for ever, not a signature of yours.</p>
<h2>Your choices over time</h2>
<table id="history"><caption>Every receipt stored for your subject ID, oldest first
(the first {HISTORY_PAGE})</caption>
<thead><tr><th scope="col">Recorded</th><th scope="col">How</th><th scope="col">Policy version</th>{head}
<th scope="col">Consent ID</th></tr></thead><tbody>{past}</tbody></table>
</main></body></html>"""
