"""Flask extensions shared by the factory and the routes."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Per client address; the storage (RATELIMIT_STORAGE_URI) is shared by workers when it is
#: redis:// or memcached://. The address is used for counting only and never stored.
limiter = Limiter(get_remote_address, headers_enabled=True)


def receipt_limit() -> str:
    return str(current_app.config["RATELIMIT"])
