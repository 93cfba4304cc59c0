#!/usr/bin/env bash
# Stops an nginx started by start_nginx.sh and removes its state folder:
#   bash tests/proxy/stop_nginx.sh STATE_DIR
set -euo pipefail
dir=${1:?usage: stop_nginx.sh STATE_DIR}
if [ -f "$dir/nginx.pid" ]; then
  pid=$(cat "$dir/nginx.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
fi
case "$dir" in
  */danmaku-nginx.*) rm -rf "$dir" ;;
  *) echo "stop_nginx.sh: not removing $dir (not made by start_nginx.sh)" >&2 ;;
esac
