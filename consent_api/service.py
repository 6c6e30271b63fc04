"""The operator's and the monitor's endpoints: the consent report, the OpenAPI document, health
and metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .auth import bearer_token, is_operator
from .errors import ApiError, Forbidden, Unauthorized
from .openapi import document
from .report import window
from .report_page import CSP, html_report
from .web import limit, services

bp = Blueprint("service", __name__, url_prefix="/api")


@bp.get("/v1/report")
def report() -> Response:
    """The operator's consent report (the same as ``flask --app consent_api report``): the
    operator token in the Authorization header only; the window in the query."""
    limit("reads")
    bearer = bearer_token()
    if not bearer:
        raise Unauthorized("send the operator token (Authorization: Bearer <CONSENT_OPERATOR_TOKEN>)")
    if not is_operator(bearer):
        raise Forbidden("the report is for the operator: this is not the operator token")
    try:
        start, end, by = window(request.args.get("since"), request.args.get("until"), request.args.get("by"),
                                dt.datetime.now(dt.UTC).date())
    except ValueError as exc:
        raise ApiError(str(exc), field=str(exc).split(":", 1)[0]) from None
    svc = services()
    svc.site.refresh()
    document = html_report(svc.log.engine, svc.site, start, end, by, site_name=svc.settings.service_name)
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
