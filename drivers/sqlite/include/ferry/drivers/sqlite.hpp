// ferry::connection over SQLiteCpp.
#pragma once

#include <cstdint>
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
// Every write transaction (begin()) charges SQLite's journal bitmap for the file's size to the
// connection's page cache budget (the cache_size in effect at open), so that a transaction's
// memory does not grow with the database (docs/benchmarks.md, "SQLite's memory").
std::unique_ptr<sqlite_connection> open(const dsn& source);

// The most memory SQLite's pager holds, during one write transaction in a rollback-journal
// mode, for its record of which of the file's `page_count` pages are already journaled:
// 512 bytes up to 3,968 pages, 63 x 512 up to 246,016, 3,907 x 512 (almost 2 MiB) beyond.
std::int64_t journal_bitmap_bytes(std::int64_t page_count);

}  // namespace ferry::drivers::sqlite
