#include <ferry/drivers/mysql.hpp>

#include <cppconn/datatype.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <list>
#include <unordered_map>

#include <ferry/errors.hpp>

namespace ferry::drivers::mysql {
namespace {

// ---- error translation ----------------------------------------------------------------------

// Server and client error numbers this driver gives a meaning to (mysqld_error.h, errmsg.h).
enum : int {
    er_dbaccess_denied = 1044,
    er_access_denied = 1045,
    er_server_shutdown = 1053,
    er_tableaccess_denied = 1142,
    er_columnaccess_denied = 1143,
    er_lock_wait_timeout = 1205,
    er_lock_deadlock = 1213,
    er_specific_access_denied = 1227,
    er_option_prevents_statement = 1290,  // --read-only, --super-read-only
    er_procaccess_denied = 1370,
    er_access_denied_no_password = 1698,
    er_connection_killed = 1927,  // MariaDB
    er_client_interaction_timeout = 4031,  // MySQL 8
    cr_connection_error = 2002,
    cr_conn_host_error = 2003,
    cr_unknown_host = 2005,
    cr_server_gone = 2006,
    cr_server_lost = 2013,
    cr_server_lost_extended = 2055,
};

// The one place that decides what a MySQL failure means to the caller. Every message passes
// through redact_password: client libraries sometimes echo connection details.
[[noreturn]] void rethrow(const sql::SQLException& e, std::string_view doing, const dsn& source) {
    const int code = e.getErrorCode();
    const std::string& state = e.getSQLState();
    std::string detail = e.what();
    if (detail.empty()) detail = "unknown error";
    std::string message = std::string(doing) + ": " + detail;
    if (code != 0) {
        message += " (MySQL error " + std::to_string(code);
        if (!state.empty() && state != "HY000") message += ", SQLSTATE " + state;
        message += ")";
    }
    message = redact_password(std::move(message), source);
    switch (code) {
    case er_access_denied:
    case er_access_denied_no_password:
        throw connection_error(message + "; check the user name and password in the DSN");
    case er_dbaccess_denied:
    case er_tableaccess_denied:
    case er_columnaccess_denied:
    case er_specific_access_denied:
    case er_procaccess_denied:
        throw permission_error(message + "; grant the DSN's user this privilege or use another user");
    case er_option_prevents_statement:
        throw permission_error(message + "; the server (or this session) is read-only");
    case cr_connection_error:
    case cr_conn_host_error:
        throw connection_error(message + "; is a MySQL/MariaDB server listening at that address?");
    case cr_unknown_host:
        throw connection_error(message + "; check the host name in the DSN");
    case cr_server_gone:
    case cr_server_lost:
    case cr_server_lost_extended:
    case er_server_shutdown:
    case er_connection_killed:
    case er_client_interaction_timeout:
        throw connection_error(message);
    case er_lock_deadlock:
    case er_lock_wait_timeout:
        throw serialization_error(message, state.empty() ? std::to_string(code) : state);
    default:
        // HY000 is MySQL's "general error": the native number says more.
        throw sql_error(message, state.empty() || state == "HY000" ? std::to_string(code) : state);
    }
}

// ---- DSN parameters -------------------------------------------------------------------------

// go-sql-driver switches that change nothing here: ferry parses times itself, always speaks
// utf8mb4, splits scripts itself and always uses server-side prepared statements.
constexpr std::array ignored_params{
    std::string_view("parseTime"),         std::string_view("multiStatements"),
    std::string_view("loc"),               std::string_view("charset"),
    std::string_view("collation"),         std::string_view("allowNativePasswords"),
    std::string_view("allowOldPasswords"), std::string_view("allowCleartextPasswords"),
    std::string_view("allowAllFiles"),     std::string_view("allowFallbackToPlaintext"),
    std::string_view("clientFoundRows"),   std::string_view("columnsWithAlias"),
    std::string_view("interpolateParams"), std::string_view("maxAllowedPacket"),
    std::string_view("rejectReadOnly"),    std::string_view("checkConnLiveness"),
    std::string_view("strict"),            std::string_view("serverPubKey"),
    std::string_view("connectionAttributes"),
};

[[noreturn]] void bad_duration(std::string_view key, std::string_view text) {
    throw config_error("DSN parameter " + std::string(key) + "=" + std::string(text) +
                       " is not a duration; write e.g. 10s, 1m30s or 500ms");
}

// A Go duration ("10s", "1m30s", "1.5h", "250ms") in whole seconds, rounded up so that a
// short timeout never becomes "no timeout" (0).
unsigned go_duration_seconds(std::string_view key, std::string_view text) {
    auto fail = [&] { bad_duration(key, text); };
    if (text.empty()) fail();
    if (text == "0") return 0;
    double total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t start = i;
        while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
        if (i == start) fail();
        double number = 0;
        try {
            number = std::stod(std::string(text.substr(start, i - start)));
        } catch (const std::exception&) {
            fail();
        }
        const std::size_t unit_start = i;
        while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
        const auto unit = text.substr(unit_start, i - unit_start);
        double scale = 0;
        if (unit == "h") scale = 3600;
        else if (unit == "m") scale = 60;
        else if (unit == "s") scale = 1;
        else if (unit == "ms") scale = 1e-3;
        else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e-6;
        else if (unit == "ns") scale = 1e-9;
        else fail();
        total += number * scale;
    }
    if (total > 365.0 * 24 * 3600) fail();
    return static_cast<unsigned>(std::ceil(total));
}

bool is_identifier(std::string_view s) {
    return !s.empty() && !std::isdigit(static_cast<unsigned char>(s.front())) &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

struct session_options {
    sql::ConnectOptionsMap connect;
    std::vector<std::string> init_statements;  // run in order after connecting
};

session_options options_for(const dsn& source) {
    session_options out;
    auto& o = out.connect;
    if (source.database.empty())
        throw config_error("the mysql DSN names no database; write mysql://USER:PASSWORD@tcp(HOST:PORT)/DATABASE");
    if (!source.host.empty() && source.host.front() == '/') {
        o["hostName"] = sql::SQLString("unix://" + source.host);
    } else {
        // tcp:// makes the client use TCP even for "localhost", as go-sql-driver does; a bare
        // "localhost" would silently go through the default unix socket instead.
        const std::string host = source.host.empty() ? "127.0.0.1" : source.host;
        const bool v6 = host.find(':') != std::string::npos;
        o["hostName"] = sql::SQLString("tcp://" + (v6 ? "[" + host + "]" : host) + ":" +
                                       std::to_string(source.port.value_or(3306)));
    }
    o["userName"] = sql::SQLString(source.user);
    o["password"] = sql::SQLString(source.password.value_or(""));
    o["schema"] = sql::SQLString(source.database);
    // utf8mb4 for what we send and for what the server sends back: Connector/C++ 1.1 defaults
    // both to 3-byte utf8, which turns 4-byte characters into '?'.
    o["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    o["characterSetResults"] = sql::SQLString("utf8mb4");
    // A silent reconnect would drop the open transaction and the migration lock with it.
    o["OPT_RECONNECT"] = false;
    // An unreachable host should fail in seconds, not after the kernel's TCP timeout.
    o["OPT_CONNECT_TIMEOUT"] = 10;
    // UTC in every session: TIMESTAMP values are converted to the session zone on the way
    // out and back on the way in, and only a zone without DST round-trips every instant.
    out.init_statements.emplace_back("SET time_zone = '+00:00'");

    for (const auto& [key, value] : source.params) {
        if (std::find(ignored_params.begin(), ignored_params.end(), key) != ignored_params.end()) continue;
        if (key == "timeout") {
            o["OPT_CONNECT_TIMEOUT"] = static_cast<int>(go_duration_seconds(key, value));
        } else if (key == "readTimeout") {
            o["OPT_READ_TIMEOUT"] = static_cast<int>(go_duration_seconds(key, value));
        } else if (key == "writeTimeout") {
            o["OPT_WRITE_TIMEOUT"] = static_cast<int>(go_duration_seconds(key, value));
        } else if (key == "tls") {
            if (value == "true" || value == "skip-verify") {
                o["sslEnforce"] = true;
                o["sslVerify"] = value == "true";
            } else if (value != "false" && value != "preferred") {
                throw config_error("DSN parameter tls=" + value +
                                   " is not supported; use tls=true, skip-verify, preferred or false");
            }
        } else if (is_identifier(key)) {
            // go-sql-driver's rule: any other parameter is a system variable for the session.
            if (value.empty())
                throw config_error("DSN parameter " + key + " has no value; session variables need one, e.g. " +
                                   key + "=%27VALUE%27");
            out.init_statements.push_back("SET SESSION " + key + " = " + value);
        } else {
            throw config_error("DSN parameter \"" + key + "\" is neither a known option nor a session variable name");
        }
    }
    return out;
}

// ---- sessions, results, statements ----------------------------------------------------------

// What a connection shares with the results and statements it hands out: the driver's
// connection outlives them all, whatever order the caller destroys things in.
struct session {
    dsn source;  // for redaction only
    std::unique_ptr<sql::Connection> conn;
    // A streamed result reads straight off the socket; until it is exhausted or destroyed the
    // protocol allows no other command on this session.
    bool streaming = false;

    void check_idle(std::string_view doing) const {
        if (streaming)
            throw usage_error(std::string(doing) +
                              ": a streamed result is still open on this MySQL connection; read it to the end "
                              "or destroy it first (or use a second connection)");
    }
};

void bind(sql::PreparedStatement& ps, std::span<const value> params) {
    unsigned index = 1;
    for (const auto& p : params) {
        if (is_null(p))
            ps.setNull(index, sql::DataType::VARCHAR);
        else if (auto* i = std::get_if<std::int64_t>(&p))
            ps.setInt64(index, *i);
        else {
            const auto text = text_of(p);
            ps.setString(index, sql::SQLString(text.data(), text.size()));
        }
        ++index;
    }
}

class mysql_rows final : public rows {
public:
    // `streamed`: the result is read row by row off the socket (constant memory) and blocks
    // the session until done; otherwise it was buffered by the client and blocks nothing.
    // `stmt` produced `rs` and must outlive it.
    mysql_rows(std::shared_ptr<session> s, std::unique_ptr<sql::Statement> stmt, std::unique_ptr<sql::ResultSet> rs,
               bool streamed)
        : s_(std::move(s)), stmt_(std::move(stmt)), rs_(std::move(rs)),
          cells_(rs_->getMetaData()->getColumnCount()), streamed_(streamed) {
        if (streamed_) s_->streaming = true;
    }
    mysql_rows(const mysql_rows&) = delete;
    mysql_rows& operator=(const mysql_rows&) = delete;
    ~mysql_rows() override { close(); }

    bool next() override {
        if (!rs_) return false;
        try {
            if (rs_->next()) return true;
        } catch (const sql::SQLException& e) {
            close();
            rethrow(e, "reading rows", s_->source);
        }
        close();
        return false;
    }
    bool is_null(int column) const override {
        try {
            return rs_->isNull(index(column));
        } catch (const sql::SQLException& e) {
            rethrow(e, "reading a column", s_->source);
        }
    }
    std::string_view text(int column) const override {
        try {
            // Copy-assigning reuses the cell's buffer: no allocation per row once warm.
            auto& cell = cells_.at(static_cast<std::size_t>(column));
            cell = rs_->getString(index(column)).asStdString();
            return cell;
        } catch (const sql::SQLException& e) {
            rethrow(e, "reading a column", s_->source);
        }
    }
    std::int64_t integer(int column) const override {
        try {
            return rs_->getInt64(index(column));
        } catch (const sql::SQLException& e) {
            rethrow(e, "reading a column", s_->source);
        }
    }

private:
    static std::uint32_t index(int column) { return static_cast<std::uint32_t>(column) + 1; }

    // Freeing an unfinished streamed result makes the client read and discard the rest of it,
    // which is what leaves the session usable again.
    void close() noexcept {
        try {
            rs_.reset();
            stmt_.reset();
        } catch (...) {
            // Nothing to report to: a broken session says so at its next command.
        }
        if (streamed_) s_->streaming = false;
        streamed_ = false;
    }

    std::shared_ptr<session> s_;
    std::unique_ptr<sql::Statement> stmt_;
    std::unique_ptr<sql::ResultSet> rs_;
    mutable std::vector<std::string> cells_;
    bool streamed_;
};

class mysql_prepared final : public prepared_statement {
public:
    mysql_prepared(std::shared_ptr<session> s, std::string_view sql) : s_(std::move(s)) {
        s_->check_idle("preparing a statement");
        try {
            ps_.reset(s_->conn->prepareStatement(sql::SQLString(sql.data(), sql.size())));
            // The metadata object belongs to the statement.
            returns_rows_ = ps_->getMetaData()->getColumnCount() > 0;
        } catch (const sql::SQLException& e) {
            rethrow(e, "preparing statement", s_->source);
        }
    }

    std::uint64_t execute(std::span<const value> params) override {
        s_->check_idle("executing a prepared statement");
        try {
            bind(*ps_, params);
            if (returns_rows_) {
                // The rows must be read before the session takes another command.
                std::unique_ptr<sql::ResultSet> rs(ps_->executeQuery());
                while (rs->next()) {
                }
                return 0;
            }
            const int affected = ps_->executeUpdate();
            return affected > 0 ? static_cast<std::uint64_t>(affected) : 0;
        } catch (const sql::SQLException& e) {
            rethrow(e, "executing statement", s_->source);
        }
    }

private:
    std::shared_ptr<session> s_;
    std::unique_ptr<sql::PreparedStatement> ps_;
    bool returns_rows_ = false;
};

// A parameterised query: prepared afresh so that its result never shares a statement with
// another, and buffered by the client (these are small lookups).
std::unique_ptr<rows> query_prepared(const std::shared_ptr<session>& s, std::string_view sql,
                                     std::span<const value> params) {
    s->check_idle("running a query");
    try {
        std::unique_ptr<sql::PreparedStatement> ps(s->conn->prepareStatement(sql::SQLString(sql.data(), sql.size())));
        bind(*ps, params);
        std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
        return std::make_unique<mysql_rows>(s, std::move(ps), std::move(rs), false);
    } catch (const sql::SQLException& e) {
        rethrow(e, "running query", s->source);
    }
}

// ---- scripts --------------------------------------------------------------------------------

// Splits a migration file into statements at each ';' that ends a line (trailing blanks and
// comments allowed) outside quotes and comments. Statements holding only comments and blanks
// are dropped. Quotes: '...', "...", `...` with doubled-quote and backslash escapes as MySQL
// reads them; comments: -- (followed by a blank), #, /* */.
std::vector<std::string> split_script(std::string_view script) {
    std::vector<std::string> out;
    std::string current;
    bool has_code = false;
    auto flush = [&] {
        if (has_code) out.push_back(current);
        current.clear();
        has_code = false;
    };
    // MySQL needs a blank after "--" for it to open a comment.
    auto starts_line_comment = [&](std::size_t i) {
        return script.substr(i, 2) == "--" &&
               (i + 2 >= script.size() || std::isspace(static_cast<unsigned char>(script[i + 2])));
    };
    // True when only blanks and comments follow position `i` up to the end of its line.
    auto rest_of_line_is_blank = [&](std::size_t i) {
        while (i < script.size()) {
            const char c = script[i];
            if (c == '\n') return true;
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i;
                continue;
            }
            if (c == '#' || starts_line_comment(i)) return true;
            if (script.substr(i, 2) == "/*") {
                const auto end = script.find("*/", i + 2);
                if (end == std::string_view::npos) return true;  // reported when the scan gets there
                if (script.substr(i, end - i).find('\n') != std::string_view::npos) return true;
                i = end + 2;
                continue;
            }
            return false;
        }
        return true;
    };
    std::size_t i = 0;
    while (i < script.size()) {
        const char c = script[i];
        if (c == '\'' || c == '"' || c == '`') {
            const std::size_t start = i++;
            bool closed = false;
            while (i < script.size()) {
                if (script[i] == '\\' && c != '`') {
                    i += 2;
                    continue;
                }
                if (script[i] == c) {
                    if (i + 1 < script.size() && script[i + 1] == c) {
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                ++i;
            }
            if (!closed)
                throw sql_error("the script has an unterminated " + std::string(1, c) + " quote starting at byte " +
                                std::to_string(start));
            current.append(script.substr(start, i - start));
            has_code = true;
            continue;
        }
        if (c == '#' || starts_line_comment(i)) {
            const auto end = script.find('\n', i);
            const auto stop = end == std::string_view::npos ? script.size() : end;
            current.append(script.substr(i, stop - i));
            i = stop;
            continue;
        }
        if (c == '/' && script.substr(i, 2) == "/*") {
            const auto end = script.find("*/", i + 2);
            if (end == std::string_view::npos)
                throw sql_error("the script has an unterminated /* comment starting at byte " + std::to_string(i));
            // /*!50100 ... */ and MariaDB's /*M!... */ are executable comments: code.
            if (script.substr(i, 3) == "/*!" || script.substr(i, 4) == "/*M!") has_code = true;
            current.append(script.substr(i, end + 2 - i));
            i = end + 2;
            continue;
        }
        if (c == ';' && rest_of_line_is_blank(i + 1)) {
            flush();
            ++i;
            continue;
        }
        if (!std::isspace(static_cast<unsigned char>(c))) has_code = true;
        current += c;
        ++i;
    }
    flush();
    return out;
}

// The first line of a statement, for messages that must say which one failed.
std::string first_line(std::string_view sql) {
    const auto begin = sql.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return {};
    sql.remove_prefix(begin);
    auto line = sql.substr(0, sql.find('\n'));
    if (line.size() > 100) return std::string(line.substr(0, 100)) + "...";
    return std::string(line);
}

// ---- the connection -------------------------------------------------------------------------

class connection_impl final : public mysql_connection {
public:
    explicit connection_impl(const dsn& source) : s_(std::make_shared<session>()) {
        s_->source = source;
        auto options = options_for(source);
        try {
            s_->conn.reset(sql::mysql::get_mysql_driver_instance()->connect(options.connect));
        } catch (const sql::SQLException& e) {
            rethrow(e, "connecting", source);
        }
        for (const auto& stmt : options.init_statements) run(stmt, "setting up the session");
    }

    void begin_read_only_snapshot() override {
        if (in_transaction_) throw usage_error("a transaction is already open on this connection");
        run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "starting a read-only snapshot");
        in_transaction_ = true;
    }

    void execute(std::string_view sql, std::span<const value> params) override {
        if (params.empty()) {
            run(sql, "executing statement");
            return;
        }
        cached(sql).execute(params);
    }

    void execute_script(std::string_view script) override {
        const auto statements = split_script(script);
        for (std::size_t n = 0; n < statements.size(); ++n)
            run(statements[n], "executing script statement " + std::to_string(n + 1) + " of " +
                                   std::to_string(statements.size()) + " (" + first_line(statements[n]) + ")");
    }

    std::unique_ptr<rows> query(std::string_view sql, std::span<const value> params) override {
        if (!params.empty()) return query_prepared(s_, sql, params);
        s_->check_idle("running a query");
        try {
            std::unique_ptr<sql::Statement> stmt(s_->conn->createStatement());
            // A forward-only plain statement uses mysql_use_result: rows come off the socket one
            // at a time instead of being buffered whole by the client.
            stmt->setResultSetType(sql::ResultSet::TYPE_FORWARD_ONLY);
            std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery(sql::SQLString(sql.data(), sql.size())));
            return std::make_unique<mysql_rows>(s_, std::move(stmt), std::move(rs), true);
        } catch (const sql::SQLException& e) {
            rethrow(e, "running query", s_->source);
        }
    }

    std::unique_ptr<prepared_statement> prepare(std::string_view sql) override {
        return std::make_unique<mysql_prepared>(s_, sql);
    }

    void begin() override {
        if (in_transaction_) throw usage_error("a transaction is already open on this connection");
        run("START TRANSACTION", "starting a transaction");
        in_transaction_ = true;
    }
    void commit() override {
        run("COMMIT", "committing");
        in_transaction_ = false;
    }
    void rollback() override {
        in_transaction_ = false;
        run("ROLLBACK", "rolling back");
    }
    bool in_transaction() const override { return in_transaction_; }

private:
    // One statement without parameters; any rows it returns are read and dropped.
    void run(std::string_view sql, std::string_view doing) {
        s_->check_idle(doing);
        try {
            std::unique_ptr<sql::Statement> stmt(s_->conn->createStatement());
            if (stmt->execute(sql::SQLString(sql.data(), sql.size()))) {
                std::unique_ptr<sql::ResultSet> rs(stmt->getResultSet());
                while (rs && rs->next()) {
                }
            }
        } catch (const sql::SQLException& e) {
            rethrow(e, doing, s_->source);
        }
    }

    // Statements run with parameters are prepared once per connection and kept, most recently
    // used first; the oldest is closed when the cache is full (the server caps them per server).
    mysql_prepared& cached(std::string_view sql) {
        const std::string key(sql);
        if (auto it = by_sql_.find(key); it != by_sql_.end()) {
            statements_.splice(statements_.begin(), statements_, it->second);
            return *it->second->second;
        }
        auto ps = std::make_unique<mysql_prepared>(s_, sql);
        if (statements_.size() >= max_cached_statements) {
            by_sql_.erase(statements_.back().first);
            statements_.pop_back();
        }
        statements_.emplace_front(key, std::move(ps));
        by_sql_[key] = statements_.begin();
        return *statements_.front().second;
    }

    static constexpr std::size_t max_cached_statements = 64;

    std::shared_ptr<session> s_;
    bool in_transaction_ = false;
    // Declared after s_: the cached statements are closed before the session can go.
    using cache_list = std::list<std::pair<std::string, std::unique_ptr<mysql_prepared>>>;
    cache_list statements_;
    std::unordered_map<std::string, cache_list::iterator> by_sql_;
};

}  // namespace

std::unique_ptr<mysql_connection> open(const dsn& source) { return std::make_unique<connection_impl>(source); }

}  // namespace ferry::drivers::mysql
