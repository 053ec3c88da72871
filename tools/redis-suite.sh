#!/usr/bin/env bash
# Runs units of Redis' own TCL test suite against a Beam server (external-server mode).
#
#   tools/redis-suite.sh /path/to/extracted/redis-7.0.x [unit ...]
#
# The Redis source tree is not part of this repo and nothing is downloaded: extract a Redis 7.0 source
# tarball anywhere and pass its path. Needs tclsh 8.6 and a built packages/beam (npx tsc -b packages/beam).
# A fresh server (ephemeral port) is started for each unit. Per-unit logs go to $OUT (default
# /tmp/beam-redis-suite); the summary prints [ok]/[err]/[exception] counts per unit.
# Tests listed in tools/redis-suite.skip (one exact name, or /regexp, a line; '#' lines are comments) are skipped.
# Extra runtest arguments: REDIS_SUITE_ARGS="--skiptest 'name' ..." (word-split with eval).
set -u
SRC=${1:?usage: redis-suite.sh REDIS_SOURCE_TREE [unit ...]}
shift
SRC=$(cd "$SRC" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/beam-redis-suite}
mkdir -p "$OUT"
SKIPFILE=${SKIPFILE:-$ROOT/tools/redis-suite.skip}
UNITS=("$@")
if [ ${#UNITS[@]} -eq 0 ]; then
  UNITS=(type/string type/incr type/list type/list-2 type/list-3 type/hash type/set keyspace expire
         pubsub multi scan info-command protocol querybuf auth introspection introspection-2 other quit)
fi
# Tags of tests that need what Beam lacks or does differently (DEBUG, on-disk SAVE checks, maxmemory, latency
# monitor, HyperLogLog debug, a local server process). needs:repl tests run: they read the SYNC stream.
TAGS='-needs:debug -needs:save -needs:config-maxmemory -needs:pfdebug -needs:latency -needs:local-process'

start_server() {
  local log=$1
  if [ -n "${REFERENCE_REDIS:-}" ]; then
    # Same tests against a real redis-server (REFERENCE_REDIS=/usr/bin/redis-server) to tell the suite's own
    # assumptions about the environment from Beam's differences.
    PORT=$(( 20000 + RANDOM % 20000 ))
    "$REFERENCE_REDIS" --port "$PORT" --bind 127.0.0.1 --enable-debug-command yes --enable-protected-configs yes --save '' --appendonly no --dir "$OUT" >"$log" 2>&1 &
    SERVER_PID=$!
    sleep 0.5
    return 0
  fi
  # The suite expects a test server: DEBUG and protected configs open, as its own tests/helpers start redis-server.
  node "$ROOT/packages/beam/dist/src/cli/main.js" serve --port 0 --enable-debug-command yes --enable-protected-configs yes 2>"$log" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(grep -o '"msg":"listening"[^}]*"port":[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | head -1)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "server did not start, see $log" >&2
  return 1
}

printf '%-22s %5s %5s %5s\n' unit ok err exc
for unit in "${UNITS[@]}"; do
  name=${unit//\//_}
  start_server "$OUT/$name.server.log" || exit 1
  (cd "$SRC" && eval "tclsh tests/test_helper.tcl --host 127.0.0.1 --port $PORT --ignore-encoding \
      --ignore-digest --skipfile \"$SKIPFILE\" --timeout ${REDIS_SUITE_TIMEOUT:-120} --tags \"$TAGS\" --single unit/$unit \
      ${REDIS_SUITE_ARGS:-}") >"$OUT/$name.log" 2>&1
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  sed 's/\x1b\[[0-9;]*m//g' "$OUT/$name.log" >"$OUT/$name.txt"
  ok=$(grep -c '^\[ok\]' "$OUT/$name.txt")
  err=$(grep -c '^\[err\]' "$OUT/$name.txt")
  exc=$(grep -c '^\[exception\]' "$OUT/$name.txt")
  printf '%-22s %5s %5s %5s\n' "$unit" "$ok" "$err" "$exc"
done
