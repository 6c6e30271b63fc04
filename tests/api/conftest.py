"""The consent API as operators run it: gunicorn processes on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from tests.harness import ROOT, Served, clean_env, free_port, wait_until_up

PG_URL = os.environ.get("CONSENT_TEST_POSTGRES_URL", "postgresql://consent:consent@127.0.0.1:5432/consent_test")
KEY1 = {"kid": "k1", "secret": "first-test-secret-0123456789abcdefghijklmnop"}
KEY2 = {"kid": "k2", "secret": "second-test-secret-0123456789abcdefghijklmno"}
REVISION = "0123456789abcdef"  # any config revision has this form; the API does not ask for the current one
PAGE_ORIGIN = "http://127.0.0.1:8000"  # request_body's page; api_env lists it among the site's origins
OPERATOR = "operator-test-token-0123456789abcdefghij"
LOG_ORIGIN = "legal.test/consent-log"
LOG_KEY = {"name": LOG_ORIGIN, "seed": "bG9nLWtleS1zZWVkLWZvci10aGUtdGVzdHMtMDAwMDA=",
           "created": "2026-01-01T00:00:00Z"}


def postgres_available() -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    try:
        engine = create_engine("postgresql+psycopg://" + PG_URL.split("://", 1)[1])
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except OperationalError:
        return False


def database(backend: str, tmp: Path) -> str:
    """A fresh, empty database of that kind."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'receipts.sqlite3'}"
    if not postgres_available():
        reason = f"PostgreSQL is not reachable at {PG_URL} (scripts/install-system-deps.sh starts it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from sqlalchemy import create_engine

    from consent_api.schema import metadata

    engine = create_engine("postgresql+psycopg://" + PG_URL.split("://", 1)[1])
    metadata.drop_all(engine)
    engine.dispose()
    return PG_URL


def request_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_id": str(uuid.uuid4()), "subject_id": str(uuid.uuid4()), "config_revision": REVISION,
        "policy": {"id": "privacy", "version": "2026-11-22"},
        "choices": {"necessary": True, "analytics": False, "advertising": False},
        "method": "banner", "gpc": False, "language": "en", "page": f"{PAGE_ORIGIN}/privacy/",
        "consented_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    body.update(changes)
    return body


@dataclass
class Api:
    """One gunicorn process serving the API, and the environment it was started with."""

    base: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json", headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, str], Any]:
        import urllib.error
        import urllib.request

        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path.lstrip("/"), data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, hdrs, payload = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, hdrs, payload = exc.code, dict(exc.headers), exc.read()
        try:
            return status, hdrs, json.loads(payload)
        except ValueError:
            return status, hdrs, payload.decode()

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """An operator command against the same database and keys."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "consent_api", *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None


def site_origin(site_dir: Path) -> str:
    url = json.loads((site_dir / "policies.json").read_text())["site_url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def api_env(db_url: str, site_dir: Path, keys: list[dict[str, str]], **extra: str) -> dict[str, str]:
    env = clean_env()
    env.update({
        "DATABASE_URL": db_url, "CONSENT_SITE_DIR": str(site_dir), "CONSENT_SIGNING_KEYS": json.dumps(keys),
        "CONSENT_LOG_KEYS": json.dumps([LOG_KEY]), "CONSENT_LOG_ORIGIN": LOG_ORIGIN,
        "CONSENT_CORS_ORIGINS": f"{site_origin(site_dir)},{PAGE_ORIGIN}",
        "CONSENT_OPERATOR_TOKEN": OPERATOR,
        "CONSENT_RATELIMIT": "100000/minute", "CONSENT_RATELIMIT_READS": "100000/minute",
        "CONSENT_THREADS": "8",
    })
    env.update(extra)
    return env


class InProcess(Api):
    """The API in the test's own process, through Flask's test client, on the real database
    and configured from ``env`` exactly as gunicorn's worker would be (its background sealer
    included): the Flask tutorial's way, without a server's start-up per test."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__("http://localhost/", env)
        self.app = self._app()

    def _app(self) -> Any:
        from consent_api import create_app
        from consent_api.settings import Settings

        return create_app(Settings.load(environ=self.env))

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json", headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        answer = self.app.test_client().open("/" + path.lstrip("/"), method=method, data=data, headers=headers or {},
                                             content_type=content_type if data is not None else None)
        try:
            return answer.status_code, dict(answer.headers), json.loads(answer.get_data())
        except ValueError:
            return answer.status_code, dict(answer.headers), answer.get_data(as_text=True)

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """An operator command, as a fresh ``flask --app consent_api`` would run it (its own
        app on the same database and keys), in this process."""
        try:
            app = self._app()
        except Exception as exc:  # what the flask command prints when the app does not load
            return subprocess.CompletedProcess(["flask", *args], 1, "", f"Error: {exc}\n")
        logged = io.StringIO()  # what a process's warnings print to stderr (logging's last resort)
        handler = logging.StreamHandler(logged)
        handler.setLevel(logging.WARNING)
        logging.getLogger().addHandler(handler)
        try:
            result = app.test_cli_runner().invoke(args=list(args))
        finally:
            logging.getLogger().removeHandler(handler)
            app.extensions["consent"].log.engine.dispose()
        return subprocess.CompletedProcess(["flask", *args], result.exit_code, result.stdout,
                                           result.stderr + logged.getvalue())

    def stop(self, kill: bool = False) -> None:
        self.app.extensions["consent"].sealer.stop()
        self.app.extensions["consent"].log.engine.dispose()


def start(env: dict[str, str], tmp: Path, port: int | None = None, *, server: bool = False) -> Api:
    """The API configured by ``env`` after ``flask init-db``: in this process (``InProcess``), or
    with ``server`` a real gunicorn (``deploy/gunicorn.conf.py``) for what needs processes: a
    SIGKILL, two processes at once, a raw socket, another program fetching from it."""
    env = {"CONSENT_LOG_DIR": str(tmp / "consent-log"), **env}
    if not server:
        api: Api = InProcess(env)
        init = api.flask("init-db")
        assert init.returncode == 0, init.stderr
        return api
    port = port or free_port()
    env["CONSENT_BIND"] = f"127.0.0.1:{port}"
    api = Api(f"http://127.0.0.1:{port}/", env)
    init = Api.flask(api, "init-db")
    assert init.returncode == 0, init.stderr
    api.log = tmp / f"gunicorn-{port}.log"
    with api.log.open("wb") as log:
        api.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )
    wait_until_up(api.base + "api/healthz", api.process, timeout=60)
    return api


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(backend: str, site: Served, tmp_path: Path) -> Iterator[Api]:
    running = start(api_env(database(backend, tmp_path), site.site_dir, [KEY1]), tmp_path)
    yield running
    running.stop()


# -- in one process: Flask's test client on a real database (the Flask tutorial's way) ------


@dataclass
class Local:
    """The API in this process, on a real database, its sealer run only by the test."""

    app: Any
    db_url: str
    log_dir: Path

    @property
    def svc(self) -> Any:
        return self.app.extensions["consent"]

    @property
    def client(self) -> Any:
        return self.app.test_client()

    def post(self, body: dict[str, Any] | None = None, token: str | None = None, **changes: Any) -> dict[str, Any]:
        """Store a receipt (201), its answer."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self.client.post("/api/v1/receipts", json=body or request_body(**changes), headers=headers)
        assert answer.status_code == 201, answer.get_json()
        found: dict[str, Any] = answer.get_json()
        return found

    def seal(self) -> list[str]:
        notes: list[str] = self.svc.sealer.seal()
        return notes

    def flask(self, *args: str) -> Any:
        """An operator command, in this process (exit_code, output with stderr)."""
        return self.app.test_cli_runner().invoke(args=list(args))

    def sql(self, statement: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Any:
        """What an insider with write access and no key does: one statement on the real database."""
        with self.svc.log.engine.begin() as conn:
            result = conn.execute(text(statement), params or {})
            return result.all() if result.returns_rows else None

    def operator_get(self, path: str) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {OPERATOR}"})


def local_config(db_url: str, site_dir: Path, log_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": db_url, "SITE_DIR": str(site_dir), "SIGNING_KEYS": json.dumps([KEY1]),
        "LOG_KEYS": json.dumps([LOG_KEY]), "LOG_ORIGIN": LOG_ORIGIN, "LOG_DIR": str(log_dir),
        "CORS_ORIGINS": f"{site_origin(site_dir)},{PAGE_ORIGIN}", "OPERATOR_TOKEN": OPERATOR,
        "RATELIMIT": "100000/minute", "RATELIMIT_READS": "100000/minute", "SEAL_INTERVAL": 0, **extra,
    }


@pytest.fixture
def local(backend: str, site: Served, tmp_path: Path) -> Iterator[Local]:
    from consent_api import create_app

    db_url = database(backend, tmp_path)
    app = create_app(local_config(db_url, site.site_dir, tmp_path / "consent-log"))
    app.extensions["consent"].log.create_schema()
    yield Local(app, db_url, tmp_path / "consent-log")
    app.extensions["consent"].log.engine.dispose()
