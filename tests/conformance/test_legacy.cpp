// Conformance of `ferry namespace migrate legacy` (issue 3, spec 3, 4.3, 7). Every case runs
// unchanged on every dialect: the v0.6 tables are built with the generic DDL of spec 1.2 and
// dialect::quote_identifier; whether the legacy layout admits NULLs or values longer than
// VARCHAR(64) (SQLite only, spec 1.2) is found by trying it on a probe table in data setup.
//
// The expectation for keto_relation_tuples and ferry_skipped_relation_tuples is computed here,
// independently of core/src/legacy.cpp: the legacy rows are read back from the database and
// classified by the test's own reading of spec 3.2 (split on every '#', then on every ':').
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <ferry/core/legacy.hpp>
#include <ferry/core/migrations.hpp>
#include <ferry/errors.hpp>

#include "fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;
using opt = std::optional<std::string>;
using ferry::value;
using namespace std::string_literals;

namespace {

// ---- small helpers --------------------------------------------------------------------------

std::string repeat(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

// A readable, unambiguous rendering of a possibly-NULL text value.
std::string show(const opt& v) {
    if (!v) return "NULL";
    std::string out = "\"";
    for (unsigned char c : *v) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string show(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "NULL"; }

opt text_or_null(ferry::rows& r, int column) {
    if (r.is_null(column)) return std::nullopt;
    return std::string(r.text(column));
}

std::optional<std::int64_t> integer_or_null(ferry::rows& r, int column) {
    if (r.is_null(column)) return std::nullopt;
    return r.integer(column);
}

value param(const opt& v) { return v ? value(*v) : value(); }

strings sorted(strings v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::string joined(const strings& v, std::size_t limit = 12) {
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < limit; ++i) out += "\n    " + v[i];
    if (v.size() > limit) out += "\n    ... " + std::to_string(v.size() - limit) + " more";
    return out;
}

// Multiset equality with the differences named (duplicates count).
void check_same_rows(const strings& expected, const strings& actual, const std::string& what) {
    const auto e = sorted(expected), a = sorted(actual);
    strings missing, unexpected;
    std::set_difference(e.begin(), e.end(), a.begin(), a.end(), std::back_inserter(missing));
    std::set_difference(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(unexpected));
    INFO(what << ": " << e.size() << " expected, " << a.size() << " found");
    INFO("expected but missing:" << joined(missing));
    INFO("found but not expected (or duplicated):" << joined(unexpected));
    CHECK(a.size() == e.size());
    CHECK(missing.empty());
    CHECK(unexpected.empty());
}

// ---- namespaces and the CLI -----------------------------------------------------------------


// `ferry namespace migrate legacy args...` with the namespaces given in NAMESPACES (spec 5).
process_result legacy(db_fixture& fx, const ns_list& cfg, strings args, std::string stdin_text = {},
                      env_overrides env = {}) {
    strings full{"namespace", "migrate", "legacy"};
    full.insert(full.end(), args.begin(), args.end());
    return fx.cli(full, std::move(stdin_text), with_namespaces(cfg, std::move(env)));
}

const std::string keto_skip_message =
    "Skipping relation tuple, it seems to be in a broken state. Please recreate it manually.";

std::string drop_prompt(const std::string& name) {
    return "Do you want to migrate namespace " + name + " down? This will delete all data in the legacy table. [y/n]: ";
}

std::string dropped_line(const std::string& name) { return "Successfully migrated down namespace " + name + ".\n"; }

// ---- legacy rows ------------------------------------------------------------------------------

struct lrow {
    opt shard_id, object, relation, subject, commit_time;
};

void insert_row(db_fixture& fx, const std::string& table, const lrow& r) {
    std::array<value, 5> p{param(r.shard_id), param(r.object), param(r.relation), param(r.subject),
                           param(r.commit_time)};
    fx.conn().execute("INSERT INTO " + fx.q(table) + " (" + fx.q("shard_id") + ", " + fx.q("object") + ", " +
                          fx.q("relation") + ", " + fx.q("subject") + ", " + fx.q("commit_time") +
                          ") VALUES (?, ?, ?, ?, ?)",
                      p);
}

std::vector<lrow> read_legacy_table(db_fixture& fx, const std::string& table) {
    std::vector<lrow> out;
    auto r = fx.conn().query("SELECT " + fx.q("shard_id") + ", " + fx.q("object") + ", " + fx.q("relation") + ", " +
                             fx.q("subject") + ", " + fx.q("commit_time") + " FROM " + fx.q(table));
    while (r->next())
        out.push_back({text_or_null(*r, 0), text_or_null(*r, 1), text_or_null(*r, 2), text_or_null(*r, 3),
                       text_or_null(*r, 4)});
    return out;
}

std::vector<lrow> read_legacy(db_fixture& fx, std::int64_t id) {
    return read_legacy_table(fx, db_fixture::legacy_tuple_table(id));
}

// Data setup only: whether a legacy-shaped table stores `row` exactly as given. Spec 1.2: only
// SQLite admits NULLs in the primary key columns and values longer than VARCHAR(64).
bool legacy_layout_keeps(db_fixture& fx, const lrow& row) {
    const std::string probe = "ferry_probe_relation_tuples";
    fx.create_legacy_tuple_table(probe);
    bool kept = false;
    try {
        insert_row(fx, probe, row);
        const auto back = read_legacy_table(fx, probe);
        kept = back.size() == 1 && back[0].shard_id == row.shard_id && back[0].object == row.object &&
               back[0].relation == row.relation && back[0].subject == row.subject &&
               back[0].commit_time == row.commit_time;
    } catch (const ferry::error&) {
        kept = false;
    }
    fx.exec("DROP TABLE " + fx.q(probe));
    return kept;
}

// A distinct commit time per row index: every legacy primary key differs even under
// case- and accent-insensitive collations.
std::string commit_time_for(int i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "2021-05-%02d %02d:%02d:%02d", 1 + i / 1440, i / 60 % 24, i % 60, (i * 7) % 60);
    return buf;
}

// ---- the independent expectation (spec 3.2, issue 3 "Per namespace") --------------------------

strings split(const std::string& s, char sep) {  // like Go's strings.Split: "" -> [""]
    strings parts{""};
    for (char c : s) {
        if (c == sep)
            parts.emplace_back();
        else
            parts.back() += c;
    }
    return parts;
}

struct my_subject {
    enum { id, set, broken } kind = broken;
    std::string id_text, ns, object, relation;
};

my_subject my_parse(const std::string& s) {
    my_subject out;
    const auto by_hash = split(s, '#');
    if (by_hash.size() == 1) {
        out.kind = my_subject::id;
        out.id_text = s;
        return out;
    }
    if (by_hash.size() != 2) return out;
    const auto by_colon = split(by_hash[0], ':');
    if (by_colon.size() != 2) return out;
    out.kind = my_subject::set;
    out.ns = by_colon[0];
    out.object = by_colon[1];
    out.relation = by_hash[1];
    return out;
}

// Code points by decoding lead bytes (a different method from the production's).
std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++n) {
        const auto b = static_cast<unsigned char>(s[i]);
        i += b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    }
    return n;
}

bool fits(const std::string& s) { return code_points(s) <= 64; }

struct classified {
    std::string reason;  // empty: copied
    opt subject_id, set_object, set_relation;
    std::optional<std::int64_t> set_ns;
};

classified classify(const ns_list& cfg, const lrow& r) {
    classified c;
    if (!r.object || !r.relation || !r.subject || !r.commit_time) {
        c.reason = "null_value";
        return c;
    }
    const auto s = my_parse(*r.subject);
    if (s.kind == my_subject::broken) {
        c.reason = "malformed_subject";
        return c;
    }
    bool ok = fits(*r.object) && fits(*r.relation);
    if (s.kind == my_subject::id) {
        c.subject_id = s.id_text;
        ok = ok && fits(s.id_text);
    } else {
        const auto it = std::find_if(cfg.begin(), cfg.end(), [&](const ns_def& n) { return n.name == s.ns; });
        if (it == cfg.end()) {
            c.reason = "unknown_namespace";
            return c;
        }
        c.set_ns = it->id;
        c.set_object = s.object;
        c.set_relation = s.relation;
        ok = ok && fits(s.object) && fits(s.relation);
    }
    if (!ok) c.reason = "value_too_long";
    return c;
}

std::string render_tuple(std::int64_t ns, const opt& object, const opt& relation, const opt& subject_id,
                         const std::optional<std::int64_t>& set_ns, const opt& set_object, const opt& set_relation,
                         const opt& commit_time) {
    return "ns=" + std::to_string(ns) + " object=" + show(object) + " relation=" + show(relation) +
           " subject_id=" + show(subject_id) + " set=(" + show(set_ns) + ", " + show(set_object) + ", " +
           show(set_relation) + ") commit_time=" + show(commit_time);
}

std::string render_skipped(std::int64_t ns, const lrow& r, const std::string& reason) {
    return "ns=" + std::to_string(ns) + " shard_id=" + show(r.shard_id) + " object=" + show(r.object) +
           " relation=" + show(r.relation) + " subject=" + show(r.subject) + " commit_time=" + show(r.commit_time) +
           " reason=" + reason;
}

using reason_counts = std::map<std::string, std::uint64_t>;

std::string show(const reason_counts& m) {
    std::string out;
    for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return "{" + out + "}";
}

struct expectation {
    strings tuples, skipped;
    std::map<std::int64_t, std::uint64_t> read, copied, skipped_count;
    std::map<std::int64_t, reason_counts> reasons;

    void add(const ns_list& cfg, std::int64_t ns, const std::vector<lrow>& rows) {
        read[ns] += rows.size();
        copied[ns] += 0;
        skipped_count[ns] += 0;
        reasons[ns];
        for (const auto& r : rows) {
            const auto c = classify(cfg, r);
            if (c.reason.empty()) {
                tuples.push_back(render_tuple(ns, r.object, r.relation, c.subject_id, c.set_ns, c.set_object,
                                              c.set_relation, r.commit_time));
                ++copied[ns];
            } else {
                skipped.push_back(render_skipped(ns, r, c.reason));
                ++skipped_count[ns];
                ++reasons[ns][c.reason];
            }
        }
    }
    // Reads the legacy tables of `ids` as they are now.
    static expectation of(db_fixture& fx, const ns_list& cfg, const std::vector<std::int64_t>& ids) {
        expectation e;
        for (auto id : ids) e.add(cfg, id, read_legacy(fx, id));
        return e;
    }
};

// ---- what the migration wrote -----------------------------------------------------------------

struct written {
    strings tuples;
    strings shard_ids;
    std::set<std::string> nids;
};

written read_tuples(db_fixture& fx, std::optional<std::int64_t> only_ns = std::nullopt) {
    written w;
    auto r = fx.conn().query(
        "SELECT shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, "
        "subject_set_object, subject_set_relation, commit_time FROM keto_relation_tuples");
    while (r->next()) {
        const auto ns = r->integer(2);
        if (only_ns && ns != *only_ns) continue;
        w.shard_ids.emplace_back(r->text(0));
        w.nids.emplace(r->text(1));
        w.tuples.push_back(render_tuple(ns, text_or_null(*r, 3), text_or_null(*r, 4), text_or_null(*r, 5),
                                        integer_or_null(*r, 6), text_or_null(*r, 7), text_or_null(*r, 8),
                                        text_or_null(*r, 9)));
    }
    return w;
}

strings read_skipped(db_fixture& fx) {
    strings out;
    auto r = fx.conn().query(
        "SELECT namespace_id, shard_id, object, relation, subject, commit_time, reason FROM "
        "ferry_skipped_relation_tuples");
    while (r->next())
        out.push_back(render_skipped(
            r->integer(0),
            {text_or_null(*r, 1), text_or_null(*r, 2), text_or_null(*r, 3), text_or_null(*r, 4), text_or_null(*r, 5)},
            std::string(r->text(6))));
    return out;
}

strings network_ids(db_fixture& fx) {
    strings ids;
    if (!fx.has_table("networks")) return ids;
    auto r = fx.conn().query("SELECT id FROM networks ORDER BY created_at");
    while (r->next()) ids.emplace_back(r->text(0));
    return ids;
}


bool is_uuid_v4(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    return std::regex_match(s, re);
}

struct record {
    std::string name, table;
    std::int64_t copied = 0, skipped = 0;
    bool dropped = false;
};

std::map<std::int64_t, record> records(db_fixture& fx) {
    std::map<std::int64_t, record> out;
    if (!fx.has_table("ferry_legacy_namespaces")) return out;
    auto r = fx.conn().query(
        "SELECT namespace_id, namespace_name, legacy_table, rows_copied, rows_skipped, dropped_at FROM "
        "ferry_legacy_namespaces");
    while (r->next())
        out[r->integer(0)] = {std::string(r->text(1)), std::string(r->text(2)), r->integer(3), r->integer(4),
                              !r->is_null(5)};
    return out;
}

// The two index names of a dropped legacy table are free again (index names are schema-wide on
// SQLite and PostgreSQL; on MySQL they are per table, so this holds trivially there).
void check_index_names_free(db_fixture& fx, std::int64_t id) {
    const auto t = db_fixture::legacy_tuple_table(id);
    const std::string probe = "ferry_probe_index_names";
    fx.exec("CREATE TABLE " + fx.q(probe) + " (" + fx.q("object") + " VARCHAR(64), " + fx.q("relation") +
            " VARCHAR(64))");
    CHECK_NOTHROW(fx.exec("CREATE INDEX " + fx.q(t + "_object_idx") + " ON " + fx.q(probe) + " (" + fx.q("object") +
                          ")"));
    CHECK_NOTHROW(fx.exec("CREATE INDEX " + fx.q(t + "_user_set_idx") + " ON " + fx.q(probe) + " (" +
                          fx.q("object") + ", " + fx.q("relation") + ")"));
    fx.exec("DROP TABLE " + fx.q(probe));
}

void check_legacy_gone(db_fixture& fx, std::int64_t id) {
    CHECK_FALSE(fx.has_table(db_fixture::legacy_tuple_table(id)));
    CHECK_FALSE(fx.has_table(db_fixture::legacy_history_table(id)));
}

void check_legacy_kept(db_fixture& fx, std::int64_t id, std::int64_t rows) {
    REQUIRE(fx.has_table(db_fixture::legacy_tuple_table(id)));
    CHECK(fx.count_rows(db_fixture::legacy_tuple_table(id)) == rows);
    CHECK(fx.history(db_fixture::legacy_history_table(id)) == strings{"20210128140414"});
}

// ---- parsing the CLI's output -----------------------------------------------------------------

reason_counts parse_reasons(const std::string& text) {
    reason_counts out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        std::stringstream words(item);
        std::string reason;
        std::uint64_t n = 0;
        words >> reason >> n;
        if (!reason.empty()) out[reason] = n;
    }
    return out;
}

struct summary_line {
    bool earlier = false;
    std::uint64_t copied = 0, skipped = 0;
    reason_counts reasons;
    bool dropped = false;
};

// The end summary, keyed by namespace id.
std::map<std::int64_t, summary_line> parse_summary(const std::string& out) {
    static const std::regex now(
        R"(  namespace .* \(id (\d+)\): copied (\d+), skipped (\d+)(?: \(([^)]*)\))?, legacy table (dropped|kept), [0-9.]+s)");
    static const std::regex before(
        R"(  namespace .* \(id (\d+)\): copied by an earlier run \((\d+) copied, (\d+) skipped\), legacy table (dropped|kept))");
    std::map<std::int64_t, summary_line> result;
    std::smatch m;
    for (const auto& line : lines_of(out)) {
        if (std::regex_match(line, m, now)) {
            auto& s = result[std::stoll(m[1])];
            s.copied = std::stoull(m[2]);
            s.skipped = std::stoull(m[3]);
            s.reasons = parse_reasons(m[4]);
            s.dropped = m[5] == "dropped";
        } else if (std::regex_match(line, m, before)) {
            auto& s = result[std::stoll(m[1])];
            s.earlier = true;
            s.copied = std::stoull(m[2]);
            s.skipped = std::stoull(m[3]);
            s.dropped = m[4] == "dropped";
        }
    }
    return result;
}

struct dry_line {
    std::uint64_t rows = 0, copy = 0, skip = 0;
    reason_counts reasons;
};

std::map<std::int64_t, dry_line> parse_dry_run(const std::string& out) {
    static const std::regex re(
        R"(  namespace .* \(id (\d+)\): (\d+) rows, would copy (\d+), would skip (\d+)(?: \(([^)]*)\))?)");
    std::map<std::int64_t, dry_line> result;
    std::smatch m;
    for (const auto& line : lines_of(out))
        if (std::regex_match(line, m, re))
            result[std::stoll(m[1])] = {std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4]), parse_reasons(m[5])};
    return result;
}

// Checks the tuples, the skipped rows and the single network against `e`.
void check_migrated(db_fixture& fx, const expectation& e) {
    const auto w = read_tuples(fx);
    check_same_rows(e.tuples, w.tuples, "keto_relation_tuples");
    check_same_rows(e.skipped, read_skipped(fx), "ferry_skipped_relation_tuples");
    for (const auto& id : w.shard_ids) CHECK_MESSAGE(is_uuid_v4(id), "shard_id " << id);
    CHECK(std::set<std::string>(w.shard_ids.begin(), w.shard_ids.end()).size() == w.shard_ids.size());
    const auto nets = network_ids(fx);
    if (!e.tuples.empty()) {
        REQUIRE(nets.size() == 1);
        CHECK(w.nids == std::set<std::string>{nets[0]});
    }
}

// ---- the hard data set ------------------------------------------------------------------------

struct case_row {
    std::int64_t ns;
    lrow row;
    std::string expect;     // hand label: "" = copied, else the skip reason
    bool optional = false;  // NULLs / overlong legacy columns: only where the layout keeps them
};

const ns_list hard_cfg{{0, "a"}, {7, "b"}, {1234567890, "c"}};

std::vector<case_row> hard_rows() {
    std::vector<case_row> rows;
    int i = 0;
    auto add = [&](std::int64_t ns, opt object, opt relation, opt subject, std::string expect,
                   opt shard = std::string("default")) {
        rows.push_back({ns, {shard, object, relation, subject, commit_time_for(i)}, std::move(expect)});
        ++i;
    };
    auto obj = [&] { return "obj-" + std::to_string(i); };
    const std::string emoji = "\U0001F642";

    // Subject ids (spec 3.2 rule 1): anything without '#'.
    for (const char* s : {"user", "", "a:b:c", "a:b", ":", "user:42", " padded "}) add(0, obj(), "view", s, "");
    // Subject sets (rule 4): any part may be empty, the relation may hold ':'.
    for (const char* s : {"b:obj#rel", "b:obj#", "b:#rel", "b:obj#r:x", "b:#", "c:obj#rel", "a:self#rel",
                          "b:obj#r:x:y"})
        add(0, obj(), "view", s, "");
    // Broken (rules 2 and 3).
    for (const char* s : {"invalid#subject", "obj#rel", "a:b:c#rel", "b:obj#a#b", "#", "##", "b:obj##", "::#",
                          "obj#r:x"})
        add(0, obj(), "view", s, "malformed_subject");
    add(0, obj(), "view", "b:x:y#z", "malformed_subject", std::string("custom'shard"));
    // Subject sets naming a namespace that is not configured (names are case-sensitive, verbatim).
    for (const char* s : {":obj#rel", ":#", "ghost:obj#rel", "B:obj#rel", " b:obj#rel"})
        add(0, obj(), "view", s, "unknown_namespace");
    add(0, obj(), "view", "ghost:" + emoji + "#" + emoji, "unknown_namespace", "shard-" + emoji);

    // Hard text, verbatim.
    add(0, "it's \"quoted\"", "say \"hi\"", "o'brien", "");
    add(0, "back\\slash\\", "rel\\", "\\\\server\\share", "");
    add(0, "tab\there", "new\nline", "cr\r\nlf", "");
    add(0, "100%_done", "%", "_", "");
    add(0, "%_%", "_%_", "b:%#_", "");
    add(0, "caf\u00e9", "r\u00e9l", "b:\u00dcn\u00efc\u00f6d\u00e9#r\u00ebl", "");
    add(0, "\u6f22\u5b57", "\u6f22", "user-\u6f22\u5b57", "");
    add(0, emoji, "\U0001F600", "user-" + emoji, "");
    add(0, "set-\U0001D11E", "rel", "b:\U0001D11Eobj#" + emoji, "");
    add(0, "", "", "", "");
    add(0, "'; DROP TABLE x; --", "rel", "user'); --", "");
    add(0, "mix'\"\\\t\n%_\u00e9\u6f22\u5b57" + emoji, "mix", "b:mix'\"\\\t\n%_\u00e9#" + emoji, "");
    add(0, "broken-\ttext\n", "r\"", "it's#\"broken\"", "malformed_subject");

    // Lengths: 64 characters fit the v0.7 columns whatever their bytes; 65 do not.
    add(0, "len-id64", "rel", repeat("x", 64), "");
    add(0, "len-id64-emoji", "rel", repeat(emoji, 64), "");
    add(0, "len-id65", "rel", repeat("x", 65), "value_too_long");
    add(0, "len-id65-e", "rel", repeat("\u00e9", 65), "value_too_long");
    add(0, "len-setobj64", "rel", "b:" + repeat("\u6f22", 64) + "#rel", "");
    add(0, "len-setobj65", "rel", "b:" + repeat("x", 65) + "#rel", "value_too_long");
    add(0, "len-setrel64", "rel", "b:obj#" + repeat(emoji, 64), "");
    add(0, "len-setrel65", "rel", "b:obj#" + repeat("\u00e9", 65), "value_too_long");
    add(0, repeat("o", 64), repeat(emoji, 64), "user", "");

    // NULLs and overlong legacy values: only where the v0.6 layout admits them (SQLite).
    auto add_optional = [&](lrow r, std::string expect) {
        r.commit_time = r.commit_time ? opt(commit_time_for(i)) : std::nullopt;
        rows.push_back({0, std::move(r), std::move(expect), true});
        ++i;
    };
    add_optional({std::string("default"), obj(), std::string("view"), std::nullopt, std::string("x")}, "null_value");
    add_optional({std::string("default"), obj(), std::string("view"), std::string("user"), std::nullopt},
                 "null_value");
    add_optional({std::string("default"), std::nullopt, std::string("view"), std::string("user"), std::string("x")},
                 "null_value");
    add_optional({std::string("default"), obj(), std::nullopt, std::string("user"), std::string("x")}, "null_value");
    add_optional({std::string("default"), obj(), std::nullopt, std::string("invalid#subject"), std::string("x")},
                 "null_value");
    add_optional({std::nullopt, obj(), std::string("view"), std::string("user-no-shard"), std::string("x")}, "");
    add_optional({std::string("default"), repeat("o", 65), std::string("view"), std::string("user"), std::string("x")},
                 "value_too_long");
    add_optional({std::string("default"), obj(), repeat(emoji, 65), std::string("user"), std::string("x")},
                 "value_too_long");

    // Namespace 7.
    add(7, "b-doc", "view", "user-b", "");
    add(7, "b-doc", "view", "a:grp#member", "");
    add(7, "b-doc", "edit", "ghost:x#y", "unknown_namespace");
    add(7, "b-doc", "edit", "x#y", "malformed_subject");
    add(7, "b-" + emoji, "r\tx", "c:" + emoji + "#\n", "");
    // Namespace 1234567890.
    add(1234567890, "c-doc", "view", "user-c", "");
    add(1234567890, "c-doc", "view", "b:doc#view", "");
    add(1234567890, "", "", "", "");
    add(1234567890, "c-doc", "own", "a:b:c#d", "malformed_subject");
    add(1234567890, "c-doc", "own", "c:" + repeat("y", 65) + "#x", "value_too_long");
    return rows;
}

// Builds the v0.6 database of hard_rows() (applying the v0.7 schema afterwards) and returns the
// rows the layout kept.
std::vector<case_row> build_hard_database(db_fixture& fx) {
    auto all = hard_rows();
    // The test's own parser agrees with the hand labels (so the expectation is not circular).
    for (const auto& c : all) {
        INFO("row " << show(c.row.object) << " / " << show(c.row.subject));
        CHECK(classify(hard_cfg, c.row).reason == c.expect);
    }
    std::vector<case_row> kept;
    for (const auto& c : all)
        if (!c.optional || legacy_layout_keeps(fx, c.row)) kept.push_back(c);

    fx.create_v06_main();
    for (const auto& ns : hard_cfg) fx.create_legacy_namespace(ns.id);
    for (const auto& c : kept) {
        INFO("row " << show(c.row.object) << " / " << show(c.row.subject));
        REQUIRE_NOTHROW(insert_row(fx, db_fixture::legacy_tuple_table(c.ns), c.row));
    }
    migrate_up(fx);
    return kept;
}

// Reason counts per namespace from the hand labels of `rows`.
std::map<std::int64_t, reason_counts> labelled_reasons(const std::vector<case_row>& rows) {
    std::map<std::int64_t, reason_counts> out;
    for (const auto& c : rows) {
        out[c.ns];
        if (!c.expect.empty()) ++out[c.ns][c.expect];
    }
    return out;
}

// A small v0.6 database: namespaces in `cfg`, rows per namespace id, schema applied.
void build_database(db_fixture& fx, const ns_list& cfg, const std::map<std::int64_t, strings>& subjects,
                    bool apply_schema = true) {
    fx.create_v06_main();
    int i = 0;
    for (const auto& ns : cfg) {
        auto it = subjects.find(ns.id);
        if (it == subjects.end()) continue;
        fx.create_legacy_namespace(ns.id);
        for (const auto& s : it->second) {
            insert_row(fx, db_fixture::legacy_tuple_table(ns.id),
                       {std::string("default"), "doc-" + std::to_string(i), std::string("view"), s,
                        commit_time_for(i)});
            ++i;
        }
    }
    if (apply_schema) migrate_up(fx);
}

std::vector<std::int64_t> ids_of(const ns_list& cfg) {
    std::vector<std::int64_t> ids;
    for (const auto& ns : cfg) ids.push_back(ns.id);
    return ids;
}

}  // namespace

TEST_SUITE("conformance: legacy") {

// ---- the copy, row by row ---------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "every subject form, hard text, lengths, NULLs and sparse ids: copied exactly as an "
                              "independent reading of spec 3.2 expects") {
    const auto kept = build_hard_database(*this);
    const auto e = expectation::of(*this, hard_cfg, ids_of(hard_cfg));

    // The legacy tables hold what was inserted, and the expectation's classes are the hand labels.
    const auto labelled = labelled_reasons(kept);
    for (const auto& ns : hard_cfg) {
        INFO("namespace " << ns.name);
        CHECK(e.read.at(ns.id) == static_cast<std::uint64_t>(std::count_if(
                                      kept.begin(), kept.end(), [&](const case_row& c) { return c.ns == ns.id; })));
        CHECK(show(e.reasons.at(ns.id)) == show(labelled.at(ns.id)));
    }
    // Not vacuous on any dialect: every class is present.
    CHECK(e.reasons.at(0).at("malformed_subject") == 11);
    CHECK(e.reasons.at(0).at("unknown_namespace") == 6);
    CHECK(e.reasons.at(0).at("value_too_long") >= 4);
    CHECK(e.copied.at(0) >= 32);
    CHECK(e.copied.at(7) == 3);
    CHECK(e.skipped_count.at(7) == 2);
    CHECK(e.copied.at(1234567890) == 3);
    CHECK(e.skipped_count.at(1234567890) == 2);

    auto r = legacy(*this, hard_cfg, {"--yes"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);

    // Drops in id order, each with Keto's line.
    const auto pa = r.out.find(dropped_line("a")), pb = r.out.find(dropped_line("b")),
               pc = r.out.find(dropped_line("c"));
    REQUIRE(pa != std::string::npos);
    REQUIRE(pb != std::string::npos);
    REQUIRE(pc != std::string::npos);
    CHECK(pa < pb);
    CHECK(pb < pc);

    // The summary counts per namespace and per reason, and says where the skipped rows are.
    const auto summary = parse_summary(r.out);
    REQUIRE(summary.size() == 3);
    for (const auto& ns : hard_cfg) {
        INFO("namespace " << ns.name);
        const auto& s = summary.at(ns.id);
        CHECK_FALSE(s.earlier);
        CHECK(s.copied == e.copied.at(ns.id));
        CHECK(s.skipped == e.skipped_count.at(ns.id));
        CHECK(show(s.reasons) == show(e.reasons.at(ns.id)));
        CHECK(s.dropped);
    }
    CHECK(contains(r.out, "ferry_skipped_relation_tuples"));
    CHECK(occurrences(r.err, keto_skip_message) == e.skipped.size());

    check_migrated(*this, e);
    CHECK(network_ids(*this).size() == 1);
    for (const auto& ns : hard_cfg) {
        check_legacy_gone(*this, ns.id);
        check_index_names_free(*this, ns.id);
    }
    const auto recs = records(*this);
    REQUIRE(recs.size() == 3);
    for (const auto& ns : hard_cfg) {
        INFO("namespace " << ns.name);
        const auto& rec = recs.at(ns.id);
        CHECK(rec.name == ns.name);
        CHECK(rec.table == db_fixture::legacy_tuple_table(ns.id));
        CHECK(rec.copied == static_cast<std::int64_t>(e.copied.at(ns.id)));
        CHECK(rec.skipped == static_cast<std::int64_t>(e.skipped_count.at(ns.id)));
        CHECK(rec.dropped);
    }

    // Re-running after success: nothing to be done, nothing added.
    const auto before = snapshot();
    auto again = legacy(*this, hard_cfg, {"--yes"});
    INFO(describe(again));
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, "Could not find legacy namespaces, there seems nothing to be done."));
    auto named = legacy(*this, hard_cfg, {"--yes", "b"});
    INFO(describe(named));
    CHECK(named.exit_code == 0);
    CHECK(contains(named.out, "Nothing to be done"));
    CHECK(snapshot() == before);
    check_migrated(*this, e);
}

TEST_CASE_FIXTURE(db_fixture, "a v0.7 server's view: Keto's read queries return the migrated tuples") {
    const ns_list cfg{{3, "docs"}, {5, "groups"}};
    build_database(*this, {}, {});  // v0.6 main tables and the v0.7 schema
    create_legacy_namespace(3);
    create_legacy_namespace(5);
    const auto docs = legacy_tuple_table(3), groups = legacy_tuple_table(5);
    // Inserted out of order; (object, relation) is unique so the ORDER BY is the same everywhere.
    insert_row(*this, docs, {"default", "docc", "viewer", "docs:doca#owner", "2021-03-04 10:00:03"});
    insert_row(*this, docs, {"default", "doca", "viewer", "groups:admins#member", "2021-03-04 10:00:02"});
    insert_row(*this, docs, {"default", "docb", "editor", "bob", "2021-03-04 10:00:04"});
    insert_row(*this, docs, {"default", "doca", "owner", "alice", "2021-03-04 10:00:01"});
    insert_row(*this, groups, {"default", "admins", "member", "carol", "2021-03-04 10:00:05"});

    auto r = legacy(*this, cfg, {"--yes"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    const auto nets = network_ids(*this);
    REQUIRE(nets.size() == 1);
    const auto& nid = nets[0];

    // The columns and order of Keto v0.7's relation-tuple read (persistence/sql).
    const std::string select =
        "SELECT object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, "
        "commit_time FROM keto_relation_tuples WHERE nid = ? AND namespace_id = ?";
    const std::string order =
        " ORDER BY object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, "
        "commit_time";
    auto view = [&](const std::string& network, std::int64_t ns, const std::string& extra = {},
                    std::vector<value> more = {}) {
        std::vector<value> p{network, ns};
        p.insert(p.end(), more.begin(), more.end());
        strings out;
        auto rows = conn().query(select + extra + order, p);
        while (rows->next())
            out.push_back(show(text_or_null(*rows, 0)) + " " + show(text_or_null(*rows, 1)) + " " +
                          show(text_or_null(*rows, 2)) + " " + show(integer_or_null(*rows, 3)) + " " +
                          show(text_or_null(*rows, 4)) + " " + show(text_or_null(*rows, 5)) + " " +
                          show(text_or_null(*rows, 6)));
        return out;
    };
    const strings want_docs{
        R"("doca" "owner" "alice" NULL NULL NULL "2021-03-04 10:00:01")",
        R"("doca" "viewer" NULL 5 "admins" "member" "2021-03-04 10:00:02")",
        R"("docb" "editor" "bob" NULL NULL NULL "2021-03-04 10:00:04")",
        R"("docc" "viewer" NULL 3 "doca" "owner" "2021-03-04 10:00:03")",
    };
    const auto got = view(nid, 3);
    INFO("got:" << joined(got));
    CHECK(got == want_docs);
    CHECK(view(nid, 5) == strings{R"("admins" "member" "carol" NULL NULL NULL "2021-03-04 10:00:05")"});
    CHECK(view(nid, 4).empty());
    CHECK(view("00000000-0000-4000-8000-000000000000", 3).empty());  // another network sees nothing

    // Check-style lookups by subject id and by subject set.
    CHECK(view(nid, 3, " AND object = ? AND relation = ? AND subject_id = ?", {"doca"s, "owner"s, "alice"s}).size() ==
          1);
    CHECK(view(nid, 3,
               " AND object = ? AND relation = ? AND subject_set_namespace_id = ? AND subject_set_object = ? AND "
               "subject_set_relation = ?",
               {"doca"s, "viewer"s, std::int64_t{5}, "admins"s, "member"s})
              .size() == 1);
    CHECK(view(nid, 3, " AND object = ? AND relation = ? AND subject_id = ?", {"doca"s, "owner"s, "bob"s}).empty());
}

// ---- discovery ----------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "discovery: only keto_ + ten digits + _relation_tuples, exact case, in id order") {
    const ns_list cfg{{0, "zero"}, {7, "seven"}, {1234567890, "big"}};
    create_v06_main();
    // Created out of id order.
    for (std::int64_t id : {1234567890LL, 0LL, 7LL}) {
        create_legacy_namespace(id);
        insert_row(*this, legacy_tuple_table(id), {"default", "doc", "view", "user", "2021-01-01 00:00:00"});
    }
    // Names Keto's LIKE 'keto_%_relation_tuples' (case-insensitive on SQLite) would take; none is
    // a legacy table. Ids 1, 3, 4 and 12 are not configured: taking one would refuse the run (exit 2).
    const strings odd{"keto_12_relation_tuples",          "keto_abcdefghij_relation_tuples",
                      "KETO_0000000001_RELATION_TUPLES",  "keto_0000000001_relation_tuplesx",
                      "ketox0000000003_relation_tuples",  "keto_0000000003xrelation_tuples",
                      "keto_00000000003_relation_tuples", "keto_000000003_relation_tuples",
                      "keto_000000000a_relation_tuples",  "xketo_0000000003_relation_tuples",
                      "keto_0000000003_relation_tuple",   "Keto_0000000004_relation_tuples"};
    for (const auto& name : odd) {
        exec("CREATE TABLE " + q(name) + " (" + q("id") + " INTEGER)");
        exec("INSERT INTO " + q(name) + " (" + q("id") + ") VALUES (1)");
    }
    migrate_up(*this);

    // The core API.
    const auto found = ferry::core::legacy::discover(conn(), dialect());
    REQUIRE(found.size() == 3);
    CHECK(found[0].namespace_id == 0);
    CHECK(found[1].namespace_id == 7);
    CHECK(found[2].namespace_id == 1234567890);
    CHECK(found[0].table == "keto_0000000000_relation_tuples");
    CHECK(found[1].table == "keto_0000000007_relation_tuples");
    CHECK(found[2].table == "keto_1234567890_relation_tuples");
    CHECK(found[2].migrations_table == "keto_namespace_1234567890_migrations");

    // The CLI lists them in id order and refuses nothing.
    auto ask = legacy(*this, cfg, {}, "n\n");
    INFO(describe(ask));
    CHECK(ask.exit_code == 0);
    CHECK(contains(ask.out, "I found the following legacy namespaces:\n  zero\n  seven\n  big\nDo you want to "
                            "migrate all of them? [y/n]: "));
    CHECK(contains(ask.out, "OK, aborting."));

    auto r = legacy(*this, cfg, {"--yes"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    const auto p0 = r.out.find(dropped_line("zero")), p7 = r.out.find(dropped_line("seven")),
               pb = r.out.find(dropped_line("big"));
    REQUIRE(p0 != std::string::npos);
    REQUIRE(p7 != std::string::npos);
    REQUIRE(pb != std::string::npos);
    CHECK(p0 < p7);
    CHECK(p7 < pb);
    for (const auto& ns : cfg) CHECK(tuples_of(*this, ns.id) == 1);
    for (const auto& name : odd) {
        INFO("table " << name);
        REQUIRE(has_table(name));
        CHECK(count_rows(name) == 1);
    }
    CHECK(ferry::core::legacy::discover(conn(), dialect()).empty());
}

// ---- re-runs --------------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "a failure injected mid namespace rolls it back; the re-run finishes without "
                              "duplicates") {
    const ns_list cfg{{0, "a"}, {7, "b"}, {1234567890, "c"}};
    {
        auto s = seed({"--namespaces", "a=0", "--tuples", "1000", "--broken", "10", "--seed", "11"});
        INFO(describe(s));
        REQUIRE(s.exit_code == 0);
        auto more = seed({"--append", "--namespaces", "b=7,c=1234567890", "--tuples", "5000", "--broken", "10",
                          "--seed", "12"});
        INFO(describe(more));
        REQUIRE(more.exit_code == 0);
    }
    migrate_up(*this);
    const auto all = expectation::of(*this, cfg, ids_of(cfg));
    const auto only_a = expectation::of(*this, cfg, {0});
    REQUIRE(all.read.at(0) == 1000);
    REQUIRE(all.read.at(7) == 5000);
    REQUIRE(all.read.at(1234567890) == 5000);
    CHECK(all.skipped_count.at(7) == 500);  // --broken 10

    // The copy throws after 3000 rows of a namespace: a (1000 rows) finishes, b fails mid-way.
    auto failed = legacy(*this, cfg, {"--yes"}, {}, {{"FERRY_TEST_FAIL_AFTER_ROWS", "3000"}});
    INFO(describe(failed));
    CHECK(failed.exit_code == 1);
    CHECK(contains(failed.err, "namespace b (id 7)"));
    CHECK(contains(failed.err, "FERRY_TEST_FAIL_AFTER_ROWS"));
    CHECK(contains(failed.out, dropped_line("a")));
    CHECK_FALSE(contains(failed.out, dropped_line("b")));
    check_legacy_gone(*this, 0);
    check_legacy_kept(*this, 7, 5000);
    check_legacy_kept(*this, 1234567890, 5000);
    check_migrated(*this, only_a);
    CHECK(tuples_of(*this, 7) == 0);
    CHECK(tuples_of(*this, 1234567890) == 0);
    {
        const auto recs = records(*this);
        CHECK(recs.size() == 1);
        CHECK(recs.count(0) == 1);
    }

    // Without the fault the same command continues where it stopped.
    auto rerun = legacy(*this, cfg, {"--yes"});
    INFO(describe(rerun));
    REQUIRE(rerun.exit_code == 0);
    const auto summary = parse_summary(rerun.out);
    CHECK(summary.count(0) == 0);  // already dropped: not found again
    REQUIRE(summary.count(7) == 1);
    REQUIRE(summary.count(1234567890) == 1);
    CHECK(summary.at(7).copied == all.copied.at(7));
    CHECK(summary.at(7).skipped == all.skipped_count.at(7));
    CHECK(summary.at(1234567890).copied == all.copied.at(1234567890));
    check_migrated(*this, all);
    for (const auto& ns : cfg) check_legacy_gone(*this, ns.id);
    CHECK(records(*this).size() == 3);

    auto third = legacy(*this, cfg, {"--yes"});
    INFO(describe(third));
    CHECK(third.exit_code == 0);
    CHECK(contains(third.out, "Could not find legacy namespaces, there seems nothing to be done."));
    check_migrated(*this, all);
}

TEST_CASE_FIXTURE(db_fixture, "a declined drop keeps the table; re-runs copy nothing again and drop it") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    build_database(*this, cfg, {{0, {"alice", "b:grp#member", "broken#row"}}, {7, {"bob", "carol"}}});
    const auto all = expectation::of(*this, cfg, {0, 7});
    const auto only_a = expectation::of(*this, cfg, {0});
    const auto rows_a = read_legacy(*this, 0);

    auto r = legacy(*this, cfg, {"a"}, "y\nn\n");
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "Are you sure that you want to migrate the namespace 'a'? [y/n]: "));
    CHECK(contains(r.out, drop_prompt("a")));
    CHECK_FALSE(contains(r.out, "Successfully migrated down"));
    CHECK(parse_summary(r.out).at(0).dropped == false);
    check_legacy_kept(*this, 0, 3);
    check_legacy_kept(*this, 7, 2);
    check_migrated(*this, only_a);
    REQUIRE(records(*this).count(0) == 1);
    CHECK(records(*this).at(0).dropped == false);

    // Named again: copies nothing, drops.
    auto again = legacy(*this, cfg, {"--yes", "a"});
    INFO(describe(again));
    REQUIRE(again.exit_code == 0);
    CHECK(contains(again.out, dropped_line("a")));
    REQUIRE(parse_summary(again.out).count(0) == 1);
    CHECK(parse_summary(again.out).at(0).earlier);
    CHECK(parse_summary(again.out).at(0).copied == 2);
    CHECK(parse_summary(again.out).at(0).skipped == 1);
    check_legacy_gone(*this, 0);
    check_migrated(*this, only_a);
    CHECK(records(*this).at(0).dropped);

    // The legacy table reappears with the same rows (a restore, a v0.6 writer): a recorded
    // namespace is never copied twice.
    create_legacy_namespace(0);
    for (const auto& row : rows_a) insert_row(*this, legacy_tuple_table(0), row);
    auto third = legacy(*this, cfg, {"--yes"});
    INFO(describe(third));
    REQUIRE(third.exit_code == 0);
    const auto summary = parse_summary(third.out);
    REQUIRE(summary.size() == 2);
    CHECK(summary.at(0).earlier);
    CHECK(summary.at(0).dropped);
    CHECK_FALSE(summary.at(7).earlier);
    CHECK(summary.at(7).copied == 2);
    check_legacy_gone(*this, 0);
    check_legacy_gone(*this, 7);
    check_migrated(*this, all);

    // It reappears with a row that was never copied: dropping it would lose that row.
    create_legacy_namespace(0);
    for (const auto& row : rows_a) insert_row(*this, legacy_tuple_table(0), row);
    auto extra = rows_a.front();
    extra.object = std::string("written-after-the-copy");
    insert_row(*this, legacy_tuple_table(0), extra);
    auto changed = legacy(*this, cfg, {"--yes", "a"});
    INFO(describe(changed));
    CHECK(changed.exit_code == 1);
    CHECK(contains(changed.err, "holds 4 rows, but 3 were copied or kept"));
    check_legacy_kept(*this, 0, 4);
    check_migrated(*this, all);

    auto forced = legacy(*this, cfg, {"--yes", "--down-only", "--force", "a"});
    INFO(describe(forced));
    CHECK(forced.exit_code == 0);
    check_legacy_gone(*this, 0);
    check_migrated(*this, all);
}

// ---- prompts ------------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "prompts: Keto's texts, answers from stdin, end of input changes nothing") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    build_database(*this, cfg, {{0, {"alice", "broken#row"}}, {7, {"bob", "b:x#y"}}});
    const auto before = snapshot();
    const auto all = expectation::of(*this, cfg, {0, 7});
    REQUIRE(all.tuples.size() == 3);  // alice, bob, b:x#y
    REQUIRE(all.skipped.size() == 1);  // broken#row
    const std::string listing =
        "I found the following legacy namespaces:\n  a\n  b\nDo you want to migrate all of them? [y/n]: ";
    const std::string named_b = "Are you sure that you want to migrate the namespace 'b'? [y/n]: ";

    SUBCASE("all namespaces, answered n") {
        auto r = legacy(*this, cfg, {}, "n\n");
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out.rfind(listing, 0) == 0);
        CHECK(contains(r.out, "OK, aborting."));
        CHECK(snapshot() == before);
        CHECK(network_ids(*this).empty());
    }
    SUBCASE("one namespace, answered N") {
        auto r = legacy(*this, cfg, {"b"}, " N \n");
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out.rfind(named_b, 0) == 0);
        CHECK(contains(r.out, "OK, aborting."));
        CHECK(snapshot() == before);
    }
    SUBCASE("end of input at the first prompt") {
        for (const auto& args : {strings{}, strings{"b"}, strings{"--down-only", "--force"}}) {
            auto r = legacy(*this, cfg, args, "");
            INFO(describe(r));
            CHECK(r.exit_code == 1);
            CHECK(contains(r.err, "--yes"));
            CHECK_FALSE(contains(r.out, "OK, aborting."));
            CHECK(snapshot() == before);
        }
    }
    SUBCASE("y (any case, trimmed), then a re-asked drop prompt answered y") {
        auto r = legacy(*this, cfg, {"b"}, " YES \nmaybe\ny\n");
        INFO(describe(r));
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.rfind(named_b, 0) == 0);
        CHECK(occurrences(r.out, drop_prompt("b")) == 2);
        CHECK(contains(r.out, dropped_line("b")));
        check_legacy_gone(*this, 7);
        check_legacy_kept(*this, 0, 2);
        CHECK(tuples_of(*this, 7) == 2);
        CHECK(tuples_of(*this, 0) == 0);
    }
    SUBCASE("all: y, then the drop of a declined and the drop of b accepted") {
        auto r = legacy(*this, cfg, {}, "y\nn\ny\n");
        INFO(describe(r));
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.rfind(listing, 0) == 0);
        CHECK(contains(r.out, drop_prompt("a")));
        CHECK(contains(r.out, drop_prompt("b")));
        CHECK_FALSE(contains(r.out, dropped_line("a")));
        CHECK(contains(r.out, dropped_line("b")));
        check_legacy_kept(*this, 0, 2);
        check_legacy_gone(*this, 7);
        check_migrated(*this, all);
    }
    SUBCASE("end of input at a drop prompt: the copied namespace stays copied, its table kept") {
        auto r = legacy(*this, cfg, {}, "y\n");
        INFO(describe(r));
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out, drop_prompt("a")));
        CHECK(contains(r.err, "--yes"));
        CHECK(contains(r.err, "namespace a"));
        CHECK_FALSE(contains(r.err, "nothing was changed"));  // a was copied
        check_legacy_kept(*this, 0, 2);
        check_legacy_kept(*this, 7, 2);
        CHECK(tuples_of(*this, 0) == 1);
        CHECK(tuples_of(*this, 7) == 0);
        CHECK(records(*this).size() == 1);
        // Finishing with --yes copies b, drops both, duplicates nothing.
        auto rest = legacy(*this, cfg, {"--yes"});
        INFO(describe(rest));
        CHECK(rest.exit_code == 0);
        CHECK(tuples_of(*this, 0) == 1);
        CHECK(tuples_of(*this, 7) == 2);
        check_legacy_gone(*this, 0);
        check_legacy_gone(*this, 7);
    }
}

// ---- --down-only, --strict, --dry-run -----------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "--down-only drops recorded namespaces only; a never-copied one needs --force") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    build_database(*this, cfg, {{0, {"alice", "bob", "b:g#m"}}, {7, {"carol", "dave"}}});
    // a is copied, its drop declined.
    {
        auto r = legacy(*this, cfg, {"a"}, "y\nn\n");
        INFO(describe(r));
        REQUIRE(r.exit_code == 0);
        REQUIRE(tuples_of(*this, 0) == 3);
    }

    SUBCASE("a recorded namespace is dropped without copying again") {
        auto r = legacy(*this, cfg, {"--down-only", "--yes", "a"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, dropped_line("a")));
        check_legacy_gone(*this, 0);
        check_legacy_kept(*this, 7, 2);
        CHECK(tuples_of(*this, 0) == 3);
        CHECK(records(*this).at(0).dropped);
    }
    SUBCASE("a never-copied namespace is refused, its row count named; --force drops it without copying") {
        const auto before = snapshot();
        auto refused = legacy(*this, cfg, {"--down-only", "--yes", "b"});
        INFO(describe(refused));
        CHECK(refused.exit_code == 1);
        CHECK(contains(refused.err, "holds 2 rows"));
        CHECK(contains(refused.err, "--force"));
        CHECK_FALSE(contains(refused.out, "Successfully migrated down"));
        CHECK(snapshot() == before);
        check_legacy_kept(*this, 7, 2);

        auto forced = legacy(*this, cfg, {"--down-only", "--force", "--yes", "b"});
        INFO(describe(forced));
        CHECK(forced.exit_code == 0);
        CHECK(contains(forced.out, dropped_line("b")));
        check_legacy_gone(*this, 7);
        CHECK(tuples_of(*this, 7) == 0);  // spec 6.6: down-only never copies
        CHECK(records(*this).count(7) == 0);
        check_legacy_kept(*this, 0, 3);
    }
    SUBCASE("without a name, one never-copied namespace refuses the run before anything is dropped") {
        const auto before = snapshot();
        auto refused = legacy(*this, cfg, {"--down-only", "--yes"});
        INFO(describe(refused));
        CHECK(refused.exit_code == 1);
        CHECK(contains(refused.err, "namespace b (id 7)"));
        CHECK(contains(refused.err, "holds 2 rows"));
        CHECK(snapshot() == before);
    }
}

TEST_CASE_FIXTURE(db_fixture, "--strict: a broken row rolls its namespace back and exits 1") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    build_database(*this, cfg, {{0, {"alice", "bob"}}, {7, {"carol", "x#y", "ghost:o#r", "dave"}}});
    const auto all = expectation::of(*this, cfg, {0, 7});

    auto r = legacy(*this, cfg, {"--yes", "--strict"});
    INFO(describe(r));
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "--strict"));
    CHECK(contains(r.err, "namespace b (id 7)"));
    CHECK(contains(r.err, "x#y"));        // the broken rows are listed
    CHECK(contains(r.err, "ghost:o#r"));
    CHECK(contains(r.out, dropped_line("a")));  // finished before b
    CHECK_FALSE(contains(r.out, dropped_line("b")));
    CHECK(tuples_of(*this, 0) == 2);
    CHECK(tuples_of(*this, 7) == 0);
    CHECK(read_skipped(*this).empty());
    CHECK(records(*this).count(7) == 0);
    check_legacy_kept(*this, 7, 4);

    auto lax = legacy(*this, cfg, {"--yes"});
    INFO(describe(lax));
    CHECK(lax.exit_code == 0);
    const auto summary = parse_summary(lax.out);
    REQUIRE(summary.count(7) == 1);
    CHECK(summary.at(7).copied == 2);
    CHECK(summary.at(7).skipped == 2);
    CHECK(show(summary.at(7).reasons) == "{malformed_subject 1, unknown_namespace 1}");
    check_migrated(*this, all);
    check_legacy_gone(*this, 7);
}

TEST_CASE_FIXTURE(db_fixture, "--dry-run writes nothing, takes no lock, and its counts are the real run's") {
    const ns_list cfg{{0, "a"}, {7, "b"}, {1234567890, "c"}};
    {
        auto s = seed({"--namespaces", "a=0,b=7,c=1234567890", "--tuples", "700", "--broken", "12"});
        INFO(describe(s));
        REQUIRE(s.exit_code == 0);
    }
    migrate_up(*this);
    const auto e = expectation::of(*this, cfg, ids_of(cfg));
    for (const auto& ns : cfg) REQUIRE(e.skipped_count.at(ns.id) == 84);
    const auto before = snapshot();

    process_result dry;
    {
        // Another ferry holds the migration lock: a dry run does not wait for it.
        auto other = open_another();
        auto lock = other.dialect->acquire_migration_lock(*other.conn, other.source, std::chrono::seconds(5));
        dry = legacy(*this, cfg, {"--dry-run", "--lock-timeout", "1"});
    }
    INFO(describe(dry));
    REQUIRE(dry.exit_code == 0);
    CHECK(contains(dry.out, "Dry run: nothing will be written."));
    CHECK(contains(dry.out, "subject sets name namespaces missing from the config: \"ghost\""));
    CHECK(snapshot() == before);
    CHECK(network_ids(*this).empty());

    const auto planned = parse_dry_run(dry.out);
    REQUIRE(planned.size() == 3);
    for (const auto& ns : cfg) {
        INFO("namespace " << ns.name);
        const auto& p = planned.at(ns.id);
        CHECK(p.rows == 700);
        CHECK(p.copy == e.copied.at(ns.id));
        CHECK(p.skip == e.skipped_count.at(ns.id));
        CHECK(show(p.reasons) == show(e.reasons.at(ns.id)));
    }

    auto real = legacy(*this, cfg, {"--yes"});
    INFO(describe(real));
    REQUIRE(real.exit_code == 0);
    const auto done = parse_summary(real.out);
    REQUIRE(done.size() == 3);
    for (const auto& ns : cfg) {
        INFO("namespace " << ns.name);
        CHECK(done.at(ns.id).copied == planned.at(ns.id).copy);
        CHECK(done.at(ns.id).skipped == planned.at(ns.id).skip);
        CHECK(show(done.at(ns.id).reasons) == show(planned.at(ns.id).reasons));
    }
    check_migrated(*this, e);
}

// ---- refusals -----------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "an unconfigured legacy table refuses the run before anything, exit 2") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    create_v06_main();
    for (std::int64_t id : {0LL, 7LL, 99LL}) {
        create_legacy_namespace(id);
        insert_row(*this, legacy_tuple_table(id), {"default", "doc", "view", "user", "2021-01-01 00:00:00"});
    }
    migrate_up(*this);
    const auto before = snapshot();

    auto r = legacy(*this, cfg, {"--yes"});
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "keto_0000000099_relation_tuples"));
    CHECK(contains(r.err, "id 99"));
    CHECK_FALSE(contains(r.out, "Successfully migrated down"));
    CHECK(snapshot() == before);
    CHECK(network_ids(*this).empty());

    auto none = legacy(*this, {}, {"--yes"});  // no namespaces at all: every table is unconfigured
    INFO(describe(none));
    CHECK(none.exit_code == 2);
    CHECK(contains(none.err, "keto_0000000000_relation_tuples"));
    CHECK(snapshot() == before);

    auto dry = legacy(*this, cfg, {"--dry-run"});
    INFO(describe(dry));
    CHECK(dry.exit_code == 0);
    CHECK(contains(dry.out, "table keto_0000000099_relation_tuples (id 99): no namespace with this id in the config"));
    CHECK(snapshot() == before);

    // Migrating configured namespaces by name still works, and leaves table 99 alone.
    auto named = legacy(*this, cfg, {"--yes", "a"});
    INFO(describe(named));
    CHECK(named.exit_code == 0);
    CHECK(contains(named.out, dropped_line("a")));
    CHECK(tuples_of(*this, 0) == 1);
    check_legacy_kept(*this, 99, 1);
    check_legacy_kept(*this, 7, 1);
}

TEST_CASE_FIXTURE(db_fixture, "the v0.7 schema not fully applied: refused with the `ferry migrate up` hint") {
    const ns_list cfg{{0, "a"}};
    SUBCASE("a v0.6 database") { build_database(*this, cfg, {{0, {"alice"}}}, false); }
    SUBCASE("the last migration reverted") {
        build_database(*this, cfg, {{0, {"alice"}}});
        auto down = cli({"migrate", "down", "1", "--yes"});
        INFO(describe(down));
        REQUIRE(down.exit_code == 0);
    }
    SUBCASE("an empty database") {}
    const auto before = snapshot();
    for (const auto& args : {strings{"--yes"}, strings{"--yes", "a"}, strings{"--dry-run"}}) {
        auto r = legacy(*this, cfg, args);
        INFO(describe(r));
        CHECK(r.exit_code == 1);
        CHECK(contains(r.err, "ferry migrate up"));
        CHECK(snapshot() == before);
    }
}

TEST_CASE_FIXTURE(db_fixture, "a namespace name not in the config: exit 2, nothing touched") {
    const ns_list cfg{{0, "a"}};
    build_database(*this, cfg, {{0, {"alice"}}});
    const auto before = snapshot();
    for (const auto& args : {strings{"--yes", "nope"}, strings{"--yes", "A"}, strings{"--dry-run", "nope"}}) {
        auto r = legacy(*this, cfg, args);
        INFO(describe(r));
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "\"" + args.back() + "\""));
        CHECK(snapshot() == before);
    }
    // A configured namespace without a legacy table (and never copied) is an error naming the table.
    auto missing = legacy(*this, {{0, "a"}, {8, "h"}}, {"--yes", "h"});
    INFO(describe(missing));
    CHECK(missing.exit_code == 1);
    CHECK(contains(missing.err, "keto_0000000008_relation_tuples"));
    CHECK(snapshot() == before);
}

// ---- output -------------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "--report FILE: the skipped rows as JSON lines, mode 0600, never overwritten") {
    const ns_list cfg{{0, "a"}, {7, "b"}};
    create_v06_main();
    create_legacy_namespace(0);
    create_legacy_namespace(7);
    const std::vector<std::pair<std::int64_t, lrow>> rows{
        {0, {"default", "doc-1", "view", "alice", "2021-01-01 00:00:01"}},
        {0, {"shard'\"x", "doc-2", "view", "not#valid", "2021-01-01 00:00:02"}},
        {0, {"default", "doc-3", "r\tx", "ghost:o#r\n", "2021-01-01 00:00:03"}},
        {7, {"default", "doc-\U0001F642", "view", repeat("\u00e9", 65), "2021-01-01 00:00:04"}},
        {7, {"default", "doc-5", "view", "a:doc-1#view", "2021-01-01 00:00:05"}},
    };
    for (const auto& [ns, row] : rows) insert_row(*this, legacy_tuple_table(ns), row);
    migrate_up(*this);

    // Expected lines, from the rows as the database returns them.
    strings want;
    for (const auto& ns : cfg)
        for (const auto& row : read_legacy(*this, ns.id)) {
            const auto c = classify(cfg, row);
            if (c.reason.empty()) continue;
            want.push_back(nlohmann::json{{"namespace", ns.name},
                                          {"namespace_id", ns.id},
                                          {"shard_id", *row.shard_id},
                                          {"object", *row.object},
                                          {"relation", *row.relation},
                                          {"subject", *row.subject},
                                          {"commit_time", *row.commit_time},
                                          {"reason", c.reason}}
                               .dump());
        }
    REQUIRE(want.size() == 3);

    // An existing file is refused (exit 2) and left as it was; nothing else happens.
    const auto existing = dir() / "existing.jsonl";
    write_file(existing, "keep me\n");
    const auto before = snapshot();
    auto refused = legacy(*this, cfg, {"--yes", "--report", existing.string()});
    INFO(describe(refused));
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, existing.string()));
    CHECK(snapshot() == before);
    {
        std::ifstream f(existing);
        std::stringstream text;
        text << f.rdbuf();
        CHECK(text.str() == "keep me\n");
    }

    const auto report = dir() / "skipped.jsonl";
    auto r = legacy(*this, cfg, {"--yes", "--report", report.string()});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    struct stat st {};
    REQUIRE(::stat(report.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::ifstream f(report);
    strings got;
    for (std::string line; std::getline(f, line);) {
        INFO("line: " << line);
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
        REQUIRE(j.is_object());
        got.push_back(j.dump());
    }
    check_same_rows(want, got, "report lines");
}

TEST_CASE_FIXTURE(db_fixture, "--log-format json: every stderr line is one JSON object, skipped rows included") {
    const ns_list cfg{{0, "a"}};
    build_database(*this, cfg, {{0, {"alice", "x#\"y\"\n", "ghost:o#r", "a:b:c#\t", repeat("z", 70)}}});
    const auto e = expectation::of(*this, cfg, {0});
    REQUIRE(e.skipped.size() == 4);

    auto r = legacy(*this, cfg, {"--yes", "--log-format", "json"});
    INFO(describe(r));
    REQUIRE(r.exit_code == 0);
    std::multiset<std::string> subjects;
    std::multiset<std::string> reasons;
    const auto lines = lines_of(r.err);
    CHECK(lines.size() >= 4);
    for (const auto& line : lines) {
        INFO("line: " << line);
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
        REQUIRE(j.is_object());
        CHECK(j.contains("time"));
        CHECK(j.contains("level"));
        REQUIRE(j.contains("msg"));
        if (j["msg"] == keto_skip_message) {
            CHECK(j["level"] == "warning");
            subjects.insert(j.at("relation_tuple").at("subject").get<std::string>());
            reasons.insert(j.at("reason").get<std::string>());
        }
    }
    CHECK(subjects == std::multiset<std::string>{"x#\"y\"\n", "ghost:o#r", "a:b:c#\t", repeat("z", 70)});
    CHECK(reasons == std::multiset<std::string>{"malformed_subject", "malformed_subject", "unknown_namespace",
                                                "value_too_long"});
    CHECK(contains(r.out, dropped_line("a")));
    check_migrated(*this, e);
}

// ---- networks -----------------------------------------------------------------------------------

TEST_CASE_FIXTURE(db_fixture, "networks: none when nothing is copied, one when copying, the oldest reused") {
    const ns_list cfg{{0, "a"}, {7, "b"}};

    SUBCASE("an empty legacy table") {
        create_v06_main();
        create_legacy_namespace(0);
        migrate_up(*this);
        auto r = legacy(*this, cfg, {"--yes"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, dropped_line("a")));
        CHECK(network_ids(*this).empty());
        check_legacy_gone(*this, 0);
        REQUIRE(records(*this).count(0) == 1);
        CHECK(records(*this).at(0).copied == 0);
        CHECK(records(*this).at(0).skipped == 0);
    }
    SUBCASE("every row broken") {
        build_database(*this, cfg, {{0, {"x#y", "ghost:o#r", repeat("q", 65)}}, {7, {"a:b:c#d"}}});
        auto r = legacy(*this, cfg, {"--yes"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(network_ids(*this).empty());
        CHECK(count_rows("keto_relation_tuples") == 0);
        CHECK(read_skipped(*this).size() == 4);
        check_legacy_gone(*this, 0);
        check_legacy_gone(*this, 7);
    }
    SUBCASE("copying two namespaces creates exactly one") {
        build_database(*this, cfg, {{0, {"alice", "bob"}}, {7, {"carol"}}});
        REQUIRE(network_ids(*this).empty());
        auto r = legacy(*this, cfg, {"--yes"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        const auto nets = network_ids(*this);
        REQUIRE(nets.size() == 1);
        CHECK(is_uuid_v4(nets[0]));
        CHECK(read_tuples(*this).nids == std::set<std::string>{nets[0]});
        CHECK(count_rows("keto_relation_tuples") == 3);
    }
    SUBCASE("existing rows: the oldest by created_at is used, none added") {
        build_database(*this, cfg, {{0, {"alice", "bob"}}, {7, {"carol"}}});
        const std::string newer = "22222222-2222-4222-8222-222222222222", older = "11111111-1111-4111-8111-111111111111";
        std::array<value, 3> n1{newer, "2022-01-01 00:00:00"s, "2022-01-01 00:00:00"s};
        std::array<value, 3> n2{older, "2020-01-01 00:00:00"s, "2020-01-01 00:00:00"s};
        conn().execute("INSERT INTO networks (id, created_at, updated_at) VALUES (?, ?, ?)", n1);
        conn().execute("INSERT INTO networks (id, created_at, updated_at) VALUES (?, ?, ?)", n2);
        auto r = legacy(*this, cfg, {"--yes"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        CHECK(network_ids(*this) == strings{older, newer});
        CHECK(read_tuples(*this).nids == std::set<std::string>{older});
        CHECK(count_rows("keto_relation_tuples") == 3);
    }
}

// ---- the core API -------------------------------------------------------------------------------

namespace {

struct recording_observer final : ferry::core::legacy::copy_observer {
    void started(const ferry::core::namespace_config& ns, std::optional<std::uint64_t>) override {
        started_.push_back(ns.name);
    }
    void skipped(const ferry::core::namespace_config&, const ferry::legacy_row& row,
                 ferry::core::legacy::skip_reason reason) override {
        skipped_.push_back(show(row.subject) + " " + std::string(ferry::core::legacy::to_string(reason)));
    }
    void finished(const ferry::core::legacy::namespace_result& r) override { finished_.push_back(r.name); }
    std::vector<std::string> started_, finished_, skipped_;
};

}  // namespace

TEST_CASE_FIXTURE(db_fixture, "core API: dry_run and copy classify alike, copy records, a second copy copies "
                              "nothing") {
    namespace legacy_api = ferry::core::legacy;
    using legacy_api::skip_reason;
    const ns_list cfg{{0, "a"}, {7, "b"}};
    build_database(*this, cfg, {{0, {"alice", "b:g#m", "x#y", "ghost:o#r", repeat("w", 65), "a:b:c#d"}}});
    ferry::core::config config;
    for (const auto& ns : cfg) config.namespaces.push_back({ns.id, ns.name});
    const auto table = legacy_api::legacy_table_for(0);
    const auto& ns_a = config.namespaces[0];

    const auto set = ferry::core::migration_set::from_embedded(dialect().keto_migrations(),
                                                               dialect().migration_dialect());
    legacy_api::migrator lm(db(), config);
    CHECK_NOTHROW(lm.require_schema(set));
    CHECK_FALSE(lm.record(0).has_value());
    CHECK(lm.count_rows(table) == 6);

    recording_observer dry_obs;
    const auto dry = lm.dry_run(table, ns_a, dry_obs);
    CHECK(dry.rows_read == 6);
    CHECK(dry.rows_copied == 2);
    CHECK(dry.rows_skipped == 4);
    CHECK(dry.skipped_by_reason == std::map<skip_reason, std::uint64_t>{{skip_reason::malformed_subject, 2},
                                                                        {skip_reason::unknown_namespace, 1},
                                                                        {skip_reason::value_too_long, 1}});
    CHECK_FALSE(dry.copied_now);
    CHECK(count_rows("keto_relation_tuples") == 0);
    CHECK(count_rows("ferry_skipped_relation_tuples") == 0);
    CHECK(dry_obs.skipped_.size() == 4);

    recording_observer obs;
    const auto copied = lm.copy(table, ns_a, obs);
    CHECK(copied.copied_now);
    CHECK_FALSE(copied.copied_before);
    CHECK(copied.rows_read == 6);
    CHECK(copied.rows_copied == 2);
    CHECK(copied.rows_skipped == 4);
    CHECK(copied.skipped_by_reason == dry.skipped_by_reason);
    CHECK(obs.started_ == strings{"a"});
    CHECK(obs.finished_ == strings{"a"});
    CHECK(sorted(obs.skipped_) == sorted(dry_obs.skipped_));
    check_migrated(*this, expectation::of(*this, cfg, {0}));
    REQUIRE(lm.record(0).has_value());
    CHECK(lm.record(0)->rows_copied == 2);
    CHECK(lm.record(0)->rows_skipped == 4);
    CHECK_FALSE(lm.record(0)->dropped);

    // A new migrator (a new run) does not copy again.
    legacy_api::migrator again(db(), config);
    recording_observer obs2;
    const auto second = again.copy(table, ns_a, obs2);
    CHECK(second.copied_before);
    CHECK_FALSE(second.copied_now);
    CHECK(second.rows_copied == 2);
    CHECK(second.rows_skipped == 4);
    CHECK(obs2.skipped_.empty());
    CHECK(count_rows("keto_relation_tuples") == 2);
    CHECK(count_rows("ferry_skipped_relation_tuples") == 4);

    again.drop(table);
    check_legacy_gone(*this, 0);
    REQUIRE(again.record(0).has_value());
    CHECK(again.record(0)->dropped);

    // The schema check names the command that fixes it.
    auto down = cli({"migrate", "down", "1", "--yes"});
    REQUIRE(down.exit_code == 0);
    legacy_api::migrator after_down(db(), config);
    try {
        after_down.require_schema(set);
        FAIL("require_schema accepted a schema with a pending migration");
    } catch (const ferry::state_error& e) {
        CHECK(contains(e.what(), "ferry migrate up"));
    }
}

}  // TEST_SUITE
