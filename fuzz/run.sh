#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a while on stable Rust.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: 20 seconds, every target)
#
# Environment:
#   FUZZ_SANITIZER  none (default) or address: see fuzz/README.md for why none is the default.
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-seed=1 -dict=..." (word-split).
#
# Each target runs in its own process, one after the other, with its working corpus in
# fuzz/corpus/<target> (written to) and the committed seeds in fuzz/seeds/<target> (read).
# Crashes land in fuzz/artifacts/<target>/, the full log in fuzz/artifacts/<target>/fuzz.log.
# Prints one line per target and a final "N passed, M failed"; exits non-zero on any crash.
set -uo pipefail

cd "$(dirname "$0")"
FUZZ_DIR=$(pwd)
SECONDS_PER_TARGET=${1:-20}
shift || true
ALL_TARGETS=(http_head frame_roundtrip frame_stream utf8 json resp dns)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
SANITIZER=${FUZZ_SANITIZER:-none}

case "$SECONDS_PER_TARGET" in
    ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

max_len() {
    case "$1" in
        http_head) echo 4096 ;;        # heads; the size limits are exercised with small limits
        frame_roundtrip) echo 70000 ;; # room for a 64-bit-length frame's payload
        frame_stream) echo 16384 ;;    # 4x max_message (4096) plus headers
        utf8) echo 4096 ;;
        json) echo 4096 ;;
        resp) echo 4096 ;;
        dns) echo 1024 ;;              # a UDP answer we read is at most 512 bytes
        *) echo 4096 ;;
    esac
}

# cargo-fuzz drives the build; stable rustc accepts its -Z flags under RUSTC_BOOTSTRAP=1.
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found: installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked || { echo "could not install cargo-fuzz"; echo "0 passed, ${#TARGETS[@]} failed"; exit 1; }
fi
export RUSTC_BOOTSTRAP=1

# One target dir per sanitizer, so switching does not rebuild the other's objects.
TARGET_DIR="$FUZZ_DIR/target/sanitizer-$SANITIZER"
mkdir -p "$TARGET_DIR"
echo "building fuzz targets (sanitizer: $SANITIZER) ..."
if ! cargo fuzz build --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR" >"$FUZZ_DIR/target/build.log" 2>&1; then
    tail -n 40 "$FUZZ_DIR/target/build.log"
    echo "build failed"
    echo "0 passed, ${#TARGETS[@]} failed"
    exit 1
fi
BIN_DIR="$TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"

passed=0
failed=0
failed_names=()
for t in "${TARGETS[@]}"; do
    if [ ! -x "$BIN_DIR/$t" ]; then
        echo "$t: no such target (have: ${ALL_TARGETS[*]})"
        failed=$((failed + 1)); failed_names+=("$t"); continue
    fi
    mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
    log="artifacts/$t/fuzz.log"
    # shellcheck disable=SC2086
    "$BIN_DIR/$t" "corpus/$t" "seeds/$t" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
        -timeout=10 -print_final_stats=1 -artifact_prefix="artifacts/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
    secs=$(echo "$done_line" | sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p')
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        passed=$((passed + 1))
        echo "$t: ok, ${runs:-?} executions in ${secs:-?} s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} inputs"
    else
        failed=$((failed + 1)); failed_names+=("$t")
        echo "$t: FAILED (exit $rc) after ${runs:-?} executions; log: fuzz/$log"
        grep -E -m 1 -A 2 "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" "$log" | sed 's/^/    /'
        ls -t "artifacts/$t" | grep -E '^(crash|oom|timeout|leak|slow-unit)-' | head -n 3 | sed "s|^|    artifact: fuzz/artifacts/$t/|"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
