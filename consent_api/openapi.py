"""The OpenAPI 3.1 document of the API; a test keeps it true to the routes."""

from __future__ import annotations

from typing import Any

#: Patterns of the request's fields, matched against the WHOLE string (re.fullmatch): in JSON
#: Schema (and Python's re.search) a '$' also matches before a trailing newline, so the schema's
#: maxLength bounds the field as well, and validation.py matches these with fullmatch.
UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
LANGUAGE_PATTERN = "[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*"
REVISION_PATTERN = "[0-9a-f]{16}"
UUID = {"type": "string", "pattern": f"^{UUID_PATTERN}$", "maxLength": 36,
        "x-error": "must be a lowercase UUID version 4"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _param(name: str, where: str = "query", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": ERROR}}}
            for c in codes}


def request_schema() -> dict[str, Any]:
    """The receipt request (what the widget posts): the API validates against exactly this."""
    return {
        "type": "object", "additionalProperties": False,
        "required": ["receipt_id", "subject_id", "config_revision", "policy", "choices", "method", "gpc",
                     "language", "page", "consented_at"],
        "properties": {
            "receipt_id": UUID, "subject_id": UUID,
            "config_revision": {"type": "string", "pattern": f"^{REVISION_PATTERN}$", "maxLength": 16,
                                "x-error": "must be the site's config revision (16 lowercase hexadecimal digits)"},
            "policy": {"type": "object", "additionalProperties": False, "required": ["id", "version"],
                       "x-error": "must be an object with exactly 'id' and 'version'",
                       "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 64,
                                             "x-error": "must be 1 to 64 characters"},
                                      "version": {"type": "string", "minLength": 1, "maxLength": 32,
                                                  "x-error": "must be 1 to 32 characters"}}},
            "choices": {"type": "object", "additionalProperties": {"type": "boolean"}, "maxProperties": 32,
                        "x-error": "must be an object of category: true/false"},
            "method": {"enum": ["banner", "dialog", "gpc", "withdrawal"],
                       "x-error": "must be one of banner, dialog, gpc, withdrawal"},
            "gpc": {"type": "boolean", "x-error": "must be true or false"},
            "language": {"type": "string", "pattern": f"^{LANGUAGE_PATTERN}$", "maxLength": 35,
                         "x-error": "must be a language tag like 'en' or 'pt-BR'"},
            "page": {"type": "string", "format": "uri", "maxLength": 2048,
                     "x-error": "must be the URL of a page of this site, without query or fragment"},
            "consented_at": {"type": "string", "format": "date-time", "maxLength": 40,
                             "x-error": "must be an ISO 8601 date and time with a time zone"},
        },
    }


def document() -> dict[str, Any]:
    request = request_schema()
    proof = {"type": ["object", "null"], "required": ["leaf_index", "tree_size", "hashes", "checkpoint"],
             "description": "the receipt's RFC 9162 inclusion proof against the signed checkpoint of tree_size; "
                            "null until the receipt is sealed (within about a second)",
             "properties": {"leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
                            "hashes": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
                            "checkpoint": {"type": "string", "description": "C2SP signed note"}}}
    stored = {"type": "object", "required": ["receipt", "token", "created_at", "url", "proof"],
              "properties": {"receipt": {"type": "object"}, "token": {"type": "string"},
                             "created_at": {"type": "integer"}, "url": {"type": "string"}, "proof": proof}}
    hashes = {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}
    size = {"type": "string", "pattern": "^[0-9]{1,18}$"}
    bearer: list[dict[str, list[str]]] = [{"receiptToken": []}, {"operatorToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "ImaRouter consent API", "version": "1.0.0",
                 "description": "Signed consent receipts (Kantara CR v1.1 fields) in an append-only "
                                "RFC 9162 Merkle tree log with signed checkpoints."},
        "paths": {
            "/api/v1/receipts": {"post": {
                "summary": "Store a receipt for a consent choice (idempotent on receipt_id)",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": request}}},
                "responses": {
                    "201": {"description": "stored", "content": {"application/json": {"schema": stored}}},
                    "200": {"description": "already stored with the same content",
                            "content": {"application/json": {"schema": stored}}},
                    **_errors(400, 409, 413, 415, 422, 429, 500, 503),
                },
            }},
            "/api/v1/receipts/{receipt_id}": {"get": {
                "summary": "A receipt, for the holder of its token (Authorization: Bearer) or the operator",
                "security": bearer,
                "parameters": [
                    _param("receipt_id", "path"),
                    _param("format", schema={"enum": ["json", "html"]}), _param("download"),
                    _param("tree_size", schema=size),
                ],
                "responses": {
                    "200": {"description": "the receipt", "content": {
                        "application/json": {"schema": stored}, "text/html": {"schema": {"type": "string"}}}},
                    **_errors(401, 403, 404),
                },
            }, "post": {
                "summary": "The visitor's receipt page (or its JSON download), the token POSTed by a form, "
                           "never in a URL",
                "parameters": [_param("receipt_id", "path")],
                "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["token"], "properties": {
                        "token": {"type": "string"}, "format": {"enum": ["json", "html"]},
                        "download": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "the receipt page, or the receipt", "content": {
                        "application/json": {"schema": stored}, "text/html": {"schema": {"type": "string"}}}},
                    **_errors(401, 403, 404, 415),
                },
            }},
            "/api/v1/receipts/verify": {"post": {
                "summary": "Is a token genuine, unaltered, and signed by which key",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token"],
                    "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 4096}}}}}},
                "responses": {"200": {"description": "the verdict", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["genuine", "stored", "unaltered", "kid"],
                               "properties": {"expires": {"type": ["string", "null"],
                                                          "description": "when the token stops reading its receipt"},
                                              "expired": {"type": "boolean"}}}}}},
                    **_errors(400, 413, 415)},
            }},
            "/api/v1/subjects/{subject_id}/receipts": {"get": {
                "summary": "Every receipt of one subject, oldest first, 100 a page",
                "security": bearer,
                "parameters": [
                    _param("subject_id", "path"), _param("token"), _param("after", schema=size),
                ],
                "responses": {"200": {"description": "a page of the history (no tokens); 'next' is the "
                                                     "'after' of the next page, null on the last",
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "required": ["subject_id", "receipts", "next"]}}}},
                    **_errors(401, 403, 404)},
            }},
            "/api/v1/log/checkpoint": {"get": {
                "summary": "The log's latest checkpoint: a C2SP tlog-checkpoint in a signed note (Ed25519)",
                "responses": {"200": {"description": "the signed checkpoint",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **_errors(404)},
            }},
            "/api/v1/log/proof/inclusion": {"get": {
                "summary": "A sealed receipt's inclusion proof against the tree of tree_size leaves",
                "parameters": [_param("receipt_id", schema=UUID), _param("tree_size", schema=size)],
                "responses": {"200": {"description": "the proof", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["leaf_index", "tree_size", "leaf_hash", "hashes"],
                    "properties": {"leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
                                   "leaf_hash": {"type": "string"}, "hashes": hashes}}}}},
                    **_errors(400, 404)},
            }},
            "/api/v1/log/proof/consistency": {"get": {
                "summary": "That the tree of 'from' leaves is a prefix of the tree of 'to' leaves",
                "parameters": [_param("from", schema=size), _param("to", schema=size)],
                "responses": {"200": {"description": "the proof", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["from", "to", "hashes"], "properties": {"hashes": hashes}}}}},
                    **_errors(400)},
            }},
            "/api/v1/report": {"get": {
                "summary": "The operator's consent report: choices by category, policy version, config revision, "
                           "method and time, as one self-contained HTML page (counts only)",
                "security": [{"operatorToken": []}],
                "parameters": [_param("since", schema={"type": "string", "format": "date"}),
                               _param("until", schema={"type": "string", "format": "date"}),
                               _param("by", schema={"enum": ["day", "week", "month"]})],
                "responses": {"200": {"description": "the report",
                                      "content": {"text/html": {"schema": {"type": "string"}}}},
                              **_errors(400, 401, 403, 429)},
            }},
            "/api/v1/openapi.json": {"get": {"summary": "This document",
                                             "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/api/healthz": {"get": {"summary": "Liveness and database check; 'degraded' while sealing is halted "
                                                "or receipt rows are held out of the log",
                                     "responses": {"200": {"description": "ok or degraded"}}}},
            "/api/metrics": {"get": {"summary": "The consent log's gauges (Prometheus text format)",
                                     "responses": {"200": {"description": "metrics",
                                                           "content": {"text/plain": {}}}}}},
        },
        "components": {
            "schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}},
            "securitySchemes": {
                "receiptToken": {"type": "http", "scheme": "bearer",
                                 "description": "the token returned with the receipt"},
                "operatorToken": {"type": "http", "scheme": "bearer",
                                  "description": "CONSENT_OPERATOR_TOKEN"},
            },
        },
    }
