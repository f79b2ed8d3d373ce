// A data source name, parsed once by the core and handed to the plugin that serves its scheme.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry {

struct dsn {
    // Scheme as written by the user: "sqlite", "postgres", "postgresql", "mysql", "cockroach".
    // The Keto shorthand "memory" is expanded to its sqlite form before parsing.
    std::string scheme;
    std::string user;
    std::optional<std::string> password;  // never printed: use redacted()
    std::string host;
    std::optional<unsigned> port;
    // Database name for servers; the file path (or ":memory:" / "file::memory:") for SQLite.
    std::string database;
    // Query parameters in their original order, percent-decoded. Keto's pool options
    // (max_conns, max_idle_conns, max_conn_lifetime, max_conn_idle_time) are removed.
    std::vector<std::pair<std::string, std::string>> params;

    std::optional<std::string> param(std::string_view key) const {
        for (const auto& [k, v] : params)
            if (k == key) return v;
        return std::nullopt;
    }

    // The DSN with the password replaced by "xxxxx": safe for any message or log line.
    // Query parameters whose name contains "pass" or "pwd" are masked the same way. Keto's
    // pool options are gone (they were stripped while parsing), and a mysql DSN is always
    // rendered in go-sql-driver's form: user@tcp(host:port)/db, or unix(/path) for a socket.
    std::string redacted() const;
};

// Parses every form Keto accepts (spec 5.2). Throws config_error naming what is malformed,
// without echoing the password.
// Unknown schemes parse as URLs (the plugin registry rejects them). User, password, host,
// database and query values are percent-decoded ('+' is a space in query values only); a '%'
// that does not start a %XX escape is an error. For mysql, `tcp(host:port)` and
// `unix(/socket)` (host = the socket path, no port) are accepted besides host:port.
dsn parse_dsn(std::string_view text);

// Replaces every occurrence of the DSN's password in `text` (driver messages sometimes echo it),
// decoded and percent-encoded, and likewise the values of secret query parameters.
std::string redact_password(std::string text, const dsn& source);

}  // namespace ferry
