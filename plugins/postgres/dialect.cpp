// The PostgreSQL dialect: transactional DDL, a session-level advisory lock on a connection of
// its own, legacy tables read by COPY TO STDOUT from a read-only snapshot, tuples written by
// COPY FROM STDIN inside the namespace transaction.
#include <array>
#include <cstdint>
#include <thread>

#include <ferry/drivers/postgres.hpp>
#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>
#include <ferry/sdk/strategies.hpp>

std::span<const ferry::embedded_file> keto_migration_files();

namespace ferry::dialects::postgres {
namespace {

namespace pg = ferry::drivers::postgres;

using pg::quote_identifier;

// Every Ferry build must derive the same key for the same database, so it is computed here
// (FNV-1a, fixed forever) rather than by a server function whose output could change.
std::int64_t lock_key(std::string_view database) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : std::string("ferry.migration_lock/") + std::string(database)) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return static_cast<std::int64_t>(h);
}

// pg_advisory_lock on a session of its own: the lock does not care which transactions the
// main connection opens and closes, and it dies with the process (the server ends the session)
// so a killed ferry never leaves it behind.
class advisory_lock final : public migration_lock {
public:
    advisory_lock(const dsn& source, std::chrono::seconds timeout)
        : session_(pg::open_session(with_keepalives(source), "for the migration lock")) {
        // The session sits idle for the whole run; a server-side idle timeout would end it and
        // silently release the lock. The setting exists from PostgreSQL 14 on.
        try {
            session_->execute("SET idle_session_timeout = 0");
        } catch (const sql_error&) {
        }
        {
            auto r = session_->query("SELECT current_database()");
            if (r->next()) database_ = r->text(0);
        }
        key_ = lock_key(database_);
        const std::array<value, 1> key{key_};
        const auto started = std::chrono::steady_clock::now();
        const auto deadline = started + timeout;
        for (;;) {
            if (query_integer(*session_, "SELECT CASE WHEN pg_try_advisory_lock(?::bigint) THEN 1 ELSE 0 END", key))
                return;
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) throw lock_error(held_message(timeout));
            std::this_thread::sleep_for(
                std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(200), deadline - now));
        }
    }

    ~advisory_lock() override {
        try {
            const std::array<value, 1> key{key_};
            session_->execute("SELECT pg_advisory_unlock(?::bigint)", key);
        } catch (...) {
            // Closing the session (next) releases it anyway.
        }
    }

private:
    // TCP keepalives every minute, unless the DSN chose: NAT gateways and proxies drop idle
    // connections after a few minutes, and the lock would go with this one.
    static dsn with_keepalives(dsn source) {
        if (!source.param("keepalives_idle")) source.params.emplace_back("keepalives_idle", "60");
        if (!source.param("keepalives_interval")) source.params.emplace_back("keepalives_interval", "10");
        return source;
    }

    // Names the holder when the server lets us see it (pg_stat_activity hides other users'
    // details from unprivileged roles; the pid is always shown).
    std::string held_message(std::chrono::seconds waited) {
        std::string holder;
        try {
            const auto k = static_cast<std::uint64_t>(key_);
            const std::array<value, 2> parts{static_cast<std::int64_t>(k >> 32),
                                             static_cast<std::int64_t>(k & 0xffffffffULL)};
            auto r = session_->query(
                "SELECT l.pid, COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), ''), "
                "COALESCE(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '') "
                "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
                "AND l.classid = ?::bigint::oid AND l.objid = ?::bigint::oid",
                parts);
            if (r->next()) {
                holder = " (server process " + std::string(r->text(0));
                if (!r->text(1).empty()) holder += ", application \"" + std::string(r->text(1)) + "\"";
                if (!r->text(2).empty()) holder += ", client " + std::string(r->text(2));
                if (!r->text(3).empty()) holder += ", connected " + std::string(r->text(3));
                holder += ")";
            }
        } catch (const ferry::error&) {
            // The message below is complete without the details.
        }
        return "another ferry holds the migration lock on PostgreSQL database \"" + database_ + "\"" + holder +
               " and did not release it within " + std::to_string(waited.count()) +
               "s; wait for it to finish, then run this command again (or raise --lock-timeout)";
    }

    std::unique_ptr<pg::pg_connection> session_;
    std::string database_;
    std::int64_t key_ = 0;
};

// A legacy table read by COPY TO STDOUT on a session of its own, in a REPEATABLE READ READ
// ONLY transaction: one consistent snapshot for the whole namespace, taking only the ACCESS
// SHARE lock that blocks no reader or writer of the table, while the writer's session is busy
// with its own COPY. Memory stays flat: one line at a time, into reused buffers.
std::unique_ptr<legacy_reader> open_copy_reader(const dsn& source, std::string_view table) {
    auto session = pg::open_session(source, "to read " + std::string(table));
    session->begin();
    // DateStyle is pinned for this transaction only, so commit_time reaches the writer as ISO
    // text whatever the server's default; the transaction settings must come first.
    session->execute_script(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL datestyle TO 'ISO, MDY'");
    auto rows = session->copy_out(quote_identifier(table) + " (" + std::string(sdk::legacy_columns) + ")");
    return sdk::make_rows_reader(std::move(rows), std::move(session));
}

// COPY <table> FROM STDIN in the writer's transaction. A clean namespace is one
// COPY from the first write to finish(). A skipped row makes the core run an INSERT on this
// connection, which ends the COPY (the protocol allows nothing else meanwhile); once that has
// happened the writer ends its COPY after every write() instead, so the skipped rows of the
// next batch find the session free: one COPY per batch rather than one per broken row.
class copy_writer final : public tuple_writer {
public:
    copy_writer(pg::pg_connection& conn, std::string_view table)
        : conn_(conn), target_(quote_identifier(table) + " (" + std::string(sdk::tuple_columns) + ")") {}

    void write(std::span<const relation_tuple> tuples) override {
        if (opened_ && !conn_.copy_in_open()) per_batch_ = true;
        values_.clear();
        values_.reserve(tuples.size() * sdk::tuple_column_count);
        for (const auto& t : tuples) sdk::append_tuple_params(t, values_);
        conn_.copy_in(target_, values_, sdk::tuple_column_count);
        opened_ = true;
        if (per_batch_) conn_.end_copy();
    }

    // libpqxx does not hand out COPY's row count: the core counts instead.
    std::optional<std::uint64_t> finish() override {
        conn_.end_copy();
        return std::nullopt;
    }

private:
    pg::pg_connection& conn_;
    std::string target_;
    std::vector<value> values_;
    bool opened_ = false, per_batch_ = false;
};

class postgres_dialect final : public pg::pg_wire_dialect {
public:
    std::string_view migration_dialect() const override { return "postgres"; }
    capabilities caps() const override { return {.transactional_ddl = true, .build_indexes_after_copy = true}; }

    std::unique_ptr<connection> open(const dsn& source) override { return pg::open(source); }

    std::span<const embedded_file> keto_migrations() const override { return keto_migration_files(); }

    std::unique_ptr<migration_lock> acquire_migration_lock(connection&, const dsn& source,
                                                           std::chrono::seconds timeout) override {
        return std::make_unique<advisory_lock>(source, timeout);
    }

    // The schema unqualified names resolve to, and nothing else: a legacy table in another
    // schema is not this Keto's.
    std::vector<std::string> list_tables(connection& conn) override {
        std::vector<std::string> names;
        auto r = conn.query(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename");
        while (r->next()) names.emplace_back(r->text(0));
        return names;
    }

    std::unique_ptr<legacy_reader> open_legacy_reader(connection&, const dsn& source,
                                                      std::string_view table) override {
        return open_copy_reader(source, table);
    }

    std::unique_ptr<tuple_writer> open_tuple_writer(connection& conn, std::string_view table) override {
        return std::make_unique<copy_writer>(static_cast<pg::pg_connection&>(conn), table);
    }
};

}  // namespace
}  // namespace ferry::dialects::postgres

FERRY_DEFINE_PLUGIN("postgres", "1.0.0", ferry::dialects::postgres::postgres_dialect, "postgres", "postgresql")
