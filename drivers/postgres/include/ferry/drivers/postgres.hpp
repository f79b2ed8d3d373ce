// ferry::connection over libpqxx 6.4, plus the PostgreSQL-only pieces a dialect plugin needs
// for bulk work: COPY in both directions. Every libpqxx exception is translated inside the
// driver, so nothing above it (plugin or core) ever sees a pqxx type; this header does not
// even include one.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/connection.hpp>
#include <ferry/dialect.hpp>
#include <ferry/dsn.hpp>

namespace ferry::drivers::postgres {

// Beyond ferry::connection's contract: query() streams SELECT, VALUES, WITH and TABLE
// statements through a server-side cursor (WITH HOLD outside a transaction), fetched in blocks
// of 2000 rows; any other statement returns its whole result at once. Statements outside a
// transaction commit on their own. Parameters travel as text and the server infers their types;
// write `?::bigint` where a function is overloaded.
//
// Savepoints are plain statements (execute("SAVEPOINT x")); after a successful
// `ROLLBACK TO SAVEPOINT` the connection treats its transaction as healthy again.
//
// FERRY_TRACE_SQL=FILE appends every statement this driver sends (text only, never parameters)
// to FILE, one line each, prefixed by a session number: how the golden tests see the exact SQL
// of each step, and how an operator can.
class pg_connection : public connection {
public:
    // Appends rows to `COPY <target> FROM STDIN` in the open transaction. `target` is a table
    // name with an optional column list, e.g. `keto_relation_tuples (a, b)`; `values` holds
    // whole rows of `columns` values each (NULL is monostate, integers as text).
    // The COPY starts on the first call and stays open across calls with the same target.
    // A COPY occupies the session, so any other statement on this connection (and commit())
    // ends it first; the next call opens a new one. Rows are buffered and sent in large chunks,
    // so a bad row may only be reported by end_copy() or by the statement that ended the COPY.
    virtual void copy_in(std::string_view target, std::span<const value> values, std::size_t columns) = 0;
    // Ends the open COPY, if any, and makes the server report the first error in its rows.
    virtual void end_copy() = 0;
    // Whether a COPY FROM STDIN is open (another statement may have ended it).
    virtual bool copy_in_open() const = 0;

    // Streams `COPY <source> TO STDOUT` in the open transaction, one decoded row at a time in
    // constant memory. `source` is a table with an optional column list, or a parenthesised
    // query. Nothing else may run on this connection until the rows are exhausted or
    // destroyed; destroying them early cancels the COPY on the server.
    virtual std::unique_ptr<rows> copy_out(std::string_view source) = 0;
};

struct session_options {
    // Stream large results through server-side cursors (see pg_connection). Off for servers
    // whose cursors are limited (CockroachDB: no WITH HOLD): every result is then read at once,
    // so callers keep their queries small (LIMIT).
    bool server_cursors = true;
};

// Connects as the DSN says. Throws connection_error (libpq's message on one line, without the
// password) when the server cannot be reached or refuses the login.
std::unique_ptr<pg_connection> open(const dsn& source, session_options options = {});

// ---- pieces shared by the dialects that speak PostgreSQL's protocol (postgres, cockroach) ----

// "name" with embedded quotes doubled.
std::string quote_identifier(std::string_view name);

// A popx history table named `table` with its two indexes.
std::vector<std::string> history_table_ddl(std::string_view table);

// A second session for `purpose` ("for the migration lock"); a failure names the purpose.
std::unique_ptr<pg_connection> open_session(const dsn& source, const std::string& purpose,
                                            session_options options = {});

// What this session may not do in the current schema, grouped per privilege and naming a few
// tables: CREATE on the schema, INSERT/UPDATE/DELETE on its tables, their ownership.
std::vector<std::string> missing_write_privileges(connection& conn);

// The dialect methods every server speaking PostgreSQL's protocol and catalog answers alike;
// the postgres and cockroach plugins derive from it.
class pg_wire_dialect : public dialect {
public:
    std::vector<std::string> history_table_ddl(std::string_view table) const override {
        return postgres::history_table_ddl(table);
    }
    std::string quote_identifier(std::string_view name) const override { return postgres::quote_identifier(name); }
    // The index is found through the search path, like the table it belongs to (CockroachDB:
    // among the tables of the current schema; the legacy index names are unique there).
    std::string drop_index_sql(std::string_view index, std::string_view) const override {
        return "DROP INDEX IF EXISTS " + postgres::quote_identifier(index);
    }
    std::vector<std::string> missing_write_privileges(connection& conn) override {
        return postgres::missing_write_privileges(conn);
    }
};

// The libpq keyword/value connection string for a postgres:// or postgresql:// DSN: host,
// port, database, user and password from the URL, then every query parameter. Parameters libpq
// knows (sslmode, sslrootcert, connect_timeout, target_session_attrs, ...) are passed as they
// are; any other one becomes a server setting (`options=-c key=value`), as pgx, which Keto
// uses, treats unknown parameters as run-time parameters. Adds client_encoding=UTF8,
// fallback_application_name=ferry and connect_timeout=10 unless the DSN sets them.
// The result contains the password: never print it.
std::string conninfo(const dsn& source);

// Rewrites Ferry's `?` parameter markers as $1..$n. Question marks inside string literals
// (including E'' and dollar-quoted ones), quoted identifiers and comments are left alone.
// `count`, when given, receives n.
std::string number_markers(std::string_view sql, int* count = nullptr);

}  // namespace ferry::drivers::postgres
