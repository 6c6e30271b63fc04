"""gunicorn settings for the consent API in production:

    gunicorn -c deploy/gunicorn.conf.py

Each request validates, signs and stores its receipt in its own thread (on SQLite, concurrent
receipts of a process share one durable commit: consent_api/groupcommit.py), and each process
runs the log's sealer in a background thread. Set DATABASE_URL (PostgreSQL),
CONSENT_KEY_FILE or CONSENT_SIGNING_KEYS, CONSENT_LOG_KEY_FILE or CONSENT_LOG_KEYS,
CONSENT_SITE_DIR and CONSENT_RATELIMIT_STORAGE_URI (redis:// or memcached://, shared by all
workers and machines).
"""

import os

wsgi_app = "consent_api:create_app()"
bind = os.environ.get("CONSENT_BIND", "127.0.0.1:8001")
# Two workers on the 2-core machine bench/bench_api.py measures (one process is held to one
# core by its GIL): on SQLite about 650-720 receipts/s against 430-470 with one.
workers = int(os.environ.get("CONSENT_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("CONSENT_THREADS", "16"))
# A worker takes no more connections than it has threads: kept-alive connections are then
# spread over the workers (otherwise one worker could hold all of them while the other idles:
# 430 against 700 receipts/s in bench/bench_api.py with wrk's 32 kept-alive connections).
worker_connections = int(os.environ.get("CONSENT_WORKER_CONNECTIONS", str(threads)))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # access logs would hold client addresses: none are kept
errorlog = "-"
loglevel = os.environ.get("CONSENT_LOG_LEVEL", "warning")
