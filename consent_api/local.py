"""``imarouter-local`` (``make run``): the whole product on one machine. The consent API on its
embedded defaults (SQLite and keys made under var/ on first use, unless the environment
says otherwise), its log's public keys published into the site as it is built, and both
served on one port, the API under /api."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from legal_pages.build import build_site
from legal_pages.cli import check_dates, serve_options
from legal_pages.errors import LegalPagesError

from . import create_app
from .errors import ConfigError
from .keys import load_log_keys, log_origin, publish_log_keys
from .settings import Settings

#: The embedded defaults, each with the environment variables that, when set, replace it.
EMBEDDED = {"ENV": ("development", ("CONSENT_ENV",)),
            "KEY_FILE": ("var/consent-keys.json", ("CONSENT_SIGNING_KEYS", "CONSENT_KEY_FILE")),
            "LOG_KEY_FILE": ("var/consent-log-keys.json", ("CONSENT_LOG_KEYS", "CONSENT_LOG_KEY_FILE")),
            "DATABASE_URL": ("sqlite:///var/consent.sqlite3", ("DATABASE_URL", "CONSENT_DATABASE_URL"))}


def local_settings(site_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``make run``: the environment's, with the embedded defaults for what it
    does not set."""
    env = os.environ if environ is None else environ
    config = {name: value for name, (value, variables) in EMBEDDED.items() if not any(env.get(v) for v in variables)}
    return Settings.load({**config, "SITE_DIR": site_dir}, env)


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
    try:
        settings = local_settings(site_dir)
        if not args.no_build:
            site_url = args.site_url or f"http://{args.host}:{args.port}/"
            # Before the build, which publishes the log's public keys.
            publish_log_keys(settings.log_dir, load_log_keys(settings, log_origin(settings, site_url)))
            build_site(config_file=Path(args.config), site_dir=site_dir, build_date=args.date, preview=args.preview,
                       site_url=site_url, plugin_options={"consent": {"log_dir": str(settings.log_dir)}},
                       cache=not args.no_cache)
        if not (site_dir / "index.html").is_file():
            raise LegalPagesError(f"{site_dir}: no built site here (run without --no-build)")
        api = create_app(settings)
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
