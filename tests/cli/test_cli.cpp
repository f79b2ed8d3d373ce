// The ferry CLI: exit codes, prompts, DSN precedence, unknown schemes, password redaction and
// JSON logs. SQLite only; every case gets its own database file.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include <ferry/dsn.hpp>
#include <ferry/plugin.hpp>

#include "../conformance/fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

const std::string up_prompt =
    "Are you sure that you want to apply this migration? Make sure to check the CHANGELOG.md for breaking "
    "changes beforehand. [y/n]: ";

std::string sqlite_dsn(const fs::path& file) { return "sqlite://" + file.string() + "?_fk=true"; }

// True when `file` is a SQLite database holding a schema_migration table.
bool migrated(const fs::path& file) {
    if (!fs::exists(file)) return false;
    auto db = ferry::core::open_database(registry(), ferry::parse_dsn(sqlite_dsn(file)));
    auto tables = db.dialect->list_tables(*db.conn);
    return std::find(tables.begin(), tables.end(), "schema_migration") != tables.end();
}

// Every stderr line is one JSON object with the logger's fields.
void check_json_lines(const process_result& r) {
    INFO(describe(r));
    const auto lines = lines_of(r.err);
    CHECK_FALSE(lines.empty());
    for (const auto& line : lines) {
        INFO("line: " << line);
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
        REQUIRE(j.is_object());
        CHECK(j.contains("level"));
        CHECK(j.contains("msg"));
        CHECK(j.contains("time"));
    }
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("ferry version prints one line and exits 0") {
    auto r = run_ferry({"version"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    REQUIRE(lines_of(r.out).size() == 1);
    CHECK(r.out.rfind("ferry ", 0) == 0);
    CHECK(contains(r.out, "plugin ABI " + std::to_string(FERRY_PLUGIN_ABI_VERSION)));
    CHECK(r.err.empty());
}

TEST_CASE("bad usage exits 2 with one line on stderr") {
    strings args;
    std::string named;
    SUBCASE("unknown command") {
        args = {"frobnicate"};
        named = "frobnicate";
    }
    SUBCASE("unknown flag") {
        args = {"--frobnicate", "version"};
        named = "frobnicate";
    }
    SUBCASE("flag of another command") {
        args = {"version", "--down-only"};
        named = "down-only";
    }
    SUBCASE("no command") {
        args = {};
        named = "command";
    }
    SUBCASE("bad --log-format value") {
        args = {"--log-format", "xml", "version"};
        named = "xml";
    }
    SUBCASE("migrate without subcommand") {
        args = {"migrate"};
        named = "migrate";
    }
    auto r = run_ferry(args);
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(contains(r.err, named));
    CHECK(r.out.empty());
}

TEST_CASE_FIXTURE(db_fixture, "migrate up prompt: answering n aborts, exit 0, nothing applied") {
    std::string answer;
    SUBCASE("n") { answer = "n\n"; }
    SUBCASE("no, upper case and padded") { answer = "  NO \n"; }
    auto r = cli({"migrate", "up"}, answer);
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    const auto at = r.out.find(up_prompt);
    REQUIRE(at != std::string::npos);
    const auto before = r.out.substr(0, at), after = r.out.substr(at + up_prompt.size());
    CHECK(contains(before, "Pending"));
    CHECK_FALSE(contains(before, "Applied"));
    CHECK(contains(after, "Aborting"));
    CHECK_FALSE(contains(after, "Applying migrations"));
    CHECK(tables().empty());
}

TEST_CASE_FIXTURE(db_fixture, "migrate up prompt: answering y applies everything") {
    std::string answer;
    std::size_t prompts = 1;
    SUBCASE("y") { answer = "y\n"; }
    SUBCASE("garbage, then yes: asked again") {
        answer = "maybe\nyes\n";
        prompts = 2;
    }
    SUBCASE("two bad answers, then Y without newline") {
        answer = "sure\n\nY";
        prompts = 3;
    }
    auto r = cli({"migrate", "up"}, answer);
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(occurrences(r.out, up_prompt) == prompts);
    const auto at = r.out.rfind(up_prompt);
    REQUIRE(at != std::string::npos);
    const auto before = r.out.substr(0, at), after = r.out.substr(at + up_prompt.size());
    CHECK(contains(before, "Pending"));
    CHECK_FALSE(contains(before, "Applied"));
    CHECK(contains(after, "Applied"));
    CHECK_FALSE(contains(after, "Pending"));
    CHECK(history() == expected_keto_versions(dialect().migration_dialect()));
}

TEST_CASE_FIXTURE(db_fixture, "migrate up prompt: end of input counts as no, exit 1, says --yes") {
    std::string input;
    SUBCASE("empty stdin") { input = ""; }
    SUBCASE("garbage, then end of input") { input = "maybe\n"; }
    auto r = cli({"migrate", "up"}, input);
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "--yes"));
    CHECK_FALSE(contains(r.out, "Applying migrations"));
    CHECK(tables().empty());
}

TEST_CASE_FIXTURE(db_fixture, "migrate down: prompt, argument checks, integer prefixes") {
    REQUIRE(cli({"migrate", "up", "--yes"}).exit_code == 0);
    const auto all = expected_keto_versions(dialect().migration_dialect());

    auto declined = cli({"migrate", "down", "1"}, "n\n");
    INFO(describe(declined));
    CHECK(declined.exit_code == 0);
    CHECK(contains(declined.out, "Do you really want to migrate down? This will delete data. [y/n]: "));
    CHECK(contains(declined.out, "Migration aborted."));
    CHECK(history() == all);

    for (const auto& args : {strings{"migrate", "down", "x", "--yes"}, strings{"migrate", "down", "--yes"},
                             strings{"migrate", "down", "1", "2", "--yes"}, strings{"migrate", "down", "1x", "--yes"}}) {
        auto r = cli(args);
        INFO(describe(r));
        CHECK(r.exit_code == 2);
        CHECK(lines_of(r.err).size() == 1);
    }
    CHECK(history() == all);

    // Keto parses STEPS with prefix auto-detection: 0x2 is two.
    auto hex = cli({"migrate", "down", "0x2", "--yes"});
    INFO(describe(hex));
    CHECK(hex.exit_code == 0);
    CHECK(history() == strings(all.begin(), all.end() - 2));
}

TEST_CASE_FIXTURE(db_fixture, "DSN precedence: --dsn over DSN over the config file") {
    const auto a = dir() / "a.db", b = dir() / "b.db", c = dir() / "c.db";
    const auto config = dir() / "keto.yml";
    write_file(config, "dsn: " + sqlite_dsn(c) + "\nnamespaces: []\n");
    run_options with_env;
    with_env.cwd = dir();
    with_env.env = {{"DSN", sqlite_dsn(b)}};
    run_options without_env;
    without_env.cwd = dir();

    SUBCASE("all three: the flag wins") {
        auto r = run_ferry({"-c", config.string(), "--dsn", sqlite_dsn(a), "migrate", "up", "--yes"}, with_env);
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(migrated(a));
        CHECK_FALSE(migrated(b));
        CHECK_FALSE(migrated(c));
    }
    SUBCASE("environment and config: the environment wins") {
        auto r = run_ferry({"-c", config.string(), "migrate", "up", "--yes"}, with_env);
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK_FALSE(migrated(a));
        CHECK(migrated(b));
        CHECK_FALSE(migrated(c));
    }
    SUBCASE("config only") {
        auto r = run_ferry({"--config", config.string(), "migrate", "up", "--yes"}, without_env);
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK_FALSE(migrated(a));
        CHECK_FALSE(migrated(b));
        CHECK(migrated(c));
    }
    SUBCASE("none: bad configuration, exit 2, says how to set one") {
        auto r = run_ferry({"migrate", "status"}, without_env);
        INFO(describe(r));
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "--dsn"));
        CHECK(lines_of(r.err).size() == 1);
    }
}

TEST_CASE("the Keto shorthand DSN `memory` is an in-memory SQLite database: nothing lands on disk") {
    temp_dir work("ferry-memory");
    run_options options;
    options.cwd = work.path();
    auto r = run_ferry({"--dsn", "memory", "migrate", "up", "--yes"}, options);
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "20210914134624000000"));
    CHECK(fs::is_empty(work.path()));
}

TEST_CASE("an unknown DSN scheme exits 2 naming the schemes the plugins serve") {
    auto r = run_ferry({"--dsn", "foo://x", "migrate", "status"});
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(contains(r.err, "\"foo\""));
    CHECK(contains(r.err, "sqlite://"));
    CHECK(contains(r.err, "sqlite3://"));
}

TEST_CASE("a DSN's password never appears in any output") {
    const std::string secret = "s3cr3tpw";
    temp_dir empty_plugins("ferry-no-plugins");
    temp_dir work("ferry-pw");
    const auto missing_dir_db = work.path() / "no" / "such" / "dir" / "x.db";

    const strings dsns = {
        "postgres://bob:" + secret + "@127.0.0.1:1/db?sslmode=disable",
        "postgresql://bob:" + secret + "@127.0.0.1:1/db",
        "mysql://bob:" + secret + "@tcp(127.0.0.1:1)/db",
        "cockroach://bob:" + secret + "@127.0.0.1:1/db",
        "postgres://bob:" + secret + "%21@127.0.0.1:1/db",           // percent-encoded character in it
        "postgres://bob:" + secret + "@127.0.0.1:notaport/db",       // malformed port
        "postgres://bob:" + secret + "@127.0.0.1:1/db?sslmode=%zz",  // malformed escape
        "foo://bob:" + secret + "@127.0.0.1:1/db",                   // unknown scheme
        "sqlite://" + missing_dir_db.string() + "?_auth_pass=" + secret,  // cannot open
    };
    for (const auto& dsn : dsns) {
        for (const auto& command : {strings{"migrate", "status"}, strings{"migrate", "up", "--yes"},
                                    strings{"--log-format", "json", "--verbose", "migrate", "down", "1", "--yes"}}) {
            for (int how = 0; how < 3; ++how) {
                strings args{"--plugin-dir", empty_plugins.path().string()};
                run_options options;
                options.cwd = work.path();
                if (how == 0) {
                    args.insert(args.end(), {"--dsn", dsn});
                } else if (how == 1) {
                    options.env = {{"DSN", dsn}};
                } else {
                    auto config = work.path() / "keto.yml";
                    write_file(config, "dsn: '" + dsn + "'\n");
                    args.insert(args.end(), {"-c", config.string()});
                }
                args.insert(args.end(), command.begin(), command.end());
                auto r = run_ferry(args, options);
                INFO("dsn " << dsn << " given " << (how == 0 ? "by flag" : how == 1 ? "by DSN" : "by config")
                            << ": " << describe(r));
                CHECK(r.exit_code != 0);
                CHECK(r.exit_code < 128);
                CHECK_FALSE(contains(r.out, secret));
                CHECK_FALSE(contains(r.err, secret));
                CHECK_FALSE(r.err.empty());  // it did say what went wrong
            }
        }
    }
}

TEST_CASE_FIXTURE(db_fixture, "--log-format json: every stderr line is a JSON object") {
    SUBCASE("a successful run that logs") {
        auto r = cli({"--log-format", "json", "migrate", "up", "--yes"});
        CHECK(r.exit_code == 0);
        // One log line per migration at least.
        CHECK(lines_of(r.err).size() >= expected_keto_versions(dialect().migration_dialect()).size());
        check_json_lines(r);
    }
    SUBCASE("a configuration error") {
        auto r = run_ferry({"--log-format", "json", "--dsn", "foo://x", "migrate", "status"});
        CHECK(r.exit_code == 2);
        check_json_lines(r);
        CHECK(contains(r.err, "\"level\":\"error\""));
    }
    SUBCASE("a usage error of a command") {
        auto r = cli({"--log-format=json", "migrate", "down", "x"});
        CHECK(r.exit_code == 2);
        check_json_lines(r);
    }
    SUBCASE("an unknown flag") {
        auto r = run_ferry({"--log-format", "json", "--frobnicate", "version"});
        CHECK(r.exit_code == 2);
        check_json_lines(r);
    }
    SUBCASE("end of input at a prompt") {
        auto r = cli({"--log-format", "json", "migrate", "up"}, "");
        CHECK(r.exit_code == 1);
        check_json_lines(r);
    }
}

}  // TEST_SUITE
