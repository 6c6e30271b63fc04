"""``imarouter-legal``: build, serve and check the legal site."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import LegalPagesError
from .model import parse_build_date


def _build(args: argparse.Namespace) -> int:
    from .build import build_site

    build_site(
        config_file=Path(args.config),
        site_dir=Path(args.site_dir) if args.site_dir else None,
        docs_dir=Path(args.docs_dir) if args.docs_dir else None,
        build_date=args.date,
        preview=args.preview,
        site_url=args.site_url,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from .server import make_app

    site_dir = Path(args.site_dir)
    if not args.no_build:
        site_url = args.site_url or f"http://{args.host}:{args.port}/"
        from .build import build_site

        build_site(
            config_file=Path(args.config), site_dir=site_dir, docs_dir=None,
            build_date=args.date, preview=args.preview, site_url=site_url,
        )
    if not (site_dir / "index.html").is_file():
        raise LegalPagesError(f"{site_dir}: no built site here (run without --no-build)")
    print(f"Serving the legal site on http://{args.host}:{args.port}/", flush=True)
    run_simple(args.host, args.port, make_app(site_dir), threaded=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imarouter-legal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def site_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default="mkdocs.yml", help="the MkDocs config file")
        p.add_argument("--date", help="build as of this date, YYYY-MM-DD (default: LEGAL_BUILD_DATE or today)")
        p.add_argument("--preview", action="store_true", help="include drafts and unpublished versions, marked")
        p.add_argument("--site-url", help="the site's public URL (default: LEGAL_SITE_URL or mkdocs.yml)")

    build = sub.add_parser("build", help="build the static site (strict)")
    site_options(build)
    build.add_argument("--site-dir", help="where to write the site (default: mkdocs.yml's site_dir)")
    build.add_argument("--docs-dir", help="read the policies from here (default: mkdocs.yml's docs_dir)")
    build.set_defaults(func=_build)

    serve = sub.add_parser("serve", help="build the site and serve it (with the API under /api)")
    site_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--site-dir", default="site")
    serve.add_argument("--no-build", action="store_true", help="serve the site already built in --site-dir")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.date:
        try:
            parse_build_date(args.date)
        except LegalPagesError as exc:
            print(f"imarouter-legal: {exc}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args))
    except LegalPagesError as exc:
        print(f"imarouter-legal: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    sys.exit(main())
