# Throw-away PostgreSQL and MariaDB servers for the test suite: loopback only, their own
# temporary data directories and free ports, removed again by stop_test_servers.
# Sourced by scripts/test and scripts/bench. Exports FERRY_TEST_POSTGRES_DSN and
# FERRY_TEST_MYSQL_DSN unless the caller already points them at servers of their own.

FERRY_SERVERS_DIR=""
FERRY_PG_BIN=""
FERRY_PG_DATA=""
FERRY_PG_USER=""
FERRY_MY_PID=""

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 20000 ))
    if port_is_free "$port"; then echo "$port"; return 0; fi
  done
  echo "no free port found" >&2; return 1
}

as_pg_user() {
  if [[ $(id -u) -eq 0 ]]; then
    # PostgreSQL refuses to run as root; the Debian package creates the postgres user.
    runuser -u "$FERRY_PG_USER" -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  if [[ -n "${FERRY_TEST_POSTGRES_DSN:-}" ]]; then echo "test-servers: using FERRY_TEST_POSTGRES_DSN from the environment"; return 0; fi
  FERRY_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x "$FERRY_PG_BIN/initdb" ]] || { echo "test-servers: PostgreSQL server binaries not found" >&2; return 1; }
  FERRY_PG_USER=$([[ $(id -u) -eq 0 ]] && echo postgres || id -un)
  FERRY_PG_DATA="$FERRY_SERVERS_DIR/pg"
  mkdir -p "$FERRY_PG_DATA"
  [[ $(id -u) -eq 0 ]] && chown -R "$FERRY_PG_USER" "$FERRY_SERVERS_DIR" && chmod 755 "$FERRY_SERVERS_DIR"
  local port; port=$(free_port)
  as_pg_user "$FERRY_PG_BIN/initdb" -D "$FERRY_PG_DATA/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$FERRY_SERVERS_DIR/pg-initdb.log" 2>&1 \
    || { cat "$FERRY_SERVERS_DIR/pg-initdb.log" >&2; return 1; }
  as_pg_user "$FERRY_PG_BIN/pg_ctl" -D "$FERRY_PG_DATA/data" -w -t 60 -l "$FERRY_PG_DATA/server.log" \
    -o "-p $port -k $FERRY_PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null \
    || { cat "$FERRY_PG_DATA/server.log" >&2; return 1; }
  as_pg_user "$FERRY_PG_BIN/psql" -q -h "$FERRY_PG_DATA" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE ferry LOGIN PASSWORD 'ferry-test-pw';
CREATE DATABASE ferry OWNER ferry;
CREATE ROLE ferry_reader LOGIN PASSWORD 'ferry-reader-pw';
GRANT CONNECT ON DATABASE ferry TO ferry_reader;
\\c ferry
GRANT USAGE ON SCHEMA public TO ferry_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE ferry IN SCHEMA public GRANT SELECT ON TABLES TO ferry_reader;
CREATE DATABASE ferry_crdb OWNER ferry;
GRANT CONNECT ON DATABASE ferry_crdb TO ferry_reader;
\\c ferry_crdb
GRANT USAGE ON SCHEMA public TO ferry_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE ferry IN SCHEMA public GRANT SELECT ON TABLES TO ferry_reader;
SQL
  export FERRY_TEST_POSTGRES_DSN="postgres://ferry:ferry-test-pw@127.0.0.1:$port/ferry?sslmode=disable"
  # A user that may read everything Ferry's user creates and write nothing.
  export FERRY_TEST_POSTGRES_READONLY_DSN="postgres://ferry_reader:ferry-reader-pw@127.0.0.1:$port/ferry?sslmode=disable"
  export FERRY_TEST_POSTGRES_ADMIN="$FERRY_PG_BIN/psql -h $FERRY_PG_DATA -p $port -U postgres"
  # No CockroachDB server can be installed here: unless the caller points
  # FERRY_TEST_COCKROACH_DSN at a real one (CI does), the cockroach plugin runs the conformance
  # suite against a database of its own on this PostgreSQL server, in its test-only mode.
  if [[ -z "${FERRY_TEST_COCKROACH_DSN:-}" ]]; then
    export FERRY_TEST_COCKROACH_DSN="cockroach://ferry:ferry-test-pw@127.0.0.1:$port/ferry_crdb?sslmode=disable"
    export FERRY_TEST_COCKROACH_READONLY_DSN="cockroach://ferry_reader:ferry-reader-pw@127.0.0.1:$port/ferry_crdb?sslmode=disable"
    export FERRY_TEST_COCKROACH_ON_POSTGRES=1
  fi
  echo "test-servers: PostgreSQL $("$FERRY_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_mariadb() {
  if [[ -n "${FERRY_TEST_MYSQL_DSN:-}" ]]; then echo "test-servers: using FERRY_TEST_MYSQL_DSN from the environment"; return 0; fi
  command -v mariadbd >/dev/null || { echo "test-servers: mariadbd not found" >&2; return 1; }
  local dir="$FERRY_SERVERS_DIR/mariadb" port; port=$(free_port)
  mkdir -p "$dir"
  local user_opt=(); [[ $(id -u) -eq 0 ]] && user_opt=(--user=root)
  mariadb-install-db --no-defaults --datadir="$dir/data" "${user_opt[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  mariadbd --no-defaults --datadir="$dir/data" "${user_opt[@]}" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --skip-name-resolve &
  FERRY_MY_PID=$!
  for _ in $(seq 1 120); do
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$FERRY_MY_PID" 2>/dev/null || { cat "$dir/error.log" >&2; return 1; }
    sleep 0.5
  done
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot <<SQL
CREATE DATABASE ferry CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'ferry'@'127.0.0.1' IDENTIFIED BY 'ferry-test-pw';
GRANT ALL PRIVILEGES ON ferry.* TO 'ferry'@'127.0.0.1';
CREATE USER 'ferry_reader'@'127.0.0.1' IDENTIFIED BY 'ferry-reader-pw';
GRANT SELECT ON ferry.* TO 'ferry_reader'@'127.0.0.1';
SQL
  export FERRY_TEST_MYSQL_DSN="mysql://ferry:ferry-test-pw@tcp(127.0.0.1:$port)/ferry?parseTime=true&multiStatements=true"
  export FERRY_TEST_MYSQL_READONLY_DSN="mysql://ferry_reader:ferry-reader-pw@tcp(127.0.0.1:$port)/ferry?parseTime=true"
  export FERRY_TEST_MYSQL_ADMIN="mariadb --no-defaults --socket=$dir/mysqld.sock -uroot"
  echo "test-servers: MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_test_servers() {
  if [[ -n "$FERRY_PG_DATA" && -d "$FERRY_PG_DATA/data" ]]; then
    as_pg_user "$FERRY_PG_BIN/pg_ctl" -D "$FERRY_PG_DATA/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n "$FERRY_MY_PID" ]]; then
    kill "$FERRY_MY_PID" 2>/dev/null || true
    wait "$FERRY_MY_PID" 2>/dev/null || true
  fi
  [[ -n "$FERRY_SERVERS_DIR" ]] && rm -rf "$FERRY_SERVERS_DIR"
  FERRY_SERVERS_DIR=""
}

start_test_servers() {
  FERRY_SERVERS_DIR=$(mktemp -d /tmp/ferry-servers.XXXXXX)
  trap stop_test_servers EXIT
  start_postgres
  start_mariadb
}
