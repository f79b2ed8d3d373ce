// Reliability and security (issue 8): kill -9 at chosen and at random points, a full disk,
// namespace names and values that need quoting, and bad input through the ferry binary. Every
// case runs on every dialect where it has a meaning (docs/reliability.md lists them, with the
// results per dialect).
//
// "Nothing lost, nothing doubled" is checked row by row: the expectation is computed from the
// legacy rows read before the run (each subject parsed by the test itself), and compared as a
// multiset with every row of keto_relation_tuples afterwards.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <array>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include <ferry/core/legacy.hpp>
#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

#include "fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

bool not_sqlite() { return !conformance_on_sqlite(); }




void seed_legacy(db_fixture& fx, const ns_list& cfg, int tuples, bool append = false, int seed_value = 1) {
    std::string spec;
    for (const auto& ns : cfg) spec += (spec.empty() ? "" : ",") + ns.name + "=" + std::to_string(ns.id);
    strings args{"--namespaces", spec, "--tuples", std::to_string(tuples), "--batch", "1000", "--seed",
                 std::to_string(seed_value)};
    if (append) args.push_back("--append");
    auto s = fx.seed(args);
    INFO(describe(s));
    REQUIRE(s.exit_code == 0);
}


std::string text_or_null(ferry::rows& r, int column) {
    return r.is_null(column) ? std::string("NULL") : "'" + std::string(r.text(column)) + "'";
}

// What keto_relation_tuples must hold after migrating the legacy tables of `cfg` as they are now:
// one rendered row per legacy row. Only for well-formed data (the seeder's, or the hand rows
// below): a subject without '#' is a subject id, else NAMESPACE:OBJECT#RELATION.
strings expected_tuples(db_fixture& fx, const ns_list& cfg) {
    strings out;
    for (const auto& ns : cfg) {
        auto r = fx.conn().query("SELECT " + fx.q("object") + ", " + fx.q("relation") + ", " + fx.q("subject") + ", " +
                                 fx.q("commit_time") + " FROM " + fx.q(db_fixture::legacy_tuple_table(ns.id)));
        while (r->next()) {
            const std::string subject(r->text(2));
            std::string rendered = std::to_string(ns.id) + "|'" + std::string(r->text(0)) + "'|'" +
                                   std::string(r->text(1)) + "'|";
            const auto hash = subject.find('#');
            if (hash == std::string::npos) {
                rendered += "'" + subject + "'|NULL|NULL|NULL";
            } else {
                const auto colon = subject.find(':');
                REQUIRE(colon < hash);
                const auto set_ns = subject.substr(0, colon);
                const auto it = std::find_if(cfg.begin(), cfg.end(), [&](auto& n) { return n.name == set_ns; });
                REQUIRE_MESSAGE(it != cfg.end(), "test data names an unconfigured namespace: " << subject);
                rendered += "NULL|" + std::to_string(it->id) + "|'" + subject.substr(colon + 1, hash - colon - 1) +
                            "'|'" + subject.substr(hash + 1) + "'";
            }
            out.push_back(rendered + "|" + text_or_null(*r, 3));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

strings actual_tuples(db_fixture& fx) {
    strings out;
    auto r = fx.conn().query(
        "SELECT namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, "
        "subject_set_relation, commit_time FROM keto_relation_tuples");
    while (r->next())
        out.push_back(std::to_string(r->integer(0)) + "|" + text_or_null(*r, 1) + "|" + text_or_null(*r, 2) + "|" +
                      text_or_null(*r, 3) + "|" + (r->is_null(4) ? "NULL" : std::to_string(r->integer(4))) + "|" +
                      text_or_null(*r, 5) + "|" + text_or_null(*r, 6) + "|" + text_or_null(*r, 7));
    std::sort(out.begin(), out.end());
    return out;
}

// Multiset comparison naming the first differences: nothing lost, nothing doubled.
void check_every_row(db_fixture& fx, const strings& expected) {
    const auto actual = actual_tuples(fx);
    strings missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    INFO(expected.size() << " rows expected, " << actual.size() << " found; " << missing.size() << " missing (first: "
                         << (missing.empty() ? "-" : missing[0]) << "), " << extra.size()
                         << " unexpected or doubled (first: " << (extra.empty() ? "-" : extra[0]) << ")");
    CHECK(actual.size() == expected.size());
    CHECK(missing.empty());
    CHECK(extra.empty());
}

// Every legacy table of `cfg` gone and every namespace recorded as copied and dropped, once.
void check_finished(db_fixture& fx, const ns_list& cfg) {
    for (const auto& ns : cfg) {
        INFO("namespace " << ns.name << " (id " << ns.id << ")");
        CHECK_FALSE(fx.has_table(db_fixture::legacy_tuple_table(ns.id)));
        CHECK_FALSE(fx.has_table(db_fixture::legacy_history_table(ns.id)));
    }
    std::map<std::int64_t, bool> recorded;  // id -> dropped
    auto r = fx.conn().query("SELECT namespace_id, dropped_at FROM ferry_legacy_namespaces");
    while (r->next()) recorded[r->integer(0)] = !r->is_null(1);
    std::map<std::int64_t, bool> want;
    for (const auto& ns : cfg) want[ns.id] = true;
    CHECK(recorded == want);
    CHECK(fx.count_rows("networks") == 1);
    CHECK(fx.count_rows("ferry_deferred_indexes") == 0);  // indexes deferred by a killed run were built
}


// After a kill: each namespace is either wholly copied (recorded) or not at all, its legacy
// table then intact.
void check_all_or_nothing(db_fixture& fx, const ns_list& cfg, const std::map<std::int64_t, std::int64_t>& legacy) {
    // A server may still be executing what the killed client sent last (a COMMIT in flight)
    // while this reads: the namespace's record and its tuples could then be looked at on either
    // side of that commit. Wait, as the re-run would, until the killed run's lock is free.
    {
        auto other = fx.open_another();
        auto lock = other.dialect->acquire_migration_lock(*other.conn, other.source, std::chrono::seconds(30));
    }  // released at once: only the wait matters
    std::set<std::int64_t> recorded;
    if (fx.has_table("ferry_legacy_namespaces")) {
        auto r = fx.conn().query("SELECT namespace_id FROM ferry_legacy_namespaces");
        while (r->next()) recorded.insert(r->integer(0));
    }
    for (const auto& ns : cfg) {
        INFO("namespace " << ns.name << " after the kill");
        const auto n = fx.has_table("keto_relation_tuples") ? tuples_of(fx, ns.id) : 0;
        if (recorded.count(ns.id)) {
            CHECK(n == legacy.at(ns.id));
        } else {
            CHECK(n == 0);
            REQUIRE(fx.has_table(db_fixture::legacy_tuple_table(ns.id)));
            CHECK(fx.count_rows(db_fixture::legacy_tuple_table(ns.id)) == legacy.at(ns.id));
        }
    }
}


void rerun_to_completion(db_fixture& fx, const ns_list& cfg) {
    auto r = fx.cli(legacy_yes, {}, with_namespaces(cfg));
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
}

void insert_legacy(db_fixture& fx, std::int64_t ns, const std::string& object, const std::string& relation,
                   const std::string& subject, const std::string& commit_time) {
    std::array<ferry::value, 5> p{std::string("default"), object, relation, subject, commit_time};
    fx.conn().execute("INSERT INTO " + fx.q(db_fixture::legacy_tuple_table(ns)) + " (" + fx.q("shard_id") + ", " +
                          fx.q("object") + ", " + fx.q("relation") + ", " + fx.q("subject") + ", " +
                          fx.q("commit_time") + ") VALUES (?, ?, ?, ?, ?)",
                      p);
}

}  // namespace

TEST_SUITE("conformance: reliability") {

// ---- kill -9 ----------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "kill -9 after the first batch, after a namespace's last batch and mid-way in the "
                              "second namespace: the re-run leaves every row exactly once") {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    // Batches of 2000 rows: a has 2500 (two batches), b 6000 (three). The hook counts rows per
    // namespace and fires after the batch that reaches it.
    struct point {
        const char* rows;
        const char* where;
        std::set<std::int64_t> recorded;  // what must be committed when the kill lands
    };
    const point points[] = {
        {"1", "a's first batch", {}},
        {"2500", "a's last batch, before its verification and commit", {}},
        {"4000", "b's second batch (a committed and dropped)", {0}},
        {"6000", "b's last batch, before its verification and commit", {0}},
    };
    for (const auto& p : points) {
        INFO("kill after " << p.rows << " rows: " << p.where);
        drop_all_tables();
        seed_legacy(*this, {cfg[0]}, 2500, false, 3);
        seed_legacy(*this, {cfg[1]}, 6000, true, 4);
        migrate_up(*this);
        const auto legacy = legacy_counts(*this, cfg);
        const auto expected = expected_tuples(*this, cfg);
        REQUIRE(expected.size() == 8500);

        auto killed = cli(legacy_yes, {}, with_namespaces(cfg, {{"FERRY_TEST_KILL_AFTER_ROWS", p.rows}}));
        INFO(describe(killed));
        CHECK(killed.exit_code == 128 + SIGKILL);
        check_all_or_nothing(*this, cfg, legacy);
        std::set<std::int64_t> recorded;
        if (has_table("ferry_legacy_namespaces")) {
            auto r = conn().query("SELECT namespace_id FROM ferry_legacy_namespaces");
            while (r->next()) recorded.insert(r->integer(0));
        }
        CHECK(recorded == p.recorded);

        rerun_to_completion(*this, cfg);
        check_every_row(*this, expected);
        check_finished(*this, cfg);
    }
}

TEST_CASE_FIXTURE(db_fixture, "kill -9 inside the drop, right after the legacy DROP TABLE: the re-run finishes the "
                              "drop, copies nothing twice") {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    seed_legacy(*this, cfg, 1500);
    migrate_up(*this);
    const auto legacy = legacy_counts(*this, cfg);
    const auto expected = expected_tuples(*this, cfg);

    auto killed = cli(legacy_yes, {}, with_namespaces(cfg, {{"FERRY_TEST_KILL_IN_DROP", "1"}}));
    INFO(describe(killed));
    CHECK(killed.exit_code == 128 + SIGKILL);
    // a was copied and committed; its drop either rolled back whole (transactional DDL) or
    // went as far as the kill; b was never started.
    CHECK(tuples_of(*this, 0) == legacy.at(0));
    CHECK(tuples_of(*this, 1) == 0);
    CHECK(count_rows(legacy_tuple_table(1)) == legacy.at(1));
    MESSAGE("after a kill inside the drop on " << dialect_name() << ": legacy table of a "
                                               << std::string(has_table(legacy_tuple_table(0)) ? "kept (drop rolled back)"
                                                                                                : "gone (DDL committed)")
                                               << ", its migrations table "
                                               << std::string(has_table(legacy_history_table(0)) ? "kept" : "gone"));

    rerun_to_completion(*this, cfg);
    check_every_row(*this, expected);
    check_finished(*this, cfg);
}

TEST_CASE_FIXTURE(db_fixture, "kill -9 at random times (seeded) during a 30,000-tuple migration: the re-run leaves "
                              "every row exactly once") {
    const ns_list cfg{{0, "a"}, {1, "b"}, {2, "c"}};
    unsigned seed_value = 20211125;
    if (const char* s = std::getenv("FERRY_TEST_KILL_SEED")) seed_value = static_cast<unsigned>(std::strtoul(s, nullptr, 10));
    std::mt19937 random(seed_value);
    std::uniform_int_distribution<int> delay_ms(50, 500);
    for (int round = 0; round < 2; ++round) {
        const auto delay = std::chrono::milliseconds(delay_ms(random));
        INFO("round " << round << ", seed " << seed_value << ", kill after " << delay.count() << " ms");
        drop_all_tables();
        seed_legacy(*this, cfg, 10000, false, 7 + round);
        migrate_up(*this);
        const auto legacy = legacy_counts(*this, cfg);
        const auto expected = expected_tuples(*this, cfg);
        REQUIRE(expected.size() == 30000);

        auto run = cli_background(legacy_yes, with_namespaces(cfg), 60s);
        std::this_thread::sleep_for(delay);
        const bool was_running = run.running();
        if (was_running) ::kill(run.pid(), SIGKILL);
        auto r = run.wait();
        INFO(describe(r));
        CHECK_FALSE(r.timed_out);
        CHECK((r.exit_code == 0 || r.exit_code == 128 + SIGKILL));
        MESSAGE("random kill on " << dialect_name() << " after " << delay.count() << " ms: "
                                  << std::string(was_running ? "landed while ferry ran" : "ferry had already finished"));
        check_all_or_nothing(*this, cfg, legacy);

        rerun_to_completion(*this, cfg);
        check_every_row(*this, expected);
        check_finished(*this, cfg);
    }
}

// ---- a full disk (SQLite) ---------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "SQLite full (max_page_count on the copying connection): the namespace is rolled "
                              "back, the database unchanged, the next copy completes" *
                                  doctest::skip(not_sqlite())) {
    REQUIRE(dialect_name() == "sqlite");
    namespace legacy_api = ferry::core::legacy;
    const ns_list cfg{{0, "a"}};
    seed_legacy(*this, cfg, 20000);
    migrate_up(*this);
    const auto expected = expected_tuples(*this, cfg);
    const auto before = snapshot();
    const auto pages = ferry::query_integer(conn(), "PRAGMA page_count");
    // Room for a few pages only: the copy of 20,000 tuples needs hundreds.
    exec("PRAGMA max_page_count = " + std::to_string(pages + 20));

    ferry::core::config config;
    config.namespaces.push_back({0, "a"});
    legacy_api::migrator lm(db(), config);
    legacy_api::copy_observer quiet;
    std::string message;
    try {
        lm.copy(legacy_api::legacy_table_for(0), config.namespaces[0], quiet);
        FAIL("the copy did not fail although the database could not grow");
    } catch (const ferry::error& e) {
        message = e.what();
    }
    INFO("error: " << message);
    CHECK(contains(message, "full"));
    CHECK(contains(message, "namespace a (id 0)"));
    CHECK(contains(message, "rolled back"));
    exec("PRAGMA max_page_count = 1073741823");
    CHECK(snapshot() == before);
    CHECK_FALSE(lm.record(0).has_value());
    {
        auto check = conn().query("PRAGMA integrity_check");
        REQUIRE(check->next());
        CHECK(check->text(0) == "ok");
    }

    legacy_api::migrator again(db(), config);
    const auto done = again.copy(legacy_api::legacy_table_for(0), config.namespaces[0], quiet);
    CHECK(done.copied_now);
    check_every_row(*this, expected);
}

namespace {

// A tmpfs of `bytes` mounted at `dir` while this object lives (root with CAP_SYS_ADMIN only).
struct small_filesystem {
    fs::path dir;
    bool mounted = false;
    std::string why;
    small_filesystem(fs::path where, std::uintmax_t bytes) : dir(std::move(where)) {
        fs::create_directories(dir);
        const auto options = "size=" + std::to_string((bytes + 4095) / 4096 * 4) + "k,mode=0700";
        mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
        if (!mounted) why = std::strerror(errno);
    }
    ~small_filesystem() {
        if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
    }
};

}  // namespace

TEST_CASE_FIXTURE(db_fixture, "SQLite on a full filesystem (a small tmpfs): exit 1 with one line, the database "
                              "unchanged and intact" *
                                  doctest::skip(not_sqlite())) {
    REQUIRE(dialect_name() == "sqlite");
    const ns_list cfg{{0, "a"}};
    // The database is built elsewhere, then copied onto a filesystem with 256 KiB to spare.
    const auto built = dir() / "built.db";
    const auto built_dsn = "sqlite://" + built.string() + "?_fk=true";
    {
        auto s = run_process(kit().seed, {"--dsn", built_dsn, "--plugin-dir", kit().plugin_dir, "--namespaces", "a=0",
                                          "--tuples", "30000", "--batch", "1000"});
        INFO(describe(s));
        REQUIRE(s.exit_code == 0);
        auto up = run_ferry({"--dsn", built_dsn, "migrate", "up", "--yes"});
        INFO(describe(up));
        REQUIRE(up.exit_code == 0);
    }
    small_filesystem small(dir() / "small", fs::file_size(built) + 256 * 1024);
    if (!small.mounted) {
        MESSAGE("no tmpfs could be mounted here (" << small.why << "); the max_page_count case covers SQLITE_FULL");
        return;
    }
    const auto file = small.dir / "keto.db";
    fs::copy_file(built, file);
    const auto dsn = "sqlite://" + file.string() + "?_fk=true";
    auto state = [&] {
        auto db = ferry::core::open_database(registry(), ferry::parse_dsn(dsn));
        std::string out;
        for (const auto& t : db.dialect->list_tables(*db.conn))
            out += t + "=" +
                   std::to_string(ferry::query_integer(*db.conn, "SELECT COUNT(*) FROM " + db.dialect->quote_identifier(t))) +
                   "\n";
        auto check = db.conn->query("PRAGMA integrity_check");
        out += "integrity=" + std::string(check->next() ? check->text(0) : "none") + "\n";
        return out;
    };
    const auto before = state();
    REQUIRE(contains(before, "integrity=ok"));

    run_options options;
    options.env = with_namespaces(cfg);
    auto r = run_ferry({"--dsn", dsn, "namespace", "migrate", "legacy", "--yes"}, options);
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK_FALSE(r.timed_out);
    strings errors;
    for (const auto& line : lines_of(r.err))
        if (line.rfind("info:", 0) != 0) errors.push_back(line);
    CHECK(errors.size() == 1);
    CHECK(contains(r.err, "full"));
    CHECK(contains(r.err, "namespace a (id 0)"));
    CHECK_FALSE(contains(r.out, "Successfully migrated down"));
    CHECK(state() == before);
}

// ---- names and values that need quoting ---------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "namespace names with quotes, backslashes and control characters, and subject sets "
                              "naming them, round-trip exactly") {
    const ns_list cfg{{0, "it's \"quoted\""}, {1, "back\\slash\\"}, {2, "ctl\t\x01\x1f\x7f end"}, {3, "pct%_'; --"}};
    create_v06_main();
    for (const auto& ns : cfg) create_legacy_namespace(ns.id);
    int i = 0;
    auto when = [&] {
        const int n = i++;
        return "2021-05-01 10:00:" + std::string(n < 10 ? "0" : "") + std::to_string(n);
    };
    insert_legacy(*this, 0, "o'1", "r\"1", "user\\'\"", when());
    insert_legacy(*this, 0, "o\x02", "r", cfg[1].name + ":obj'#rel\"", when());
    insert_legacy(*this, 1, "o\\", "r\\", cfg[0].name + ":o#r", when());
    insert_legacy(*this, 1, "tab\there", "nl\nx", cfg[2].name + ":\x1b[0m#\x7f", when());
    insert_legacy(*this, 2, "\x01\x02\x03", "\x1f", "subj\r\n", when());
    insert_legacy(*this, 2, "o", "r", cfg[3].name + ":o#r", when());
    insert_legacy(*this, 3, "'; DROP TABLE keto_relation_tuples; --", "r", cfg[2].name + ":\\#\\", when());
    migrate_up(*this);
    const auto expected = expected_tuples(*this, cfg);
    REQUIRE(expected.size() == 7);

    const auto report = dir() / "skipped.jsonl";
    auto r = cli({"namespace", "migrate", "legacy", "--yes", "--report", report.string()}, {}, with_namespaces(cfg));
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    for (const auto& ns : cfg) CHECK(contains(r.out, "Successfully migrated down namespace " + ns.name + ".\n"));
    check_every_row(*this, expected);
    check_finished(*this, cfg);
    std::map<std::int64_t, std::string> names;
    auto rows = conn().query("SELECT namespace_id, namespace_name FROM ferry_legacy_namespaces");
    while (rows->next()) names[rows->integer(0)] = std::string(rows->text(1));
    for (const auto& ns : cfg) CHECK(names[ns.id] == ns.name);
    // No row was skipped: the report exists (0600), empty.
    struct stat st {};
    REQUIRE(::stat(report.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(st.st_size == 0);
}

// ---- passwords --------------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "ferry-seed's connection errors never show the password" *
                                  doctest::skip(not_a_shipped_server())) {
    REQUIRE(dialect_name() != "sqlite");
    const std::string wrong = "S33d-Wr0ng-pw-41f7";
    const auto real = ferry::parse_dsn(dsn()).password.value_or("");
    REQUIRE_FALSE(real.empty());
    for (const auto& target : {dsn_with_password(wrong), dsn_with_address("127.0.0.1", 1, 2)}) {
        auto s = run_process(kit().seed, {"--dsn", target, "--plugin-dir", kit().plugin_dir, "--tuples", "1"});
        INFO(describe(s, {wrong}));
        CHECK(s.exit_code != 0);
        CHECK(s.exit_code < 128);
        CHECK_FALSE(s.err.empty());
        CHECK_FALSE(contains(s.err + s.out, wrong));
        CHECK_FALSE(contains(s.err + s.out, real));
    }
    CHECK(tables().empty());
}

// ---- bad input through the ferry binary ---------------------------------------------------------

namespace {

struct bad_case {
    std::string what;
    strings args;
    env_overrides env;
    int exit_code;
    strings named;  // each must appear in the one stderr line
};

// Runs `c` against the fixture's database: one line on stderr naming the problem, the expected
// exit code, and the database exactly as before.
void check_bad(db_fixture& fx, const bad_case& c) {
    INFO("bad input: " << c.what);
    const auto before = fx.snapshot();
    auto r = fx.cli(c.args, {}, c.env);
    INFO(describe(r));
    CHECK(r.exit_code == c.exit_code);
    CHECK_FALSE(r.timed_out);
    CHECK(lines_of(r.err).size() == 1);
    for (const auto& n : c.named) CHECK(contains(r.err, n));
    CHECK(fx.snapshot() == before);
}

}  // namespace

TEST_CASE_FIXTURE(db_fixture, "bad input, each through the ferry binary: one line naming it, exit 1 or 2, the "
                              "database unchanged") {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    seed_legacy(*this, cfg, 50);
    migrate_up(*this);
    const auto ns_env = [&](const std::string& json) { return env_overrides{{"NAMESPACES", json}}; };
    write_file(dir() / "malformed.yml", "dsn: [\nnamespaces: {\n");
    write_file(dir() / "dup.yml", "namespaces:\n  - id: 0\n    name: a\n  - id: 0\n    name: b\n");

    const std::vector<bad_case> cases{
        {"duplicate namespace ids", legacy_yes, ns_env(R"([{"id":0,"name":"a"},{"id":0,"name":"b"}])"), 2,
         {"id 0 is already used"}},
        {"duplicate namespace names", legacy_yes, ns_env(R"([{"id":0,"name":"a"},{"id":1,"name":"a"}])"), 2,
         {"name \"a\" is already used"}},
        {"duplicate ids in a config file", {"--config", (dir() / "dup.yml").string(), "namespace", "migrate", "legacy",
                                            "--yes"}, {}, 2, {"dup.yml", "already used"}},
        {"a string id", legacy_yes, ns_env(R"([{"id":"x","name":"a"}])"), 2, {"must be an integer"}},
        {"a fractional id", legacy_yes, ns_env(R"([{"id":1.5,"name":"a"}])"), 2, {"must be an integer"}},
        {"a negative id", legacy_yes, ns_env(R"([{"id":-1,"name":"a"}])"), 2, {"id"}},
        {"an unknown namespace argument", {"namespace", "migrate", "legacy", "--yes", "nope"},
         ns_env(namespaces_json(cfg)), 2, {"\"nope\""}},
        {"an unconfigured legacy table", legacy_yes, ns_env(R"([{"id":0,"name":"a"}])"), 2,
         {"keto_0000000001_relation_tuples"}},
        {"a missing config file", {"--config", (dir() / "missing.yml").string(), "migrate", "status"}, {}, 2,
         {"missing.yml", "does not exist"}},
        {"a malformed config file", {"--config", (dir() / "malformed.yml").string(), "migrate", "status"}, {}, 2,
         {"malformed.yml", "malformed"}},
        {"malformed NAMESPACES", legacy_yes, ns_env("[{"), 2, {"NAMESPACES"}},
        {"an unknown flag", {"migrate", "up", "--bogus"}, {}, 2, {"bogus"}},
        {"an unknown subcommand", {"migrate", "sideways"}, {}, 2, {"migrate"}},
        {"an unknown command", {"frobnicate"}, {}, 2, {"frobnicate"}},
        {"a non-integer down count", {"migrate", "down", "two", "--yes"}, {}, 2, {"two"}},
    };
    for (const auto& c : cases) check_bad(*this, c);

    SUBCASE("a history row of an unknown version: up and down refuse naming it, status warns") {
        const std::string unknown = "20990101000000000000";
        exec("INSERT INTO schema_migration (version, version_self) VALUES ('" + unknown + "', 0)");
        check_bad(*this, {"migrate up", {"migrate", "up", "--yes"}, {}, 1, {unknown}});
        check_bad(*this, {"migrate down", {"migrate", "down", "1", "--yes"}, {}, 1, {unknown}});
        auto status = cli({"migrate", "status"});
        INFO(describe(status));
        CHECK(status.exit_code == 0);
        CHECK(contains(status.err, unknown));
        CHECK(contains(status.err, "warn"));
    }
    SUBCASE("legacy tables with unexpected columns: refused naming the table before any namespace is touched") {
        // Ids 2 and 3 sort after a (0) and b (1): a run that copied first would change them.
        exec("CREATE TABLE " + q(legacy_tuple_table(2)) + " (" + q("shard_id") + " VARCHAR(64), " + q("object") +
             " VARCHAR(64), " + q("relation") + " VARCHAR(64), " + q("commit_time") + " VARCHAR(64))");
        exec("CREATE TABLE " + q(legacy_tuple_table(3)) + " (" + q("shard_id") + " VARCHAR(64), " + q("obj") +
             " VARCHAR(64), " + q("rel") + " VARCHAR(64), " + q("subj") + " VARCHAR(64), " + q("commit_time") +
             " VARCHAR(64))");
        const auto four = namespaces_json({{0, "a"}, {1, "b"}, {2, "c"}, {3, "d"}});
        check_bad(*this, {"missing subject column", legacy_yes, ns_env(four), 1, {legacy_tuple_table(2), "subject"}});
        check_bad(*this, {"--dry-run, missing subject column", {"namespace", "migrate", "legacy", "--dry-run"},
                          ns_env(four), 1, {legacy_tuple_table(2)}});
        check_bad(*this, {"renamed columns", {"namespace", "migrate", "legacy", "--yes", "d"}, ns_env(four), 1,
                          {legacy_tuple_table(3), "object"}});
    }
}

TEST_CASE_FIXTURE(db_fixture, "bad migration sets through the ferry binary: one line naming the file, the database "
                              "unchanged") {
    const auto dir_of = [&](const std::string& name) {
        const auto d = dir() / name;
        fs::create_directories(d);
        return d;
    };
    const std::string v1 = "20990501000000000001";
    const auto good = dir_of("good");
    write_file(good / (v1 + "_one.up.sql"), "CREATE TABLE rel_one (id INTEGER);\n");
    write_file(good / (v1 + "_one.down.sql"), "DROP TABLE rel_one;\n");
    {
        auto up = cli({"migrate", "up", "--yes", "--migrations", good.string()});
        INFO(describe(up));
        REQUIRE(up.exit_code == 0);
    }
    // A file name without a version, next to a pending migration that must not run.
    const auto badname = dir_of("badname");
    fs::copy(good, badname);
    write_file(badname / "20990501000000000002_two.up.sql", "CREATE TABLE rel_two (id INTEGER);\n");
    write_file(badname / "20990501000000000002_two.down.sql", "DROP TABLE rel_two;\n");
    write_file(badname / "create_stuff.up.sql", "CREATE TABLE rel_bad (id INTEGER);\n");
    check_bad(*this, {"a migration file name without a version", {"migrate", "up", "--yes", "--migrations",
                                                                   badname.string()}, {}, 1, {"create_stuff.up.sql"}});
    // The applied migration's file edited afterwards.
    const auto edited = dir_of("edited");
    fs::copy(good, edited);
    write_file(edited / (v1 + "_one.up.sql"), "CREATE TABLE rel_one (id INTEGER, extra INTEGER);\n");
    write_file(edited / "20990501000000000002_two.up.sql", "CREATE TABLE rel_two (id INTEGER);\n");
    write_file(edited / "20990501000000000002_two.down.sql", "DROP TABLE rel_two;\n");
    check_bad(*this, {"an applied migration edited", {"migrate", "up", "--yes", "--migrations", edited.string()}, {},
                      1, {v1, "changed"}});
    CHECK_FALSE(has_table("rel_two"));
}

}  // TEST_SUITE

// ---- chunked copy (--chunk-rows; CockroachDB's default) ---------------------------------------

TEST_CASE_FIXTURE(db_fixture, "chunked copy: a run killed between chunks leaves Keto nothing of the namespace; the "
                              "next run resumes after the last chunk, nothing lost, doubled or reported twice") {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    auto s = seed({"--namespaces", "a=0,b=1", "--tuples", "1000", "--broken", "10", "--seed", "21"});
    REQUIRE_MESSAGE(s.exit_code == 0, describe(s));
    REQUIRE(cli({"migrate", "up", "--yes"}, {}, with_namespaces(cfg)).exit_code == 0);
    const auto legacy_a = count_rows(legacy_tuple_table(0)), legacy_b = count_rows(legacy_tuple_table(1));
    const strings chunked{"namespace", "migrate", "legacy", "--yes", "--chunk-rows", "200"};

    // Chunks of 200 rows: the kill lands in the third chunk of namespace a, two are committed.
    auto killed = cli(chunked, {}, with_namespaces(cfg, {{"FERRY_TEST_KILL_AFTER_ROWS", "500"}}));
    INFO(describe(killed));
    REQUIRE(killed.exit_code == 137);
    CHECK(count_rows("keto_relation_tuples") == 0);  // staged rows are not Keto's yet
    CHECK(count_rows("ferry_staged_relation_tuples") > 0);
    CHECK(ferry::query_integer(conn(), "SELECT rows_read FROM ferry_legacy_progress WHERE namespace_id = 0") == 400);

    auto resumed = cli(chunked, {}, with_namespaces(cfg));
    INFO(describe(resumed));
    REQUIRE(resumed.exit_code == 0);
    CHECK(contains(resumed.err, "resuming the chunked copy"));

    CHECK(count_rows("ferry_staged_relation_tuples") == 0);
    CHECK(count_rows("ferry_legacy_progress") == 0);
    const auto skipped_a = ferry::query_integer(conn(), "SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = 0");
    const auto skipped_b = ferry::query_integer(conn(), "SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = 1");
    CHECK(skipped_a > 0);
    CHECK(ferry::query_integer(conn(), "SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = 0") + skipped_a ==
          legacy_a);
    CHECK(ferry::query_integer(conn(), "SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = 1") + skipped_b ==
          legacy_b);
    // No tuple twice: the legacy rows are distinct, so their copies must be.
    CHECK(ferry::query_integer(conn(), "SELECT COUNT(*) FROM (SELECT namespace_id, object, relation, subject_id, "
                                       "subject_set_namespace_id, subject_set_object, subject_set_relation, "
                                       "commit_time FROM keto_relation_tuples GROUP BY namespace_id, object, "
                                       "relation, subject_id, subject_set_namespace_id, subject_set_object, "
                                       "subject_set_relation, commit_time HAVING COUNT(*) > 1) d") == 0);
    // Each broken row reported by exactly one of the two runs.
    CHECK(static_cast<std::int64_t>(occurrences(killed.err + resumed.err, "Skipping relation tuple")) ==
          skipped_a + skipped_b);
    CHECK(contains(resumed.out, "copied " + std::to_string(legacy_a - skipped_a) + ", skipped " +
                                    std::to_string(skipped_a)));
    CHECK_FALSE(has_table(legacy_tuple_table(0)));
}
