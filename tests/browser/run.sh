#!/usr/bin/env bash
# Real-browser end-to-end tests: headless Debian Chromium driven by playwright-core.
#   bash tests/browser/run.sh            (from anywhere; SCREENSHOT_DIR=... to choose where PNGs go)
# Installs what is missing (Chromium, the Noto emoji/CJK fonts and zbar-tools with apt-get, the npm
# package with npm ci), builds the server, runs every tests/browser/*.test.mjs with Node's
# test runner, and ends with "browser: N passed, M failed". Any failure fails the run,
# including a failed install: nothing is ever skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# 1. System packages: Chromium (playwright downloads no browser here) and fonts, so that
#    emoji and Chinese text render as glyphs, not tofu boxes.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
installed fonts-noto-color-emoji || missing+=(fonts-noto-color-emoji)
installed fonts-noto-cjk || missing+=(fonts-noto-cjk)
command -v zbarimg >/dev/null || missing+=(zbar-tools) # decodes the wall's QR code (qr.test.mjs)
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  [ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium still missing after apt-get" >&2; exit 1; }
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "FAIL: node $(node --version) is too old: playwright-core and these tests need node 20 or later" >&2
  exit 1
fi

# 2. playwright-core, exactly as package-lock.json pins it: npm ci when node_modules is
#    missing or does not match the lock file.
bash "$repo/tests/tools/npm_ci_if_stale.sh" "$here"

# 3. The server the tests start (target/release/danmaku-wall).
cargo build --release --quiet

# 4. The tests, one file after another (timings matter: no two browsers at once).
#    Spec output for people on stdout, TAP to a file for the counts.
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$repo/target/screenshots}"
tap=$(mktemp /tmp/danmaku-browser-XXXXXX.tap)
trap 'rm -f "$tap"' EXIT
status=0
node --test --test-concurrency=1 --test-timeout=120000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "$here"/*.test.mjs || status=$?

pass=$(awk '/^# pass / { print $3 }' "$tap" | tail -1)
fail=$(awk '/^# fail / { print $3 }' "$tap" | tail -1)
cancelled=$(awk '/^# cancelled / { print $3 }' "$tap" | tail -1)
pass=${pass:-0}
fail=$(( ${fail:-0} + ${cancelled:-0} ))
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi # the runner itself failed
echo "screenshots in $SCREENSHOT_DIR"
echo "browser: $pass passed, $fail failed"
if [ "$status" -ne 0 ] || [ "$fail" -ne 0 ] || [ "$pass" -eq 0 ]; then exit 1; fi
