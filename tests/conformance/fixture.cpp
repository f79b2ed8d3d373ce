#include <nlohmann/json.hpp>
#include "fixture.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include <unistd.h>

#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

namespace fs = std::filesystem;

namespace ferry::test {
namespace {

const char* non_empty_env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}


// A DSN template with "{dir}" replaced by `dir`.
std::string expand_dsn(std::string text, const std::string& dir) {
    for (auto pos = text.find("{dir}"); pos != std::string::npos; pos = text.find("{dir}", pos + dir.size()))
        text.replace(pos, 5, dir);
    return text;
}

// The DSN template as messages may show it: its password masked.
std::string shown_template(const target& t) {
    try {
        return redact_password(t.dsn_template, parse_dsn(expand_dsn(t.dsn_template, "/tmp")));
    } catch (const ferry::error&) {
        return "(the DSN template)";
    }
}

std::string scheme_of(const target& t) {
    if (!t.dsn_template.empty()) return parse_dsn(expand_dsn(t.dsn_template, "/tmp")).scheme;
    return t.dialect == "sqlite" ? std::string("sqlite") : parse_dsn(t.server_dsn).scheme;
}

}  // namespace

bool conformance_on_sqlite() {
    const char* v = non_empty_env("FERRY_CONFORMANCE_DIALECT");
    return v ? std::string_view(v) == "sqlite" : !testing_a_plugin_by_dsn();
}

bool testing_a_plugin_by_dsn() {
    if (non_empty_env("FERRY_CONFORMANCE_DIALECT")) return false;
    if (non_empty_env("FERRY_CONFORMANCE_DSN")) return true;
    // Before main() (doctest decorators) the --dsn flag is only in the command line.
    std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
    for (std::string arg; std::getline(cmdline, arg, '\0');)
        if (arg == "--dsn" || arg.rfind("--dsn=", 0) == 0) return true;
    return false;
}

target& current_target() {
    static target t{"sqlite", {}, {}};
    return t;
}

kit_paths& kit() {
    static kit_paths paths{FERRY_TEST_SEED_BIN, FERRY_TEST_PLUGIN_DIR};
    return paths;
}

std::optional<int> configure_kit(int& argc, char** argv) {
    // Installed (not in this build's bin/): ferry, ferry-seed and the plugins of that prefix.
    std::error_code ec;
    const auto bin = fs::read_symlink("/proc/self/exe", ec).parent_path();
    if (!ec && !fs::equivalent(bin, fs::path(FERRY_TEST_SEED_BIN).parent_path(), ec)) {
        ferry_binary() = (bin / "ferry").string();
        kit().seed = (bin / "ferry-seed").string();
        kit().plugin_dir = core::plugin_search_path({}).back().string();
    }
    const std::pair<const char*, const char*> options[] = {{"--plugin-dir", "FERRY_CONFORMANCE_PLUGIN_DIR"},
                                                           {"--ferry", "FERRY_CONFORMANCE_FERRY"},
                                                           {"--ferry-seed", "FERRY_CONFORMANCE_SEED"},
                                                           {"--dsn", "FERRY_CONFORMANCE_DSN"}};
    // Flags become their variables (a flag wins over the environment), then variables are read.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        bool taken = false;
        for (const auto& [flag, var] : options) {
            const std::string prefix = std::string(flag) + "=";
            if (arg == flag) {
                if (i + 1 >= argc) {
                    std::cerr << "ferry-conformance: " << flag << " needs a value\n";
                    return 2;
                }
                ::setenv(var, argv[++i], 1);
                taken = true;
            } else if (arg.rfind(prefix, 0) == 0) {
                ::setenv(var, arg.c_str() + prefix.size(), 1);
                taken = true;
            }
            // --dsn given: it chooses, whatever FERRY_CONFORMANCE_DIALECT says.
            if (taken && flag == std::string_view("--dsn")) ::unsetenv("FERRY_CONFORMANCE_DIALECT");
        }
        if (!taken) argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = nullptr;
    if (const char* v = non_empty_env("FERRY_CONFORMANCE_PLUGIN_DIR")) kit().plugin_dir = v;
    if (const char* v = non_empty_env("FERRY_CONFORMANCE_FERRY")) ferry_binary() = v;
    if (const char* v = non_empty_env("FERRY_CONFORMANCE_SEED")) kit().seed = v;
    for (const auto& path : {ferry_binary(), kit().seed}) {
        if (::access(path.c_str(), X_OK) != 0) {
            std::cerr << "FAILED: " << path << " is not an executable; give --ferry and --ferry-seed\n";
            return 1;
        }
    }
    return std::nullopt;
}

bool speaks_postgres(std::string_view dialect) { return dialect == "postgres" || dialect == "cockroach"; }

std::string read_only_dsn_variable(std::string_view dialect) {
    std::string upper(dialect);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    return "FERRY_TEST_" + upper + "_READONLY_DSN";
}

const core::plugin_registry& registry() {
    static const core::plugin_registry reg = core::plugin_registry::load({kit().plugin_dir});
    return reg;
}

std::optional<int> select_target_from_environment() {
    target t;
    t.dialect = non_empty_env("FERRY_CONFORMANCE_DIALECT") ? non_empty_env("FERRY_CONFORMANCE_DIALECT") : "sqlite";
    // A dialect named in the environment (ctest's runs) wins over FERRY_CONFORMANCE_DSN.
    const char* custom = non_empty_env("FERRY_CONFORMANCE_DIALECT") ? nullptr : non_empty_env("FERRY_CONFORMANCE_DSN");
    if (custom) {
        t.dsn_template = custom;
        t.dialect.clear();  // the name of the plugin serving its scheme, below
    } else if (t.dialect == "postgres" || t.dialect == "mysql" || t.dialect == "cockroach") {
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
                  << " is not a dialect this harness knows; use sqlite, postgres, mysql or cockroach\n";
        return 1;
    }
    std::string scheme;
    try {
        scheme = scheme_of(t);
    } catch (const ferry::error& e) {
        std::cerr << "FAILED: " << (t.dialect.empty() ? std::string("--dsn") : t.dialect)
                  << ": the test DSN does not parse: " << e.what() << '\n';
        return 1;
    }
    const auto& reg = registry();
    const bool served = std::any_of(reg.plugins().begin(), reg.plugins().end(), [&](const core::plugin_info& p) {
        return std::find(p.schemes.begin(), p.schemes.end(), scheme) != p.schemes.end();
    });
    if (!served) {
        std::cerr << "FAILED: " << (t.dialect.empty() ? shown_template(t) : t.dialect) << ": no plugin in "
                  << kit().plugin_dir << " serves " << scheme
                  << "://";
        for (const auto& r : reg.refused()) std::cerr << "; refused " << r.file.string() << ": " << r.reason;
        std::cerr << '\n';
        return 1;
    }
    if (!t.dsn_template.empty()) {
        for (const auto& p : reg.plugins())
            if (std::find(p.schemes.begin(), p.schemes.end(), scheme) != p.schemes.end()) {
                t.dialect = p.name;
                std::cout << "conformance plugin: " << p.name << ' ' << p.version << " (" << p.file.string()
                          << "), DSN " << shown_template(t) << '\n';
            }
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
    if (!t.dsn_template.empty())
        dsn_ = expand_dsn(t.dsn_template, dir_.path().string());
    else if (t.dialect == "sqlite")
        dsn_ = "sqlite://" + (dir_.path() / "ferry.db").string() + "?_fk=true";
    else
        dsn_ = t.server_dsn;
    db_ = core::open_database(registry(), parse_dsn(dsn_));
    if (t.shipped() ? t.dialect != "sqlite" : t.dsn_template.find("{dir}") == std::string::npos) drop_all_tables();
}

db_fixture::~db_fixture() = default;

core::database db_fixture::open_another() const { return core::open_database(registry(), parse_dsn(dsn_)); }

namespace {

// `ferry --dsn <dsn> args...` run in the case's directory with the plugins under test (the
// build's own by default: the same directory ferry searches).
std::pair<std::vector<std::string>, run_options> ferry_run(const std::string& dsn, const std::vector<std::string>& args,
                                                           env_overrides env, const std::filesystem::path& cwd) {
    std::vector<std::string> full{"--dsn", dsn};
    full.insert(full.end(), args.begin(), args.end());
    run_options options;
    options.env = {{"FERRY_PLUGIN_PATH", kit().plugin_dir}};
    options.env.insert(options.env.end(), env.begin(), env.end());
    options.cwd = cwd;
    return {std::move(full), std::move(options)};
}

}  // namespace

process_result db_fixture::cli(const std::vector<std::string>& args, std::string stdin_text, env_overrides env) {
    return cli_as(dsn_, args, std::move(stdin_text), std::move(env));
}

process_result db_fixture::cli_as(const std::string& other_dsn, const std::vector<std::string>& args,
                                  std::string stdin_text, env_overrides env) {
    auto [full, options] = ferry_run(other_dsn, args, std::move(env), dir());
    options.stdin_text = std::move(stdin_text);
    return run_ferry(full, std::move(options));
}

background_process db_fixture::cli_background(const std::vector<std::string>& args, env_overrides env,
                                              std::chrono::seconds timeout) {
    auto [full, options] = ferry_run(dsn_, args, std::move(env), dir());
    options.timeout = timeout;
    return start_ferry(full, std::move(options));
}

// ---- per-dialect helpers ----------------------------------------------------------------------

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Lowercase, no parentheses, runs of whitespace as one space, no trailing ';'.
std::string normalized_predicate(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '(' || c == ')' || c == ';') continue;
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != ' ') out += ' ';
            continue;
        }
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// The per-dialect helpers know the shipped dialects only.
void require_shipped(const char* what) {
    const auto& t = current_target();
    if (!t.shipped() ||
        (t.dialect != "sqlite" && t.dialect != "postgres" && t.dialect != "mysql" && t.dialect != "cockroach"))
        throw std::logic_error(std::string(what) + " is known for the shipped dialects only (a test must skip "
                                                   "it for a plugin tested by DSN)");
}

void require_server(const char* what) {
    require_shipped(what);
    if (current_target().dialect == "sqlite")
        throw std::logic_error(std::string(what) + " has no meaning on SQLite (a test must skip it there)");
}

}  // namespace

table_shape db_fixture::describe_table(std::string_view table) {
    require_shipped("the catalog");
    table_shape shape;
    const std::array<value, 1> name{table};
    const auto& dialect_name = current_target().dialect;
    if (dialect_name == "sqlite") {
        {
            std::vector<std::pair<int, std::string>> pk;
            auto r = conn().query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", name);
            while (r->next()) {
                shape.columns.push_back({std::string(r->text(0)), lower(std::string(r->text(1))), r->integer(2) == 0});
                if (r->integer(3) > 0) pk.emplace_back(static_cast<int>(r->integer(3)), std::string(r->text(0)));
            }
            std::sort(pk.begin(), pk.end());
            for (auto& [pos, column] : pk) shape.primary_key.push_back(column);
        }
        std::vector<index_shape> indexes;
        {
            auto r = conn().query(
                "SELECT name, \"unique\", partial FROM pragma_index_list(?) WHERE origin <> 'pk' ORDER BY name", name);
            while (r->next()) {
                index_shape ix;
                ix.name = r->text(0);
                ix.unique = r->integer(1) != 0;
                ix.where = r->integer(2) != 0 ? "?" : "";  // the text comes from the index's SQL below
                indexes.push_back(std::move(ix));
            }
        }
        for (auto& ix : indexes) {
            const std::array<value, 1> index_name{std::string_view(ix.name)};
            {
                auto r = conn().query("SELECT name FROM pragma_index_info(?) ORDER BY seqno", index_name);
                while (r->next()) ix.columns.emplace_back(r->text(0));
            }
            if (!ix.where.empty()) {
                auto r = conn().query("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", index_name);
                std::string text = r->next() ? std::string(r->text(0)) : std::string();
                r.reset();
                const auto at = lower(text).rfind(" where ");
                ix.where = at == std::string::npos ? "(unreadable: " + text + ")" : normalized_predicate(text.substr(at + 7));
            }
        }
        shape.indexes = std::move(indexes);
        return shape;
    }

    // PostgreSQL and MySQL share information_schema; only the name of the current schema differs.
    const std::string schema = speaks_postgres(dialect_name) ? "current_schema()" : "DATABASE()";
    {
        auto r = conn().query("SELECT column_name, data_type, character_maximum_length, is_nullable "
                              "FROM information_schema.columns WHERE table_schema = " + schema +
                                  " AND table_name = ? ORDER BY ordinal_position",
                              name);
        while (r->next()) {
            std::string type = lower(std::string(r->text(1)));
            if (!r->is_null(2)) type += "(" + std::to_string(r->integer(2)) + ")";
            shape.columns.push_back({std::string(r->text(0)), type, r->text(3) == "YES"});
        }
    }
    {
        auto r = conn().query(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema "
            "AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name "
            "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = " + schema +
                " AND c.table_name = ? ORDER BY k.ordinal_position",
            name);
        while (r->next()) shape.primary_key.emplace_back(r->text(0));
    }
    if (speaks_postgres(dialect_name)) {
        auto r = conn().query(
            "SELECT c.relname, CASE WHEN i.indisunique THEN 1 ELSE 0 END, "
            "COALESCE(pg_get_expr(i.indpred, i.indrelid), ''), "
            "array_to_string(ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) "
            "FROM generate_series(1, i.indnatts) AS k ORDER BY k), ',') "
            "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = to_regclass(format('%I.%I', current_schema(), ?::text)) AND NOT i.indisprimary "
            "ORDER BY c.relname",
            name);
        while (r->next())
            shape.indexes.push_back({std::string(r->text(0)), split_list(r->text(3)), r->integer(1) != 0,
                                     normalized_predicate(r->text(2))});
    } else {
        auto r = conn().query(
            "SELECT index_name, column_name, non_unique FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' "
            "ORDER BY index_name, seq_in_index",
            name);
        while (r->next()) {
            const std::string index(r->text(0));
            if (shape.indexes.empty() || shape.indexes.back().name != index)
                shape.indexes.push_back({index, {}, r->integer(2) == 0, ""});
            shape.indexes.back().columns.emplace_back(r->text(1));
        }
    }
    return shape;
}

std::optional<std::string> db_fixture::read_only_dsn() const {
    require_shipped("a read-only user");
    const auto& t = current_target();
    if (t.dialect == "sqlite") return dsn_ + "&mode=ro";
    const char* v = non_empty_env(read_only_dsn_variable(t.dialect).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
}

std::string db_fixture::dsn_with_password(std::string_view password) const {
    require_server("a password");
    const auto parsed = parse_dsn(dsn_);
    if (!parsed.password) throw std::runtime_error("the test DSN has no password to replace");
    const std::string from = ":" + *parsed.password + "@";
    const auto at = dsn_.find(from);
    if (at == std::string::npos) throw std::runtime_error("the test DSN's password is percent-encoded; cannot replace it");
    std::string out = dsn_;
    out.replace(at, from.size(), ":" + std::string(password) + "@");
    return out;
}

std::string db_fixture::dsn_with_address(std::string_view host, unsigned port, int seconds) const {
    require_server("a server address");
    const auto parsed = parse_dsn(dsn_);
    if (!parsed.port) throw std::runtime_error("the test DSN names no port");
    const std::string from = parsed.host + ":" + std::to_string(*parsed.port);
    const auto at = dsn_.find(from);
    if (at == std::string::npos) throw std::runtime_error("cannot find " + from + " in the test DSN");
    std::string out = dsn_;
    out.replace(at, from.size(), std::string(host) + ":" + std::to_string(port));
    out += out.find('?') == std::string::npos ? '?' : '&';
    out += speaks_postgres(current_target().dialect) ? "connect_timeout=" + std::to_string(seconds)
                                                  : "timeout=" + std::to_string(seconds) + "s";
    return out;
}

void db_fixture::limit_waits(connection& c, int seconds) {
    const auto& d = current_target().dialect;
    const auto n = std::to_string(seconds);
    if (d == "sqlite") {
        c.execute("PRAGMA busy_timeout = " + std::to_string(seconds * 1000));
    } else if (speaks_postgres(d)) {
        c.execute("SET statement_timeout = '" + n + "s'");
        c.execute("SET lock_timeout = '" + n + "s'");
    } else if (d == "mysql") {
        c.execute("SET SESSION lock_wait_timeout = " + n);
        c.execute("SET SESSION innodb_lock_wait_timeout = " + n);
        try {
            c.execute("SET SESSION max_statement_time = " + n);  // MariaDB
        } catch (const ferry::error&) {
            c.execute("SET SESSION max_execution_time = " + n + "000");  // MySQL
        }
    }
}

namespace {

std::string session_id(connection& c, const std::string& dialect) {
    auto r = c.query(speaks_postgres(dialect) ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
    if (!r->next()) throw std::runtime_error("no session id");
    return std::string(r->text(0));
}

}  // namespace

int db_fixture::kill_other_sessions(const std::vector<connection*>& keep) {
    require_server("killing sessions");
    const auto& d = current_target().dialect;
    std::vector<std::string> kept{session_id(conn(), d)};
    for (auto* c : keep) kept.push_back(session_id(*c, d));
    auto killer = open_another();
    kept.push_back(session_id(*killer.conn, d));
    std::vector<std::string> victims;
    {
        auto r = killer.conn->query(
            speaks_postgres(d)
                ? "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = current_database() "
                  "AND usename = current_user AND application_name = 'ferry' ORDER BY pid"
                : "SELECT id FROM information_schema.processlist WHERE user = SUBSTRING_INDEX(CURRENT_USER(), '@', 1) "
                  "AND db = DATABASE() ORDER BY id");
        while (r->next()) {
            std::string id(r->text(0));
            if (std::find(kept.begin(), kept.end(), id) == kept.end()) victims.push_back(id);
        }
    }
    int ended = 0;
    for (const auto& id : victims) {
        if (!std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); })) continue;
        try {
            if (speaks_postgres(d))
                ended += query_integer(*killer.conn,
                                       "SELECT CASE WHEN pg_terminate_backend(" + id + ") THEN 1 ELSE 0 END") != 0;
            else {
                killer.conn->execute("KILL CONNECTION " + id);
                ++ended;
            }
        } catch (const ferry::error&) {
            // Gone already.
        }
    }
    return ended;
}

std::string db_fixture::snapshot() {
    std::string out;
    for (const auto& t : tables())
        if (t != "ferry_lease") out += t + "=" + std::to_string(count_rows(t)) + "\n";
    return out;
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
    std::vector<std::string> full{"--dsn", dsn_, "--plugin-dir", kit().plugin_dir};
    full.insert(full.end(), args.begin(), args.end());
    run_options options;
    options.cwd = dir();
    options.env = {{"DSN", std::nullopt}, {"FERRY_PLUGIN_PATH", std::nullopt}};
    options.timeout = std::chrono::seconds(600);
    return run_process(kit().seed, full, options);
}

std::string namespaces_json(const ns_list& cfg) {
    auto j = nlohmann::json::array();
    for (const auto& ns : cfg) j.push_back({{"id", ns.id}, {"name", ns.name}});
    return j.dump();
}

bool ci_requested() {
    const char* v = non_empty_env("CI");
    if (!v) return false;
    std::string s(v);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s == "true" || s == "1" || s == "yes";
}

const std::string& dialect_name() { return current_target().dialect; }

std::string render_index(const std::string& name, const std::string& columns, bool unique, const std::string& where) {
    return name + " (" + columns + ")" + (unique ? " UNIQUE" : "") + (where.empty() ? "" : " WHERE " + where);
}

std::vector<std::string> rendered_indexes(const table_shape& t) {
    std::vector<std::string> out;
    for (const auto& ix : t.indexes) {
        std::string cols;
        for (const auto& c : ix.columns) cols += (cols.empty() ? "" : ",") + c;
        out.push_back(render_index(ix.name, cols, ix.unique, ix.where));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool not_a_shipped_server() { return conformance_on_sqlite() || testing_a_plugin_by_dsn(); }

const std::vector<std::string> legacy_yes{"namespace", "migrate", "legacy", "--yes"};

env_overrides with_namespaces(const ns_list& cfg, env_overrides env) {
    env.emplace_back("NAMESPACES", namespaces_json(cfg));
    return env;
}

void migrate_up(db_fixture& fx) {
    // The support library has no doctest: a throw fails the calling case with the report.
    auto r = fx.cli({"migrate", "up", "--yes"});
    if (r.exit_code != 0) throw std::runtime_error("ferry migrate up --yes failed: " + describe(r));
}

std::int64_t tuples_of(db_fixture& fx, std::int64_t ns) {
    std::array<value, 1> p{ns};
    return query_integer(fx.conn(), "SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = ?", p);
}

std::map<std::int64_t, std::int64_t> legacy_counts(db_fixture& fx, const ns_list& cfg) {
    std::map<std::int64_t, std::int64_t> out;
    for (const auto& ns : cfg) out[ns.id] = fx.count_rows(db_fixture::legacy_tuple_table(ns.id));
    return out;
}

}  // namespace ferry::test
