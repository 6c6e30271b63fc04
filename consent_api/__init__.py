"""The consent API: a Flask service that stores signed consent receipts.

``create_app`` is the application factory (``flask --app consent_api run``); every
route is under ``/api`` whether the API runs alone or next to the site.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from . import errors
from .keys import check_operator_token, load_keys, load_log_keys, log_origin, publish_log_keys
from .schema import engine_for
from .sealer import Sealer
from .services import Services
from .settings import Settings
from .signing import ReceiptSigner
from .sitedata import SiteData
from .storage import ReceiptLog


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """The API, configured from defaults, then ``CONSENT_*`` variables, then ``config`` (or
    exactly the ``Settings`` given)."""
    settings = config if isinstance(config, Settings) else Settings.load(config)
    app = Flask(__name__)
    app.config.from_mapping(settings.flask())
    app.json.sort_keys = False  # type: ignore[attr-defined]
    check_operator_token(settings)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    site = SiteData(settings.site_dir)
    log_keys = load_log_keys(settings, log_origin(settings, site.site_url))
    log = ReceiptLog(engine_for(settings.database_url), [k.verifier for k in log_keys])
    publish_log_keys(settings.log_dir, log_keys)
    signer = ReceiptSigner(load_keys(settings))
    sealer = Sealer(log, log_keys, signer, settings.log_dir / "checkpoints", settings.seal_interval)
    origins = _origins(settings, site)
    app.extensions["consent"] = Services(settings, log, signer, site, log_keys, sealer, origins)
    if settings.env == "development":
        log.create_schema()

    errors.register(app)
    from . import proofs, receipts, service, web

    web.init_app(app)
    for blueprint in (receipts.bp, proofs.bp, service.bp):
        app.register_blueprint(blueprint)
    from . import cors

    cors.init_app(app, sorted(origins))
    _rate_limit(app, settings)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    from .cli import register_commands

    register_commands(app)
    return app


def _origins(settings: Settings, site: SiteData) -> frozenset[str]:
    """The site's own origins: where receipts may come from (CORS, and a receipt's page)."""
    if settings.cors_origins:
        return frozenset(o.strip().rstrip("/").lower() for o in settings.cors_origins.split(",") if o.strip())
    parts = urlsplit(site.site_url)
    return frozenset([f"{parts.scheme}://{parts.netloc}".lower()] if parts.netloc else [])


def _rate_limit(app: Flask, settings: Settings) -> None:
    from .ratelimit import RateLimit

    storage = settings.ratelimit_storage_uri
    app.extensions["consent_rate_limit"] = {"receipts": RateLimit(settings.ratelimit, storage, "receipts"),
                                            "reads": RateLimit(settings.ratelimit_reads, storage, "reads")}
