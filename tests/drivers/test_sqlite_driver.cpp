// The SQLite driver's memory budget: every write transaction pays SQLite's journal bitmap from
// the page cache, so a long transaction on a large file holds no more than on a small one
// (drivers/sqlite/include/ferry/drivers/sqlite.hpp; measured in docs/benchmarks.md).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include <ferry/connection.hpp>
#include <ferry/drivers/sqlite.hpp>
#include <ferry/dsn.hpp>

#include "../support/process.hpp"

namespace sqlite = ferry::drivers::sqlite;

namespace {

std::unique_ptr<sqlite::sqlite_connection> open_file(const ferry::test::temp_dir& dir, const std::string& name) {
    return sqlite::open(ferry::parse_dsn("sqlite://" + (dir.path() / name).string()));
}

std::int64_t cache_size(ferry::connection& conn) { return ferry::query_integer(conn, "PRAGMA cache_size"); }

// Grows the file to at least `pages` pages of 4 KiB.
void grow(ferry::connection& conn, std::int64_t pages) {
    conn.execute("CREATE TABLE filler (b BLOB)", {});
    conn.execute("INSERT INTO filler VALUES (zeroblob(" + std::to_string(pages * 4096) + "))", {});
}

}  // namespace

TEST_SUITE("drivers: sqlite") {

TEST_CASE("journal_bitmap_bytes follows the shape of SQLite's Bitvec") {
    CHECK(sqlite::journal_bitmap_bytes(0) == 512);
    CHECK(sqlite::journal_bitmap_bytes(3968) == 512);
    CHECK(sqlite::journal_bitmap_bytes(3969) == 63 * 512);
    CHECK(sqlite::journal_bitmap_bytes(246016) == 63 * 512);
    CHECK(sqlite::journal_bitmap_bytes(246017) == 3907 * 512);
    CHECK(sqlite::journal_bitmap_bytes(15'252'992) == 3907 * 512);  // 62 x 62 x 3968 pages: 58 GiB
}

TEST_CASE("a write transaction pays the journal bitmap from the page cache budget") {
    ferry::test::temp_dir dir;
    auto conn = open_file(dir, "db");
    const std::int64_t budget_kib = -cache_size(*conn);
    REQUIRE(budget_kib > 64);  // SQLite's default: -2000, KiB

    SUBCASE("a small file: one node, 1 KiB rounded up") {
        conn->begin();
        CHECK(cache_size(*conn) == -(budget_kib - 1));
        conn->rollback();
    }
    SUBCASE("above 3,968 pages: 63 nodes, 32 KiB (31.5 rounded up)") {
        grow(*conn, 5000);
        conn->begin();
        CHECK(cache_size(*conn) == -(budget_kib - 32));
        conn->commit();
        SUBCASE("and a new connection to the same file does the same") {
            auto again = open_file(dir, "db");
            again->begin();
            CHECK(cache_size(*again) == -(budget_kib - 32));
            again->rollback();
        }
    }
    SUBCASE("a WAL database keeps no journal bitmap: the cache keeps its whole budget") {
        conn->execute("PRAGMA journal_mode = WAL", {});
        grow(*conn, 5000);
        auto wal = open_file(dir, "db");
        wal->begin();
        CHECK(cache_size(*wal) == -budget_kib);
        wal->rollback();
    }
}

}  // TEST_SUITE
