#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned requirements. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 \
  | grep -v "^WARNING: Location" || true
# Bootstrap served by the site itself (TOM Toolkit's pages otherwise load it from a CDN, which an
# offline machine cannot reach). From the npm registry; the site falls back to the CDN without it.
BOOTSTRAP_VERSION=5.3.8
if [ ! -f vendor_static/bootstrap/bootstrap.min.css ] && command -v npm >/dev/null; then
  tmp="$(mktemp -d)"
  if (cd "$tmp" && timeout 120 npm pack "bootstrap@$BOOTSTRAP_VERSION" --silent >/dev/null 2>&1); then
    mkdir -p vendor_static/bootstrap
    tar xzf "$tmp/bootstrap-$BOOTSTRAP_VERSION.tgz" -C "$tmp" package/dist/css/bootstrap.min.css \
      package/dist/js/bootstrap.bundle.min.js
    cp "$tmp/package/dist/css/bootstrap.min.css" "$tmp/package/dist/js/bootstrap.bundle.min.js" vendor_static/bootstrap/
  else
    echo "setup: could not fetch Bootstrap from npm; pages will load it from its CDN" >&2
  fi
  rm -rf "$tmp"
fi
.venv/bin/python -c "import tom_targets, django_tasks, astropy, pandas" \
  || { echo "setup: the installation is incomplete" >&2; exit 1; }
