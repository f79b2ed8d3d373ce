#!/usr/bin/env bash
# What the in-server ceiling gains or loses from two things Ferry could change, measured on
# the ceiling itself (pure server work, no client in the way), per dialect at N tuples:
#   key order   shard_id as random v4 UUIDs (what Ferry and Keto write) vs time-ordered ones
#               (UUIDv7-like: increasing, so the (shard_id, nid) primary key is appended to)
#   SQLite      the default page cache (2 MiB) vs PRAGMA cache_size = -65536 (64 MiB)
#   indexes     the secondary indexes of keto_relation_tuples dropped before the copy and
#               built after it (same final schema) vs maintained row by row
# Usage: FERRY_BUILD_DIR=build-bench bench/experiments/ceiling-variants.sh [N] [sqlite,postgres,mysql]
# Prints one line per variant: dialect, variant, seconds. Servers as in scripts/test.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
DIALECTS=${2:-sqlite,postgres,mysql}
BUILD=$(cd "${FERRY_BUILD_DIR:-build}" && pwd)
BIN=$BUILD/bin PLUGINS=$BUILD/lib/ferry/plugins
WORK=$(mktemp -d /tmp/ferry-variants.XXXXXX)
unset FERRY_TEST_POSTGRES_DSN FERRY_TEST_MYSQL_DSN
source scripts/lib/test-servers.sh
FERRY_SERVERS_DIR=$(mktemp -d /tmp/ferry-servers.XXXXXX)
trap 'stop_test_servers || true; rm -rf "$WORK"' EXIT
[[ ,$DIALECTS, == *,postgres,* ]] && start_postgres >/dev/null
[[ ,$DIALECTS, == *,mysql,* ]] && start_mariadb >/dev/null 2>&1
pg() { PGOPTIONS='-c client_min_messages=warning' $FERRY_TEST_POSTGRES_ADMIN -X -q -v ON_ERROR_STOP=1 "$@"; }
my() { $FERRY_TEST_MYSQL_ADMIN "$@"; }
[[ -n ${FERRY_TEST_MYSQL_ADMIN:-} ]] && my -e "GRANT ALL PRIVILEGES ON \`fb\\_%\`.* TO 'ferry'@'127.0.0.1'"
per=$(( (N + 2) / 3 ))
NID=5f0e8c6a-3d5e-4c38-9d55-0a4b2c6f1e77
NSEL="SELECT 'a' AS name, 0 AS id UNION ALL SELECT 'b', 1 UNION ALL SELECT 'c', 2"

dsn() {
  case $1 in
    sqlite) echo "sqlite://$WORK/$2.db" ;;
    postgres) [[ $FERRY_TEST_POSTGRES_DSN =~ ^(.*/)[^/?]+(\?.*)?$ ]]; echo "${BASH_REMATCH[1]}$2${BASH_REMATCH[2]}" ;;
    mysql) [[ $FERRY_TEST_MYSQL_DSN =~ ^(.*\)/)[^/?]+(\?.*)?$ ]]; echo "${BASH_REMATCH[1]}$2${BASH_REMATCH[2]}" ;;
  esac
}
cfg() { printf 'dsn: "%s"\nnamespaces:\n  - {id: 0, name: a}\n  - {id: 1, name: b}\n  - {id: 2, name: c}\n' "$(dsn "$1" "$2")" >"$WORK/$2.yml"; }
clone() {  # dialect src dst
  case $1 in
    sqlite) cp "$WORK/$2.db" "$WORK/$3.db" ;;
    postgres) pg -d postgres -c "DROP DATABASE IF EXISTS $3 WITH (FORCE)" -c "CREATE DATABASE $3 TEMPLATE $2 OWNER ferry STRATEGY FILE_COPY" ;;
    mysql)
      local sql="DROP DATABASE IF EXISTS $3; CREATE DATABASE $3 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;" t
      for t in $(my -N -B -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$2'"); do
        sql+="CREATE TABLE $3.\`$t\` LIKE $2.\`$t\`; INSERT INTO $3.\`$t\` SELECT * FROM $2.\`$t\`;"
      done
      my -e "$sql" ;;
  esac
}
run_sql() {  # dialect db < script
  case $1 in
    sqlite) sqlite3 -bail "$WORK/$2.db" ;;
    postgres) pg -d "$2" ;;
    mysql) my "$2" ;;
  esac
}
# script DIALECT UUID_EXPR PREAMBLE: the bench ceiling with the shard_id expression replaced
script() {
  local q='"' i id; [[ $1 == mysql ]] && q='`'
  printf '%s\n' "$3"
  for i in 0 1 2; do
    id=$(printf '%010d' "$i")
    awk -v u="$2" '/^SELECT / && !done { print "SELECT " u ","; done = 1; skip = 1; next }
                   skip && /NID/ { skip = 0 } !skip { print }' "bench/ceiling/$1.sql" |
      sed -e "s/{{TABLE}}/${q}keto_${id}_relation_tuples${q}/g" -e "s/{{MIGRATIONS_TABLE}}/${q}keto_namespace_${id}_migrations${q}/g" \
          -e "s/{{NAMESPACE_ID}}/$i/g" -e "s/{{NID}}/$NID/g" -e "s/{{NAMESPACES}}/$NSEL/g"
  done
  printf '%s\n' "${4:-}"
}
variant() {  # dialect name uuid_expr [preamble [postamble]]
  local d=$1 db=fb_var t0 t1
  clone "$d" fb_vseed "$db"
  cfg "$d" "$db"; "$BIN/ferry" -c "$WORK/$db.yml" --plugin-dir "$PLUGINS" migrate up --yes >/dev/null 2>&1
  echo "INSERT INTO networks (id, created_at, updated_at) VALUES ('$NID', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);" | run_sql "$d" "$db" >/dev/null
  script "$d" "$3" "${4:-}" "${5:-}" >"$WORK/v.sql"
  t0=$(date +%s%N); run_sql "$d" "$db" <"$WORK/v.sql" >/dev/null; t1=$(date +%s%N)
  printf '%s\t%s\t%.2f\n' "$d" "$2" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)/1e9}')"
}

drop_idx="DROP INDEX keto_relation_tuples_subject_ids_idx; DROP INDEX keto_relation_tuples_subject_sets_idx; DROP INDEX keto_relation_tuples_full_idx;"
build_idx() { cat plugins/"$1"/migrations/2021062316241700000[123]_relationtuple."$2".up.sql; }
IFS=, read -r -a DL <<<"$DIALECTS"
for d in "${DL[@]}"; do
  case $d in
    postgres) pg -d postgres -c "DROP DATABASE IF EXISTS fb_vseed" -c "CREATE DATABASE fb_vseed OWNER ferry" ;;
    mysql) my -e "DROP DATABASE IF EXISTS fb_vseed; CREATE DATABASE fb_vseed CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ;;
  esac
  "$BIN/ferry-seed" --dsn "$(dsn "$d" fb_vseed)" --plugin-dir "$PLUGINS" --tuples "$per" --batch 1000 >/dev/null
  [[ $d == postgres ]] && pg -d fb_vseed -c "VACUUM (FREEZE, ANALYZE)"
  case $d in
    sqlite)
      rnd="printf('%08x-%04x-4%03x-%04x-%012x', random() & 4294967295, random() & 65535, random() & 4095, (random() & 16383) | 32768, random() & 281474976710655)"
      seqx="printf('%08x-%04x-7000-8000-%012x', unixepoch(), {{NAMESPACE_ID}}, l.rowid)"
      variant sqlite "random v4 (bench)" "$rnd"
      variant sqlite "time-ordered" "$seqx"
      variant sqlite "random v4, cache_size 64 MiB" "$rnd" "PRAGMA cache_size = -65536;"
      variant sqlite "time-ordered, cache_size 64 MiB" "$seqx" "PRAGMA cache_size = -65536;"
      variant sqlite "random v4, indexes after" "$rnd" "$drop_idx" "$(build_idx sqlite sqlite3)"
      variant sqlite "time-ordered, cache_size 64 MiB, indexes after" "$seqx" "PRAGMA cache_size = -65536; $drop_idx" "$(build_idx sqlite sqlite3)"
      ;;
    postgres)
      variant postgres "random v4 (bench)" "gen_random_uuid()"
      variant postgres "time-ordered" "('00000000-0000-7000-8000-' || lpad(to_hex(nextval('fb_seq')), 12, '0'))::uuid" \
        "CREATE TEMP SEQUENCE fb_seq;"
      variant postgres "random v4, indexes after" "gen_random_uuid()" "$drop_idx" "$(build_idx postgres postgres)"
      variant postgres "time-ordered, indexes after" "('00000000-0000-7000-8000-' || lpad(to_hex(nextval('fb_seq')), 12, '0'))::uuid" \
        "CREATE TEMP SEQUENCE fb_seq; $drop_idx" "$(build_idx postgres postgres)"
      ;;
    mysql)
      variant mysql "UUID() v1" "UUID()"
      variant mysql "random v4 (bench)" "LOWER(CONCAT(LPAD(HEX(FLOOR(RAND()*4294967296)),8,'0'),'-',LPAD(HEX(FLOOR(RAND()*65536)),4,'0'),'-4',LPAD(HEX(FLOOR(RAND()*4096)),3,'0'),'-',HEX(8+FLOOR(RAND()*4)),LPAD(HEX(FLOOR(RAND()*4096)),3,'0'),'-',LPAD(HEX(FLOOR(RAND()*281474976710656)),12,'0')))"
      variant mysql "time-ordered" "CONCAT('00000000-0000-7000-8000-', LPAD(HEX(@fb_n := @fb_n + 1), 12, '0'))" "SET @fb_n = 0;"
      variant mysql "random v4, index after" "LOWER(CONCAT(LPAD(HEX(FLOOR(RAND()*4294967296)),8,'0'),'-',LPAD(HEX(FLOOR(RAND()*65536)),4,'0'),'-4',LPAD(HEX(FLOOR(RAND()*4096)),3,'0'),'-',HEX(8+FLOOR(RAND()*4)),LPAD(HEX(FLOOR(RAND()*4096)),3,'0'),'-',LPAD(HEX(FLOOR(RAND()*281474976710656)),12,'0')))" \
        "DROP INDEX keto_relation_tuples_full_idx ON keto_relation_tuples;" "$(cat plugins/mysql/migrations/20210623162417000001_relationtuple.mysql.up.sql)"
      ;;
  esac
done
