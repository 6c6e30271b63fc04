"""What every endpoint shares: the services, the security headers, the rate limits and the
request body's parsing (a 4xx naming what is wrong, never a 5xx)."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask, Response, current_app, request

from .errors import ApiError, PayloadTooLarge, RateLimited, UnsupportedMediaType
from .services import Services

#: Answers carry receipt tokens and pseudonymous ids: not cached, not leaked in a Referer,
#: and the receipt page runs nothing and loads nothing.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


def security_headers(response: Response) -> Response:
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend([(k, v) for k, v in SECURITY_HEADERS.items() if k.lower() not in present])
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
    app.before_request(_start_sealer)


def _start_sealer() -> None:
    services().sealer.start()  # once per process, on its first request


def limit(scope: str) -> None:
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


def json_body() -> Any:
    """The request's JSON, or a 4xx saying what is wrong with it (never a 5xx)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 before this returns
    limit = services().settings.max_content_length
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


def text(body: str) -> Response:
    return Response(body, mimetype="text/plain", content_type="text/plain; charset=utf-8")


def b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def whole_number(name: str, value: str | None) -> int:
    """A query parameter that must be a whole number (a tree size, a cursor)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiError(f"'{name}' must be a whole number", field=name)
    return int(value)
