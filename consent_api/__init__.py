"""The consent API: a Flask service that stores signed consent receipts.

``create_app`` is the application factory (``flask --app consent_api run``); every
route is under ``/api`` whether the API runs alone or next to the site.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from consent_log.checkpoint import LogKey, published_keys

from . import errors
from .config import check_operator_token, load_keys, load_log_keys, log_origin, resolve
from .sealer import Sealer
from .services import Services
from .signing import ReceiptSigner
from .sitedata import SiteData
from .storage import ReceiptLog, engine_for


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The API, configured from defaults, then ``CONSENT_*`` variables, then ``config``."""
    app = Flask(__name__)
    app.config.from_mapping(resolve(config))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    settings = dict(app.config)
    check_operator_token(settings)
    if str(settings["DATABASE_URL"]).startswith("sqlite:///"):
        Path(str(settings["DATABASE_URL"])[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    site = SiteData(Path(str(settings["SITE_DIR"])))
    log_keys = load_log_keys(settings, log_origin(settings, site.site_url))
    log = ReceiptLog(engine_for(str(settings["DATABASE_URL"])), [k.verifier for k in log_keys])
    log_dir = Path(str(settings["LOG_DIR"]))
    publish_log_keys(log_dir, log_keys)
    signer = ReceiptSigner(load_keys(settings))
    sealer = Sealer(log, log_keys, signer, log_dir / "checkpoints", float(settings["SEAL_INTERVAL"]))
    origins = _origins(settings, site)
    app.extensions["consent"] = Services(log, signer, site, log_keys, sealer, origins)
    if settings["ENV"] == "development":
        log.create_schema()

    errors.register(app)
    from .routes import bp

    app.register_blueprint(bp)
    from . import cors

    cors.init_app(app, sorted(origins))
    _rate_limit(app)
    if settings["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(settings["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    from .cli import register_commands

    register_commands(app)
    return app


def _origins(settings: dict[str, Any], site: SiteData) -> frozenset[str]:
    """The site's own origins: where receipts may come from (CORS, and a receipt's page)."""
    if settings.get("CORS_ORIGINS"):
        return frozenset(o.strip().rstrip("/").lower() for o in str(settings["CORS_ORIGINS"]).split(",") if o.strip())
    parts = urlsplit(site.site_url)
    return frozenset([f"{parts.scheme}://{parts.netloc}".lower()] if parts.netloc else [])


def _rate_limit(app: Flask) -> None:
    from .ratelimit import RateLimit

    storage = str(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["consent_rate_limit"] = {"receipts": RateLimit(str(app.config["RATELIMIT"]), storage, "receipts"),
                                            "reads": RateLimit(str(app.config["RATELIMIT_READS"]), storage, "reads")}


def publish_log_keys(log_dir: Path, keys: list[LogKey]) -> None:
    """Write the log's public keys where the site build publishes them from:
    ``consent-log.pub`` (the newest verifier key) and ``consent-log.json`` (every key)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("consent-log.pub", keys[-1].verifier.text() + "\n"),
                       ("consent-log.json", json.dumps(published_keys(keys), indent=2) + "\n")):
        path = log_dir / name
        if not path.exists() or path.read_text() != text:
            tmp = log_dir / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text)
            tmp.replace(path)
