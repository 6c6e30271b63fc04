"""gunicorn settings for the consent API in production:

    gunicorn -c deploy/gunicorn.conf.py

Threads let each worker batch concurrent receipts into one durable commit.
Set DATABASE_URL (PostgreSQL), CONSENT_KEY_FILE or CONSENT_SIGNING_KEYS,
CONSENT_SITE_DIR and CONSENT_RATELIMIT_STORAGE_URI (redis:// or memcached://,
shared by all workers and machines).
"""

import multiprocessing
import os

wsgi_app = "consent_api:create_app()"
bind = os.environ.get("CONSENT_BIND", "127.0.0.1:8001")
# SQLite has one writer per file, and waiting processes back off with sleeps: one worker
# (its threads batch the commits) serves SQLite best. PostgreSQL takes one per core.
_sqlite = os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite")
workers = int(os.environ.get("CONSENT_WORKERS", 1 if _sqlite else multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("CONSENT_THREADS", "16"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # access logs would hold client addresses: none are kept
errorlog = "-"
loglevel = os.environ.get("CONSENT_LOG_LEVEL", "warning")

