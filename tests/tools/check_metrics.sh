#!/usr/bin/env bash
# Validates a Prometheus text exposition with prometheus_client's parser (see check_metrics.py):
#   bash tests/tools/check_metrics.sh FILE [--require NAME ...]
#   bash tests/tools/check_metrics.sh --install      (only make sure the parser is installed)
# The parser lives in a virtualenv under ~/.cache/danmaku-wall (Debian's pip refuses system-wide
# installs), created and filled from requirements.txt when missing or out of date. A failed
# install is a failure, never a skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="${DANMAKU_TOOLS_VENV:-$HOME/.cache/danmaku-wall/tools-venv}"
stamp="$venv/.requirements"

if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null || [ ! -x "$venv/bin/python" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "installing python3-venv with apt-get" >&2
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
  fi
  echo "installing $(grep -v '^#' "$here/requirements.txt" | tr '\n' ' ')into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$stamp"
fi

if [ "${1:-}" = "--install" ]; then
  exit 0
fi
exec "$venv/bin/python" "$here/check_metrics.py" "$@"
