"""``imarouter-legal``: build, serve and check the legal site."""

from __future__ import annotations

import argparse
import datetime as dt
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
        cache=not args.no_cache,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The site alone (``imarouter-local`` serves it with the consent API)."""
    from werkzeug.serving import run_simple

    from .server import PrivateRequestHandler, make_app

    site_dir = Path(args.site_dir)
    if not args.no_build:
        from .build import build_site

        build_site(config_file=Path(args.config), site_dir=site_dir, docs_dir=None, build_date=args.date,
                   preview=args.preview, site_url=args.site_url or f"http://{args.host}:{args.port}/",
                   cache=not args.no_cache)
    if not (site_dir / "index.html").is_file():
        raise LegalPagesError(f"{site_dir}: no built site here (run without --no-build)")
    print(f"Serving the legal site on http://{args.host}:{args.port}/", flush=True)
    run_simple(args.host, args.port, make_app(site_dir, None), threaded=True, request_handler=PrivateRequestHandler)
    return 0


def _today(args: argparse.Namespace) -> dt.date:
    return parse_build_date(args.today or os.environ.get("LEGAL_BUILD_DATE"))


def _check(args: argparse.Namespace) -> int:
    from .lint import check

    report = check(
        Path(args.docs_dir), lock_path=Path(args.lock), today=_today(args), notice_days=args.notice_days,
    )
    for finding in report.findings:
        print(finding.format(Path.cwd()))
    for note in report.notes:
        print(f"note: {note}")
    print(report.summary())
    return 1 if report.errors else 0


def _lock(args: argparse.Namespace) -> int:
    from .lock import update_lock
    from .model import TRANSLATION_NAME_RE

    recorded, refused = update_lock(Path(args.docs_dir), Path(args.lock), _today(args))
    for key in refused:
        noun = "translation" if TRANSLATION_NAME_RE.match(Path(key).name) else "version"
        print(f"{Path(args.docs_dir) / key}:1: error [immutable] published {noun}s are immutable: "
              f"this {noun} is in effect and differs from {args.lock} (or was deleted); not recorded",
              file=sys.stderr)
    if refused:
        print(f"{args.lock} left unchanged.", file=sys.stderr)
        return 1
    for key in recorded:
        print(f"recorded {key}")
    print(f"{args.lock}: {len(recorded)} version(s) recorded" if recorded else f"{args.lock} is up to date")
    return 0


def _new_version(args: argparse.Namespace) -> int:
    from .authoring import new_version

    effective = parse_build_date(args.effective)
    path = new_version(
        Path(args.docs_dir), args.policy, effective=effective, today=_today(args),
        material=not args.minor, lock_path=Path(args.lock),
    )
    print(f"created {path}: edit its text and summary, then run 'imarouter-legal lock' and "
          "'imarouter-legal check'")
    return 0


def site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="mkdocs.yml", help="the MkDocs config file")
    p.add_argument("--date", help="build as of this date, YYYY-MM-DD (default: LEGAL_BUILD_DATE or today)")
    p.add_argument("--preview", action="store_true", help="include drafts and unpublished versions, marked")
    p.add_argument("--site-url", help="the site's public URL (default: LEGAL_SITE_URL or mkdocs.yml)")
    p.add_argument("--no-cache", action="store_true",
                   help="make every page and redline again, without the build cache (.cache/legal-pages)")


def serve_options(p: argparse.ArgumentParser) -> None:
    """What ``serve`` and ``imarouter-local`` share."""
    site_options(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--site-dir", default="site")
    p.add_argument("--no-build", action="store_true", help="serve the site already built in --site-dir")


def check_dates(args: argparse.Namespace, prog: str) -> bool:
    """Every date option is a date (else a message naming the option, and False)."""
    for option in ("date", "today", "effective"):
        value = getattr(args, option, None)
        if value:
            try:
                parse_build_date(value)
            except LegalPagesError as exc:
                message = str(exc).replace("LEGAL_BUILD_DATE", f"--{option}") if option != "date" else exc
                print(f"{prog}: {message}", file=sys.stderr)
                return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imarouter-legal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build the static site (strict)")
    site_options(build)
    build.add_argument("--site-dir", help="where to write the site (default: mkdocs.yml's site_dir)")
    build.add_argument("--docs-dir", help="read the policies from here (default: mkdocs.yml's docs_dir)")
    build.set_defaults(func=_build)

    serve = sub.add_parser("serve", help="build the site and serve it, without the API (imarouter-local: with it)")
    serve_options(serve)
    serve.set_defaults(func=_serve)

    def source_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--docs-dir", default="docs", help="the folder of the policies (default: docs)")
        p.add_argument("--lock", default="policies.lock", help="the lock file (default: policies.lock)")
        p.add_argument("--today", help="check as of this date, YYYY-MM-DD (default: LEGAL_BUILD_DATE or today)")

    check = sub.add_parser("check", help="lint every policy source; exits 1 on errors")
    source_options(check)
    check.add_argument("--notice-days", type=int, default=int(os.environ.get("LEGAL_NOTICE_DAYS", "30")),
                       help="notice period for material changes, in days (default: 30)")
    check.set_defaults(func=_check)

    lock = sub.add_parser("lock", help="record every version's hash in the lock file")
    source_options(lock)
    lock.set_defaults(func=_lock)

    new = sub.add_parser("new-version", help="start a new version of a policy from its newest text")
    source_options(new)
    new.add_argument("policy", help="the policy folder, for example 'privacy'")
    new.add_argument("--effective", required=True, help="the date it takes effect, YYYY-MM-DD")
    new.add_argument("--minor", action="store_true",
                     help="not a material change (default: material, needing the notice period)")
    new.set_defaults(func=_new_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not check_dates(args, "imarouter-legal"):
        return 2
    try:
        return int(args.func(args))
    except LegalPagesError as exc:
        print(f"imarouter-legal: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
