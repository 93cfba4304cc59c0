#!/usr/bin/env bash
# Every test of danmaku-wall, installing what the tests need where it is missing:
#   bash tests/run_all.sh
# Stages: installs (Debian packages, npm, PyPI; only what is missing), format check
# (cargo fmt), code shape, lint (clippy), unit + integration tests (cargo test, with private
# redis-server and nginx instances the tests start themselves), Autobahn conformance,
# browser end-to-end tests (headless Chromium), the release binary's size, fuzz smoke runs
# (20 s per target).
# Each stage prints its time; the script stops at the first failure, a failed install included.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
start=$(date +%s)

stage() { echo; echo "=== $1 ($(( $(date +%s) - start )) s elapsed)"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Debian packages the tests use: redis-server (cluster tests), nginx (reverse-proxy tests),
# zbar-tools and qrencode (QR code decoding and cross-checks), openssl, Node.js for the npm
# packages, python3-venv for the metrics parser. One apt-get update, only when one is missing;
# services are not started by the install (a policy-rc.d refuses them while it runs), since
# every test starts its own on a free port.
install_debian_packages() {
  local missing=() p
  for p in redis-server nginx zbar-tools qrencode openssl curl python3-venv; do
    installed "$p" || missing+=("$p")
  done
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "Debian packages: all present"
    return
  fi
  echo "installing ${missing[*]} with apt-get"
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    made_policy=1
  fi
  local status=0
  as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
    status=$?
  if [ -n "$made_policy" ]; then as_root rm -f "$policy"; fi
  [ "$status" -eq 0 ] || { echo "FAIL: apt-get install ${missing[*]} failed" >&2; exit 1; }
}

stage "install what the tests need, where missing"
install_debian_packages
bash tests/tools/npm_ci_if_stale.sh tests/json_suite
bash tests/tools/check_metrics.sh --install
echo "metrics parser: installed"

stage "format (cargo fmt --check, main crate and fuzz crate)"
cargo fmt --version >/dev/null 2>&1 || { echo "FAIL: cargo fmt is missing (rustup component add rustfmt)" >&2; exit 1; }
cargo fmt --check
cargo fmt --check --manifest-path fuzz/Cargo.toml

stage "code shape (no function in src/ over 60 lines, no file over 400, tests aside; pure rings stay pure)"
python3 tests/tools/code_shape.py

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

stage "release binary size (the promise: at most 1.5 MiB, stripped and static)"
cargo build --release --quiet
size=$(stat -c %s target/release/danmaku-wall)
echo "target/release/danmaku-wall: $size bytes (limit 1572864)"
[ "$size" -le 1572864 ] || { echo "FAIL: the release binary is $size bytes, over 1.5 MiB" >&2; exit 1; }

stage "fuzz smoke: every cargo-fuzz target for 20 s"
bash fuzz/run.sh 20

stage "all tests passed in $(( $(date +%s) - start )) s"
