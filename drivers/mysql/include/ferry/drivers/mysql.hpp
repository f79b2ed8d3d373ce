// ferry::connection over MySQL Connector/C++ 1.1 (the JDBC-like API), for MySQL and MariaDB.
#pragma once

#include <memory>
#include <string>

#include <ferry/connection.hpp>
#include <ferry/dsn.hpp>

namespace ferry::drivers::mysql {

class mysql_connection : public connection {
public:
    // Opens a read-only transaction whose InnoDB snapshot is taken now: a reader that sees one
    // instant of the database and holds no lock that could block a writer.
    virtual void begin_read_only_snapshot() = 0;
};

// Opens the database a mysql:// DSN names, in Keto's (go-sql-driver's) form
// user:pass@tcp(host:port)/db?params or unix(/socket). Every session uses utf8mb4 and UTC
// (TIMESTAMP values are read and written as the same instant, whatever the server's zone).
//
// Query parameters, as go-sql-driver reads them:
//   parseTime, multiStatements, loc, charset, collation and the driver's other switches are
//     accepted and ignored (ferry always parses times itself and always uses utf8mb4);
//   timeout, readTimeout, writeTimeout: Go durations ("10s", "1m30s", "500ms");
//   tls: false | true | skip-verify | preferred;
//   anything else names a session variable: `SET SESSION name = value`, value verbatim.
std::unique_ptr<mysql_connection> open(const dsn& source);

}  // namespace ferry::drivers::mysql
