#!/usr/bin/env bash
# Runs units of Redis' own TCL test suite against `beam serve` and against a real redis-server, the same way,
# and prints per-unit counts side by side.
#
#   tools/redis-suite.sh /path/to/extracted/redis-7.0.x [unit ...]
#
# The Redis source tree is not part of this repo and nothing is downloaded: extract a Redis 7.0 source tarball
# anywhere and pass its path. Needs tclsh 8.6 and a built packages/beam (npx tsc -b packages/beam).
# Strict flags, no skip list: --singledb --ignore-encoding --ignore-digest, with the needs: tags below excluded.
# One fresh server (ephemeral port) per unit and per side. Per-unit logs go to $OUT (default /tmp/beam-redis-suite).
#
# Environment:
#   REFERENCE_REDIS  redis-server binary for the reference column (default: redis-server on PATH; "" = skip it)
#   BEAM_ARGS        extra `beam serve` arguments (e.g. --durable)
#   REDIS_SUITE_TIMEOUT  per-test timeout in seconds (default 120)
#   REDIS_SUITE_ARGS     extra runtest arguments (word-split with eval)
#
# Columns: ok/err/exc per side; `both` = distinct test names that pass on both; `%` = both / distinct names that
# pass on the reference (a unit may run a test name twice, e.g. once per encoding);
# `stop` = the Beam run ended early (an [exception] or a missing "All tests passed"/summary line).
set -u
SRC=${1:?usage: redis-suite.sh REDIS_SOURCE_TREE [unit ...]}
shift
SRC=$(cd "$SRC" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/beam-redis-suite}
mkdir -p "$OUT"
REF=${REFERENCE_REDIS-$(command -v redis-server || true)}
UNITS=("$@")
if [ ${#UNITS[@]} -eq 0 ]; then
  UNITS=(type/string type/hash type/list type/set type/zset type/incr type/stream type/stream-cgroups keyspace
         expire multi pubsub scan info-command protocol bitops bitfield sort dump hyperloglog geo scripting functions)
fi
# Tests that need what neither side offers in external-server mode (DEBUG, on-disk SAVE checks, maxmemory, latency
# monitor, HyperLogLog debug, a local server process).
TAGS='-needs:debug -needs:save -needs:config-maxmemory -needs:pfdebug -needs:latency -needs:local-process'

SERVER_PID=
PORT=
start_beam() {
  local log=$1
  # The suite expects a test server: DEBUG and protected configs open, as its own tests/helpers start redis-server.
  # shellcheck disable=SC2086
  node "$ROOT/packages/beam/dist/src/cli/main.js" serve --port 0 --enable-debug-command yes --enable-protected-configs yes ${BEAM_ARGS:-} 2>"$log" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 200); do
    PORT=$(grep '"msg":"listening"' "$log" 2>/dev/null | grep -o '"port":[0-9]*' 2>/dev/null | grep -o '[0-9]*$' | head -1)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "beam did not start, see $log" >&2
  return 1
}

start_ref() {
  local log=$1 dir=$2
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    PORT=$(( 10000 + RANDOM % 10000 ))
    "$REF" --port "$PORT" --bind 127.0.0.1 --enable-debug-command yes --enable-protected-configs yes --save '' --appendonly no --dir "$dir" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
      grep -q 'Ready to accept connections' "$log" 2>/dev/null && return 0
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  done
  echo "redis-server did not start, see $log" >&2
  return 1
}

# run_unit SIDE UNIT: runs one unit against a fresh server; leaves $OUT/<unit>.<side>.txt and the ok names list.
run_unit() {
  local side=$1 unit=$2 name=${2//\//_}
  local base="$OUT/$name.$side"
  if [ "$side" = beam ]; then start_beam "$base.server.log" || return 1
  else start_ref "$base.server.log" "$OUT/ref-dir" || return 1; fi
  # A random port block for the helper's own sockets, so parallel runs (other checkouts) do not collide.
  local pbase=$(( 22000 + (RANDOM % 100) * 100 ))
  (cd "$SRC" && eval "tclsh tests/test_helper.tcl --host 127.0.0.1 --port $PORT --baseport $pbase --portcount 100 \
      --singledb --ignore-encoding \
      --ignore-digest --timeout ${REDIS_SUITE_TIMEOUT:-120} --tags \"$TAGS\" --single unit/$unit \
      ${REDIS_SUITE_ARGS:-}") >"$base.log" 2>&1
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  sed 's/\x1b\[[0-9;]*m//g' "$base.log" >"$base.txt"
  grep '^\[ok\]' "$base.txt" | sed -E 's/^\[ok\]: //; s/ \([0-9]+ ms\)$//' | sort -u >"$base.ok"
}

count() { grep -c "^\[$1\]" "$2" 2>/dev/null || true; }

printf '%-22s | %5s %5s %4s | %5s %5s %4s | %5s %6s %4s\n' unit ref-ok err exc beam-ok err exc both % stop
tot_ref=0 tot_both=0
for unit in "${UNITS[@]}"; do
  name=${unit//\//_}
  r_ok=- r_err=- r_exc=-
  if [ -n "$REF" ]; then
    run_unit ref "$unit" || exit 1
    r_ok=$(count ok "$OUT/$name.ref.txt"); r_err=$(count err "$OUT/$name.ref.txt"); r_exc=$(count exception "$OUT/$name.ref.txt")
  fi
  run_unit beam "$unit" || exit 1
  t="$OUT/$name.beam.txt"
  b_ok=$(count ok "$t"); b_err=$(count err "$t"); b_exc=$(count exception "$t")
  stop=no
  if [ "$b_exc" != 0 ] || ! grep -qE '^(\\o/ All tests passed|!!! WARNING The following tests failed)' "$t"; then stop=YES; fi
  both=- pct=-
  if [ -n "$REF" ]; then
    both=$(comm -12 "$OUT/$name.ref.ok" "$OUT/$name.beam.ok" | wc -l)
    r_names=$(wc -l <"$OUT/$name.ref.ok")
    pct=$(awk -v b="$both" -v r="$r_names" 'BEGIN { printf "%.1f", r ? 100 * b / r : 100 }')
    tot_ref=$((tot_ref + r_names)); tot_both=$((tot_both + both))
  fi
  printf '%-22s | %5s %5s %4s | %5s %5s %4s | %5s %6s %4s\n' "$unit" "$r_ok" "$r_err" "$r_exc" "$b_ok" "$b_err" "$b_exc" "$both" "$pct" "$stop"
done
if [ -n "$REF" ]; then
  printf 'total: %d of the %d distinct test names redis-server passes (%s%%)\n' "$tot_both" "$tot_ref" \
    "$(awk -v b="$tot_both" -v r="$tot_ref" 'BEGIN { printf "%.1f", r ? 100 * b / r : 100 }')"
fi
