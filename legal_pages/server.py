"""Serve a built site (and, when given, the consent API under ``/api``) on one port.

This is the local, embedded way to run the product; production serves ``site/``
from any static host and runs the API under gunicorn (see the README).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join
from werkzeug.serving import WSGIRequestHandler
from werkzeug.utils import redirect, send_file
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

mimetypes.add_type("application/atom+xml", ".xml")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("text/javascript", ".js")

API_PREFIX = "/api"


class StaticSite:
    """A WSGI app serving a static site folder with directory URLs and its 404 page."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            return Response("Method not allowed\n", 405, {"Allow": "GET, HEAD"}, mimetype="text/plain")
        relative = request.path.lstrip("/")
        target = safe_join(str(self.root), relative) if relative else str(self.root)
        if target is None:
            return self.not_found(request)
        path = Path(target)
        if path.is_dir():
            if not request.path.endswith("/"):
                query = f"?{request.query_string.decode()}" if request.query_string else ""
                return redirect(request.path + "/" + query, 308)
            path = path / "index.html"
        if not path.is_file():
            return self.not_found(request)
        response = send_file(path, request.environ, conditional=True, etag=True, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def not_found(self, request: Request) -> Response:
        page = self.root / "404.html"
        if page.is_file():
            return Response(page.read_bytes(), 404, mimetype="text/html")
        return Response(NotFound.description, 404, mimetype="text/plain")


class Dispatcher:
    """Send ``/api`` and everything below it to the API app; the rest to the site."""

    def __init__(self, site: WSGIApplication, api: WSGIApplication | None = None) -> None:
        self.site = site
        self.api = api

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            if self.api is None:
                body = b'{"error": "not_found", "message": "no API is configured"}\n'
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [body]
            return self.api(environ, start_response)
        return self.site(environ, start_response)


def make_app(site_dir: Path, api: Any = None) -> Dispatcher:
    """The product as one WSGI app: the static site plus the API under ``/api``."""
    return Dispatcher(StaticSite(site_dir), api)


class PrivateRequestHandler(WSGIRequestHandler):
    """Logs each request as method, path (no query string: receipt links carry tokens) and status,
    without the client's address."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        self.log("info", '"%s %s" %s', self.command, path, code)

    def address_string(self) -> str:
        return "-"
