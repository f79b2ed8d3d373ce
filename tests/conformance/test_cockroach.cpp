// CockroachDB-specific cases (issue 5): the exact SQL of each step (golden files), the client
// retry protocol driven by real serialization failures, the lease lock. They run for the
// cockroach dialect only: on a real CockroachDB (CI) or, here, on the PostgreSQL test server in
// the plugin's test-only mode, where SERIALIZABLE conflicts raise real 40001 errors too.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

#include "../support/text.hpp"
#include "fixture.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

bool not_cockroach() {
    const char* d = std::getenv("FERRY_CONFORMANCE_DIALECT");
    return !d || std::string_view(d) != "cockroach";
}

// The same server under test may be a real CockroachDB or PostgreSQL standing in for it.
bool real_cockroach(db_fixture& fx) {
    auto r = fx.conn().query("SELECT version()");
    return r->next() && contains(r->text(0), "CockroachDB");
}

// NAMESPACES, and a lease long enough that no heartbeat lands inside a test: the golden
// files stay exact.
env_overrides lease_quiet(const ns_list& cfg, env_overrides env = {}) {
    env.emplace_back("FERRY_LEASE_TTL_SECONDS", "600");
    return with_namespaces(cfg, std::move(env));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Compares a trace with tests/conformance/golden/cockroach/<name>.sql; FERRY_UPDATE_GOLDEN=1
// rewrites the golden file instead (review the diff before committing it).
void check_golden(const std::string& name, const fs::path& trace) {
    const fs::path golden = fs::path(FERRY_TEST_GOLDEN_DIR) / "cockroach" / (name + ".sql");
    const auto actual = read_file(trace);
    REQUIRE_MESSAGE(!actual.empty(), "nothing was traced to " << trace);
    if (const char* u = std::getenv("FERRY_UPDATE_GOLDEN"); u && std::string_view(u) == "1") {
        fs::create_directories(golden.parent_path());
        std::ofstream(golden) << actual;
        MESSAGE("updated " << golden);
        return;
    }
    REQUIRE_MESSAGE(fs::exists(golden), golden << " is missing; run with FERRY_UPDATE_GOLDEN=1 to create it");
    const auto expected = read_file(golden);
    std::istringstream a(actual), e(expected);
    std::string la, le;
    for (int line = 1;; ++line) {
        const bool more_a = static_cast<bool>(std::getline(a, la)), more_e = static_cast<bool>(std::getline(e, le));
        if (!more_a && !more_e) break;
        INFO(golden.filename().string() << " line " << line);
        REQUIRE(la == le);
    }
}

std::int64_t scalar(db_fixture& fx, const std::string& sql) { return ferry::query_integer(fx.conn(), sql); }

}  // namespace

TEST_CASE_FIXTURE(db_fixture, "cockroach: the exact SQL of each step matches the golden files" *
                                  doctest::skip(not_cockroach())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    auto s = seed({"--namespaces", "a=0,b=1", "--tuples", "30", "--broken", "10", "--seed", "5"});
    REQUIRE_MESSAGE(s.exit_code == 0, describe(s));

    const auto up_trace = dir() / "up.sql";
    auto up = cli({"migrate", "up", "--yes"}, {}, lease_quiet(cfg, {{"FERRY_TRACE_SQL", up_trace.string()}}));
    REQUIRE_MESSAGE(up.exit_code == 0, describe(up));
    check_golden("migrate-up", up_trace);

    // Namespace a is copied in chunks of 20 rows (staged, then published); the trace shows the
    // savepoint protocol around every transaction, the lease, discovery and the batches.
    const auto legacy_trace = dir() / "legacy.sql";
    auto legacy = cli({"namespace", "migrate", "legacy", "--yes", "--chunk-rows", "20"}, {},
                      lease_quiet(cfg, {{"FERRY_TRACE_SQL", legacy_trace.string()}}));
    REQUIRE_MESSAGE(legacy.exit_code == 0, describe(legacy));
    check_golden("namespace-migrate-legacy", legacy_trace);
    CHECK(count_rows("keto_relation_tuples") +
              count_rows("ferry_skipped_relation_tuples") ==
          60);
}

TEST_CASE_FIXTURE(db_fixture, "cockroach: a commit aborted by a serialization failure is retried; broken rows are "
                              "reported and counted once" *
                                  doctest::skip(not_cockroach())) {
    const ns_list cfg{{0, "a"}};
    auto s = seed({"--namespaces", "a=0", "--tuples", "300", "--broken", "10", "--seed", "9"});
    REQUIRE_MESSAGE(s.exit_code == 0, describe(s));
    migrate_up(*this);
    const auto legacy_rows = count_rows(legacy_tuple_table(0));

    auto copy = cli_background(legacy_yes, lease_quiet(cfg, {{"FERRY_TEST_PAUSE_BEFORE_COMMIT", "3"}}));
    REQUIRE_MESSAGE(copy.wait_for_output("pausing before the commit", 30s), copy.err_so_far());

    // While ferry holds its finished, uncommitted transaction: a SERIALIZABLE transaction that
    // reads what ferry wrote and writes what ferry read (networks) commits first. Ferry's
    // commit then fails with 40001 (PostgreSQL: read/write dependencies among transactions).
    auto other = open_another();
    if (!real_cockroach(*this)) {
        other.conn->begin();
        other.conn->execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        ferry::query_integer(*other.conn, "SELECT COUNT(*) FROM keto_relation_tuples");
        other.conn->execute("INSERT INTO networks (id, created_at, updated_at) VALUES "
                            "('0b0b0b0b-0000-4000-8000-000000000001', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
        other.conn->commit();
    }

    auto r = copy.wait();
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    if (!real_cockroach(*this)) {
        CHECK(contains(r.err, "serialization failure"));
        CHECK(contains(r.err, "attempt=2"));
    }
    const auto skipped = count_rows("ferry_skipped_relation_tuples");
    CHECK(skipped > 0);
    // Reported once each, although the transaction that found them ran twice.
    CHECK(static_cast<std::int64_t>(occurrences(r.err, "Skipping relation tuple")) == skipped);
    CHECK(contains(r.out, "skipped " + std::to_string(skipped)));
    CHECK(count_rows("keto_relation_tuples") + skipped == legacy_rows);
    // Every tuple carries the network that survived (ferry's first one was rolled back).
    CHECK(scalar(*this, "SELECT COUNT(*) FROM keto_relation_tuples WHERE nid = (SELECT id FROM networks ORDER BY "
                        "created_at LIMIT 1)") +
              skipped ==
          legacy_rows);
}

TEST_CASE_FIXTURE(db_fixture, "cockroach: a statement aborted by a serialization failure rolls back to "
                              "cockroach_restart; retries are bounded; staged chunks resume" *
                                  doctest::skip(not_cockroach())) {
    const ns_list cfg{{0, "a"}};
    auto s = seed({"--namespaces", "a=0", "--tuples", "90", "--broken", "5", "--seed", "3"});
    REQUIRE_MESSAGE(s.exit_code == 0, describe(s));
    migrate_up(*this);
    const auto legacy_rows = count_rows(legacy_tuple_table(0));

    // Chunks of 30 rows; ferry pauses inside the second chunk, after its snapshot was taken.
    const auto trace = dir() / "retry.sql";
    auto copy = cli_background({"namespace", "migrate", "legacy", "--yes", "--chunk-rows", "30"},
                               lease_quiet(cfg, {{"FERRY_TEST_PAUSE_AFTER_ROWS", "31"},
                                                     {"FERRY_TEST_PAUSE_SECONDS", "3"},
                                                     {"FERRY_TRACE_SQL", trace.string()}}),
                               120s);
    std::this_thread::sleep_for(1500ms);
    REQUIRE(copy.running());
    // Meanwhile the progress row ferry is about to update changes under it: the UPDATE fails
    // with 40001 (PostgreSQL: "could not serialize access due to concurrent update").
    CHECK(count_rows("ferry_legacy_progress") == 1);
    exec("UPDATE ferry_legacy_progress SET updated_at = CURRENT_TIMESTAMP");

    auto r = copy.wait();
    INFO(describe(r));
    CHECK(contains(read_file(trace), "ROLLBACK TO SAVEPOINT cockroach_restart"));
    if (!real_cockroach(*this)) {
        // PostgreSQL keeps the transaction's snapshot across the savepoint, so every attempt
        // meets the same conflict: the bound ends it, with nothing of the chunk kept.
        CHECK(r.exit_code == 1);
        // Every attempt's SQL: the rollback to the savepoint, the same chunk again, ten times.
        check_golden("serialization-retry-exhausted", trace);
        CHECK(contains(r.err, "was aborted by the database 10 times"));
        CHECK(occurrences(r.err, "running it again") == 9);
        CHECK(contains(r.err, "resumes after them"));
        CHECK(count_rows("keto_relation_tuples") == 0);
        CHECK(scalar(*this, "SELECT rows_read FROM ferry_legacy_progress") == 30);
        auto again = cli(legacy_yes, {}, lease_quiet(cfg));
        INFO(describe(again));
        CHECK(again.exit_code == 0);
        CHECK(contains(again.err, "resuming the chunked copy"));
    } else {
        CHECK(r.exit_code == 0);
    }
    const auto skipped = count_rows("ferry_skipped_relation_tuples");
    CHECK(count_rows("keto_relation_tuples") + skipped == legacy_rows);
    CHECK(count_rows("ferry_staged_relation_tuples") == 0);
    CHECK(count_rows("ferry_legacy_progress") == 0);
}

TEST_CASE_FIXTURE(db_fixture, "cockroach: the lease of a killed run expires and the next run takes over; a live "
                              "lease refuses naming its holder; only the owner releases" *
                                  doctest::skip(not_cockroach())) {
    const ns_list cfg{{0, "a"}};
    auto s = seed({"--namespaces", "a=0", "--tuples", "200", "--seed", "4"});
    REQUIRE_MESSAGE(s.exit_code == 0, describe(s));
    migrate_up(*this);

    env_overrides short_lease{{"NAMESPACES", namespaces_json(cfg)}, {"FERRY_LEASE_TTL_SECONDS", "4"}};
    auto killed_env = short_lease;
    killed_env.emplace_back("FERRY_TEST_KILL_AFTER_ROWS", "100");
    auto killed = cli(legacy_yes, {}, killed_env);
    REQUIRE_MESSAGE(killed.exit_code == 137, describe(killed));
    REQUIRE(count_rows("ferry_lease") == 1);  // a killed run cannot release

    auto refused = cli({"namespace", "migrate", "legacy", "--yes", "--lock-timeout", "1"}, {}, short_lease);
    INFO(describe(refused));
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "holds the migration lease"));
    // The holder is named: host:pid:random id.
    CHECK(std::regex_search(refused.err, std::regex(R"(another ferry \([^:() ]+:[0-9]+:[0-9a-f]{16}\))")));
    CHECK(count_rows("keto_relation_tuples") == 0);

    const auto started = std::chrono::steady_clock::now();
    auto took_over = cli({"namespace", "migrate", "legacy", "--yes", "--lock-timeout", "30"}, {}, short_lease);
    const auto waited = std::chrono::steady_clock::now() - started;
    INFO(describe(took_over));
    CHECK(took_over.exit_code == 0);
    CHECK(waited < 20s);
    CHECK(count_rows("ferry_lease") == 0);  // released by its owner at the end

    // A lease someone else holds is neither taken nor released by a run that gives up.
    exec("INSERT INTO ferry_lease (name, owner, acquired_at, heartbeat_at, expires_at) VALUES "
         "('migration', 'elsewhere:1:abc', 0, 0, 99999999999)");
    auto blocked = cli({"migrate", "down", "1", "--yes", "--lock-timeout", "1"}, {}, short_lease);
    INFO(describe(blocked));
    CHECK(blocked.exit_code == 1);
    CHECK(contains(blocked.err, "another ferry (elsewhere:1:abc) holds the migration lease"));
    CHECK(scalar(*this, "SELECT COUNT(*) FROM ferry_lease WHERE owner = 'elsewhere:1:abc'") == 1);
}

TEST_CASE_FIXTURE(db_fixture, "cockroach: ferry --dsn cockroach://... loads the plugin and works on CockroachDB, or "
                              "says in one line that the server is not CockroachDB" *
                                  doctest::skip(not_cockroach())) {
    auto listed = cli({"plugins", "list"});
    CHECK(contains(listed.out, "cockroach  schemes=cockroach,cockroachdb"));

    // Without the test-only switch, as an operator would run it.
    auto r = cli({"migrate", "status"}, {}, {{"FERRY_TEST_COCKROACH_ON_POSTGRES", std::nullopt}});
    INFO(describe(r));
    if (real_cockroach(*this)) {
        CHECK(r.exit_code == 0);
        return;
    }
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "is not CockroachDB (it reports \"PostgreSQL "));
    CHECK(contains(r.err, "use a postgres:// DSN"));
    CHECK(occurrences(r.err, "\n") == 1);
    const auto password = ferry::parse_dsn(dsn()).password;
    if (password) CHECK_FALSE(contains(r.err, *password));
    CHECK(tables().empty());
}
