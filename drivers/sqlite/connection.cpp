#include <ferry/drivers/sqlite.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>

#include <ferry/errors.hpp>

namespace ferry::drivers::sqlite {
namespace {

// One place decides what a SQLite failure means for the caller.
[[noreturn]] void rethrow(const SQLite::Exception& e, std::string_view doing) {
    std::string message = std::string(doing) + ": " + e.what();
    switch (e.getErrorCode()) {
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        throw permission_error(message + " (the database file or its directory is not writable)");
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
        throw connection_error(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        throw serialization_error(message, "SQLITE_BUSY");
    case SQLITE_FULL:
        throw sql_error(message + " (disk full)", "SQLITE_FULL");
    default:
        throw sql_error(message, std::to_string(e.getExtendedErrorCode()));
    }
}

[[noreturn]] void throw_code(sqlite3* db, int code, std::string_view doing) {
    rethrow(SQLite::Exception(db, code), doing);
}

// Statements use the C API directly: SQLiteCpp binds sized text only as a BLOB, and legacy
// values must round-trip as TEXT byte for byte (embedded NULs, invalid UTF-8 included).
class statement {
public:
    statement(sqlite3* db, std::string_view sql) : db_(db) {
        int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
        if (rc != SQLITE_OK) throw_code(db, rc, "preparing statement");
    }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() { sqlite3_finalize(stmt_); }

    // `text_lifetime`: SQLITE_STATIC when the caller's texts outlive every step (a prepared
    // statement executes at once), SQLITE_TRANSIENT when SQLite must copy them (a query steps
    // later, in rows::next(), after the caller's parameters may be gone).
    void bind(std::span<const value> params, sqlite3_destructor_type text_lifetime) {
        sqlite3_reset(stmt_);
        int index = 1;
        for (const auto& p : params) {
            int rc;
            if (is_null(p)) {
                rc = sqlite3_bind_null(stmt_, index);
            } else if (auto* i = std::get_if<std::int64_t>(&p)) {
                rc = sqlite3_bind_int64(stmt_, index, *i);
            } else {
                auto text = text_of(p);
                rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), text_lifetime);
            }
            if (rc != SQLITE_OK) throw_code(db_, rc, "binding parameter");
            ++index;
        }
    }
    // True while a row is available.
    bool step(std::string_view doing) {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        // The statement's error code is the one sqlite3_step reported; reset returns it too.
        rc = sqlite3_reset(stmt_);
        throw_code(db_, rc, doing);
    }
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class sqlite_rows final : public rows {
public:
    sqlite_rows(sqlite3* db, std::string_view sql, std::span<const value> params) : stmt_(db, sql) {
        stmt_.bind(params, SQLITE_TRANSIENT);
    }
    bool next() override { return stmt_.step("reading rows"); }
    bool is_null(int column) const override { return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL; }
    std::string_view text(int column) const override {
        auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), column));
        return {data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
    }
    std::int64_t integer(int column) const override { return sqlite3_column_int64(stmt_.get(), column); }

private:
    statement stmt_;
};

class sqlite_prepared final : public prepared_statement {
public:
    sqlite_prepared(sqlite3* db, std::string_view sql) : db_(db), stmt_(db, sql) {}
    std::uint64_t execute(std::span<const value> params) override {
        stmt_.bind(params, SQLITE_STATIC);
        while (stmt_.step("executing statement")) {
        }
        return static_cast<std::uint64_t>(sqlite3_changes(db_));
    }

private:
    sqlite3* db_;
    statement stmt_;
};

bool param_is_true(const dsn& source, std::string_view key) {
    auto v = source.param(key);
    return v && (*v == "true" || *v == "1" || *v == "on" || *v == "yes");
}

class connection_impl final : public sqlite_connection {
public:
    explicit connection_impl(const dsn& source) : db_(open_database(source)) {
        // Readers of a legacy table must not fail at once while a copy commits.
        db_.setBusyTimeout(10000);
        if (param_is_true(source, "_fk") || param_is_true(source, "_foreign_keys"))
            db_.exec("PRAGMA foreign_keys = ON");
        try {
            cache_budget_kib_ = page_cache_kib();
            // WAL and unjournaled databases keep no rollback-journal bitmap.
            const auto journal = db_.execAndGet("PRAGMA journal_mode").getString();
            journal_has_bitmap_ = journal != "wal" && journal != "off";
        } catch (const SQLite::Exception& e) {
            rethrow(e, "opening SQLite database " + db_.getFilename());
        }
    }

    const std::string& file_path() const override { return path_; }
    bool read_only() const override { return sqlite3_db_readonly(db_.getHandle(), "main") == 1; }

    void execute(std::string_view sql, std::span<const value> params) override {
        try {
            if (params.empty()) {
                db_.exec(std::string(sql));
                return;
            }
        } catch (const SQLite::Exception& e) {
            rethrow(e, "executing statement");
        }
        sqlite_prepared(db_.getHandle(), sql).execute(params);
    }
    void execute_script(std::string_view script) override {
        try {
            db_.exec(std::string(script));
        } catch (const SQLite::Exception& e) {
            rethrow(e, "executing script");
        }
    }
    std::unique_ptr<rows> query(std::string_view sql, std::span<const value> params) override {
        return std::make_unique<sqlite_rows>(db_.getHandle(), sql, params);
    }
    std::unique_ptr<prepared_statement> prepare(std::string_view sql) override {
        return std::make_unique<sqlite_prepared>(db_.getHandle(), sql);
    }
    void begin() override {
        if (in_transaction_) throw usage_error("a transaction is already open on this connection");
        fit_page_cache_around_journal_bitmap();
        // IMMEDIATE takes the write lock now, so a second writer waits here instead of failing
        // at its first write halfway through a namespace.
        execute("BEGIN IMMEDIATE", {});
        in_transaction_ = true;
    }
    void commit() override {
        execute("COMMIT", {});
        in_transaction_ = false;
    }
    void rollback() override {
        in_transaction_ = false;
        if (sqlite3_get_autocommit(db_.getHandle()) == 0) execute("ROLLBACK", {});
    }
    bool in_transaction() const override { return in_transaction_; }

private:
    std::int64_t pragma_integer(const char* sql) { return db_.execAndGet(sql).getInt64(); }
    std::int64_t page_cache_kib() {
        const auto setting = pragma_integer("PRAGMA cache_size");
        // Negative settings are KiB, positive ones pages.
        return setting < 0 ? -setting : setting * pragma_integer("PRAGMA page_size") / 1024;
    }

    // Left alone, the journal bitmap of a write transaction sits on top of a full page cache,
    // so one long transaction on a large file holds up to 2 MiB more than on a small one. The
    // bitmap is paid from the cache budget instead (never below half of it, which keeps the
    // B-tree's upper pages cached): the connection's memory no longer grows with the file.
    void fit_page_cache_around_journal_bitmap() {
        if (cache_budget_kib_ <= 0 || !journal_has_bitmap_) return;
        std::int64_t page_count = 0;
        try {
            page_count = pragma_integer("PRAGMA page_count");
        } catch (const SQLite::Exception& e) {
            rethrow(e, "reading the database size");
        }
        const std::int64_t bitmap_kib = (journal_bitmap_bytes(page_count) + 1023) / 1024;
        const std::int64_t cache_kib = std::max(cache_budget_kib_ / 2, cache_budget_kib_ - bitmap_kib);
        execute("PRAGMA cache_size = -" + std::to_string(cache_kib), {});
    }

    SQLite::Database open_database(const dsn& source) {
        const auto mode = source.param("mode").value_or("rwc");
        const bool memory = mode == "memory" || source.database == ":memory:" ||
                            source.database.rfind("file::memory:", 0) == 0;
        int flags = SQLITE_OPEN_URI;
        if (mode == "ro")
            flags |= SQLITE_OPEN_READONLY;
        else if (mode == "rw")
            flags |= SQLITE_OPEN_READWRITE;
        else
            flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if (source.param("cache") == "shared") flags |= SQLITE_OPEN_SHAREDCACHE;
        std::string name = source.database;
        if (memory) {
            flags |= SQLITE_OPEN_MEMORY;
        } else {
            if (name.rfind("file:", 0) == 0) name = name.substr(5);
            path_ = name;
        }
        if (name.empty()) throw config_error("the sqlite DSN names no database file; use sqlite://PATH");
        try {
            return SQLite::Database(name, flags);
        } catch (const SQLite::Exception& e) {
            rethrow(e, "opening SQLite database " + name);
        }
    }

    std::string path_;
    SQLite::Database db_;
    bool in_transaction_ = false;
    std::int64_t cache_budget_kib_ = 0;
    bool journal_has_bitmap_ = true;
};

}  // namespace

std::int64_t journal_bitmap_bytes(std::int64_t page_count) {
    // SQLite's Bitvec (bitvec.c): a 512-byte node is a plain bitmap up to 3,968 pages; above
    // that, it hashes or splits into 62 children, each a Bitvec over 1/62 of the pages.
    constexpr std::int64_t node_bytes = 512, bitmap_pages = 3968, fan_out = 62;
    std::int64_t nodes = 1, level_nodes = 1;
    for (std::int64_t span = page_count; span > bitmap_pages; span = (span + fan_out - 1) / fan_out) {
        level_nodes *= fan_out;
        nodes += level_nodes;
    }
    return nodes * node_bytes;
}

std::unique_ptr<sqlite_connection> open(const dsn& source) { return std::make_unique<connection_impl>(source); }

}  // namespace ferry::drivers::sqlite
