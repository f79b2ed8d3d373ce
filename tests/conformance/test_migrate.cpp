// Conformance of `ferry migrate` with popx's rules (spec 2.5) and the engine rules.
// Every case runs unchanged on every dialect: generic SQL, dialect::quote_identifier and
// dialect::history_table_ddl only; expectations that differ by dialect come from the spec table
// in fixture.hpp, filtered by dialect::migration_dialect().
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <array>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include <ferry/core/migrations.hpp>
#include <ferry/errors.hpp>

#include "fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

constexpr const char* legacy_table = "keto_0000000001_relation_tuples";
constexpr const char* legacy_tracking = "keto_namespace_0000000001_migrations";

strings sorted(strings v) {
    std::sort(v.begin(), v.end());
    return v;
}

strings expected_versions(db_fixture& fx) { return expected_keto_versions(fx.dialect().migration_dialect()); }

nlohmann::json status_json(db_fixture& fx, const strings& extra = {}) {
    strings args{"migrate", "status", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = fx.cli(args);
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.is_array());
    return j;
}

// version -> state ("applied" / "pending") of a status listing.
std::map<std::string, std::string> states_of(const nlohmann::json& listing) {
    std::map<std::string, std::string> out;
    for (const auto& e : listing) out[e.at("version").get<std::string>()] = e.at("state").get<std::string>();
    return out;
}

process_result up_yes(db_fixture& fx, const strings& extra = {}) {
    strings args{"migrate", "up", "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return fx.cli(args);
}

process_result down_yes(db_fixture& fx, const std::string& steps, const strings& extra = {}) {
    strings args{"migrate", "down", steps, "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return fx.cli(args);
}

// A database as Keto v0.6.0-alpha.3 leaves it after `migrate up --all-namespaces` with one
// namespace (ID 1) holding one tuple (spec 1.1-1.3).
void build_v06_layout(db_fixture& fx) {
    fx.create_history("schema_migration", {"20201110175414"});
    fx.exec("CREATE TABLE keto_namespace (id INTEGER PRIMARY KEY, schema_version INTEGER NOT NULL)");
    fx.exec(std::string("CREATE TABLE ") + legacy_table +
            " (shard_id VARCHAR(64), object VARCHAR(64), relation VARCHAR(64), subject VARCHAR(256), "
            "commit_time TIMESTAMP, PRIMARY KEY (shard_id, object, relation, subject, commit_time))");
    fx.exec(std::string("CREATE INDEX ") + legacy_table + "_object_idx ON " + legacy_table + " (object)");
    fx.exec(std::string("CREATE INDEX ") + legacy_table + "_user_set_idx ON " + legacy_table + " (object, relation)");
    fx.create_history(legacy_tracking, {"20210128140414"});
    fx.exec(std::string("INSERT INTO ") + legacy_table +
            " (shard_id, object, relation, subject, commit_time) "
            "VALUES ('default', 'doc-1', 'viewer', 'alice', '2021-06-01 12:00:00')");
}

// The schema migrations never touch a legacy namespace (spec 2.1, last paragraph).
void check_legacy_untouched(db_fixture& fx) {
    REQUIRE(fx.has_table(legacy_table));
    CHECK(fx.count_rows(legacy_table) == 1);
    {
        auto r = fx.conn().query(std::string("SELECT shard_id, object, relation, subject FROM ") + legacy_table);
        REQUIRE(r->next());
        CHECK(r->text(0) == "default");
        CHECK(r->text(1) == "doc-1");
        CHECK(r->text(2) == "viewer");
        CHECK(r->text(3) == "alice");
        CHECK_FALSE(r->next());
    }
    CHECK(fx.history(legacy_tracking) == strings{"20210128140414"});
    // Both indexes are still there: creating one again under its name fails on every dialect.
    CHECK_THROWS_AS(fx.exec(std::string("CREATE INDEX ") + legacy_table + "_object_idx ON " + legacy_table +
                            " (object)"),
                    ferry::error);
    CHECK_THROWS_AS(fx.exec(std::string("CREATE INDEX ") + legacy_table + "_user_set_idx ON " + legacy_table +
                            " (object, relation)"),
                    ferry::error);
}

// A custom migration set in `dir`/name: file name -> content.
fs::path write_migrations(db_fixture& fx, const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& files) {
    auto dir = fx.dir() / name;
    fs::create_directories(dir);
    for (const auto& [file, content] : files) write_file(dir / file, content);
    return dir;
}

// Four 20-digit migrations, each creating conf_tN (N = 1..4).
const strings four_versions{"20990101000000000001", "20990101000000000002", "20990101000000000003",
                            "20990101000000000004"};
fs::path write_four(db_fixture& fx) {
    std::vector<std::pair<std::string, std::string>> files;
    for (std::size_t i = 0; i < four_versions.size(); ++i) {
        const auto n = std::to_string(i + 1);
        files.push_back({four_versions[i] + "_t" + n + ".up.sql", "CREATE TABLE conf_t" + n + " (id INTEGER);\n"});
        files.push_back({four_versions[i] + "_t" + n + ".down.sql", "DROP TABLE conf_t" + n + ";\n"});
    }
    return write_migrations(fx, "four", files);
}

void delete_history_row(db_fixture& fx, const std::string& version) {
    std::array<ferry::value, 1> p{std::string_view(version)};
    fx.conn().execute("DELETE FROM " + fx.q("schema_migration") + " WHERE version = ?", p);
}

}  // namespace

TEST_SUITE("conformance: migrate") {

TEST_CASE_FIXTURE(db_fixture, "the plugin ships exactly Keto's v0.7 migration set of spec 2.1") {
    const auto set = ferry::core::migration_set::from_embedded(dialect().keto_migrations(),
                                                               dialect().migration_dialect());
    const auto expected = expected_keto_migrations(dialect().migration_dialect());
    REQUIRE(set.migrations().size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& m = set.migrations()[i];
        INFO("migration " << m.version);
        CHECK(m.version == expected[i].version);
        CHECK(m.name == expected[i].name);
        CHECK(m.up_is_empty() == expected[i].up_empty);
        CHECK(m.down_is_empty() == expected[i].down_empty);
    }
}

TEST_CASE_FIXTURE(db_fixture, "fresh database: up applies every migration once, a second up is a no-op") {
    REQUIRE(tables().empty());
    const auto expected = expected_versions(*this);
    const auto names = expected_keto_names(dialect().migration_dialect());

    auto before = status_json(*this);
    REQUIRE(before.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(before[i].at("version") == expected[i]);
        CHECK(before[i].at("name") == names[i]);
        CHECK(before[i].at("state") == "pending");
    }

    auto r = up_yes(*this);
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "Applying migrations..."));
    CHECK(contains(r.out, "Successfully applied all migrations:"));

    CHECK(history() == expected);
    CHECK(query_integer(conn(), "SELECT COUNT(*) FROM " + q("schema_migration") + " WHERE version_self <> 0") == 0);
    CHECK(has_table("networks"));
    CHECK(has_table("keto_relation_tuples"));
    CHECK_FALSE(has_table("keto_namespace"));  // created by #2, dropped by #8

    auto again = up_yes(*this);
    INFO(describe(again));
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, "All migrations are already applied, there is nothing to do."));
    CHECK_FALSE(contains(again.out, "Applying migrations..."));
    CHECK(history() == expected);

    auto after = status_json(*this);
    REQUIRE(after.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(after[i].at("version") == expected[i]);
        CHECK(after[i].at("name") == names[i]);
        CHECK(after[i].at("state") == "applied");
    }
}

TEST_CASE_FIXTURE(db_fixture, "Keto v0.6 database: up records the legacy-applied migrations as spec 2.5 lists") {
    build_v06_layout(*this);
    const auto expected = expected_versions(*this);

    // #2 and #3 count as applied through the 14-digit row before anything runs.
    auto before = states_of(status_json(*this));
    REQUIRE(before.size() == expected.size());
    for (const auto& v : expected) CHECK_MESSAGE(before[v] == (v.rfind("20201110175414", 0) == 0 ? "applied" : "pending"), v);

    auto r = up_yes(*this);
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);

    // Spec 2.5: the 14-digit row stays, every migration of the dialect is recorded once
    // (9 rows on postgres/cockroach/sqlite3, 7 + 1 on mysql).
    strings want = expected;
    want.push_back("20201110175414");
    CHECK(history() == sorted(want));
    CHECK(query_integer(conn(), "SELECT COUNT(*) FROM " + q("schema_migration") + " WHERE version_self <> 0") == 0);
    CHECK_FALSE(has_table("keto_namespace"));
    CHECK(has_table("keto_relation_tuples"));
    CHECK(has_table("networks"));
    check_legacy_untouched(*this);

    auto after = states_of(status_json(*this));
    for (const auto& v : expected) CHECK_MESSAGE(after[v] == "applied", v);
}

TEST_CASE_FIXTURE(db_fixture, "status: a 14-digit row marks every longer version with that prefix applied") {
    const std::string prefix = "20210623162417";
    // The second row is the prefix of nothing and must change nothing.
    create_history("schema_migration", {prefix, "20990101000000"});
    const auto tables_before = tables();

    auto states = states_of(status_json(*this));
    const auto expected = expected_versions(*this);
    REQUIRE(states.size() == expected.size());
    std::size_t with_prefix = 0;
    for (const auto& v : expected) {
        const bool has_prefix = v.rfind(prefix, 0) == 0;
        with_prefix += has_prefix;
        CHECK_MESSAGE(states[v] == (has_prefix ? "applied" : "pending"), v);
    }
    CHECK(with_prefix >= 2);  // 000000 and 000001 exist on every dialect

    // The core's answer is the same, and reading changed nothing.
    const auto set = ferry::core::migration_set::from_embedded(dialect().keto_migrations(),
                                                               dialect().migration_dialect());
    ferry::core::migrator m(conn(), dialect(), set);
    for (const auto& s : m.status())
        CHECK_MESSAGE((s.state == ferry::core::migration_state::applied) == (s.m->version.rfind(prefix, 0) == 0),
                      s.m->version);
    CHECK(tables() == tables_before);
    CHECK(history() == strings{prefix, "20990101000000"});
}

TEST_CASE_FIXTURE(db_fixture, "status never creates the history table") {
    REQUIRE(tables().empty());

    auto table = cli({"migrate", "status"});
    INFO(describe(table));
    CHECK(table.exit_code == 0);
    CHECK(contains(table.out, "Pending"));
    CHECK_FALSE(contains(table.out, "Applied"));

    auto listing = status_json(*this);
    CHECK(listing.size() == expected_versions(*this).size());
    for (const auto& e : listing) CHECK(e.at("state") == "pending");

    const auto set = ferry::core::migration_set::from_embedded(dialect().keto_migrations(),
                                                               dialect().migration_dialect());
    ferry::core::migrator m(conn(), dialect(), set);
    CHECK(m.status().size() == set.migrations().size());

    CHECK(tables().empty());
}

TEST_CASE_FIXTURE(db_fixture, "down: 1, then 2, then 0 (= all) revert the newest migrations first") {
    REQUIRE(up_yes(*this).exit_code == 0);
    auto expected = expected_versions(*this);
    const auto total = expected.size();

    auto one = down_yes(*this, "1");
    INFO(describe(one));
    REQUIRE(one.exit_code == 0);
    CHECK(contains(one.out, "Reverted 1 migration."));
    CHECK(history() == strings(expected.begin(), expected.end() - 1));
    CHECK(has_table("keto_namespace"));  // the legacy-cleanup down recreates it (spec 2.4)

    auto two = down_yes(*this, "2");
    INFO(describe(two));
    REQUIRE(two.exit_code == 0);
    CHECK(contains(two.out, "Reverted 2 migrations."));
    CHECK(history() == strings(expected.begin(), expected.end() - 3));

    auto all = down_yes(*this, "0");
    INFO(describe(all));
    REQUIRE(all.exit_code == 0);
    CHECK(contains(all.out, "Reverted " + std::to_string(total - 3) + " migrations."));
    CHECK(history().empty());
    CHECK(has_table("schema_migration"));
    CHECK_FALSE(has_table("networks"));
    CHECK_FALSE(has_table("keto_relation_tuples"));
    CHECK_FALSE(has_table("keto_namespace"));

    // Up again from nothing works: the downs left a clean schema.
    auto up = up_yes(*this);
    INFO(describe(up));
    CHECK(up.exit_code == 0);
    CHECK(history() == expected);
}

TEST_CASE_FIXTURE(db_fixture, "down: the candidates are cut to the number of history rows (popx)") {
    const auto dir = write_four(*this).string();
    REQUIRE(up_yes(*this, {"--migrations", dir}).exit_code == 0);
    REQUIRE(history() == four_versions);

    SUBCASE("only the two newest rows: the cut list holds the two oldest, absent, so nothing is reverted") {
        delete_history_row(*this, four_versions[0]);
        delete_history_row(*this, four_versions[1]);
        auto r = down_yes(*this, "0", {"--migrations", dir});
        INFO(describe(r));
        CHECK(r.exit_code == 0);  // popx stops silently and reports success
        CHECK(contains(r.out, "Reverted 0 migrations."));
        CHECK(history() == strings{four_versions[2], four_versions[3]});
        CHECK(has_table("conf_t3"));
        CHECK(has_table("conf_t4"));
    }
    SUBCASE("only the two oldest rows: down 1 reverts the second migration, not the newest") {
        delete_history_row(*this, four_versions[2]);
        delete_history_row(*this, four_versions[3]);
        auto r = down_yes(*this, "1", {"--migrations", dir});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "Reverted 1 migration."));
        CHECK(history() == strings{four_versions[0]});
        CHECK_FALSE(has_table("conf_t2"));
        CHECK(has_table("conf_t1"));
        CHECK(has_table("conf_t3"));
        CHECK(has_table("conf_t4"));
    }
    SUBCASE("a gap: the first absent candidate stops the run, older ones stay") {
        delete_history_row(*this, four_versions[1]);
        delete_history_row(*this, four_versions[3]);
        // Two rows: the cut list is [v2, v1]; v2 is absent, so popx stops before v1.
        auto r = down_yes(*this, "0", {"--migrations", dir});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "Reverted 0 migrations."));
        CHECK(history() == strings{four_versions[0], four_versions[2]});
        CHECK(has_table("conf_t1"));
    }
    SUBCASE("steps beyond the history revert what is there") {
        auto r = down_yes(*this, "10", {"--migrations", dir});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "Reverted 4 migrations."));
        CHECK(history().empty());
        for (int n = 1; n <= 4; ++n) CHECK_FALSE(has_table("conf_t" + std::to_string(n)));
    }
}

TEST_CASE_FIXTURE(db_fixture, "down: a missing row of a 14-digit version is an error") {
    const strings versions{"20990101000001", "20990101000002", "20990101000003"};
    std::vector<std::pair<std::string, std::string>> files;
    for (std::size_t i = 0; i < versions.size(); ++i) {
        const auto n = std::to_string(i + 1);
        files.push_back({versions[i] + "_s" + n + ".up.sql", "CREATE TABLE conf_s" + n + " (id INTEGER);"});
        files.push_back({versions[i] + "_s" + n + ".down.sql", "DROP TABLE conf_s" + n + ";"});
    }
    const auto dir = write_migrations(*this, "short", files).string();
    REQUIRE(up_yes(*this, {"--migrations", dir}).exit_code == 0);
    delete_history_row(*this, versions[0]);
    delete_history_row(*this, versions[1]);

    // One row left: the cut list is [20990101000001], whose row is absent.
    auto r = down_yes(*this, "0", {"--migrations", dir});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "migration version 20990101000001 does not exist"));
    CHECK(history() == strings{versions[2]});
    CHECK(has_table("conf_s1"));
    CHECK(has_table("conf_s3"));
}

TEST_CASE_FIXTURE(db_fixture, "down: a full down of an upgraded v0.6 database leaves the 14-digit row") {
    build_v06_layout(*this);
    REQUIRE(up_yes(*this).exit_code == 0);

    auto r = down_yes(*this, "0");
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "Reverted " + std::to_string(expected_versions(*this).size()) + " migrations."));
    CHECK(history() == strings{"20201110175414"});
    CHECK_FALSE(has_table("networks"));
    CHECK_FALSE(has_table("keto_relation_tuples"));
    CHECK_FALSE(has_table("keto_namespace"));  // recreated by #8's down, dropped by #3's
    check_legacy_untouched(*this);

    // The surviving row still marks #2 and #3 applied (spec 7.10).
    auto states = states_of(status_json(*this));
    for (const auto& v : expected_versions(*this))
        CHECK_MESSAGE(states[v] == (v.rfind("20201110175414", 0) == 0 ? "applied" : "pending"), v);
}

TEST_CASE_FIXTURE(db_fixture, "dialect file choice: specific over generic, empty recorded, other dialects ignored") {
    const std::string mine(dialect().migration_dialect());
    std::string other;
    for (const char* d : {"postgres", "mysql", "cockroach", "sqlite3"})
        if (mine != d) {
            other = d;
            break;
        }
    const std::string v1 = "20990201000000000001", v2 = "20990201000000000002", v3 = "20990201000000000003",
                      v4 = "20990201000000000004";
    const auto dir = write_migrations(
                         *this, "choice",
                         {
                             {v1 + "_choice.up.sql", "CREATE TABLE conf_generic (id INTEGER);"},
                             {v1 + "_choice." + mine + ".up.sql", "CREATE TABLE conf_specific (id INTEGER);"},
                             {v1 + "_choice.down.sql", "DROP TABLE conf_generic;"},
                             {v1 + "_choice." + mine + ".down.sql", "DROP TABLE conf_specific;"},
                             {v2 + "_elsewhere." + other + ".up.sql", "THIS IS NOT SQL;"},
                             {v2 + "_elsewhere." + other + ".down.sql", "THIS IS NOT SQL EITHER;"},
                             {v3 + "_empty.up.sql", ""},
                             {v3 + "_empty.down.sql", "  \n\n"},
                             {v4 + "_mixed." + mine + ".up.sql", "CREATE TABLE conf_mixed (id INTEGER);"},
                             {v4 + "_mixed.down.sql", "DROP TABLE conf_mixed;"},
                         })
                         .string();

    auto listing = status_json(*this, {"--migrations", dir});
    REQUIRE(listing.size() == 3);
    CHECK(listing[0].at("version") == v1);
    CHECK(listing[1].at("version") == v3);
    CHECK(listing[2].at("version") == v4);

    auto up = up_yes(*this, {"--migrations", dir});
    INFO(describe(up));
    REQUIRE(up.exit_code == 0);
    CHECK(history() == strings{v1, v3, v4});
    CHECK(has_table("conf_specific"));
    CHECK_FALSE(has_table("conf_generic"));
    CHECK(has_table("conf_mixed"));
    CHECK(contains(up.err, "content is empty"));

    // Downs: the specific file for v1 (the generic one would fail: conf_generic does not exist),
    // nothing for the blank v3, the generic file for v4.
    auto down = down_yes(*this, "0", {"--migrations", dir});
    INFO(describe(down));
    REQUIRE(down.exit_code == 0);
    CHECK(history().empty());
    CHECK_FALSE(has_table("conf_specific"));
    CHECK_FALSE(has_table("conf_mixed"));
}

TEST_CASE_FIXTURE(db_fixture, "checksums: an applied file that changed is reported by status and refused by up") {
    const std::string v1 = "20990301000000000001", v2 = "20990301000000000002";
    const std::string original = "CREATE TABLE conf_c1 (id INTEGER);\n";
    const auto dir = write_migrations(*this, "sums",
                                      {{v1 + "_c1.up.sql", original}, {v1 + "_c1.down.sql", "DROP TABLE conf_c1;"}});
    REQUIRE(up_yes(*this, {"--migrations", dir.string()}).exit_code == 0);

    auto clean = status_json(*this, {"--migrations", dir.string()});
    REQUIRE(clean.size() == 1);
    CHECK(clean[0].at("state") == "applied");
    CHECK(clean[0].at("changed") == false);

    write_file(dir / (v1 + "_c1.up.sql"), "CREATE TABLE conf_c1 (id INTEGER, extra INTEGER);\n");
    write_file(dir / (v2 + "_c2.up.sql"), "CREATE TABLE conf_c2 (id INTEGER);\n");
    write_file(dir / (v2 + "_c2.down.sql"), "DROP TABLE conf_c2;\n");

    auto listing = status_json(*this, {"--migrations", dir.string()});
    REQUIRE(listing.size() == 2);
    CHECK(listing[0].at("version") == v1);
    CHECK(listing[0].at("state") == "applied");
    CHECK(listing[0].at("changed") == true);
    CHECK(listing[1].at("state") == "pending");
    CHECK_FALSE(listing[1].contains("changed"));

    auto table = cli({"migrate", "status", "--migrations", dir.string()});
    CHECK(table.exit_code == 0);
    CHECK(contains(table.out, "changed"));

    auto refused = up_yes(*this, {"--migrations", dir.string()});
    INFO(describe(refused));
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, v1 + "_c1.up.sql"));
    CHECK(history() == strings{v1});
    CHECK_FALSE(has_table("conf_c2"));

    // Restoring the file byte for byte makes the set acceptable again.
    write_file(dir / (v1 + "_c1.up.sql"), original);
    auto up = up_yes(*this, {"--migrations", dir.string()});
    INFO(describe(up));
    CHECK(up.exit_code == 0);
    CHECK(history() == strings{v1, v2});
    CHECK(has_table("conf_c2"));
}

TEST_CASE_FIXTURE(db_fixture, "a failing migration: rolled back with its DDL, or left 'started' and explained next run") {
    const std::string v1 = "20990401000000000001", v2 = "20990401000000000002";
    // v2's second statement fails (conf_f1 exists): its first statement ran already.
    const auto dir = write_migrations(
        *this, "failing",
        {{v1 + "_f1.up.sql", "CREATE TABLE conf_f1 (id INTEGER);\n"},
         {v1 + "_f1.down.sql", "DROP TABLE conf_f1;\n"},
         {v2 + "_f2.up.sql", "CREATE TABLE conf_f2 (id INTEGER);\nCREATE TABLE conf_f1 (id INTEGER);\n"},
         {v2 + "_f2.down.sql", "DROP TABLE conf_f2;\n"}});
    auto failed = up_yes(*this, {"--migrations", dir.string()});
    INFO(describe(failed));
    CHECK(failed.exit_code == 1);
    CHECK(contains(failed.err, v2));
    CHECK(history() == strings{v1});

    auto again = up_yes(*this, {"--migrations", dir.string()});
    INFO(describe(again));
    CHECK(again.exit_code == 1);
    CHECK(history() == strings{v1});
    if (dialect().caps().transactional_ddl) {
        // The failed migration rolled back whole; the next run simply tries it again.
        CHECK_FALSE(has_table("conf_f2"));
        CHECK_FALSE(contains(again.err, "interrupted"));
        return;
    }
    // DDL committed statement by statement (MySQL: conf_f2 exists; a server that runs a
    // multi-statement script as one implicit transaction has none), and the next run refuses to
    // guess either way.
    const bool half_applied = has_table("conf_f2");
    if (current_target().dialect == "mysql") CHECK(half_applied);
    CHECK(contains(failed.err, "migrate resolve " + v2));
    CHECK(contains(again.err, "was interrupted"));
    CHECK(contains(again.err, "migrate resolve " + v2));

    // The operator undoes the half-applied DDL and says so; then a fixed file applies.
    if (half_applied) exec("DROP TABLE " + q("conf_f2"));
    auto resolved = cli({"migrate", "resolve", v2, "--pending", "--migrations", dir.string()});
    INFO(describe(resolved));
    CHECK(resolved.exit_code == 0);
    write_file(dir / (v2 + "_f2.up.sql"), "CREATE TABLE conf_f2 (id INTEGER);\n");
    auto fixed = up_yes(*this, {"--migrations", dir.string()});
    INFO(describe(fixed));
    CHECK(fixed.exit_code == 0);
    CHECK(history() == strings{v1, v2});
    CHECK(has_table("conf_f2"));
}

TEST_CASE_FIXTURE(db_fixture, "a malformed migration file name fails naming the file, before anything is written") {
    const std::string v1 = "20990401000000000001";
    std::string bad;
    SUBCASE("no version") { bad = "create_stuff.up.sql"; }
    SUBCASE("no direction") { bad = v1 + "_stuff.sql"; }
    SUBCASE("unknown dialect suffix") { bad = v1 + "_stuff.oracle.up.sql"; }
    const auto dir = write_migrations(*this, "badname",
                                      {{v1 + "_ok.up.sql", "CREATE TABLE conf_ok (id INTEGER);"},
                                       {v1 + "_ok.down.sql", "DROP TABLE conf_ok;"},
                                       {bad, "CREATE TABLE conf_bad (id INTEGER);"}})
                         .string();
    for (const auto& command : {strings{"migrate", "status", "--migrations", dir},
                                strings{"migrate", "up", "--yes", "--migrations", dir}}) {
        auto r = cli(command);
        INFO(command[1] << ": " << describe(r));
        CHECK(r.exit_code != 0);
        CHECK(r.exit_code < 128);  // an error, not a crash
        CHECK(contains(r.err, bad));
    }
    CHECK(tables().empty());
}

TEST_CASE_FIXTURE(db_fixture, "migration lock: up gives up after --lock-timeout while another ferry holds it") {
    auto other = open_another();
    auto lock = other.dialect->acquire_migration_lock(*other.conn, other.source, std::chrono::seconds(5));
    REQUIRE(lock != nullptr);

    const auto started = std::chrono::steady_clock::now();
    auto r = cli({"migrate", "up", "--yes", "--lock-timeout", "1"});
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "another ferry"));
    CHECK(took >= std::chrono::milliseconds(900));  // it waited for the lock
    CHECK(history().empty());
    CHECK_FALSE(has_table("networks"));

    lock.reset();
    auto after = cli({"migrate", "up", "--yes", "--lock-timeout", "1"});
    INFO(describe(after));
    CHECK(after.exit_code == 0);
    CHECK(history() == expected_versions(*this));
}

}  // TEST_SUITE
