#!/usr/bin/env bash
# Set up, add the demo targets, fetch their lightcurves (live, or replayed offline) and start the site.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=settings
$PY manage.py migrate --noinput -v0
$PY manage.py demo_setup

# Every base URL a broker uses (LSST's services have one each: LSST, LSST_ALERCE, LSST_LASAIR).
SOURCES=$($PY -c "from bhtom2.settings_helpers import DEFAULT_URLS; print(' '.join(DEFAULT_URLS))")
REPLAY_PORT="${REPLAY_PORT:-8765}"
OFFLINE=""
if [ "${BHTOM_DEMO_MODE:-auto}" != "offline" ] && $PY -m bhtom2.demo.reachable; then
  echo "demo: the survey services are reachable: fetching LIVE data"
else
  OFFLINE="--offline"
  echo "demo: no network to the surveys: REPLAYING recorded responses from tests/fixtures on 127.0.0.1:$REPLAY_PORT"
  $PY -m bhtom_base.replay --fixtures tests/fixtures --port "$REPLAY_PORT" &
  REPLAY_PID=$!
  trap 'kill $REPLAY_PID 2>/dev/null || true' EXIT
  for name in $SOURCES; do export "BHTOM_URL_${name}=http://127.0.0.1:${REPLAY_PORT}"; done
  # The recorded LSST object is a Lasair answer; the replay server takes any token.
  export BHTOM_LSST_SERVICE="${BHTOM_LSST_SERVICE:-lasair}" LASAIR_TOKEN="${LASAIR_TOKEN:-offline-demo-replay}"
  for _ in $(seq 1 50); do
    $PY -c "import socket; socket.create_connection(('127.0.0.1', $REPLAY_PORT), 0.2)" 2>/dev/null && break
    sleep 0.2
  done
fi
$PY manage.py demo_update $OFFLINE || echo "demo: some updates failed (see the summary above); the site starts anyway"
echo "demo: the TOM is at http://127.0.0.1:8000/ (log in with the demo user printed above)"
$PY manage.py runserver 127.0.0.1:8000 --noreload
