"""``imarouter-local`` (``make run``): the whole product on one machine. The consent API on its
embedded defaults (SQLite and keys made under var/ on first use, unless the environment
says otherwise), its log's public keys published into the site as it is built, and both
served on one port, the API under /api."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from legal_pages.build import build_site
from legal_pages.cli import check_dates, serve_options
from legal_pages.errors import LegalPagesError

from . import create_app, publish_log_keys
from .config import from_environment, load_log_keys, log_origin, resolve
from .errors import ConfigError

EMBEDDED = {"ENV": "development", "KEY_FILE": "var/consent-keys.json", "LOG_KEY_FILE": "var/consent-log-keys.json",
            "DATABASE_URL": "sqlite:///var/consent.sqlite3"}


def local_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The embedded defaults for what the environment does not set (a key list set in the
    environment wins over a key file of ours)."""
    given = from_environment(environ)
    config = {k: v for k, v in EMBEDDED.items() if k not in given}
    if "SIGNING_KEYS" in given:
        config.pop("KEY_FILE", None)
    if "LOG_KEYS" in given:
        config.pop("LOG_KEY_FILE", None)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imarouter-local", description=__doc__)
    serve_options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not check_dates(args, "imarouter-local"):
        return 2
    from werkzeug.serving import run_simple

    from legal_pages.server import PrivateRequestHandler, make_app

    site_dir = Path(args.site_dir)
    config = {**local_config(), "SITE_DIR": str(site_dir)}
    try:
        if not args.no_build:
            site_url = args.site_url or f"http://{args.host}:{args.port}/"
            settings = resolve(config)
            log_dir = Path(str(settings["LOG_DIR"]))  # before the build, which publishes the log's public keys
            publish_log_keys(log_dir, load_log_keys(settings, log_origin(settings, site_url)))
            build_site(config_file=Path(args.config), site_dir=site_dir, build_date=args.date, preview=args.preview,
                       site_url=site_url, plugin_options={"consent": {"log_dir": str(log_dir)}})
        if not (site_dir / "index.html").is_file():
            raise LegalPagesError(f"{site_dir}: no built site here (run without --no-build)")
        api = create_app(config)
    except (LegalPagesError, ConfigError) as exc:
        print(f"imarouter-local: {exc}", file=sys.stderr)
        return 1
    where = f"http://{args.host}:{args.port}/"
    print(f"Serving the legal site on {where} and the consent API on {where}api/", flush=True)
    try:
        run_simple(args.host, args.port, make_app(site_dir, api), threaded=True, request_handler=PrivateRequestHandler)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
