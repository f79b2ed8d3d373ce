// The v0.6 subject encoding (spec 3.2), code-point counting for the 64-character columns, the
// skip reasons' names and the legacy table names: pure functions of core/src/legacy.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/core/legacy.hpp>
#include <ferry/errors.hpp>

namespace legacy = ferry::core::legacy;
using legacy::parsed_subject;

namespace {

struct expected_set {
    std::string_view ns, object, relation;
};

void check_id(std::string_view s) {
    INFO("subject \"" << std::string(s) << "\"");
    const auto p = legacy::parse_subject(s);
    CHECK(p.kind == parsed_subject::subject_id);
    CHECK(p.id == s);
    // Views into the input, not copies.
    CHECK(p.id.data() == s.data());
    CHECK(p.id.size() == s.size());
}

void check_set(std::string_view s, expected_set want) {
    INFO("subject \"" << std::string(s) << "\"");
    const auto p = legacy::parse_subject(s);
    REQUIRE(p.kind == parsed_subject::subject_set);
    CHECK(p.set_namespace == want.ns);
    CHECK(p.set_object == want.object);
    CHECK(p.set_relation == want.relation);
    // Each part points into the input at its own place.
    CHECK(p.set_namespace.data() == s.data());
    CHECK(p.set_object.data() == s.data() + want.ns.size() + 1);
    CHECK(p.set_relation.data() == s.data() + want.ns.size() + 1 + want.object.size() + 1);
}

void check_broken(std::string_view s) {
    INFO("subject \"" << std::string(s) << "\"");
    CHECK(legacy::parse_subject(s).kind == parsed_subject::malformed);
}

}  // namespace

TEST_SUITE("legacy subject parsing (spec 3.2)") {

TEST_CASE("no '#': a subject id, verbatim, whatever else it holds") {
    check_id("user");
    check_id("");
    check_id("a:b:c");
    check_id("a:b");
    check_id(":");
    check_id("::");
    check_id("user:");
    check_id(" padded ");
    check_id("it's \"quoted\"");
    check_id("back\\slash\\");
    check_id("tab\there\nnew\r\nline");
    check_id("100%_done");
    check_id("caf\u00e9 \u6f22\u5b57 \U0001F642");
    // A string with an embedded NUL is still one subject id.
    check_id(std::string_view("nul\0inside", 10));
}

TEST_CASE("one '#' and one ':' before it: a subject set (namespace, object, relation)") {
    check_set("ns:obj#rel", {"ns", "obj", "rel"});
    check_set("ns:obj#", {"ns", "obj", ""});
    check_set("ns:#rel", {"ns", "", "rel"});
    check_set("ns:#", {"ns", "", ""});
    check_set(":obj#rel", {"", "obj", "rel"});
    check_set(":#", {"", "", ""});
    check_set("ns:obj#r:x", {"ns", "obj", "r:x"});
    check_set("ns:obj#r:x:y:", {"ns", "obj", "r:x:y:"});
    check_set("ns:obj#::", {"ns", "obj", "::"});
    check_set(" ns : obj # rel ", {" ns ", " obj ", " rel "});
    check_set("n\u00e9:\U0001F642#\u6f22", {"n\u00e9", "\U0001F642", "\u6f22"});
    check_set("%:_#%_", {"%", "_", "%_"});
}

TEST_CASE("broken forms: not exactly one ':' before the '#', or more than one '#'") {
    // No ':' before '#'.
    check_broken("invalid#subject");
    check_broken("obj#rel");
    check_broken("#");
    check_broken("#rel");
    check_broken("obj#r:x");  // the ':' after '#' does not count
    // Two or more ':' before '#'.
    check_broken("a:b:c#rel");
    check_broken("::#");
    check_broken("ns:obj:#rel");
    // Two or more '#'.
    check_broken("ns:obj#a#b");
    check_broken("##");
    check_broken("ns:obj##");
    check_broken("#ns:obj#rel");
    check_broken("ns:obj#rel#");
    check_broken("a:b#c:d#e");
}

TEST_CASE("utf8_length counts code points, as VARCHAR(64) does") {
    CHECK(legacy::utf8_length("") == 0);
    CHECK(legacy::utf8_length("a") == 1);
    CHECK(legacy::utf8_length("hello world") == 11);
    CHECK(legacy::utf8_length("\u00e9") == 1);        // 2 bytes
    CHECK(legacy::utf8_length("\u6f22\u5b57") == 2);  // 3 bytes each
    CHECK(legacy::utf8_length("\U0001F642") == 1);    // 4 bytes
    CHECK(legacy::utf8_length("caf\u00e9-\U0001F642!") == 7);
    CHECK(legacy::utf8_length("tab\tnew\n") == 8);

    std::string emoji64, emoji65, e_acute65;
    for (int i = 0; i < 64; ++i) emoji64 += "\U0001F642";
    emoji65 = emoji64 + "\U0001F642";
    for (int i = 0; i < 65; ++i) e_acute65 += "\u00e9";
    CHECK(emoji64.size() == 256);
    CHECK(legacy::utf8_length(emoji64) == 64);
    CHECK(legacy::utf8_length(emoji65) == 65);
    CHECK(legacy::utf8_length(e_acute65) == 65);
    CHECK(legacy::utf8_length(std::string(64, 'x')) == 64);
    CHECK(legacy::utf8_length(std::string(65, 'x')) == 65);
}

TEST_CASE("skip reasons have the names stored in ferry_skipped_relation_tuples") {
    using legacy::skip_reason;
    CHECK(legacy::to_string(skip_reason::null_value) == "null_value");
    CHECK(legacy::to_string(skip_reason::malformed_subject) == "malformed_subject");
    CHECK(legacy::to_string(skip_reason::value_too_long) == "value_too_long");
    CHECK(legacy::to_string(skip_reason::unknown_namespace) == "unknown_namespace");
}

TEST_CASE("legacy table names: keto_, the id as ten digits, _relation_tuples") {
    const auto zero = legacy::legacy_table_for(0);
    CHECK(zero.namespace_id == 0);
    CHECK(zero.table == "keto_0000000000_relation_tuples");
    CHECK(zero.migrations_table == "keto_namespace_0000000000_migrations");
    CHECK(zero.object_index == "keto_0000000000_relation_tuples_object_idx");
    CHECK(zero.user_set_index == "keto_0000000000_relation_tuples_user_set_idx");

    const auto big = legacy::legacy_table_for(1234567890);
    CHECK(big.namespace_id == 1234567890);
    CHECK(big.table == "keto_1234567890_relation_tuples");
    CHECK(big.migrations_table == "keto_namespace_1234567890_migrations");

    CHECK(legacy::legacy_table_for(7).table == "keto_0000000007_relation_tuples");
}

}  // TEST_SUITE

// ---- discovery over any catalog order -----------------------------------------------------------

namespace {

// A dialect whose catalog is a fixed list in a fixed (unsorted) order; nothing else is used.
class catalog_dialect final : public ferry::dialect {
public:
    explicit catalog_dialect(std::vector<std::string> names) : names_(std::move(names)) {}
    std::string_view migration_dialect() const override { return "sqlite3"; }
    ferry::capabilities caps() const override { return {}; }
    std::unique_ptr<ferry::connection> open(const ferry::dsn&) override { throw ferry::error("unused"); }
    std::span<const ferry::embedded_file> keto_migrations() const override { return {}; }
    std::vector<std::string> history_table_ddl(std::string_view) const override { return {}; }
    std::string quote_identifier(std::string_view name) const override { return "\"" + std::string(name) + "\""; }
    std::string drop_index_sql(std::string_view, std::string_view) const override { return {}; }
    std::unique_ptr<ferry::migration_lock> acquire_migration_lock(ferry::connection&, const ferry::dsn&,
                                                                  std::chrono::seconds) override {
        throw ferry::error("unused");
    }
    std::vector<std::string> list_tables(ferry::connection&) override { return names_; }
    std::unique_ptr<ferry::legacy_reader> open_legacy_reader(ferry::connection&, const ferry::dsn&,
                                                             std::string_view) override {
        throw ferry::error("unused");
    }
    std::unique_ptr<ferry::tuple_writer> open_tuple_writer(ferry::connection&, std::string_view) override {
        throw ferry::error("unused");
    }

private:
    std::vector<std::string> names_;
};

class no_connection final : public ferry::connection {
public:
    void execute(std::string_view, std::span<const ferry::value>) override { throw ferry::error("unused"); }
    void execute_script(std::string_view) override { throw ferry::error("unused"); }
    std::unique_ptr<ferry::rows> query(std::string_view, std::span<const ferry::value>) override {
        throw ferry::error("unused");
    }
    std::unique_ptr<ferry::prepared_statement> prepare(std::string_view) override { throw ferry::error("unused"); }
    void begin() override {}
    void commit() override {}
    void rollback() override {}
    bool in_transaction() const override { return false; }
};

}  // namespace

TEST_SUITE("legacy discovery") {

TEST_CASE("discover: the exact name rule, ascending ids whatever order the catalog lists") {
    catalog_dialect d({"keto_1234567890_relation_tuples", "keto_12_relation_tuples", "keto_0000000007_relation_tuples",
                       "KETO_0000000003_RELATION_TUPLES", "keto_abcdefghij_relation_tuples",
                       "keto_0000000003_relation_tuplesx", "keto_0000000000_relation_tuples",
                       "ketox0000000003_relation_tuples", "keto_00000000003_relation_tuples",
                       "keto_000000003_relation_tuples", "keto_000000000a_relation_tuples",
                       "keto_-000000003_relation_tuples", "keto_+000000003_relation_tuples",
                       "keto_ 000000003_relation_tuples", "xketo_0000000003_relation_tuples",
                       "keto_0000000003_relation_tuple", "Keto_0000000004_relation_tuples",
                       "keto_0000000005_Relation_tuples", "keto_namespace_0000000003_migrations",
                       "keto_relation_tuples", "keto_0000000042_relation_tuples"});
    no_connection conn;
    const auto found = legacy::discover(conn, d);
    REQUIRE(found.size() == 4);
    CHECK(found[0].namespace_id == 0);
    CHECK(found[1].namespace_id == 7);
    CHECK(found[2].namespace_id == 42);
    CHECK(found[3].namespace_id == 1234567890);
    CHECK(found[2].table == "keto_0000000042_relation_tuples");
    CHECK(found[2].migrations_table == "keto_namespace_0000000042_migrations");
    CHECK(found[3].user_set_index == "keto_1234567890_relation_tuples_user_set_idx");
}

}  // TEST_SUITE
