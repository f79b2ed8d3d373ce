// The MySQL/MariaDB dialect: DDL that commits implicitly (so no transactional-DDL claim), a
// session-level GET_LOCK for serialisation, a consistent-snapshot reader on its own session and
// multi-row INSERTs sized from the server's max_allowed_packet.
#include <algorithm>
#include <array>

#include <ferry/drivers/mysql.hpp>
#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>
#include <ferry/sdk/strategies.hpp>

std::span<const ferry::embedded_file> keto_migration_files();

namespace ferry::dialects::mysql {
namespace {

// ---- migration lock -------------------------------------------------------------------------

// GET_LOCK names are server-wide, hence the database in the name; MySQL caps them at 64
// characters, so a long database name is replaced by its MD5.
constexpr std::string_view lock_name_sql =
    "SELECT IF(CHAR_LENGTH(DATABASE()) > 58, CONCAT('ferry:', MD5(DATABASE())), CONCAT('ferry:', DATABASE()))";

// A user-level lock belongs to the session that took it: the server drops it when that
// session ends, so a killed ferry never leaves a stale lock behind.
class session_lock final : public migration_lock {
public:
    session_lock(connection& conn, std::chrono::seconds timeout) : conn_(conn) {
        {
            auto r = conn_.query(lock_name_sql);
            if (!r->next() || r->is_null(0))
                throw lock_error("cannot name the migration lock: the connection has no current database");
            name_ = r->text(0);
        }
        const std::array<value, 2> params{std::string_view(name_), static_cast<std::int64_t>(timeout.count())};
        auto r = conn_.query("SELECT GET_LOCK(?, ?)", params);
        const bool answered = r->next();
        if (!answered || r->is_null(0))
            throw lock_error("GET_LOCK('" + name_ + "') failed on the server; the migration lock could not be taken");
        if (r->integer(0) != 1)
            throw lock_error("another ferry holds the migration lock '" + name_ + "' on this server (waited " +
                             std::to_string(timeout.count()) +
                             "s); wait for it to finish, then run this command again");
    }
    session_lock(const session_lock&) = delete;
    session_lock& operator=(const session_lock&) = delete;

    ~session_lock() override {
        try {
            const std::array<value, 1> params{std::string_view(name_)};
            conn_.query("SELECT RELEASE_LOCK(?)", params)->next();
        } catch (...) {
            // The server releases it anyway when the session closes.
        }
    }

private:
    connection& conn_;
    std::string name_;
};

// ---- tuple writer ---------------------------------------------------------------------------

// The most one relation tuple can weigh in a binary-protocol INSERT: two 36-byte UUIDs, two
// 8-byte integers, five texts of at most 64 characters of up to 4 bytes (the core refuses
// longer ones), a timestamp text and per-parameter type and length headers.
constexpr std::size_t worst_row_bytes = 2 * 36 + 2 * 8 + 5 * 64 * 4 + 32 + sdk::tuple_column_count * 11;
constexpr std::size_t max_rows_per_statement = 1000;

std::size_t rows_per_statement(std::int64_t max_allowed_packet) {
    // A quarter of the packet leaves room for the statement header and for servers that count
    // the packet differently; 1000 rows is already past the point where bigger batches pay.
    const auto budget = static_cast<std::size_t>(std::max<std::int64_t>(max_allowed_packet, 0)) / 4;
    return std::clamp<std::size_t>(budget / worst_row_bytes, 1, max_rows_per_statement);
}

// ---- the dialect ----------------------------------------------------------------------------

class mysql_dialect final : public dialect {
public:
    std::string_view migration_dialect() const override { return "mysql"; }
    // MySQL and MariaDB commit implicitly around every DDL statement.
    capabilities caps() const override { return {.transactional_ddl = false}; }

    std::unique_ptr<connection> open(const dsn& source) override {
        auto conn = drivers::mysql::open(source);
        auto r = conn->query("SELECT VERSION()");
        if (r->next()) mariadb_ = r->text(0).find("MariaDB") != std::string_view::npos;
        return conn;
    }

    std::span<const embedded_file> keto_migrations() const override { return keto_migration_files(); }

    std::vector<std::string> history_table_ddl(std::string_view table) const override {
        const auto t = std::string(table);
        return {
            "CREATE TABLE " + quote_identifier(t) + " (" + quote_identifier("version") + " VARCHAR(48) NOT NULL, " +
                quote_identifier("version_self") + " INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
            "CREATE UNIQUE INDEX " + quote_identifier(t + "_version_idx") + " ON " + quote_identifier(t) + " (" +
                quote_identifier("version") + ")",
            "CREATE INDEX " + quote_identifier(t + "_version_self_idx") + " ON " + quote_identifier(t) + " (" +
                quote_identifier("version_self") + ")",
        };
    }

    std::string quote_identifier(std::string_view name) const override {
        std::string out = "`";
        for (char c : name) {
            if (c == '`') out += '`';
            out += c;
        }
        return out + "`";
    }

    // DDL is not transactional here, so an interrupted drop can leave the table without one of
    // its indexes; MariaDB's IF EXISTS makes the re-run pass. MySQL (through 8.4) has no
    // DROP INDEX IF EXISTS, so there the index must exist.
    std::string drop_index_sql(std::string_view index, std::string_view table) const override {
        return std::string("DROP INDEX ") + (mariadb_ ? "IF EXISTS " : "") + quote_identifier(index) + " ON " +
               quote_identifier(table);
    }

    std::unique_ptr<migration_lock> acquire_migration_lock(connection& conn, const dsn&,
                                                           std::chrono::seconds timeout) override {
        return std::make_unique<session_lock>(conn, timeout);
    }

    std::vector<std::string> list_tables(connection& conn) override {
        std::vector<std::string> names;
        auto r = conn.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND "
            "table_type = 'BASE TABLE' ORDER BY table_name");
        while (r->next()) names.emplace_back(r->text(0));
        return names;
    }

    // A session of its own: the writer's session cannot take another command while a streamed
    // result is open on it. Its consistent snapshot is InnoDB MVCC: it sees the table as of
    // now and takes no lock, so nobody waits for the reader and the reader waits for nobody.
    std::unique_ptr<legacy_reader> open_legacy_reader(connection&, const dsn& source,
                                                      std::string_view table) override {
        auto conn = drivers::mysql::open(source);
        // The server stops sending while the writer works on a batch; without a generous write
        // timeout a slow batch would make it drop the reader mid-table.
        conn->execute("SET SESSION net_write_timeout = 3600");
        conn->begin_read_only_snapshot();
        return sdk::make_query_reader(std::move(conn), "SELECT " + std::string(sdk::legacy_columns) + " FROM " +
                                                           quote_identifier(table));
    }

    std::unique_ptr<tuple_writer> open_tuple_writer(connection& conn, std::string_view table) override {
        const auto packet = query_integer(conn, "SELECT @@max_allowed_packet");
        return sdk::make_batched_insert_writer(conn, table, rows_per_statement(packet));
    }

    // Answers from information_schema, which lists the current account's global and
    // database-level grants (ALL PRIVILEGES expanded). When privileges may also come from
    // where it does not look (active roles, MariaDB's PUBLIC, table-level grants) the answer
    // is "nothing known missing": refusing a session that can write would be worse.
    std::vector<std::string> missing_write_privileges(connection& conn) override {
        std::vector<std::string> missing;
        if (!grants_fully_visible(conn)) return missing;
        std::vector<std::string> held;
        auto r = conn.query("SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = " +
                            std::string(grantee_sql) +
                            " UNION SELECT privilege_type FROM information_schema.schema_privileges WHERE grantee = " +
                            std::string(grantee_sql) + " AND DATABASE() LIKE table_schema");
        while (r->next()) held.emplace_back(r->text(0));
        r.reset();
        auto holds = [&](std::string_view p) { return std::find(held.begin(), held.end(), p) != held.end(); };
        // What migrations (CREATE/DROP TABLE, CREATE/DROP INDEX, RENAME through ALTER), the
        // copy and the bookkeeping tables need.
        const std::string target = quote_identifier(single_text(conn, "SELECT DATABASE()")) + ".*";
        for (std::string_view p : {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "INDEX"})
            if (!holds(p)) missing.push_back(std::string(p) + " on " + target);

        // read_only refuses writes from accounts without SUPER (MariaDB: READ_ONLY ADMIN).
        if (query_integer(conn, "SELECT @@global.read_only") != 0 && !holds("SUPER") && !holds("READ_ONLY ADMIN"))
            missing.push_back("a server that is not read-only (read_only is ON), or SUPER");
        return missing;
    }

private:
    // information_schema names accounts 'user'@'host'; CURRENT_USER() says user@host, and the
    // user part may itself contain '@'.
    static constexpr std::string_view grantee_sql =
        "CONCAT('''', SUBSTRING(CURRENT_USER(), 1, CHAR_LENGTH(CURRENT_USER()) - "
        "CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1), '''@''', "
        "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

    static bool grants_fully_visible(connection& conn) {
        try {
            // MySQL 8 says NONE, MariaDB NULL; MySQL 5.7 has no roles and no CURRENT_ROLE().
            if (single_text(conn, "SELECT COALESCE(CURRENT_ROLE(), 'NONE')") != "NONE") return false;
        } catch (const sql_error&) {
        }
        if (query_integer(conn, "SELECT COUNT(*) FROM information_schema.table_privileges WHERE grantee = " +
                                    std::string(grantee_sql) + " AND table_schema = DATABASE()") > 0)
            return false;
        // Grants to PUBLIC (MariaDB 10.11+) apply to every account but information_schema
        // lists them for administrators only; SHOW GRANTS shows them to everyone.
        std::vector<std::string> public_targets;
        {
            auto r = conn.query("SHOW GRANTS");
            while (r->next()) {
                const auto line = r->text(0);
                const auto to = line.rfind(" TO PUBLIC");
                const auto on = line.find(" ON ");
                if (to != std::string_view::npos && on != std::string_view::npos && on < to)
                    public_targets.emplace_back(line.substr(on + 4, to - on - 4));
            }
        }
        for (const auto& target : public_targets) {
            if (target.starts_with("*.")) return false;
            if (!target.starts_with("`")) continue;  // PROCEDURE, FUNCTION, PACKAGE grants
            std::string pattern;
            for (std::size_t i = 1; i < target.size(); ++i) {
                if (target[i] == '`') {
                    if (i + 1 < target.size() && target[i + 1] == '`') {
                        pattern += '`';
                        ++i;
                        continue;
                    }
                    break;
                }
                pattern += target[i];
            }
            const std::array<value, 1> p{std::string_view(pattern)};
            if (query_integer(conn, "SELECT DATABASE() LIKE ?", p) != 0) return false;
        }
        return true;
    }

    static std::string single_text(connection& conn, const std::string& sql) {
        auto r = conn.query(sql);
        if (!r->next() || r->is_null(0)) return {};
        return std::string(r->text(0));
    }

    bool mariadb_ = false;
};

}  // namespace
}  // namespace ferry::dialects::mysql

FERRY_DEFINE_PLUGIN("mysql", "1.0.0", ferry::dialects::mysql::mysql_dialect, "mysql")
