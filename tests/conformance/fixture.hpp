// The conformance fixture: one database of the dialect under test per test case, the loaded
// plugin registry, and the ferry CLI of this build. Test bodies use only what is here, generic
// SQL and the dialect interface, so one body runs on every dialect.
//
// The dialect comes from FERRY_CONFORMANCE_DIALECT (sqlite | postgres | mysql). SQLite gets a
// fresh database file per test case in its own temp dir; a server dialect reuses the database
// named by FERRY_TEST_<DIALECT>_DSN and starts every test case by dropping every table
// dialect::list_tables() reports.
//
// The installed kit (ferry-conformance) runs the same cases against any plugin: see
// configure_kit(). Its DSN template (--dsn / FERRY_CONFORMANCE_DSN) replaces the dialect choice.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/core/plugins.hpp>

#include "../support/process.hpp"

namespace ferry::test {

struct target {
    std::string dialect;     // sqlite | postgres | mysql | cockroach; with dsn_template, the serving plugin's name
    std::string server_dsn;  // from FERRY_TEST_<X>_DSN; empty for sqlite
    // --dsn / FERRY_CONFORMANCE_DSN, for any plugin (a third party's): "{dir}" becomes each test
    // case's scratch directory, so a file database is fresh per case; without "{dir}" every
    // table of the database is dropped before each case, as for servers.
    std::string dsn_template;
    // False when testing a plugin through a DSN template: a case that checks what only a
    // shipped dialect does (by its name) must skip itself then.
    bool shipped() const { return dsn_template.empty(); }
};

// What the cases run: this build's ferry-seed and plugin directory (and ferry_binary()) by
// default, or the ones next to the running binary when it is installed.
struct kit_paths {
    std::string seed;
    std::string plugin_dir;
};
kit_paths& kit();

// Takes the kit's own options out of argv (the rest is doctest's), else their variables:
//   --plugin-dir DIR      FERRY_CONFORMANCE_PLUGIN_DIR  plugins to load (only these, in process)
//   --ferry PATH          FERRY_CONFORMANCE_FERRY       the ferry binary under test
//   --ferry-seed PATH     FERRY_CONFORMANCE_SEED        the ferry-seed binary
//   --dsn TEMPLATE        FERRY_CONFORMANCE_DSN         see target::dsn_template (the variable
//                                                       counts only when FERRY_CONFORMANCE_DIALECT
//                                                       is unset; the flag always)
// Returns the exit code main() must return now (bad usage), else nullopt.
std::optional<int> configure_kit(int& argc, char** argv);

// Set once by main() before any test runs.
target& current_target();

// Whether this run tests SQLite, from FERRY_CONFORMANCE_DIALECT alone: usable in doctest
// decorators (doctest::skip), which are evaluated before main() selects the target.
bool conformance_on_sqlite();
// Whether this run tests a plugin through a DSN template (ferry-conformance --dsn, or
// FERRY_CONFORMANCE_DSN without FERRY_CONFORMANCE_DIALECT); usable in decorators too. Then no
// shipped dialect is under test, and conformance_on_sqlite() is false.
bool testing_a_plugin_by_dsn();

// What the catalog says about a table (db_fixture::describe_table). Types are the catalog's own
// spelling, lowercased, with the character length appended where the catalog keeps it apart
// (information_schema: "character varying(64)", "char(36)"; SQLite: the declared type).
struct column_shape {
    std::string name;
    std::string type;
    bool nullable = true;
};
struct index_shape {
    std::string name;
    std::vector<std::string> columns;  // in index order
    bool unique = false;
    // The partial-index predicate, lowercased, without parentheses, whitespace collapsed;
    // empty when the index is not partial.
    std::string where;
};
struct table_shape {
    std::vector<column_shape> columns;     // in table order
    std::vector<std::string> primary_key;  // in key order
    std::vector<index_shape> indexes;      // by name; the primary key's own index excluded
};

// The plugins of kit().plugin_dir (this build's by default), loaded once.
const core::plugin_registry& registry();

// PostgreSQL and CockroachDB share the catalog queries and session functions the fixture uses.
bool speaks_postgres(std::string_view dialect);
// FERRY_TEST_<DIALECT>_READONLY_DSN.
std::string read_only_dsn_variable(std::string_view dialect);

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

    // Runs `ferry --dsn <other_dsn> args...` in dir(): another user, a wrong password, ...
    process_result cli_as(const std::string& other_dsn, const std::vector<std::string>& args,
                          std::string stdin_text = {}, env_overrides env = {});
    // Starts `ferry --dsn <dsn> args...` in dir() in the background.
    background_process cli_background(const std::vector<std::string>& args, env_overrides env = {},
                                      std::chrono::seconds timeout = std::chrono::seconds(120));

    // --- the few things that differ per dialect, in one place (shipped dialects only: a case
    // using them skips itself for a plugin tested by DSN) ---
    // The catalog's view of `table` in the current schema/database (SQLite: pragma table_info,
    // index_list, index_info; PostgreSQL and MySQL: information_schema.columns and
    // key_column_usage, indexes from pg_index / information_schema.statistics).
    table_shape describe_table(std::string_view table);
    // A DSN on this database for a user that may read everything and write nothing:
    // FERRY_TEST_<X>_READONLY_DSN for a server (nullopt when unset), the database file opened
    // with mode=ro for SQLite.
    std::optional<std::string> read_only_dsn() const;
    // This DSN with another password (servers only).
    std::string dsn_with_password(std::string_view password) const;
    // This DSN pointing at host:port, with the dialect's connect timeout set to `seconds`
    // (servers only).
    std::string dsn_with_address(std::string_view host, unsigned port, int seconds) const;
    // Makes statements on `c` give up waiting for locks after `seconds` (and, where the server
    // has it, stop running after `seconds`) instead of waiting indefinitely. Does nothing for a
    // plugin tested by DSN.
    void limit_waits(connection& c, int seconds);
    // Ends, from a session of its own, every other server session of this test's database user
    // on this database, except the fixture's own and `keep`: Ferry's sessions, killed by the
    // server. PostgreSQL: pg_terminate_backend of application_name 'ferry'; MySQL: KILL of the
    // user's connections. Returns how many were ended. Servers only.
    int kill_other_sessions(const std::vector<connection*>& keep = {});

    // --- database inspection, generic over dialects ---
    std::vector<std::string> tables();
    // Every table with its row count, one per line: "changes nothing" means this stays the same.
    // The lease table of a lease-locked dialect is left out: a run the server killed cannot
    // release its lease, which then expires by design.
    std::string snapshot();
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

// A namespace config for a test: {id, name} pairs, passed to ferry as NAMESPACES (JSON).
struct ns_def {
    std::int64_t id;
    std::string name;
};
using ns_list = std::vector<ns_def>;
std::string namespaces_json(const ns_list& cfg);

// ---- what many cases share -----------------------------------------------------------------

// An index as one line, "name (a,b) UNIQUE WHERE predicate", for comparing catalogs.
std::string render_index(const std::string& name, const std::string& columns, bool unique, const std::string& where);
// The table's secondary indexes rendered so, sorted.
std::vector<std::string> rendered_indexes(const table_shape& t);

// CI=true (or 1, yes): every dialect must be tested, and nothing may be skipped for want of a
// server or user.
bool ci_requested();
// The dialect under test (current_target().dialect).
const std::string& dialect_name();
// For doctest::skip: the case needs a shipped server dialect (no meaning on SQLite, nor for a
// third party's plugin tested by DSN).
bool not_a_shipped_server();

extern const std::vector<std::string> legacy_yes;  // namespace migrate legacy --yes
// `env` plus NAMESPACES holding `cfg` as JSON.
env_overrides with_namespaces(const ns_list& cfg, env_overrides env = {});
// ferry migrate up --yes, which must succeed.
void migrate_up(db_fixture& fx);
// Rows of namespace `ns` in keto_relation_tuples.
std::int64_t tuples_of(db_fixture& fx, std::int64_t ns);
// Namespace id -> rows of its legacy table.
std::map<std::int64_t, std::int64_t> legacy_counts(db_fixture& fx, const ns_list& cfg);

}  // namespace ferry::test
