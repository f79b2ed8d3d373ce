// migration_set: file names VERSION_NAME[.DIALECT].(up|down).sql, the choice of the dialect's
// file over the generic one, the errors for incomplete or malformed sets, and checksums.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <ferry/core/deferred_indexes.hpp>
#include <ferry/core/migrations.hpp>
#include <ferry/errors.hpp>
#include "../support/text.hpp"

using ferry::test::contains;

using ferry::core::migration_file;
using ferry::core::migration_set;
using files = std::vector<migration_file>;

namespace {

// The message of the migration_error `f` throws; fails the test when it throws nothing.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const ferry::migration_error& e) {
        return e.what();
    }
    FAIL("expected a migration_error");
    return {};
}

}  // namespace

TEST_SUITE("migration set") {

TEST_CASE("file names: version, name and direction; versions ordered as strings") {
    auto set = migration_set::from_files(
        {
            {"20210623162417000001_relationtuple.up.sql", "CREATE INDEX a ON t (x);"},
            {"20210623162417000001_relationtuple.down.sql", "DROP INDEX a;"},
            {"20150100000001000000_networks.sqlite3.up.sql", "CREATE TABLE networks (id TEXT);"},
            {"20150100000001000000_networks.sqlite3.down.sql", "DROP TABLE networks;"},
            {"9_nine.up.sql", "SELECT 9;"},
            {"9_nine.down.sql", ""},
            {"10_ten-with-dashes_and_underscores.up.sql", "SELECT 10;"},
            {"10_ten-with-dashes_and_underscores.down.sql", ""},
        },
        "sqlite3");
    const auto& ms = set.migrations();
    REQUIRE(ms.size() == 4);
    // Compared as strings, as popx does: "10" < "2015..." < "2021..." < "9".
    CHECK(ms[0].version == "10");
    CHECK(ms[0].name == "ten-with-dashes_and_underscores");
    CHECK(ms[1].version == "20150100000001000000");
    CHECK(ms[1].name == "networks");
    CHECK(ms[1].up_file == "20150100000001000000_networks.sqlite3.up.sql");
    CHECK(ms[1].down_file == "20150100000001000000_networks.sqlite3.down.sql");
    CHECK(ms[1].up == "CREATE TABLE networks (id TEXT);");
    CHECK(ms[1].down == "DROP TABLE networks;");
    CHECK(ms[2].version == "20210623162417000001");
    CHECK(ms[2].name == "relationtuple");
    CHECK(ms[3].version == "9");
    CHECK(ms[3].down_is_empty());
}

TEST_CASE("dialect choice: the dialect's file wins per direction, other dialects are ignored") {
    const files input{
        {"1_a.up.sql", "generic up"},
        {"1_a.sqlite3.up.sql", "sqlite up"},
        {"1_a.postgres.up.sql", "postgres up"},
        {"1_a.down.sql", "generic down"},
        {"1_a.mysql.down.sql", "mysql down"},
        {"2_only_cockroach.cockroach.up.sql", "crdb up"},
        {"2_only_cockroach.cockroach.down.sql", "crdb down"},
    };
    SUBCASE("sqlite3") {
        auto set = migration_set::from_files(input, "sqlite3");
        REQUIRE(set.migrations().size() == 1);
        const auto& m = set.migrations()[0];
        CHECK(m.up == "sqlite up");
        CHECK(m.up_file == "1_a.sqlite3.up.sql");
        CHECK(m.down == "generic down");
        CHECK(m.down_file == "1_a.down.sql");
    }
    SUBCASE("mysql") {
        auto set = migration_set::from_files(input, "mysql");
        REQUIRE(set.migrations().size() == 1);
        CHECK(set.migrations()[0].up == "generic up");
        CHECK(set.migrations()[0].down == "mysql down");
    }
    SUBCASE("cockroach") {
        auto set = migration_set::from_files(input, "cockroach");
        REQUIRE(set.migrations().size() == 2);
        CHECK(set.migrations()[0].up == "generic up");
        CHECK(set.migrations()[0].down == "generic down");
        CHECK(set.migrations()[1].version == "2");
        CHECK(set.migrations()[1].name == "only_cockroach");
        CHECK(set.migrations()[1].up == "crdb up");
    }
}

TEST_CASE("empty and blank files are empty migrations") {
    auto set = migration_set::from_files({{"1_a.up.sql", ""}, {"1_a.down.sql", " \n\t\r\n"}, {"2_b.up.sql", "-"},
                                          {"2_b.down.sql", "x"}},
                                         "postgres");
    REQUIRE(set.migrations().size() == 2);
    CHECK(set.migrations()[0].up_is_empty());
    CHECK(set.migrations()[0].down_is_empty());
    CHECK_FALSE(set.migrations()[1].up_is_empty());
    CHECK_FALSE(set.migrations()[1].down_is_empty());
}

TEST_CASE("a missing down or up file is an error naming the migration and the dialect") {
    SUBCASE("no down") {
        auto msg = error_of([] { migration_set::from_files({{"7_seven.up.sql", "x"}}, "sqlite3"); });
        CHECK(contains(msg, "7_seven"));
        CHECK(contains(msg, "no down file"));
        CHECK(contains(msg, "sqlite3"));
    }
    SUBCASE("no up") {
        auto msg = error_of([] { migration_set::from_files({{"7_seven.down.sql", "x"}}, "mysql"); });
        CHECK(contains(msg, "7_seven"));
        CHECK(contains(msg, "no up file"));
        CHECK(contains(msg, "mysql"));
    }
    SUBCASE("the down file exists only for another dialect") {
        auto msg = error_of([] {
            migration_set::from_files({{"7_seven.up.sql", "x"}, {"7_seven.postgres.down.sql", "y"}}, "sqlite3");
        });
        CHECK(contains(msg, "no down file"));
    }
    SUBCASE("but a version whose files all belong to another dialect is simply absent") {
        auto set = migration_set::from_files({{"7_seven.postgres.up.sql", "x"}}, "sqlite3");
        CHECK(set.migrations().empty());
    }
}

TEST_CASE("malformed names and unknown dialect suffixes are errors naming the file") {
    for (const std::string bad : {"create_table.up.sql",   // no version
                                  "_x.up.sql",             // empty version
                                  "1.up.sql",              // no name
                                  "1_x.sql",               // no direction
                                  "1_x.sideways.sql",      // bad direction
                                  "1_x.UP.sql",            // directions are lower case
                                  "1_x.up.sql.orig",       // not .sql at the end
                                  "1_x.oracle.up.sql",     // unknown dialect
                                  "1_x.sqlite.up.sql",     // the dialect is called sqlite3
                                  "1_x.sqlite3.postgres.up.sql", "v1_x.up.sql"}) {
        INFO("file " << bad);
        auto msg = error_of([&] {
            migration_set::from_files({{"2_ok.up.sql", "x"}, {"2_ok.down.sql", "y"}, {bad, "z"}}, "sqlite3");
        });
        CHECK(contains(msg, "\"" + bad + "\""));
    }
}

TEST_CASE("a file given twice or a version with two names is an error") {
    auto twice = error_of([] {
        migration_set::from_files({{"1_a.up.sql", "x"}, {"1_a.up.sql", "y"}, {"1_a.down.sql", ""}}, "sqlite3");
    });
    CHECK(contains(twice, "1_a.up.sql"));
    auto names = error_of([] {
        migration_set::from_files({{"1_a.up.sql", "x"}, {"1_b.down.sql", "y"}}, "sqlite3");
    });
    CHECK(contains(names, "\"a\""));
    CHECK(contains(names, "\"b\""));
}

TEST_CASE("checksums: CRC-32 of the up script, stable and content-only") {
    CHECK(ferry::core::checksum_of("") == "crc32:00000000");
    CHECK(ferry::core::checksum_of("123456789") == "crc32:cbf43926");  // the CRC-32 check value
    CHECK(ferry::core::checksum_of("CREATE TABLE t (id INTEGER);\n") == "crc32:63828d82");

    const std::string up = "CREATE TABLE t (id INTEGER);\n";
    auto a = migration_set::from_files({{"1_a.up.sql", up}, {"1_a.down.sql", "DROP TABLE t;"}}, "sqlite3");
    auto b = migration_set::from_files({{"1_a.postgres.up.sql", up}, {"1_a.down.sql", "something else"}}, "postgres");
    // Same up text, any file name, any dialect, any down: same checksum.
    CHECK(a.migrations()[0].checksum == "crc32:63828d82");
    CHECK(b.migrations()[0].checksum == a.migrations()[0].checksum);
    // One byte more (a trailing newline) is a change.
    auto c = migration_set::from_files({{"1_a.up.sql", up + "\n"}, {"1_a.down.sql", ""}}, "sqlite3");
    CHECK(c.migrations()[0].checksum != a.migrations()[0].checksum);
    // The chosen file's text is what is summed.
    auto d = migration_set::from_files(
        {{"1_a.up.sql", "generic"}, {"1_a.sqlite3.up.sql", up}, {"1_a.down.sql", ""}}, "sqlite3");
    CHECK(d.migrations()[0].checksum == a.migrations()[0].checksum);
}

TEST_CASE("from_directory reads *.sql files only and refuses a missing directory") {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / "ferry-unit-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    const fs::path dir = pattern;
    auto put = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir / name, std::ios::binary) << content;
    };
    put("1_a.up.sql", "CREATE TABLE a (id INTEGER);");
    put("1_a.down.sql", "DROP TABLE a;");
    put("README.md", "not a migration");
    put("1_a.up.sql~", "editor backup");
    fs::create_directory(dir / "2_sub.up.sql");  // a directory, not a file

    auto set = migration_set::from_directory(dir, "sqlite3");
    REQUIRE(set.migrations().size() == 1);
    CHECK(set.migrations()[0].up == "CREATE TABLE a (id INTEGER);");
    CHECK(set.migrations()[0].checksum == ferry::core::checksum_of("CREATE TABLE a (id INTEGER);"));

    CHECK_THROWS_AS(migration_set::from_directory(dir / "missing", "sqlite3"), ferry::config_error);
    fs::remove_all(dir);
}

TEST_CASE("deferrable indexes: a migration whose up is one CREATE INDEX on keto_relation_tuples, nothing else") {
    auto index_of = [](std::string up) {
        ferry::core::migration m;
        m.up = std::move(up);
        return ferry::core::index_created_by(m);
    };
    // Keto's own, as shipped (multi-line, partial).
    CHECK(index_of("CREATE INDEX keto_relation_tuples_subject_sets_idx\n    ON keto_relation_tuples (nid, namespace_id, "
                   "object, relation,\n   subject_set_namespace_id, subject_set_object, subject_set_relation)\n"
                   "    WHERE subject_id IS NULL;\n") == "keto_relation_tuples_subject_sets_idx");
    CHECK(index_of("create index full_idx on keto_relation_tuples (nid, commit_time)") == "full_idx");
    // Anything else is maintained during the copy, never dropped.
    CHECK(index_of("CREATE UNIQUE INDEX u ON keto_relation_tuples (nid, object);").empty());
    CHECK(index_of("CREATE INDEX other_idx ON networks (created_at);").empty());
    CHECK(index_of("CREATE INDEX a ON keto_relation_tuples (nid); DROP TABLE networks;").empty());
    CHECK(index_of("CREATE TABLE keto_relation_tuples (shard_id UUID);").empty());
    CHECK(index_of("").empty());
}

}  // TEST_SUITE
