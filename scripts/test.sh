#!/usr/bin/env bash
# Set up and run the whole test suite (ruff included). DATABASE_URL=postgres://... runs it on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "test: installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "test: could not install chromium" >&2
fi
.venv/bin/ruff check .
echo "test: database ${DATABASE_URL:-sqlite (default)}"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
