"""The framework's ceiling for bench_api.py: a Flask endpoint that returns a constant JSON body."""

from __future__ import annotations

from flask import Flask, Response

BODY = b'{"receipt": {"version": "KI-CR-v1.1.0"}, "token": "constant"}'


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/api/v1/receipts")
    def constant() -> Response:
        return Response(BODY, status=201, mimetype="application/json")

    @app.get("/api/healthz")
    def health() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    return app
