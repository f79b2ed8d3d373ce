#!/usr/bin/env bash
# What SQLite holds in memory while Ferry copies N tuples (three namespaces) into one SQLite
# database: peak RSS of the ferry process, and the live allocations of SQLite's allocator by
# size over time (sqlite_live_allocations.c, preloaded). Used to find the source of the RSS
# growth between 100k and 10M tuples (docs/benchmarks.md, "SQLite's memory at 10M").
# Usage: FERRY_BUILD_DIR=build bench/experiments/sqlite-memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-3000000}
BUILD=$(cd "${FERRY_BUILD_DIR:-build}" && pwd)
BIN=$BUILD/bin PLUGINS=$BUILD/lib/ferry/plugins
WORK=$(mktemp -d /tmp/ferry-sqlite-memory.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cc -shared -fPIC -O2 -o "$WORK/live.so" bench/experiments/sqlite_live_allocations.c -ldl -lpthread
printf 'dsn: "sqlite://%s/db"\nnamespaces:\n  - {id: 0, name: a}\n  - {id: 1, name: b}\n  - {id: 2, name: c}\n' "$WORK" >"$WORK/c.yml"
"$BIN/ferry-seed" --dsn "sqlite://$WORK/db" --plugin-dir "$PLUGINS" --tuples $(((N + 2) / 3)) --batch 1000 >/dev/null
"$BIN/ferry" -c "$WORK/c.yml" --plugin-dir "$PLUGINS" migrate up --yes >/dev/null 2>&1
echo "database before the copy: $(($(stat -c %s "$WORK/db") / 4096)) pages of 4 KiB (page size $(sqlite3 "$WORK/db" 'PRAGMA page_size'))"
/usr/bin/time -f "peak RSS %M KiB" -o "$WORK/time" env LD_PRELOAD="$WORK/live.so" \
  "$BIN/ferry" -c "$WORK/c.yml" --plugin-dir "$PLUGINS" namespace migrate legacy --yes 2>&1 |
  grep -E '^live-allocations|^  namespace ' || true
cat "$WORK/time"
echo "database after the copy: $(($(stat -c %s "$WORK/db") / 4096)) pages"
