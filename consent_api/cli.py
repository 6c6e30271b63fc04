"""Operator commands: ``flask --app consent_api <command>``."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .services import Services
from .signing import new_key, parse_keys, write_keys
from .storage import canonical, chain_hash

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


def verify_log(svc: Services) -> list[str]:
    """Every problem of the stored log: broken chain links, altered bodies, bad signatures."""
    problems = []
    _, prev = svc.log.anchor()
    for row in svc.log.rows():
        where = f"entry seq={row.seq} receipt {row.receipt_id}"
        if row.prev_hash != prev:
            problems.append(f"{where}: chain broken before it (a row was deleted, inserted or reordered)")
        if chain_hash(row.prev_hash, row.body) != row.hash:
            problems.append(f"{where}: its content does not match its hash (the row was edited)")
        verified = svc.signer.verify(row.token)
        body_sha = hashlib.sha256(canonical(json.loads(row.body)).encode()).hexdigest()
        if verified is None:
            problems.append(f"{where}: its token is not genuine (or its key was removed)")
        elif verified[0].get("rid") != row.receipt_id or verified[0].get("sha") != body_sha:
            problems.append(f"{where}: its token was issued for other content")
        prev = row.hash
    return problems


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
    """Add a new newest key to the key file (creating it, readable by its owner only);
    receipts signed with older keys still verify."""
    existing = parse_keys(key_file.read_text(), str(key_file)) if key_file.exists() else []
    existing.append(new_key(existing))
    key_file.parent.mkdir(parents=True, exist_ok=True)
    write_keys(key_file, existing)
    log.warning("signing key added: %s (%d keys)", existing[-1].kid, len(existing))
    click.echo(f"{key_file}: new signing key {existing[-1].kid}; restart the API to sign with it")


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (safe to run again)."""
        _services().log.create_schema()
        click.echo("schema ready")

    app.cli.add_command(keys)

    @app.cli.command("verify")
    def verify() -> None:
        """Check every stored receipt's signature and the whole hash chain."""
        svc = _services()
        problems = verify_log(svc)
        for problem in problems:
            click.echo(problem, err=True)
        count = svc.log.count()
        if problems:
            click.echo(f"{count} receipts checked: {len(problems)} problem(s)", err=True)
            sys.exit(1)
        click.echo(f"{count} receipts checked: the log verifies")

    @app.cli.command("export")
    @click.option("--since", help="first day, YYYY-MM-DD (inclusive)")
    @click.option("--until", help="last day, YYYY-MM-DD (exclusive)")
    @click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
    def export(since: str | None, until: str | None, fmt: str) -> None:
        """Write receipts created in a time range to standard output, for an audit."""
        rows = _services().log.rows(_epoch(since), _epoch(until))
        if fmt == "jsonl":
            for row in rows:
                click.echo(json.dumps({"seq": row.seq, "receipt": json.loads(row.body), "token": row.token,
                                       "hash": row.hash, "prev_hash": row.prev_hash}))
            return
        writer = csv.writer(sys.stdout)
        writer.writerow(["seq", "receipt_id", "subject_id", "created_at", "method", "policy_version",
                         "choices", "gpc", "hash"])
        for row in rows:
            body = json.loads(row.body)
            writer.writerow([row.seq, row.receipt_id, row.subject_id,
                             dt.datetime.fromtimestamp(row.created_at, dt.UTC).isoformat(),
                             body["collectionMethod"], body["policy"]["version"],
                             " ".join(f"{k}={'yes' if v else 'no'}" for k, v in body["choices"].items()),
                             body["gpc"], row.hash])

    @app.cli.command("purge")
    @click.option("--before", required=True, help="delete receipts created before this day, YYYY-MM-DD")
    @click.option("--reason", required=True, help="why (recorded with the purge)")
    @click.option("--yes", is_flag=True, help="do it without asking")
    def purge(before: str, reason: str, yes: bool) -> None:
        """Delete receipts past their retention period; the rest of the log still verifies."""
        cutoff = _epoch(before)
        assert cutoff is not None
        if not yes:
            click.confirm(f"Delete every receipt created before {before}?", abort=True)
        count = _services().log.purge_before(cutoff, reason)
        log.warning("purged %d receipts created before %s: %s", count, before, reason)
        click.echo(f"purged {count} receipts created before {before}")
