"""Settings: safe defaults in code, overridden by ``CONSENT_*`` environment variables
(and ``DATABASE_URL``), then by the mapping given to ``create_app``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consent_log.checkpoint import KeyFileError, LogKey, log_keys_json, new_log_key, parse_log_keys

from .errors import ConfigError
from .signing import Key, keys_json, new_key, parse_keys

DEFAULTS: dict[str, Any] = {
    "ENV": "production",                     # "development" allows a generated local key
    "DATABASE_URL": "sqlite:///var/consent.sqlite3",
    "SITE_DIR": "site",                      # where policies.json and consent.json are
    "SIGNING_KEYS": None,                    # JSON list [{kid, secret}], oldest first
    "KEY_FILE": None,                        # or a file holding that list
    "LOG_KEYS": None,                        # JSON list [{name, seed, created}]: the log's Ed25519 keys
    "LOG_KEY_FILE": None,                    # or a file holding that list
    "LOG_ORIGIN": None,                      # the log's name; default: <site host>/consent-log
    "LOG_DIR": "var/consent-log",            # checkpoints file and public keys, for witnesses and the build
    "SEAL_INTERVAL": 0.5,                    # seconds between the sealer's turns (0: no background sealer)
    "OPERATOR_TOKEN": None,                  # bearer token for the operator's reads
    "CORS_ORIGINS": None,                    # comma-separated; default: the site's origin
    "RATELIMIT": "60/minute;1000/hour",      # receipts per client address
    "RATELIMIT_READS": "300/minute",         # reads, verifications and proofs per client address
    "RATELIMIT_STORAGE_URI": "local://",     # this process only; redis:// or memcached:// with several workers
    "TRUSTED_PROXIES": 0,                    # how many proxies set X-Forwarded-For
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "JURISDICTION": "SG",
    "SERVICE_NAME": "ImaRouter legal site",
    "EXPIRY_DAYS": 182,
    "TOKEN_DAYS": 395,                       # a receipt token reads its receipt for this long (the log proves it after)
    "CONTROLLER": {
        "piiController": "ImaRouter",
        "contact": "Privacy team",
        "address": "See the Privacy Policy",
        "email": "See the Privacy Policy",
        "phone": "See the Privacy Policy",
    },
}
INTEGERS = {"MAX_CONTENT_LENGTH", "TRUSTED_PROXIES", "EXPIRY_DAYS", "TOKEN_DAYS"}
NUMBERS = {"SEAL_INTERVAL"}


def resolve(config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings: the defaults, then the environment, then ``config``."""
    return {**DEFAULTS, **from_environment(environ), **(config or {})}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        found["DATABASE_URL"] = env["DATABASE_URL"]
    for key in DEFAULTS:
        value = env.get(f"CONSENT_{key}")
        if value is None:
            continue
        if key in INTEGERS:
            try:
                found[key] = int(value)
            except ValueError:
                raise ConfigError(f"CONSENT_{key} must be a whole number, not '{value}'") from None
        elif key in NUMBERS:
            try:
                found[key] = float(value)
            except ValueError:
                raise ConfigError(f"CONSENT_{key} must be a number, not '{value}'") from None
        elif key == "CONTROLLER":
            try:
                found[key] = json.loads(value)
            except ValueError:
                raise ConfigError("CONSENT_CONTROLLER must be a JSON object") from None
        else:
            found[key] = value
    return found


def check_operator_token(settings: dict[str, Any]) -> None:
    """An operator token reads every receipt: a guessable one is refused at start."""
    token = settings.get("OPERATOR_TOKEN")
    if token and len(str(token)) < 32:
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


def load_keys(settings: dict[str, Any]) -> list[Key]:
    """The receipt token keys; outside development, starting without one is refused."""
    if settings.get("SIGNING_KEYS"):
        return parse_keys(str(settings["SIGNING_KEYS"]), "CONSENT_SIGNING_KEYS")
    if settings.get("KEY_FILE"):
        path = Path(settings["KEY_FILE"])
        if path.exists():
            return parse_keys(_read_secret(path), str(path))
        if settings["ENV"] == "development":
            keys = [new_key([])]
            write_secret(path, keys_json(keys))
            return keys
        raise ConfigError(f"{path}: no key file (create one with 'consent-keys rotate --key-file {path}')")
    raise ConfigError(
        "no signing key: set CONSENT_SIGNING_KEYS or CONSENT_KEY_FILE "
        "(or CONSENT_ENV=development with CONSENT_KEY_FILE for a local key)"
    )


def log_origin(settings: dict[str, Any], site_url: str) -> str:
    """The log's name: LOG_ORIGIN, or the site's host followed by /consent-log."""
    if settings.get("LOG_ORIGIN"):
        return str(settings["LOG_ORIGIN"])
    host = urlsplit(site_url).netloc or "localhost"
    return f"{host}/consent-log"


def load_log_keys(settings: dict[str, Any], origin: str) -> list[LogKey]:
    """The log's Ed25519 keys (newest signs); outside development, starting without one is refused."""
    try:
        keys = _log_keys(settings, origin)
    except KeyFileError as exc:
        raise ConfigError(str(exc)) from None
    if settings.get("LOG_ORIGIN") and keys[-1].name != origin:
        raise ConfigError(f"the newest log key is named '{keys[-1].name}', not the log's origin '{origin}'")
    return keys


def _log_keys(settings: dict[str, Any], origin: str) -> list[LogKey]:
    if settings.get("LOG_KEYS"):
        return parse_log_keys(str(settings["LOG_KEYS"]), "CONSENT_LOG_KEYS")
    if settings.get("LOG_KEY_FILE"):
        path = Path(settings["LOG_KEY_FILE"])
        if path.exists():
            return parse_log_keys(_read_secret(path), str(path))
        if settings["ENV"] == "development":
            keys = [new_log_key(origin)]
            write_secret(path, log_keys_json(keys))
            return keys
        raise ConfigError(f"{path}: no log key file (create one with "
                          f"'consent-keys rotate-log --log-key-file {path} --name {origin}')")
    raise ConfigError("no log key: set CONSENT_LOG_KEYS or CONSENT_LOG_KEY_FILE "
                      "(or CONSENT_ENV=development with CONSENT_LOG_KEY_FILE for a local key)")
