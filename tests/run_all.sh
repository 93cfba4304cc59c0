#!/usr/bin/env bash
# Every test of danmaku-wall, installing what the tests need where it is missing:
#   bash tests/run_all.sh
# Stages: lint (clippy), unit + integration tests (cargo test), Autobahn conformance,
# browser end-to-end tests (headless Chromium), fuzz smoke runs (20 s per target).
# Each stage prints its time; the script stops at the first failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
start=$(date +%s)

stage() { echo; echo "=== $1 ($(( $(date +%s) - start )) s elapsed)"; }

stage "clippy (warnings are errors)"
cargo clippy --all-targets --quiet -- -D warnings

stage "unit and integration tests"
cargo test --quiet 2>&1 | tee /tmp/danmaku-cargo-test.log | grep -E "^(test result|running|failures|---- )|panicked" || true
if grep -q "FAILED\|panicked\|error\[" /tmp/danmaku-cargo-test.log || ! grep -q "test result: ok" /tmp/danmaku-cargo-test.log; then
  cat /tmp/danmaku-cargo-test.log
  exit 1
fi
totals=$(awk '/^test result:/ { p += $4; f += $6 } END { print p+0, f+0 }' /tmp/danmaku-cargo-test.log)
echo "cargo test: ${totals% *} passed, ${totals#* } failed"

stage "Autobahn|Testsuite cases 1-10 against /echo"
bash tests/autobahn/conformance.sh

stage "browser end-to-end tests (headless Chromium)"
bash tests/browser/run.sh

stage "fuzz smoke: every cargo-fuzz target for 20 s"
bash fuzz/run.sh 20

stage "all tests passed in $(( $(date +%s) - start )) s"
