#!/usr/bin/env bash
# The project's conformance check: Autobahn|Testsuite (wstest fuzzingclient), cases 1-10,
# against our /echo endpoint. 12.* and 13.* test permessage-deflate, which we don't offer.
#
#   bash tests/autobahn/conformance.sh          # prints "N passed, M failed"; exit 1 on failures
#
# setup.sh (run first, ~30 s the first time, instant after) builds a private Python 2.7 and
# wstest under $WSTEST_HOME (default /opt/wstest) from Debian bullseye packages and PyPI;
# nothing is installed into the system. The HTML report lands in the printed folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export WSTEST_HOME=${WSTEST_HOME:-/opt/wstest}

"$here/setup.sh"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"

log=$(mktemp)
# The contract's flags for conformance suites: 9.* sends messages of up to 16 MiB.
"$repo/target/release/danmaku-wall" --bind 127.0.0.1:0 --echo \
  --max-message 16777216 --max-backlog 33554432 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$log" && break
  sleep 0.1
done
port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
[ -n "$port" ] || { cat "$log"; echo "server did not start"; exit 1; }

report=$("$here/run.sh" "ws://127.0.0.1:$port/echo" "*" "12.*,13.*")
echo "report: $report/index.html"
# --strict-close: a passing case must also have closed cleanly with the right code.
python3 "$here/summarize.py" "$report" --strict-close
