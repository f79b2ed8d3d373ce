#include "fixture.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

namespace ferry::test {
namespace {

const char* non_empty_env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

bool ci_requested() {
    const char* v = non_empty_env("CI");
    if (!v) return false;
    std::string s(v);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s == "true" || s == "1" || s == "yes";
}

std::string scheme_of(const target& t) {
    return t.dialect == "sqlite" ? std::string("sqlite") : parse_dsn(t.server_dsn).scheme;
}

}  // namespace

target& current_target() {
    static target t{"sqlite", {}};
    return t;
}

const core::plugin_registry& registry() {
    static const core::plugin_registry reg = core::plugin_registry::load({FERRY_TEST_PLUGIN_DIR});
    return reg;
}

std::optional<int> select_target_from_environment() {
    target t;
    t.dialect = non_empty_env("FERRY_CONFORMANCE_DIALECT") ? non_empty_env("FERRY_CONFORMANCE_DIALECT") : "sqlite";
    if (t.dialect == "postgres" || t.dialect == "mysql") {
        std::string upper = t.dialect;
        std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
        const std::string var = "FERRY_TEST_" + upper + "_DSN";
        const char* server = non_empty_env(var.c_str());
        if (!server) {
            if (ci_requested()) {
                std::cerr << "FAILED: " << t.dialect << ": " << var
                          << " not set, and CI=true requires every dialect to be tested; point it at an empty "
                             "database the tests may wipe\n";
                return 1;
            }
            std::cout << "SKIPPED: " << t.dialect << ": " << var << " not set\n";
            return 77;
        }
        t.server_dsn = server;
    } else if (t.dialect != "sqlite") {
        std::cerr << "FAILED: FERRY_CONFORMANCE_DIALECT=" << t.dialect
                  << " is not a dialect this harness knows; use sqlite, postgres or mysql\n";
        return 1;
    }
    std::string scheme;
    try {
        scheme = scheme_of(t);
    } catch (const ferry::error& e) {
        std::cerr << "FAILED: " << t.dialect << ": the test DSN does not parse: " << e.what() << '\n';
        return 1;
    }
    const auto& reg = registry();
    const bool served = std::any_of(reg.plugins().begin(), reg.plugins().end(), [&](const core::plugin_info& p) {
        return std::find(p.schemes.begin(), p.schemes.end(), scheme) != p.schemes.end();
    });
    if (!served) {
        std::cerr << "FAILED: " << t.dialect << ": no plugin in " << FERRY_TEST_PLUGIN_DIR << " serves " << scheme
                  << "://";
        for (const auto& r : reg.refused()) std::cerr << "; refused " << r.file.string() << ": " << r.reason;
        std::cerr << '\n';
        return 1;
    }
    std::cout << "conformance dialect: " << t.dialect << '\n';
    current_target() = std::move(t);
    return std::nullopt;
}

std::vector<spec_migration> expected_keto_migrations(std::string_view migration_dialect) {
    std::vector<spec_migration> out;
    for (const auto& m : keto_v07_migrations)
        if (m.mysql || migration_dialect != "mysql") out.push_back(m);
    return out;
}

std::vector<std::string> expected_keto_versions(std::string_view migration_dialect) {
    std::vector<std::string> out;
    for (const auto& m : keto_v07_migrations)
        if (m.mysql || migration_dialect != "mysql") out.emplace_back(m.version);
    return out;
}

std::vector<std::string> expected_keto_names(std::string_view migration_dialect) {
    std::vector<std::string> out;
    for (const auto& m : keto_v07_migrations)
        if (m.mysql || migration_dialect != "mysql") out.emplace_back(m.name);
    return out;
}

// ---------------------------------------------------------------------------------------------

db_fixture::db_fixture() : dir_("ferry-conformance") {
    const auto& t = current_target();
    if (t.dialect == "sqlite")
        dsn_ = "sqlite://" + (dir_.path() / "ferry.db").string() + "?_fk=true";
    else
        dsn_ = t.server_dsn;
    db_ = core::open_database(registry(), parse_dsn(dsn_));
    if (t.dialect != "sqlite") drop_all_tables();
}

db_fixture::~db_fixture() = default;

core::database db_fixture::open_another() const { return core::open_database(registry(), parse_dsn(dsn_)); }

process_result db_fixture::cli(const std::vector<std::string>& args, std::string stdin_text, env_overrides env) {
    std::vector<std::string> full{"--dsn", dsn_};
    full.insert(full.end(), args.begin(), args.end());
    run_options options;
    options.stdin_text = std::move(stdin_text);
    options.env = std::move(env);
    options.cwd = dir();
    return run_ferry(full, std::move(options));
}

std::vector<std::string> db_fixture::tables() {
    auto names = dialect().list_tables(conn());
    std::sort(names.begin(), names.end());
    return names;
}

bool db_fixture::has_table(std::string_view name) {
    auto names = tables();
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> db_fixture::history(std::string_view table) {
    std::vector<std::string> versions;
    if (!has_table(table)) return versions;
    auto r = conn().query("SELECT version FROM " + q(table));
    while (r->next()) versions.emplace_back(r->text(0));
    std::sort(versions.begin(), versions.end());
    return versions;
}

std::int64_t db_fixture::count_rows(std::string_view table) {
    return query_integer(conn(), "SELECT COUNT(*) FROM " + q(table));
}

void db_fixture::create_history(std::string_view table, const std::vector<std::string>& versions) {
    for (const auto& stmt : dialect().history_table_ddl(table)) exec(stmt);
    for (const auto& v : versions) {
        std::array<value, 1> p{std::string_view(v)};
        conn().execute("INSERT INTO " + q(table) + " (version) VALUES (?)", p);
    }
}

void db_fixture::drop_all_tables() {
    for (int pass = 0; pass < 10; ++pass) {
        auto names = tables();
        if (names.empty()) return;
        std::string last_error;
        for (const auto& name : names) {
            try {
                exec("DROP TABLE " + q(name));
            } catch (const ferry::error& e) {
                last_error = name + ": " + e.what();  // probably referenced by another table; retry next pass
            }
        }
        if (pass == 9 && !last_error.empty())
            throw std::runtime_error("cannot empty the test database: " + last_error);
    }
    if (!tables().empty()) throw std::runtime_error("cannot empty the test database");
}

namespace {

std::string padded_id(std::int64_t id) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(id));
    return digits;
}

}  // namespace

std::string db_fixture::legacy_tuple_table(std::int64_t namespace_id) {
    return "keto_" + padded_id(namespace_id) + "_relation_tuples";
}

std::string db_fixture::legacy_history_table(std::int64_t namespace_id) {
    return "keto_namespace_" + padded_id(namespace_id) + "_migrations";
}

void db_fixture::create_v06_main() {
    create_history("schema_migration", {"20201110175414"});
    exec("CREATE TABLE " + q("keto_namespace") + " (" + q("id") + " INTEGER PRIMARY KEY, " + q("schema_version") +
         " INTEGER NOT NULL)");
}

void db_fixture::create_legacy_tuple_table(std::string_view t) {
    exec("CREATE TABLE " + q(t) + " (" + q("shard_id") + " VARCHAR(64), " + q("object") + " VARCHAR(64), " +
         q("relation") + " VARCHAR(64), " + q("subject") + " VARCHAR(256), " + q("commit_time") +
         " TIMESTAMP, PRIMARY KEY (" + q("shard_id") + ", " + q("object") + ", " + q("relation") + ", " +
         q("subject") + ", " + q("commit_time") + "))");
}

void db_fixture::create_legacy_namespace(std::int64_t namespace_id) {
    const auto t = legacy_tuple_table(namespace_id);
    create_legacy_tuple_table(t);
    exec("CREATE INDEX " + q(t + "_object_idx") + " ON " + q(t) + " (" + q("object") + ")");
    exec("CREATE INDEX " + q(t + "_user_set_idx") + " ON " + q(t) + " (" + q("object") + ", " + q("relation") + ")");
    create_history(legacy_history_table(namespace_id), {"20210128140414"});
}

process_result db_fixture::seed(const std::vector<std::string>& args) {
    std::vector<std::string> full{"--dsn", dsn_, "--plugin-dir", FERRY_TEST_PLUGIN_DIR};
    full.insert(full.end(), args.begin(), args.end());
    run_options options;
    options.cwd = dir();
    options.env = {{"DSN", std::nullopt}, {"FERRY_PLUGIN_PATH", std::nullopt}};
    options.timeout = std::chrono::seconds(600);
    return run_process(FERRY_TEST_SEED_BIN, full, options);
}

}  // namespace ferry::test
