// ferry::connection over SQLiteCpp.
#pragma once

#include <memory>
#include <string>

#include <ferry/connection.hpp>
#include <ferry/dsn.hpp>

namespace ferry::drivers::sqlite {

class sqlite_connection : public connection {
public:
    // The file (or in-memory database) this connection opened; empty for memory databases.
    virtual const std::string& file_path() const = 0;
    // True when SQLite opened the database read-only (mode=ro, or the file is not writable).
    virtual bool read_only() const = 0;
};

// Opens the database a sqlite:// DSN names. Honours `_fk`, `mode` (ro, rw, rwc, memory) and
// `cache` (shared, private) as go-sqlite3 does; other parameters are ignored.
std::unique_ptr<sqlite_connection> open(const dsn& source);

}  // namespace ferry::drivers::sqlite
