"""The API's settings, one typed object read once: safe defaults in code, then ``CONSENT_*``
environment variables (and ``DATABASE_URL``), then the mapping given to ``create_app`` (the
same names without the prefix, as Flask's config spells them). Everything that needs a setting
is handed this object; nothing reads the environment again."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONTROLLER = {"piiController": "ImaRouter", "contact": "Privacy team", "address": "See the Privacy Policy",
              "email": "See the Privacy Policy", "phone": "See the Privacy Policy"}


@dataclass(frozen=True)
class Settings:
    env: str = "production"                        # "development" allows a generated local key
    database_url: str = "sqlite:///var/consent.sqlite3"
    site_dir: Path = Path("site")                  # where policies.json and consent.json are
    signing_keys: str | None = None                # JSON list [{kid, secret}], oldest first
    key_file: Path | None = None                   # or a file holding that list
    log_keys: str | None = None                    # JSON list [{name, seed, created}]: the log's Ed25519 keys
    log_key_file: Path | None = None               # or a file holding that list
    log_origin: str | None = None                  # the log's name; default: <site host>/consent-log
    log_dir: Path = Path("var/consent-log")        # checkpoints file and public keys, for witnesses and the build
    seal_interval: float = 0.5                     # seconds between the sealer's turns (0: no background sealer)
    operator_token: str | None = None              # bearer token for the operator's reads
    cors_origins: str | None = None                # comma-separated; default: the site's origin
    ratelimit: str = "60/minute;1000/hour"         # receipts per client address
    ratelimit_reads: str = "300/minute"            # reads, verifications and proofs per client address
    ratelimit_storage_uri: str = "local://"        # this process only; redis:// or memcached:// with several workers
    trusted_proxies: int = 0                       # how many proxies set X-Forwarded-For
    max_content_length: int = 16 * 1024
    jurisdiction: str = "SG"
    service_name: str = "ImaRouter legal site"
    expiry_days: int = 182
    token_days: int = 395                          # a token reads its receipt this long (the log proves it after)
    controller: Mapping[str, str] = field(default_factory=lambda: dict(CONTROLLER))

    @classmethod
    def load(cls, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, then the environment (default: this process's), then ``config``."""
        env = os.environ if environ is None else environ
        given: dict[str, Any] = {}
        if env.get("DATABASE_URL"):
            given["database_url"] = env["DATABASE_URL"]
        for f in dataclasses.fields(cls):
            if (value := env.get(f"CONSENT_{f.name.upper()}")) is not None:
                given[f.name] = _typed(f, value, f"CONSENT_{f.name.upper()}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in (config or {}).items():
            if key.lower() not in names:
                raise ConfigError(f"unknown setting '{key}' (known: {', '.join(sorted(n.upper() for n in names))})")
            given[key.lower()] = value if value is None else _typed(names[key.lower()], value, key)
        return cls(**given)

    def flask(self) -> dict[str, Any]:
        """What Flask itself reads from ``app.config``."""
        return {"MAX_CONTENT_LENGTH": self.max_content_length}


def _typed(f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    """A setting's value as its field's type, from text (the environment) or as given."""
    kind = str(f.type)
    try:
        if kind == "int":
            return value if isinstance(value, int) and not isinstance(value, bool) else int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("Path"):
            return Path(value)
        if kind.startswith("Mapping"):
            found = json.loads(value) if isinstance(value, str) else value
            if not isinstance(found, Mapping):
                raise ValueError(found)
            return dict(found)
    except (TypeError, ValueError):
        what = {"int": "a whole number", "float": "a number"}.get(kind, "a JSON object")
        raise ConfigError(f"{source} must be {what}, not '{str(value)[:40]}'") from None
    return str(value)
