"""gunicorn settings for the consent API in production:

    gunicorn -c deploy/gunicorn.conf.py

Threads wait for the receipt writer, which stores concurrent receipts in one durable commit.
Set DATABASE_URL (PostgreSQL), CONSENT_KEY_FILE or CONSENT_SIGNING_KEYS,
CONSENT_SITE_DIR and CONSENT_RATELIMIT_STORAGE_URI (redis:// or memcached://,
shared by all workers and machines).
"""

import os

wsgi_app = "consent_api:create_app()"
bind = os.environ.get("CONSENT_BIND", "127.0.0.1:8001")
# One worker, on SQLite and PostgreSQL alike: its threads only parse requests and wait; each
# worker's receipt writer (consent_api/writer.py) does the work on another core. Measured
# with bench/bench_api.py on 2 cores and PostgreSQL: 1 worker 1,551 receipts/s, 2 workers
# 1,027 (their two writers take turns on the log's lock). Raise it for read-heavy loads.
workers = int(os.environ.get("CONSENT_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("CONSENT_THREADS", "16"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # access logs would hold client addresses: none are kept
errorlog = "-"
loglevel = os.environ.get("CONSENT_LOG_LEVEL", "warning")

