#!/usr/bin/env bash
# `npm ci` in folder $1 when its node_modules is missing or does not match package-lock.json
# (every package at exactly the locked version); says which either way.
#   bash tests/tools/npm_ci_if_stale.sh tests/browser
set -euo pipefail
dir=${1:?usage: npm_ci_if_stale.sh FOLDER}
stale=$(cd "$dir" && node -e '
  const fs = require("fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [p, info] of Object.entries(lock.packages)) {
    if (!p.startsWith("node_modules/")) continue;
    let version = null;
    try { version = JSON.parse(fs.readFileSync(p + "/package.json", "utf8")).version; } catch {}
    if (version !== info.version) { console.log(p + " " + (version ?? "missing") + " != " + info.version); process.exit(0); }
  }')
if [ -n "$stale" ]; then
  echo "npm ci in $dir ($stale)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "npm packages in $dir: up to date"
fi
