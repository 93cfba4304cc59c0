#!/usr/bin/env bash
# The final measurement batch of README's Performance section (2026-12-02), runs alternating:
#   TT=path/to/tt-compare bash perf/final-batch.sh       (after cargo build --release)
# Each run's report goes to ${OUT:-/tmp/perf}/NAME.txt and its JSON line to NAME.json;
# perf/2026-12-02-final-batch.jsonl holds that day's lines, one per run, named.
cd "$(dirname "$0")/.."; mkdir -p "${OUT:-/tmp/perf}"
B=target/release/danmaku-wall-bench
OURS=${OURS:-target/release/danmaku-wall}
TT=${TT:?the tokio-tungstenite comparison server (see README, Performance)}
PIN="--server-cpu 0 --bench-cpu 1"
run() { local name=$1; shift; echo "== $name $(date +%T)"; $B "$@" --json > ${OUT:-/tmp/perf}/$name.txt 2>${OUT:-/tmp/perf}/$name.err; tail -1 ${OUT:-/tmp/perf}/$name.txt > ${OUT:-/tmp/perf}/$name.json; sleep 2; }
for i in 1 2 3 4 5 6 7; do
  run r50-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate 50 --arrival poisson --duration 10
  run r50even-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate 50 --arrival even --duration 10
done
for i in 1 2 3; do
  run r200-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate 200 --arrival poisson --duration 10
  run r200even-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate 200 --arrival even --duration 10
  run sat-burst-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate max --window 8 --arrival burst --duration 10
  run sat-burst-tt-$i fanout --spawn $TT $PIN --subscribers 1000 --rate max --window 8 --arrival burst --duration 10
  run sat-slide-ours-$i fanout --spawn $OURS $PIN --subscribers 1000 --rate max --window 8 --arrival sliding --duration 10
  run sat-slide-tt-$i fanout --spawn $TT $PIN --subscribers 1000 --rate max --window 8 --arrival sliding --duration 10
done
run big-ours-1 bigroom --spawn $OURS $PIN
run big-tt-1 bigroom --spawn $TT $PIN
run big-ours-2 bigroom --spawn $OURS $PIN
run idle-ours idle --spawn $OURS $PIN --conns 10000
echo DONE
