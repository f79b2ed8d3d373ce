// The conformance fixture: one database of the dialect under test per test case, the loaded
// plugin registry, and the ferry CLI of this build. Test bodies use only what is here, generic
// SQL and the dialect interface, so one body runs on every dialect.
//
// The dialect comes from FERRY_CONFORMANCE_DIALECT (sqlite | postgres | mysql). SQLite gets a
// fresh database file per test case in its own temp dir; a server dialect reuses the database
// named by FERRY_TEST_<DIALECT>_DSN and starts every test case by dropping every table
// dialect::list_tables() reports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/core/plugins.hpp>

#include "../support/process.hpp"

namespace ferry::test {

struct target {
    std::string dialect;     // sqlite | postgres | mysql
    std::string server_dsn;  // from FERRY_TEST_<X>_DSN; empty for sqlite
};

// Set once by main() before any test runs.
target& current_target();

// Plugins of this build (FERRY_TEST_PLUGIN_DIR), loaded once.
const core::plugin_registry& registry();

// Reads FERRY_CONFORMANCE_DIALECT and the server DSN variable, checks that a plugin serves the
// dialect. Returns nullopt to go on running tests, or the exit code main() must return now
// (77 = skipped) after printing why.
std::optional<int> select_target_from_environment();

// Spec 2.1: Keto's v0.7 migration set, in execution order. `mysql` false = not shipped for
// MySQL; *_empty = the file has no content (recorded without running).
struct spec_migration {
    std::string_view version;
    std::string_view name;
    bool mysql;
    bool up_empty;
    bool down_empty;
};
inline constexpr spec_migration keto_v07_migrations[] = {
    {"20150100000001000000", "networks", true, false, false},
    {"20201110175414000000", "relationtuple", true, false, true},
    {"20201110175414000001", "relationtuple", true, true, false},
    {"20210623162417000000", "relationtuple", true, false, true},
    {"20210623162417000001", "relationtuple", true, false, false},
    {"20210623162417000002", "relationtuple", false, false, true},
    {"20210623162417000003", "relationtuple", false, false, true},
    {"20210914134624000000", "legacy-cleanup", true, false, false},
};
// The entries of spec 2.1 that `migration_dialect` (postgres, mysql, cockroach, sqlite3) ships.
std::vector<spec_migration> expected_keto_migrations(std::string_view migration_dialect);
// The versions of spec 2.1 that `migration_dialect` (postgres, mysql, cockroach, sqlite3) ships, ascending.
std::vector<std::string> expected_keto_versions(std::string_view migration_dialect);
// Their names, parallel to expected_keto_versions().
std::vector<std::string> expected_keto_names(std::string_view migration_dialect);

class db_fixture {
public:
    db_fixture();
    ~db_fixture();
    db_fixture(const db_fixture&) = delete;
    db_fixture& operator=(const db_fixture&) = delete;

    const std::string& dsn() const { return dsn_; }
    core::database& db() { return db_; }
    ferry::dialect& dialect() { return *db_.dialect; }
    connection& conn() { return *db_.conn; }
    // A second, independent session on the same database.
    core::database open_another() const;
    // Scratch directory of this test case (migration files, config files); removed afterwards.
    const std::filesystem::path& dir() const { return dir_.path(); }

    // Runs `ferry --dsn <dsn> args...` in dir().
    process_result cli(const std::vector<std::string>& args, std::string stdin_text = {},
                         env_overrides env = {});

    // --- database inspection, generic over dialects ---
    std::vector<std::string> tables();
    bool has_table(std::string_view name);
    // The versions in a history table, sorted ascending; empty when the table does not exist.
    std::vector<std::string> history(std::string_view table = "schema_migration");
    std::int64_t count_rows(std::string_view table);
    void exec(std::string_view sql) { conn().execute(sql); }
    std::string q(std::string_view identifier) { return dialect().quote_identifier(identifier); }
    // Creates a popx-shaped history table holding exactly `versions`.
    void create_history(std::string_view table, const std::vector<std::string>& versions);
    // Drops every table list_tables() returns (dependency order found by retrying).
    void drop_all_tables();

    // --- Keto v0.6 layout (spec 1), generic types and dialect::quote_identifier only ---
    // schema_migration holding 20201110175414, and an empty keto_namespace (spec 1.1, 1.3).
    void create_v06_main();
    // keto_NNNNNNNNNN_relation_tuples with the DDL of spec 1.2 and its two indexes, plus
    // keto_namespace_NNNNNNNNNN_migrations holding 20210128140414 (spec 1.3).
    void create_legacy_namespace(std::int64_t namespace_id);
    // Only the tuple table of spec 1.2 (no indexes, no history), under any name.
    void create_legacy_tuple_table(std::string_view table);
    static std::string legacy_tuple_table(std::int64_t namespace_id);
    static std::string legacy_history_table(std::int64_t namespace_id);

    // Runs `ferry-seed --dsn <dsn> --plugin-dir <this build's plugins> args...` in dir().
    process_result seed(const std::vector<std::string>& args);

private:
    temp_dir dir_;
    std::string dsn_;
    core::database db_;
};

}  // namespace ferry::test
