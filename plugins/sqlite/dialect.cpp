// The SQLite dialect: embedded databases, transactional DDL, file locks for serialisation.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <ferry/drivers/sqlite.hpp>
#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>
#include <ferry/sdk/strategies.hpp>

std::span<const ferry::embedded_file> keto_migration_files();

namespace ferry::dialects::sqlite {
namespace {

// flock() on the database file itself: released by the kernel when the process dies, so a
// killed run never leaves a stale lock, and independent of SQLite's own fcntl() locks.
class file_lock final : public migration_lock {
public:
    file_lock(const std::string& path, std::chrono::seconds timeout) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0)
            throw lock_error("cannot open " + path + " to lock it: " + std::strerror(errno));
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                ::close(fd_);
                throw lock_error("cannot lock " + path + ": " + std::strerror(errno));
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                ::close(fd_);
                throw lock_error("another ferry process is migrating " + path +
                                 "; wait for it to finish, then run this command again");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ~file_lock() override { ::close(fd_); }  // closing drops the flock

private:
    int fd_ = -1;
};

// In-memory databases live in this process only: nobody else can race us.
class no_lock final : public migration_lock {};

class sqlite_dialect final : public dialect {
public:
    std::string_view migration_dialect() const override { return "sqlite3"; }
    capabilities caps() const override { return {.transactional_ddl = true}; }

    std::unique_ptr<connection> open(const dsn& source) override { return drivers::sqlite::open(source); }

    std::span<const embedded_file> keto_migrations() const override { return keto_migration_files(); }

    std::vector<std::string> history_table_ddl(std::string_view table) const override {
        const auto t = std::string(table);
        return {
            "CREATE TABLE " + quote_identifier(t) +
                " (version VARCHAR(48) NOT NULL, version_self INT NOT NULL DEFAULT 0)",
            "CREATE UNIQUE INDEX " + quote_identifier(t + "_version_idx") + " ON " + quote_identifier(t) +
                " (version)",
            "CREATE INDEX " + quote_identifier(t + "_version_self_idx") + " ON " + quote_identifier(t) +
                " (version_self)",
        };
    }

    std::string quote_identifier(std::string_view name) const override {
        std::string out = "\"";
        for (char c : name) {
            if (c == '"') out += '"';
            out += c;
        }
        return out + "\"";
    }

    std::string drop_index_sql(std::string_view index, std::string_view) const override {
        return "DROP INDEX IF EXISTS " + quote_identifier(index);
    }

    std::unique_ptr<migration_lock> acquire_migration_lock(connection& conn, const dsn&,
                                                           std::chrono::seconds timeout) override {
        const auto& path = static_cast<drivers::sqlite::sqlite_connection&>(conn).file_path();
        if (path.empty()) return std::make_unique<no_lock>();
        return std::make_unique<file_lock>(path, timeout);
    }

    std::vector<std::string> list_tables(connection& conn) override {
        std::vector<std::string> names;
        auto r = conn.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
        while (r->next()) names.emplace_back(r->text(0));
        return names;
    }

    // SQLite streams a SELECT on the writing connection itself; with rollback journals a
    // reader of the legacy table elsewhere is blocked only for the instant of the commit.
    std::unique_ptr<legacy_reader> open_legacy_reader(connection& writer, const dsn&,
                                                      std::string_view table) override {
        return sdk::make_query_reader(
            writer, "SELECT " + std::string(sdk::legacy_columns) + " FROM " + quote_identifier(table));
    }

    // One prepared single-row INSERT per tuple is SQLite's fastest path inside a transaction:
    // no network, and a short statement keeps the VDBE program small (see docs/benchmarks.md).
    std::unique_ptr<tuple_writer> open_tuple_writer(connection& conn, std::string_view table) override {
        return sdk::make_batched_insert_writer(conn, table, 1);
    }

    // SQLite's "privileges" are the file's: the database must be writable, and so must its
    // directory, where SQLite creates the rollback journal at the first commit.
    std::vector<std::string> missing_write_privileges(connection& conn) override {
        const auto& path = static_cast<drivers::sqlite::sqlite_connection&>(conn).file_path();
        std::vector<std::string> missing;
        if (path.empty()) return missing;
        if (static_cast<drivers::sqlite::sqlite_connection&>(conn).read_only())
            missing.push_back("write access to " + path + " (opened read-only)");
        else if (::access(path.c_str(), W_OK) != 0)
            missing.push_back("write permission on the file " + path);
        auto slash = path.find_last_of('/');
        const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
        if (::access(dir.c_str(), W_OK | X_OK) != 0)
            missing.push_back("write permission on the directory " + dir + " (SQLite creates its journal there)");
        return missing;
    }
};

}  // namespace
}  // namespace ferry::dialects::sqlite

FERRY_DEFINE_PLUGIN("sqlite", "1.0.0", ferry::dialects::sqlite::sqlite_dialect, "sqlite", "sqlite3")
