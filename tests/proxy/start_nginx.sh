#!/usr/bin/env bash
# Starts nginx with tests/proxy/nginx.conf.template in front of a danmaku-wall backend, on a
# free port, with a throwaway self-signed certificate (CN=localhost, 1 day):
#   bash tests/proxy/start_nginx.sh BACKEND_PORT      -> prints "HTTPS_PORT STATE_DIR"
#   bash tests/proxy/stop_nginx.sh STATE_DIR          -> stops it and removes STATE_DIR
# No system service, no fixed port: everything lives in STATE_DIR (a new temporary folder).
# Fails (exit 1, saying why) when nginx or openssl is missing: apt-get install -y nginx openssl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
backend=${1:?usage: start_nginx.sh BACKEND_PORT}
for tool in nginx openssl python3; do
  command -v "$tool" >/dev/null || { echo "start_nginx.sh: $tool not found (apt-get install -y $tool)" >&2; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/danmaku-nginx.XXXXXX")
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@PREFIX@|$dir|g" -e "s|@HTTPS_PORT@|$port|g" -e "s|@CERT@|$dir/cert.pem|g" \
    -e "s|@KEY@|$dir/key.pem|g" -e "s|@BACKEND@|127.0.0.1:$backend|g" \
    "$here/nginx.conf.template" > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" -g "pid $dir/nginx.pid; error_log $dir/error.log;" 2>>"$dir/error.log" || {
  echo "start_nginx.sh: nginx failed to start:" >&2; cat "$dir/error.log" >&2; exit 1; }
for _ in $(seq 100); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
    echo "$port $dir"
    exit 0
  fi
  sleep 0.05
done
echo "start_nginx.sh: nginx did not listen on $port within 5 s" >&2
cat "$dir/error.log" >&2
exit 1
