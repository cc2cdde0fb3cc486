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
.venv/bin/python -c "import tom_targets, django_tasks, astropy, pandas" \
  || { echo "setup: the installation is incomplete" >&2; exit 1; }
