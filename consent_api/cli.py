"""Operator commands: ``flask --app consent_api <command>``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from consent_log.checkpoint import KeyFileError, append_note, log_keys_json, new_log_key, parse_log_keys, purge_body

from .errors import ConfigError
from .keys import write_secret
from .report import PERIODS, window
from .report_page import html_report
from .services import Services
from .signing import keys_json, new_key, parse_keys

log = logging.getLogger("consent_api.operator")


def _services() -> Services:
    found: Services = current_app.extensions["consent"]
    return found


def _epoch(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp())
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _key_file_text(path: Path) -> str | None:
    """An existing key file's text (None if there is none); never read through a symlink."""
    if path.is_symlink():
        raise click.ClickException(f"{path}: is a symbolic link; a key file must be a regular file")
    return path.read_text() if path.exists() else None


@click.group("keys")
def keys() -> None:
    """Signing keys: ``flask --app consent_api keys ...``, or ``consent-keys ...`` before any key
    exists (the app refuses to start without one)."""


@keys.command("generate")
def generate() -> None:
    """Print a new key list with one key (for CONSENT_SIGNING_KEYS or a key file)."""
    key = new_key([])
    click.echo(json.dumps([{"kid": key.kid, "secret": key.secret}]))


@keys.command("rotate")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), envvar="CONSENT_KEY_FILE",
              required=True, help="the key file (default: CONSENT_KEY_FILE); created if missing")
def rotate(key_file: Path) -> None:
    """Add a new newest token key to the key file (readable by its owner only);
    receipts signed with older keys still verify."""
    text = _key_file_text(key_file)
    try:
        existing = parse_keys(text, str(key_file)) if text is not None else []
        existing.append(new_key(existing))
        write_secret(key_file, keys_json(existing))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    log.warning("signing key added: %s (%d keys)", existing[-1].kid, len(existing))
    click.echo(f"{key_file}: new signing key {existing[-1].kid}; restart the API to sign with it")


@keys.command("rotate-log")
@click.option("--log-key-file", type=click.Path(dir_okay=False, path_type=Path), envvar="CONSENT_LOG_KEY_FILE",
              required=True, help="the log key file (default: CONSENT_LOG_KEY_FILE); created if missing")
@click.option("--name", required=True, help="the log's origin, e.g. legal.example.com/consent-log")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), envvar="CONSENT_LOG_DIR",
              default="var/consent-log", show_default=True, help="where the public keys are written for the site")
def rotate_log(log_key_file: Path, name: str, log_dir: Path) -> None:
    """Add a new newest Ed25519 log key (checkpoints signed with older keys still verify) and
    write the public keys (consent-log.pub, consent-log.json) for the site to publish."""
    from .keys import publish_log_keys

    text = _key_file_text(log_key_file)
    try:
        existing = parse_log_keys(text, str(log_key_file)) if text is not None else []
        existing.append(new_log_key(name))
        write_secret(log_key_file, log_keys_json(existing))
    except (ConfigError, KeyFileError) as exc:
        raise click.ClickException(str(exc)) from None
    publish_log_keys(log_dir, existing)
    log.warning("log key added: %s", existing[-1].verifier.text())
    click.echo(f"{log_key_file}: new log key {existing[-1].verifier.text()}\n"
               f"{log_dir}: public keys written; rebuild the site to publish them and restart the API")


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (safe to run again)."""
        _services().log.create_schema()
        click.echo("schema ready")

    app.cli.add_command(keys)

    @app.cli.command("seal")
    @click.option("--resume", is_flag=True, help="after a halt, once the cause is found and repaired: check "
                  "everything again and seal if the log now agrees with its checkpoints")
    def seal(resume: bool) -> None:
        """Seal every receipt waiting now into the tree and sign a checkpoint."""
        sealer = _services().sealer
        if resume:
            sealer.resume()
        notes = sealer.seal()
        halted = sealer.halted()
        if halted:
            click.echo(f"sealing is HALTED, nothing was signed: {halted}", err=True)
            sys.exit(1)
        held = _services().log.quarantine_count()
        click.echo(f"{len(notes)} checkpoint(s) signed; the tree has {_services().log.tree_size()} leaves"
                   + (f"; {held} receipt row(s) held out of the log (they fail their own token: see verify)"
                      if held else ""))

    @app.cli.command("verify")
    @click.option("--checkpoint", "files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="a checkpoints file kept off this machine (repeatable): the log must match each")
    def verify(files: tuple[Path, ...]) -> None:
        """Recompute the whole tree from the stored receipts and check it against every checkpoint,
        and every receipt against its token; name each entry that fails."""
        from .audit import audit_log

        problems, summary = audit_log(_services(), list(files))
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            click.echo(f"{summary}: {len(problems)} problem(s)", err=True)
            sys.exit(1)
        if not files:
            click.echo("warning: no --checkpoint file given: only the database's own checkpoints were checked, "
                       "and whoever can write the database can remove them", err=True)
        click.echo(f"{summary}: the log verifies")

    @app.cli.command("export")
    @click.option("--since", help="first day, YYYY-MM-DD (inclusive)")
    @click.option("--until", help="last day, YYYY-MM-DD (exclusive)")
    @click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
    def export(since: str | None, until: str | None, fmt: str) -> None:
        """Write receipts created in a time range to standard output, for an audit."""
        from .integrity import body_of

        rows = _services().log.rows(_epoch(since), _epoch(until))
        writer = csv.writer(sys.stdout)
        if fmt == "csv":
            writer.writerow(["seq", "receipt_id", "subject_id", "created_at", "method", "policy_version",
                             "choices", "gpc", "leaf_index"])
        for row in rows:
            body, problem = body_of(row)
            if body is None:  # a row written outside the API: named, left out, the rest still exported
                click.echo(f"receipt row {row.seq}: {problem}; left out (run verify)", err=True)
                continue
            if fmt == "jsonl":
                click.echo(json.dumps({"seq": row.seq, "leaf_index": row.leaf_index, "receipt": body,
                                       "token": row.token}))
                continue
            writer.writerow([row.seq, row.receipt_id, row.subject_id,
                             dt.datetime.fromtimestamp(row.created_at, dt.UTC).isoformat(),
                             body["collectionMethod"], body["policy"]["version"],
                             " ".join(f"{k}={'yes' if v else 'no'}" for k, v in body["choices"].items()),
                             body["gpc"], row.leaf_index])

    @app.cli.command("report")
    @click.option("--since", help="first day, YYYY-MM-DD (default: 90 days before --until)")
    @click.option("--until", help="the day after the last one, YYYY-MM-DD (default: tomorrow, so today is in)")
    @click.option("--by", type=click.Choice(PERIODS), help="period (default: day up to a month, week up to "
                  "half a year, month beyond)")
    @click.option("--threshold", type=click.IntRange(min=2), default=10, show_default=True,
                  help="groups with fewer receipts show no rate")
    @click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
                  help="the HTML file to write (self-contained: it opens offline)")
    def report(since: str | None, until: str | None, by: str | None, threshold: int, out: Path) -> None:
        """Write the consent report: choices by category, policy version, config revision,
        method and time, as charts and tables. Reads the receipts; changes nothing."""
        try:
            start, end, period = window(since, until, by, dt.datetime.now(dt.UTC).date())
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        svc = _services()
        document = html_report(svc.log.engine, svc.site, start, end, period, threshold=threshold,
                               site_name=_services().settings.service_name)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_text(document, encoding="utf-8")
        partial.replace(out)  # an existing report is replaced whole or not at all
        click.echo(f"{out}: consent report {start} to {end - dt.timedelta(days=1)} by {period}")

    @app.cli.command("purge")
    @click.option("--before", required=True, help="delete receipts created before this day, YYYY-MM-DD")
    @click.option("--reason", required=True, help="why (recorded with the purge)")
    @click.option("--yes", is_flag=True, help="do it without asking")
    def purge(before: str, reason: str, yes: bool) -> None:
        """Delete sealed receipts past their retention period. Their leaf hashes stay in the tree,
        so every checkpoint still verifies; a statement of the purged leaves, signed with the log
        key, is stored and appended to the checkpoints file."""
        from .retention import PurgeRefused, plan_purge

        cutoff = _epoch(before)
        assert cutoff is not None
        if not yes:
            click.confirm(f"Delete every sealed receipt created before {before}?", abort=True)
        svc = _services()
        try:
            plan = plan_purge(svc.log, svc.signer, cutoff)
        except PurgeRefused as exc:
            raise click.ClickException(str(exc)) from None
        for line in plan.kept:
            click.echo(f"kept, not purged: {line}", err=True)
        count = len(plan.leaves)
        if count:
            key = svc.log_keys[-1]
            note = svc.log.purge(plan.leaves, lambda leaves: key.sign_note(purge_body(key.name, leaves, reason)))
            append_note(svc.sealer.checkpoints_file, note)
        log.warning("purged %d receipts created before %s: %s", count, before, reason)
        click.echo(f"purged {count} receipts created before {before}"
                   + (f"; {len(plan.kept)} kept that failed their checks (run verify)" if plan.kept else ""))
