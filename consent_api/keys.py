"""The API's keys: the receipt token keys and the log's Ed25519 keys, from the settings or
from key files readable by their owner only (made on first use in development; outside it,
starting without a key is refused), and the log's public keys published for the site."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from consent_log.checkpoint import KeyFileError, LogKey, log_keys_json, new_log_key, parse_log_keys, published_keys

from .errors import ConfigError
from .settings import Settings
from .signing import Key, keys_json, new_key, parse_keys

K = TypeVar("K")


def check_operator_token(settings: Settings) -> None:
    """An operator token reads every receipt: a guessable one is refused at start."""
    token = settings.operator_token
    if token and len(token) < 32:
        raise ConfigError("CONSENT_OPERATOR_TOKEN must be at least 32 characters (for example: "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))')")


def write_secret(path: Path, text: str) -> None:
    """Write a key file readable by its owner only, never through a symlink: a new file is
    made with O_EXCL and O_NOFOLLOW, then renamed over the old one (whose mode goes with it)."""
    if path.is_symlink():
        raise ConfigError(f"{path}: is a symbolic link; a key file must be a regular file")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_secret(path: Path) -> str:
    if path.is_symlink():
        raise ConfigError(f"{path}: is a symbolic link; a key file must be a regular file")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path}: readable by others (mode {path.stat().st_mode & 0o777:o}); "
                          f"run 'chmod 600 {path}' or rotate it with consent-keys")
    return path.read_text()


def _key_list(text: str | None, variable: str, path: Path | None, settings: Settings,
              parse: Callable[[str, str], list[K]], make: Callable[[], list[K]], dump: Callable[[list[K]], str],
              create: str, missing: str) -> list[K]:
    """A key list from its variable, else from its key file; in development a missing file is
    made with a new key; otherwise ConfigError says how to make one (``create``) or what to set."""
    if text:
        return parse(text, variable)
    if path is None:
        raise ConfigError(missing)
    if path.exists():
        return parse(_read_secret(path), str(path))
    if settings.env != "development":
        raise ConfigError(f"{path}: no {create}")
    keys = make()
    write_secret(path, dump(keys))
    return keys


def load_keys(settings: Settings) -> list[Key]:
    """The receipt token keys; outside development, starting without one is refused."""
    path = settings.key_file
    return _key_list(settings.signing_keys, "CONSENT_SIGNING_KEYS", path, settings, parse_keys,
                     lambda: [new_key([])], keys_json,
                     f"key file (create one with 'consent-keys rotate --key-file {path}')",
                     "no signing key: set CONSENT_SIGNING_KEYS or CONSENT_KEY_FILE "
                     "(or CONSENT_ENV=development with CONSENT_KEY_FILE for a local key)")


def log_origin(settings: Settings, site_url: str) -> str:
    """The log's name: LOG_ORIGIN, or the site's host followed by /consent-log."""
    if settings.log_origin:
        return settings.log_origin
    host = urlsplit(site_url).netloc or "localhost"
    return f"{host}/consent-log"


def load_log_keys(settings: Settings, origin: str) -> list[LogKey]:
    """The log's Ed25519 keys (newest signs); outside development, starting without one is refused."""
    try:
        keys = _log_keys(settings, origin)
    except KeyFileError as exc:
        raise ConfigError(str(exc)) from None
    if settings.log_origin and keys[-1].name != origin:
        raise ConfigError(f"the newest log key is named '{keys[-1].name}', not the log's origin '{origin}'")
    return keys


def _log_keys(settings: Settings, origin: str) -> list[LogKey]:
    path = settings.log_key_file
    return _key_list(settings.log_keys, "CONSENT_LOG_KEYS", path, settings, parse_log_keys,
                     lambda: [new_log_key(origin)], log_keys_json,
                     f"log key file (create one with 'consent-keys rotate-log --log-key-file {path} --name {origin}')",
                     "no log key: set CONSENT_LOG_KEYS or CONSENT_LOG_KEY_FILE "
                     "(or CONSENT_ENV=development with CONSENT_LOG_KEY_FILE for a local key)")


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
