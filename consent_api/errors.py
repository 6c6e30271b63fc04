"""The API's exceptions; ``register`` turns them (and HTTP errors) into JSON in one place."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error a client can act on: a status, a short code, and what is wrong where."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.extra)
        return out


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class InvalidReceipt(ApiError):
    status, code = 422, "invalid_receipt"


class Conflict(ApiError):
    status, code = 409, "conflict"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class RateLimited(ApiError):
    status, code = 429, "too_many_requests"


class PayloadTooLarge(ApiError):
    status, code = 413, "request_entity_too_large"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


class ConfigError(Exception):
    """The API is misconfigured (no signing key, unreadable site data); it must not start."""


def _json(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = _json(exc.status, exc.body())
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _json(exc.code or 500, {"error": code, "message": exc.description or exc.name})
        if (exc.code or 500) >= 500:  # the server's fault: the widget retries it with the same receipt id
            response.headers["Retry-After"] = "1"
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response
