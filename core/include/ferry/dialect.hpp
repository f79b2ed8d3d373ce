// The dialect interface: everything the core needs from one SQL dialect. A plugin implements
// it; the core never asks which dialect it talks to, only what it can do (capabilities).
//
// Call pattern, so implementations know what to expect:
//   open()                       once per command (plus once per extra reader the plugin opens)
//   keto_migrations()            once per migrate/legacy command
//   history_table_ddl()          when a history table is missing (rare)
//   acquire_migration_lock()     once per writing command, before the first write
//   list_tables()                once per legacy command
//   open_legacy_reader()         once per namespace copied
//   open_tuple_writer()          once per transaction that writes tuples (a namespace, or a
//                                chunk of one), inside that transaction
//   begin/restart/commit_transaction()
//                                around every transaction of the legacy copy
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/connection.hpp>
#include <ferry/dsn.hpp>

namespace ferry {

struct capabilities {
    // DDL and DML commit together: a migration and its history row are atomic.
    bool transactional_ddl = false;
    // The most legacy rows one transaction of the copy should carry; 0 means no limit. A
    // namespace with more rows is copied in resumable chunks of this size into a staging table
    // and published at once (docs/legacy-migration.md). The operator may lower it.
    std::uint64_t max_rows_per_transaction = 0;
    // How often a transaction that failed with a serialization failure (SQLSTATE 40001) is run
    // in total before the copy gives up; 1 means it is not retried.
    unsigned transaction_attempts = 1;
    // The legacy copy into an empty keto_relation_tuples may drop its secondary indexes first
    // and build them once at the end (core/deferred_indexes.hpp). Worth it where the server
    // builds them: one sorted build beats millions of B-tree inserts. Not where the build runs
    // inside ferry's process, as SQLite's does: its sorter keeps a read buffer per sorted run,
    // so ferry's memory would grow with the table. Honoured only with transactional_ddl.
    bool build_indexes_after_copy = false;
};

// A migration file compiled into a plugin: VERSION_NAME[.DIALECT].(up|down).sql and its text.
struct embedded_file {
    const char* name;
    const char* content;
    std::size_t size;
};

// One row of a legacy keto_NNNNNNNNNN_relation_tuples table. Every column may be NULL on SQLite.
struct legacy_row {
    std::optional<std::string> shard_id;
    std::optional<std::string> object;
    std::optional<std::string> relation;
    std::optional<std::string> subject;
    std::optional<std::string> commit_time;
};

// One row for keto_relation_tuples. The views point into the legacy batch being copied and
// stay valid for the duration of tuple_writer::write().
struct relation_tuple {
    std::array<char, 36> shard_id;  // UUIDv4, canonical text form
    std::string_view nid;
    std::int64_t namespace_id = 0;
    std::string_view object;
    std::string_view relation;
    std::optional<std::string_view> subject_id;
    std::optional<std::int64_t> subject_set_namespace_id;
    std::optional<std::string_view> subject_set_object;
    std::optional<std::string_view> subject_set_relation;
    std::string_view commit_time;
};

// Streams a legacy table. Must not hold locks that block other readers of the table.
class legacy_reader {
public:
    virtual ~legacy_reader() = default;
    // Refills `batch` (its strings are reused to avoid allocations) with up to `max_rows` rows.
    // Returns the number of rows filled; 0 means the table is exhausted.
    virtual std::size_t read(std::vector<legacy_row>& batch, std::size_t max_rows) = 0;
};

// Writes rows shaped like keto_relation_tuples into one table (keto_relation_tuples itself, or
// the staging table of a chunked copy) inside the caller's open transaction, in batches.
class tuple_writer {
public:
    virtual ~tuple_writer() = default;
    virtual void write(std::span<const relation_tuple> tuples) = 0;
    // Flushes whatever the strategy buffered. Called once, before the caller verifies and commits.
    // Returns how many rows the server reported written through this writer (INSERT's
    // affected rows), or nullopt when the strategy cannot know; the core then counts the
    // target table instead, which costs a scan of the namespace's rows.
    virtual std::optional<std::uint64_t> finish() = 0;
};

// Held while migrations or a legacy copy run; released when destroyed.
class migration_lock {
public:
    virtual ~migration_lock() = default;
    // Throws lock_error when the lock is known to be lost (a lease that could not be renewed
    // and may have passed to another run). Called before every commit of the copy; a lock
    // tied to a session, which cannot be lost without the session, needs nothing here.
    virtual void ensure_held() const {}
};

class dialect {
public:
    virtual ~dialect() = default;

    // The dialect name used in migration file names: postgres, mysql, cockroach, sqlite3.
    virtual std::string_view migration_dialect() const = 0;
    virtual capabilities caps() const = 0;

    // Opens a connection. Throws connection_error (never showing the password) when it cannot.
    virtual std::unique_ptr<connection> open(const dsn& source) = 0;

    // Keto's v0.7 migration set for this dialect (the networks migration plus Keto's own).
    virtual std::span<const embedded_file> keto_migrations() const = 0;

    // Statements creating a popx-shaped history table named `table` with its two indexes.
    virtual std::vector<std::string> history_table_ddl(std::string_view table) const = 0;

    virtual std::string quote_identifier(std::string_view name) const = 0;
    // DROP INDEX differs across dialects (MySQL wants the table).
    virtual std::string drop_index_sql(std::string_view index, std::string_view table) const = 0;

    // Serialises writers on one database. Waits up to `timeout`, then throws lock_error.
    virtual std::unique_ptr<migration_lock> acquire_migration_lock(connection& conn, const dsn& source,
                                                                   std::chrono::seconds timeout) = 0;

    // Base tables of the current database/schema only (never other schemas). The core applies
    // the exact legacy-table name rule to this list.
    virtual std::vector<std::string> list_tables(connection& conn) = 0;

    // A reader of one legacy table. `writer` is the connection holding the copy transaction;
    // a dialect that cannot stream on it while writing opens its own session from `source`.
    virtual std::unique_ptr<legacy_reader> open_legacy_reader(connection& writer, const dsn& source,
                                                              std::string_view table) = 0;

    // The bulk-insert strategy into `table` (keto_relation_tuples, or a staging table of the
    // same columns and types), on `conn` inside its transaction.
    virtual std::unique_ptr<tuple_writer> open_tuple_writer(connection& conn, std::string_view table) = 0;

    // The transaction protocol of the copy. begin_transaction() opens one; after a
    // serialization_error (from any statement or from commit_transaction()) the core calls
    // restart_transaction(), which leaves a fresh, empty transaction open, and runs the work
    // again; commit_transaction() makes it durable. The defaults are plain BEGIN, ROLLBACK +
    // BEGIN and COMMIT; a server with a retry protocol of its own (CockroachDB's savepoint)
    // overrides all three. `conn` may no longer be in a transaction when restart is called:
    // a failed COMMIT ends it.
    virtual void begin_transaction(connection& conn) { conn.begin(); }
    virtual void restart_transaction(connection& conn) {
        if (conn.in_transaction()) conn.rollback();
        conn.begin();
    }
    virtual void commit_transaction(connection& conn) { conn.commit(); }

    // Called once before a command's first write. Names each privilege this session lacks
    // for creating, altering and dropping tables and writing rows in the current
    // schema/database, in words an operator can GRANT ("CREATE on schema public"). Empty
    // means nothing is known to be missing; the default knows nothing.
    virtual std::vector<std::string> missing_write_privileges(connection& /*conn*/) { return {}; }
};

}  // namespace ferry
