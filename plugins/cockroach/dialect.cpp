// The CockroachDB dialect: PostgreSQL's protocol through the PostgreSQL driver, with what
// CockroachDB does differently. Every transaction is SERIALIZABLE and may be aborted with
// 40001 at any statement or at commit, so the copy runs inside CockroachDB's client retry
// protocol (the cockroach_restart savepoint). There are no advisory locks, so the migration
// lock is a lease row. Large transactions are costly (intents, restarts redo everything), so
// a namespace is copied in chunks of at most max_rows_per_transaction rows. Schema changes are
// not transactional with other writes, so each migration's DDL commits on its own, as on
// MySQL. Results are read whole (no WITH HOLD cursors), in bounded pages.
#include <cstdlib>
#include <string>

#include <ferry/drivers/postgres.hpp>
#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>
#include <ferry/sdk/lease_lock.hpp>
#include <ferry/sdk/strategies.hpp>

std::span<const ferry::embedded_file> keto_migration_files();

namespace ferry::dialects::cockroach {
namespace {

namespace pg = ferry::drivers::postgres;

constexpr pg::session_options no_cursors{.server_cursors = false};

// The savepoint name CockroachDB gives its retry meaning to.
constexpr std::string_view restart_savepoint = "cockroach_restart";

// Rows per transaction of the copy: well below the 64 MiB a single write batch may carry and
// small enough that a restart costs seconds, not minutes.
constexpr std::uint64_t rows_per_transaction = 20000;
// Rows per INSERT: 10 parameters each, 5000 per statement.
constexpr std::size_t rows_per_insert = 500;

// Test only: lets the plugin run its SQL on PostgreSQL, where SERIALIZABLE conflicts produce
// real 40001 errors (docs/dialects.md, "What was verified where").
bool accept_postgres() {
    const char* v = std::getenv("FERRY_TEST_COCKROACH_ON_POSTGRES");
    return v && std::string_view(v) == "1";
}

std::unique_ptr<pg::pg_connection> open_cockroach(const dsn& source) {
    auto conn = pg::open(source, no_cursors);
    std::string version;
    {
        auto r = conn->query("SELECT version()");
        if (r->next()) version = std::string(r->text(0));
    }
    if (version.find("CockroachDB") == std::string::npos && !accept_postgres()) {
        const auto words = version.substr(0, version.find(' ', version.find(' ') + 1));
        throw config_error("the server at " + source.redacted() + " is not CockroachDB (it reports \"" + words +
                           "\"); use a postgres:// DSN for PostgreSQL, or point the cockroach:// DSN at a "
                           "CockroachDB node");
    }
    return conn;
}

std::chrono::seconds lease_ttl() {
    if (const char* v = std::getenv("FERRY_LEASE_TTL_SECONDS")) {
        const long s = std::strtol(v, nullptr, 10);
        if (s >= 3) return std::chrono::seconds(s);
    }
    return std::chrono::seconds(30);
}

class cockroach_dialect final : public pg::pg_wire_dialect {
public:
    std::string_view migration_dialect() const override { return "cockroach"; }

    capabilities caps() const override {
        return {.transactional_ddl = false,
                .max_rows_per_transaction = rows_per_transaction,
                .transaction_attempts = 10};
    }

    std::unique_ptr<connection> open(const dsn& source) override { return open_cockroach(source); }

    std::span<const embedded_file> keto_migrations() const override { return keto_migration_files(); }

    std::unique_ptr<migration_lock> acquire_migration_lock(connection&, const dsn& source,
                                                           std::chrono::seconds timeout) override {
        auto session = pg::open_session(source, "for the migration lease", no_cursors);
        std::string database;
        {
            auto r = session->query("SELECT current_database()");
            if (r->next()) database = std::string(r->text(0));
        }
        sdk::lease_options lease;
        lease.ttl = lease_ttl();
        lease.heartbeat = std::max(std::chrono::seconds(1), lease.ttl / 6);
        lease.now_seconds_sql = "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT)";
        lease.scope = "CockroachDB database \"" + database + "\"";
        return sdk::acquire_lease_lock(std::move(session), timeout, std::move(lease));
    }

    // information_schema of the current database and schema only: CockroachDB's lists every
    // database of the cluster otherwise.
    std::vector<std::string> list_tables(connection& conn) override {
        std::vector<std::string> names;
        auto r = conn.query(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name");
        while (r->next()) names.emplace_back(r->text(0));
        return names;
    }

    // In the copy's own transaction: under SERIALIZABLE the rows read and the rows written
    // commit as one consistent step, and a restart re-reads them. Pages keep memory bounded.
    std::unique_ptr<legacy_reader> open_legacy_reader(connection& writer, const dsn&,
                                                      std::string_view table) override {
        return sdk::make_keyset_reader(writer, pg::quote_identifier(table));
    }

    std::unique_ptr<tuple_writer> open_tuple_writer(connection& conn, std::string_view table) override {
        return sdk::make_batched_insert_writer(conn, table, rows_per_insert);
    }

    // CockroachDB's client-side retry protocol: the savepoint right after BEGIN; a 40001 is
    // answered by rolling back to it, which restarts the transaction (keeping its priority, so
    // it wins eventually); RELEASE is the real commit. A COMMIT that fails ends the
    // transaction, so the restart then begins a new one.
    void begin_transaction(connection& conn) override {
        conn.begin();
        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        conn.execute("SAVEPOINT " + std::string(restart_savepoint));
    }

    void restart_transaction(connection& conn) override {
        if (conn.in_transaction())
            conn.execute("ROLLBACK TO SAVEPOINT " + std::string(restart_savepoint));
        else
            begin_transaction(conn);
    }

    void commit_transaction(connection& conn) override {
        conn.execute("RELEASE SAVEPOINT " + std::string(restart_savepoint));
        conn.commit();
    }

    std::vector<std::string> missing_write_privileges(connection& conn) override {
        try {
            return pg_wire_dialect::missing_write_privileges(conn);
        } catch (const sql_error&) {
            // A CockroachDB version without one of the catalog functions: nothing is known to
            // be missing, and the first write that lacks a privilege names it instead.
            return {};
        }
    }
};

}  // namespace
}  // namespace ferry::dialects::cockroach

FERRY_DEFINE_PLUGIN("cockroach", "1.0.0", ferry::dialects::cockroach::cockroach_dialect, "cockroach", "cockroachdb")
