// The smallest database surface the core needs. A plugin implements it over its driver and
// translates every driver exception into ferry::error types (errors.hpp).
//
// SQL handed to a connection uses `?` for parameters whatever the dialect; a driver whose
// server wants another marker ($1, :name) rewrites them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace ferry {

// A bound parameter: SQL NULL, an integer, owned text, or borrowed text. Borrowed text
// (string_view) lets the hot path bind row data without copying it; it must outlive the call
// that binds it. Timestamps travel as text ("YYYY-MM-DD HH:MM:SS[.ffffff]") so that every
// dialect parses them on its own side.
using value = std::variant<std::monostate, std::int64_t, std::string, std::string_view>;

inline bool is_null(const value& v) { return std::holds_alternative<std::monostate>(v); }
inline bool is_integer(const value& v) { return std::holds_alternative<std::int64_t>(v); }
// The text of a string or string_view value; empty for NULL and integers.
inline std::string_view text_of(const value& v) {
    if (auto* s = std::get_if<std::string>(&v)) return *s;
    if (auto* s = std::get_if<std::string_view>(&v)) return *s;
    return {};
}

// A forward-only, streaming result. Column accessors are valid until the next call to next().
// Drivers may stream from the server: read it to the end or destroy it before running the
// next statement on the same connection.
class rows {
public:
    virtual ~rows() = default;
    // Advances to the next row; false once exhausted.
    virtual bool next() = 0;
    virtual bool is_null(int column) const = 0;
    virtual std::string_view text(int column) const = 0;
    virtual std::int64_t integer(int column) const = 0;
};

// A statement prepared once and executed many times with new parameters (the hot path).
class prepared_statement {
public:
    virtual ~prepared_statement() = default;
    // Binds `params` (as many as the statement has markers) and executes. Returns rows affected
    // where the driver knows, else 0.
    virtual std::uint64_t execute(std::span<const value> params) = 0;
};

class connection {
public:
    virtual ~connection() = default;

    // Runs one statement without results.
    virtual void execute(std::string_view sql, std::span<const value> params = {}) = 0;
    // Runs a script of several statements (a migration file) exactly as written.
    virtual void execute_script(std::string_view script) = 0;
    // Runs a query and streams its rows.
    virtual std::unique_ptr<rows> query(std::string_view sql, std::span<const value> params = {}) = 0;
    virtual std::unique_ptr<prepared_statement> prepare(std::string_view sql) = 0;

    // Transactions do not nest; begin() while one is open is a usage error.
    virtual void begin() = 0;
    virtual void commit() = 0;
    virtual void rollback() = 0;
    virtual bool in_transaction() const = 0;
};

// Runs a query expected to return at most one row with one integer column.
inline std::int64_t query_integer(connection& conn, std::string_view sql,
                                  std::span<const value> params = {}) {
    auto r = conn.query(sql, params);
    return r->next() && !r->is_null(0) ? r->integer(0) : 0;
}

// Rolls back on scope exit unless commit() was called: no path leaves a transaction open.
class transaction {
public:
    explicit transaction(connection& conn) : conn_(conn) { conn_.begin(); }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    ~transaction() {
        if (!done_) {
            try {
                conn_.rollback();
            } catch (...) {
                // The original error is already propagating; a failed rollback ends the session anyway.
            }
        }
    }
    void commit() {
        conn_.commit();
        done_ = true;
    }

private:
    connection& conn_;
    bool done_ = false;
};

}  // namespace ferry
