#!/usr/bin/env bash
# The daily rebuild: a version whose effective date has come becomes current only when the
# site is rebuilt, so run this once a day, shortly after midnight UTC. It builds the site as
# of today into a new folder, then points TARGET/site at it in one rename (readers and the
# consent API never see a half-written site), and keeps the last seven builds.
#
#   LEGAL_SITE_URL=https://legal.example.com/ deploy/rebuild.sh /srv/imarouter-legal
#
# Also read: LEGAL_CONSENT_API_URL (when the API has its own host), LEGAL_BUILD_DATE
# (default: today), IMAROUTER_LEGAL (default: .venv/bin/imarouter-legal of this checkout),
# LEGAL_CONSENT_LOG_DIR or CONSENT_LOG_DIR (the consent log's public keys and checkpoints,
# published with the site: default var/consent-log of this checkout).
# The build keeps what cannot change (the pages, redlines and compare blocks of published
# versions) in this checkout's .cache/legal-pages, so tonight's rebuild makes only what a new
# version touches; keep the checkout between runs. Deleting the folder is always safe.
set -euo pipefail
target=${1:?usage: deploy/rebuild.sh TARGET_DIR}
: "${LEGAL_SITE_URL:?set LEGAL_SITE_URL to the public URL of the site}"
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${IMAROUTER_LEGAL:-$repo/.venv/bin/imarouter-legal}
if [ -z "${LEGAL_CONSENT_LOG_DIR:-}" ] && [ -n "${CONSENT_LOG_DIR:-}" ]; then
  export LEGAL_CONSENT_LOG_DIR=$CONSENT_LOG_DIR
fi
target=$(mkdir -p "$target/builds" && cd "$target" && pwd)
stamp=$(date -u +%Y%m%dT%H%M%S.%NZ)
# The build runs the same check as CI ('imarouter-legal check') and refuses to publish what it
# refuses. Then the site that is live stays live, and the reasons go to stderr (cron mails
# them), to the system log (tag imarouter-legal) and to TARGET/REBUILD-REFUSED.txt.
if ! output=$(cd "$repo" && "$bin" build --site-dir "$target/builds/$stamp" 2>&1); then
  rm -rf "$target/builds/$stamp"
  live=$(readlink "$target/site" 2>/dev/null || echo "nothing")
  { echo "rebuild REFUSED at $stamp: $target/site still serves $live."
    echo "$output"; } | tee "$target/REBUILD-REFUSED.txt" >&2
  if command -v logger >/dev/null; then
    logger -t imarouter-legal -- "rebuild refused: $target/site still serves $live; see $target/REBUILD-REFUSED.txt" || true
  fi
  exit 1
fi
[ -z "$output" ] || echo "$output"
rm -f "$target/REBUILD-REFUSED.txt"
ln -sfn "builds/$stamp" "$target/site.next"
mv -T "$target/site.next" "$target/site"
find "$target/builds" -mindepth 1 -maxdepth 1 -type d | sort | head -n -7 | xargs -r rm -rf
echo "rebuild: $target/site -> builds/$stamp"
