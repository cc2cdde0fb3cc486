#!/usr/bin/env bash
# The plugin as a new user gets it: build the wheel, make a fresh TOM with TOM Toolkit's own
# tom_setup in a temporary folder, install the wheel into a private venv there, add only the
# README's "Add to your TOM" lines, migrate, update a target from the replay server (its URL
# only in the environment), and check the target page and the broker query page.
# Run by .ci/run after scripts/test.sh. KEEP_PLUGIN_SITE=1 keeps the folder for a look.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d -t bhtom-plugin-site.XXXXXX)"
REPLAY_PID=""
cleanup() {
  if [ -n "$REPLAY_PID" ]; then kill "$REPLAY_PID" 2>/dev/null || true; fi
  if [ "${KEEP_PLUGIN_SITE:-0}" = "1" ]; then echo "plugin site kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
step() { echo "plugin-site: $* ($(date -u +%T))"; }

step "building the wheel"
"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
# A copy of the tracked files, so the build leaves nothing in the repository.
mkdir "$WORK/src"
git -C "$REPO" ls-files -z --cached --others --exclude-standard | grep -zv "^\.venv$" \
  | (cd "$REPO" && xargs -0 cp --parents -t "$WORK/src")
"$VPY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/bhtom_brokers-*.whl)"
echo "  $(basename "$WHEEL")"

step "installing it into a fresh venv (pip's cache; versions as this repository pins them)"
sed 's/\[[a-z,]*\]//' "$REPO/requirements.txt" >"$WORK/constraints.txt"  # constraints cannot carry extras
"$VPY" -m pip install --quiet "$WHEEL" -c "$WORK/constraints.txt" 2>&1 | { grep -v "^WARNING: Location" || true; }
[ "${PIPESTATUS[0]}" = 0 ] || exit 1

step "making a fresh site with tom_setup"
cd "$WORK"
"$WORK/venv/bin/django-admin" startproject mytom
cd mytom
# TOM Toolkit's documented start: tom_setup in INSTALLED_APPS, then its questions answered:
# continue (y), custom code app (default), target type (1: sidereal), hints (n). Its final
# createsuperuser is skipped without a terminal.
sed -i "s/'django.contrib.staticfiles',/'django.contrib.staticfiles',\n    'tom_setup',/" mytom/settings.py
printf 'y\n\n1\nn\n' | "$VPY" manage.py tom_setup >"$WORK/tom_setup.log" 2>&1 \
  || { cat "$WORK/tom_setup.log"; exit 1; }
grep -q "Setup complete" "$WORK/tom_setup.log" || { cat "$WORK/tom_setup.log"; exit 1; }

step "adding only the README's lines to settings.py"
"$VPY" - "$REPO/README.md" mytom/settings.py <<'EOF'
import re
import sys

readme, settings = sys.argv[1], sys.argv[2]
block = re.search(r"<!-- add-to-your-tom:settings.*?-->\n```python\n(.*?)```", open(readme).read(), re.S)
if block is None:
    sys.exit("README.md has no add-to-your-tom:settings block")
with open(settings, "a") as out:
    out.write("\n" + block.group(1))
print(block.group(1), end="")
EOF
"$VPY" manage.py migrate --noinput -v0
"$VPY" manage.py check

step "updating a target from the replay server (BHTOM_URL_GAIA from the environment only)"
"$VPY" -m bhtom_base.replay --fixtures "$REPO/tests/fixtures" --port 0 >"$WORK/replay.log" 2>&1 &
REPLAY_PID=$!
for _ in $(seq 1 50); do grep -q "^replaying" "$WORK/replay.log" && break; sleep 0.1; done
REPLAY_URL="$(sed -n 's/^replaying .* at \(http:[^ ]*\)$/\1/p' "$WORK/replay.log")"
[ -n "$REPLAY_URL" ] || { cat "$WORK/replay.log"; exit 1; }
"$VPY" manage.py shell -c "
from tom_targets.models import Target, TargetExtra
target = Target.objects.create(name='Gaia14aaa', type='SIDEREAL', ra=200.25961, dec=45.53943)
TargetExtra.objects.create(target=target, key='GAIA', value='Gaia14aaa')
"
BHTOM_URL_GAIA="$REPLAY_URL" "$VPY" manage.py update_reduced_data --source GAIA | tee "$WORK/update.log"
BHTOM_URL_GAIA="$REPLAY_URL" "$VPY" manage.py check_surveys --source GAIA

step "checking the target page and the broker query page"
"$VPY" manage.py shell -c "
import re, sys
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import setup_test_environment
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

setup_test_environment()  # lets the test client's host in, as on any DEBUG site
target = Target.objects.get(name='Gaia14aaa')
points = PhotometryReducedDatum.objects.filter(target=target, source_name='GAIA').count()
problems = [] if points == 28 else [f'{points} Gaia points stored, 28 expected']
client = Client()
client.force_login(User.objects.create_superuser('pi', 'pi@example.org', 'unused-password-0123'))
page = client.get(f'/targets/{target.pk}/')
html = page.content.decode()
if page.status_code != 200:
    problems.append(f'target page: HTTP {page.status_code}')
if f'/bhtom/targets/{target.pk}/lightcurve/update/' not in html:
    problems.append('target page: no update button')
bandpass = PhotometryReducedDatum.objects.filter(target=target).values_list('bandpass', flat=True).first()
if 'plotly-graph-div' not in html or f'\"name\":\"{bandpass}\"' not in html:
    problems.append(f'target page: no photometry plot with a {bandpass} series')
for url, expected in (('/', 'alerts/query/list/'), ('/alerts/query/list/', 'broker=GAIA_DR3'),
                      ('/alerts/query/create/?broker=GAIA', 'Gaia'), ('/targets/create/', 'name=\"GAIA_DR3\"')):
    response = client.get(url)
    if response.status_code != 200 or expected not in response.content.decode():
        problems.append(f'{url}: HTTP {response.status_code}, {expected!r} expected in the page')
if problems:
    sys.exit('plugin-site: FAILED: ' + '; '.join(problems))
print(f'plugin-site: {points} Gaia points stored; target page 200 with the update button and the plot; home, broker query and target form (survey-name fields) pages 200')
"
step "done"
