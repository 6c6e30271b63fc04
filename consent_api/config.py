"""Settings: safe defaults in code, overridden by ``CONSENT_*`` environment variables
(and ``DATABASE_URL``), then by the mapping given to ``create_app``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .signing import Key, new_key, parse_keys, write_keys

DEFAULTS: dict[str, Any] = {
    "ENV": "production",                     # "development" allows a generated local key
    "DATABASE_URL": "sqlite:///var/consent.sqlite3",
    "SITE_DIR": "site",                      # where policies.json and consent.json are
    "SIGNING_KEYS": None,                    # JSON list [{kid, secret}], oldest first
    "KEY_FILE": None,                        # or a file holding that list
    "OPERATOR_TOKEN": None,                  # bearer token for the operator's reads
    "CORS_ORIGINS": None,                    # comma-separated; default: the site's origin
    "RATELIMIT": "60/minute;1000/hour",      # receipts per client address
    "RATELIMIT_STORAGE_URI": "local://",     # this process only; redis:// or memcached:// with several workers
    "TRUSTED_PROXIES": 0,                    # how many proxies set X-Forwarded-For
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "JURISDICTION": "SG",
    "SERVICE_NAME": "ImaRouter legal site",
    "EXPIRY_DAYS": 182,
    "CONTROLLER": {
        "piiController": "ImaRouter",
        "contact": "Privacy team",
        "address": "See the Privacy Policy",
        "email": "See the Privacy Policy",
        "phone": "See the Privacy Policy",
    },
}
INTEGERS = {"MAX_CONTENT_LENGTH", "TRUSTED_PROXIES", "EXPIRY_DAYS"}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
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
        elif key == "CONTROLLER":
            try:
                found[key] = json.loads(value)
            except ValueError:
                raise ConfigError("CONSENT_CONTROLLER must be a JSON object") from None
        else:
            found[key] = value
    return found


def load_keys(settings: dict[str, Any]) -> list[Key]:
    """The signing keys; outside development, starting without one is refused."""
    if settings.get("SIGNING_KEYS"):
        return parse_keys(str(settings["SIGNING_KEYS"]), "CONSENT_SIGNING_KEYS")
    if settings.get("KEY_FILE"):
        path = Path(settings["KEY_FILE"])
        if path.exists():
            return parse_keys(path.read_text(), str(path))
        if settings["ENV"] == "development":
            path.parent.mkdir(parents=True, exist_ok=True)
            keys = [new_key([])]
            write_keys(path, keys)
            return keys
        raise ConfigError(f"{path}: no key file (create one with 'consent-keys rotate --key-file {path}')")
    raise ConfigError(
        "no signing key: set CONSENT_SIGNING_KEYS or CONSENT_KEY_FILE "
        "(or CONSENT_ENV=development with CONSENT_KEY_FILE for a local key)"
    )
