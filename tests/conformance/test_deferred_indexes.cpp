// The secondary indexes of keto_relation_tuples, dropped while the legacy copy fills the empty
// table and built after it (core/deferred_indexes.hpp): the final schema is exactly what the
// migrations made, a failed run builds them before it exits, and a killed run leaves a record
// from which the next writing command builds them. Only where the dialect asks for it
// (core::defers_index_builds: PostgreSQL); elsewhere the indexes must stay in place throughout.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <ferry/core/deferred_indexes.hpp>

#include "fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
using strings = std::vector<std::string>;

namespace {

constexpr std::string_view deferral_logged = "they are built after the copy";

strings indexes_of(db_fixture& fx) { return rendered_indexes(fx.describe_table("keto_relation_tuples")); }

bool defers(db_fixture& fx) { return ferry::core::defers_index_builds(fx.dialect().caps()); }

// Namespace a with 1000 tuples, b with 3000, a few broken in each; the schema migrated up.
// Returns the legacy rows. The fault hooks count rows per namespace, after each batch of 2000:
// a threshold of 2500 fires in b only.
std::int64_t seed_two_namespaces(db_fixture& fx, const ns_list& cfg) {
    for (const strings& args : {strings{"--namespaces", "a=0", "--tuples", "1000", "--broken", "5", "--seed", "17"},
                                strings{"--namespaces", "b=1", "--tuples", "3000", "--broken", "5", "--seed", "18",
                                        "--append"}}) {
        auto s = fx.seed(args);
        REQUIRE_MESSAGE(s.exit_code == 0, describe(s));
    }
    migrate_up(fx);
    std::int64_t rows = 0;
    for (const auto& ns : cfg) rows += fx.count_rows(db_fixture::legacy_tuple_table(ns.id));
    return rows;
}

void check_everything_copied(db_fixture& fx, std::int64_t legacy_rows) {
    CHECK(fx.count_rows("keto_relation_tuples") + fx.count_rows("ferry_skipped_relation_tuples") == legacy_rows);
    CHECK(fx.count_rows("ferry_deferred_indexes") == 0);
}

// `namespace migrate legacy --yes` to the end: exit 0, the indexes `migrate up` made, every
// legacy row copied or kept, no record left. Returns the run for the case's own checks.
process_result run_to_the_end(db_fixture& fx, const ns_list& cfg, const strings& indexes, std::int64_t legacy_rows) {
    auto r = fx.cli(legacy_yes, {}, with_namespaces(cfg));
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK(indexes_of(fx) == indexes);
    check_everything_copied(fx, legacy_rows);
    return r;
}

}  // namespace

TEST_SUITE("conformance: deferred indexes") {

TEST_CASE_FIXTURE(db_fixture, "an empty keto_relation_tuples gets its secondary indexes after the copy, exactly as "
                              "the migrations created them" *
                                  doctest::skip(testing_a_plugin_by_dsn())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    const auto legacy_rows = seed_two_namespaces(*this, cfg);
    const auto indexes = indexes_of(*this);
    REQUIRE_FALSE(indexes.empty());

    const auto r = run_to_the_end(*this, cfg, indexes, legacy_rows);
    INFO(describe(r));
    CHECK(contains(r.err, deferral_logged) == defers(*this));
}

TEST_CASE_FIXTURE(db_fixture, "a keto_relation_tuples that already holds rows keeps its indexes during the copy" *
                                  doctest::skip(testing_a_plugin_by_dsn())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    const auto legacy_rows = seed_two_namespaces(*this, cfg);
    const auto indexes = indexes_of(*this);
    // A tuple of a namespace this run does not touch.
    exec("INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, commit_time) "
         "VALUES ('7f1c2a3e-0d4b-4c5a-9e6f-0a1b2c3d4e5f', '7f1c2a3e-0d4b-4c5a-9e6f-0a1b2c3d4e60', 9, 'o', 'r', 's', "
         "CURRENT_TIMESTAMP)");

    const auto r = run_to_the_end(*this, cfg, indexes, legacy_rows + 1);
    INFO(describe(r));
    CHECK_FALSE(contains(r.err, deferral_logged));
}

TEST_CASE_FIXTURE(db_fixture, "a run that fails mid-copy builds the deferred indexes before it exits" *
                                  doctest::skip(testing_a_plugin_by_dsn())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    const auto legacy_rows = seed_two_namespaces(*this, cfg);
    const auto indexes = indexes_of(*this);

    // Fails in namespace b, after a was copied and dropped.
    auto failed = cli(legacy_yes, {}, with_namespaces(cfg, {{"FERRY_TEST_FAIL_AFTER_ROWS", "2500"}}));
    INFO(describe(failed));
    REQUIRE(failed.exit_code == 1);
    CHECK(contains(failed.err, "namespace b (id 1)"));
    CHECK(indexes_of(*this) == indexes);
    CHECK(count_rows("ferry_deferred_indexes") == 0);

    const auto rerun = run_to_the_end(*this, cfg, indexes, legacy_rows);
    INFO(describe(rerun));
    // keto_relation_tuples holds namespace a now: b is copied with the indexes in place.
    CHECK_FALSE(contains(rerun.err, deferral_logged));
}

TEST_CASE_FIXTURE(db_fixture, "a run killed while the indexes are deferred: `migrate status` warns, `migrate up` "
                              "builds them, the re-run finishes with the same schema" *
                                  doctest::skip(testing_a_plugin_by_dsn())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    const auto legacy_rows = seed_two_namespaces(*this, cfg);
    const auto indexes = indexes_of(*this);

    auto killed = cli(legacy_yes, {}, with_namespaces(cfg, {{"FERRY_TEST_KILL_AFTER_ROWS", "500"}}));
    INFO(describe(killed));
    REQUIRE(killed.exit_code == 137);
    CHECK(count_rows("keto_relation_tuples") == 0);
    if (defers(*this)) {
        CHECK(indexes_of(*this).empty());
        CHECK(count_rows("ferry_deferred_indexes") > 0);

        auto status = cli({"migrate", "status"}, {}, with_namespaces(cfg));
        INFO(describe(status));
        CHECK(status.exit_code == 0);
        CHECK(contains(status.err, "keto_relation_tuples lacks indexes an interrupted legacy migration deferred"));

        auto up = cli({"migrate", "up", "--yes"}, {}, with_namespaces(cfg));
        INFO(describe(up));
        CHECK(up.exit_code == 0);
        CHECK(contains(up.out, "Built the indexes of keto_relation_tuples"));
    }
    CHECK(indexes_of(*this) == indexes);
    CHECK(count_rows("ferry_deferred_indexes") == 0);

    run_to_the_end(*this, cfg, indexes, legacy_rows);
}

TEST_CASE_FIXTURE(db_fixture, "a run killed while the indexes are deferred: the next legacy run builds them first" *
                                  doctest::skip(testing_a_plugin_by_dsn())) {
    const ns_list cfg{{0, "a"}, {1, "b"}};
    const auto legacy_rows = seed_two_namespaces(*this, cfg);
    const auto indexes = indexes_of(*this);

    // Killed in namespace b: a is copied, so the re-run finds rows and keeps the indexes.
    auto killed = cli(legacy_yes, {}, with_namespaces(cfg, {{"FERRY_TEST_KILL_AFTER_ROWS", "2500"}}));
    INFO(describe(killed));
    REQUIRE(killed.exit_code == 137);
    CHECK((count_rows("ferry_deferred_indexes") > 0) == defers(*this));

    const auto rerun = run_to_the_end(*this, cfg, indexes, legacy_rows);
    INFO(describe(rerun));
    CHECK(contains(rerun.err, "building the secondary indexes of keto_relation_tuples") == defers(*this));
    CHECK_FALSE(contains(rerun.err, deferral_logged));
}

}  // TEST_SUITE
