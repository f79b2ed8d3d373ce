#!/usr/bin/env bash
# ctest bench_smoke: scripts/bench on a tiny N, SQLite only, into a temporary directory. It
# checks that the harness runs and produces its table, not how fast anything is.
#   bench/smoke-test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: bench/smoke-test.sh BUILD_DIR}
out=$(mktemp -d /tmp/ferry-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
FERRY_BUILD_DIR=$build "$(dirname "$0")/../scripts/bench" --tuples 300,600 --dialects sqlite --keto-cap 300 \
  --latency-ms 0 --out "$out" --docs none
for row in '| sqlite | 300 |' '| sqlite | 600 |'; do
  grep -qF "$row" "$out/table.md" || { echo "bench_smoke: no row \"$row\" in the table:" >&2; cat "$out/table.md" >&2; exit 1; }
done
# Every measured cell of the SQLite rows is filled: Ferry, its RSS, the ceiling, Keto.
if grep -F '| sqlite |' "$out/table.md" | grep -q '| – |'; then
  echo "bench_smoke: a cell is missing in the table:" >&2; cat "$out/table.md" >&2; exit 1
fi
echo "bench_smoke: ok"
