#include <ferry/core/legacy.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

#include <ferry/core/log.hpp>
#include <ferry/core/uuid.hpp>
#include <ferry/errors.hpp>

namespace ferry::core::legacy {

// ---- subject parsing ------------------------------------------------------------------------

parsed_subject parse_subject(std::string_view s) {
    parsed_subject p;
    const auto hash = s.find('#');
    if (hash == std::string_view::npos) {
        p.kind = parsed_subject::subject_id;
        p.id = s;
        return p;
    }
    if (s.find('#', hash + 1) != std::string_view::npos) return p;  // two or more '#'
    const auto head = s.substr(0, hash);
    const auto colon = head.find(':');
    if (colon == std::string_view::npos || head.find(':', colon + 1) != std::string_view::npos) return p;
    p.kind = parsed_subject::subject_set;
    p.set_namespace = head.substr(0, colon);
    p.set_object = head.substr(colon + 1);
    p.set_relation = s.substr(hash + 1);
    return p;
}

std::size_t utf8_length(std::string_view s) {
    // Every byte that is not a continuation byte (10xxxxxx) starts a code point.
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string_view to_string(skip_reason r) {
    switch (r) {
    case skip_reason::null_value: return "null_value";
    case skip_reason::malformed_subject: return "malformed_subject";
    case skip_reason::value_too_long: return "value_too_long";
    case skip_reason::unknown_namespace: return "unknown_namespace";
    }
    return "unknown";
}

// ---- discovery ------------------------------------------------------------------------------

legacy_table legacy_table_for(std::int64_t namespace_id) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(namespace_id));
    legacy_table t;
    t.namespace_id = namespace_id;
    t.table = std::string("keto_") + digits + "_relation_tuples";
    t.migrations_table = std::string("keto_namespace_") + digits + "_migrations";
    t.object_index = t.table + "_object_idx";
    t.user_set_index = t.table + "_user_set_idx";
    return t;
}

namespace {

// keto_ + exactly ten ASCII digits + _relation_tuples; no LIKE wildcards, case-sensitive.
std::optional<std::int64_t> legacy_id_of(std::string_view name) {
    constexpr std::string_view prefix = "keto_", suffix = "_relation_tuples";
    if (name.size() != prefix.size() + 10 + suffix.size()) return std::nullopt;
    if (name.substr(0, prefix.size()) != prefix || name.substr(prefix.size() + 10) != suffix) return std::nullopt;
    std::int64_t id = 0;
    for (char c : name.substr(prefix.size(), 10)) {
        if (c < '0' || c > '9') return std::nullopt;
        id = id * 10 + (c - '0');
    }
    return id;
}

}  // namespace

std::vector<legacy_table> discover(connection& conn, dialect& d) {
    std::vector<legacy_table> out;
    for (const auto& name : d.list_tables(conn))
        if (auto id = legacy_id_of(name)) out.push_back(legacy_table_for(*id));
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.namespace_id < b.namespace_id; });
    return out;
}

// ---- the copy -------------------------------------------------------------------------------

migrator::migrator(database& db, const config& cfg, copy_options options)
    : db_(db), cfg_(cfg), options_(options) {}

void migrator::require_schema(const migration_set& keto) {
    core::migrator m(*db_.conn, *db_.dialect, keto);
    for (const auto& s : m.status())
        if (s.state != migration_state::applied)
            throw state_error("Migrations were not applied yet, please apply them first using `ferry migrate up` "
                              "(migration " + s.m->version + " " + s.m->name + " is pending).");
}

std::optional<copy_record> migrator::record(std::int64_t namespace_id) {
    if (!ferry_tables_exist(*db_.conn, *db_.dialect)) return std::nullopt;
    std::array<value, 1> id{namespace_id};
    auto r = db_.conn->query(
        "SELECT rows_copied, rows_skipped, dropped_at FROM ferry_legacy_namespaces WHERE namespace_id = ?", id);
    if (!r->next()) return std::nullopt;
    return copy_record{static_cast<std::uint64_t>(r->integer(0)), static_cast<std::uint64_t>(r->integer(1)),
                       !r->is_null(2)};
}

std::uint64_t migrator::count_rows(const legacy_table& table) {
    return static_cast<std::uint64_t>(
        query_integer(*db_.conn, "SELECT COUNT(*) FROM " + db_.dialect->quote_identifier(table.table)));
}

void migrator::check_layout(const legacy_table& table) {
    auto& dia = *db_.dialect;
    // Unquoted on purpose: SQLite reads a double-quoted name it cannot resolve as a string literal.
    const std::string columns = "shard_id, object, relation, subject, commit_time";
    try {
        auto r = db_.conn->query("SELECT " + columns + " FROM " + dia.quote_identifier(table.table) + " WHERE 1 = 0");
        while (r->next()) {
        }
    } catch (const permission_error&) {
        throw;
    } catch (const connection_error&) {
        throw;
    } catch (const ferry::error& e) {
        throw state_error(table.table + " does not have the layout of a Keto v0.6 relation-tuple table (columns "
                          "shard_id, object, relation, subject, commit_time): " + std::string(e.what()) +
                          "; nothing was changed. Restore its columns, or drop it by hand if it is not Keto's");
    }
}

// The network rule Keto v0.7 applies on start: the oldest networks row, created if none.
std::string migrator::network_id(bool create) {
    if (nid_) return *nid_;
    auto r = db_.conn->query("SELECT id FROM networks ORDER BY created_at LIMIT 1");
    if (r->next()) return *(nid_ = std::string(r->text(0)));
    r.reset();
    if (!create) return {};
    auto id = uuid_generator().next_string();
    std::array<value, 1> p{id};
    db_.conn->execute("INSERT INTO networks (id, created_at, updated_at) VALUES (?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                      p);
    log().info("created the network row Keto v0.7 will use", {{"nid", id}});
    return *(nid_ = id);
}

namespace {

// Hooks for the fault tests (docs/reliability.md): stop hard after N rows of a namespace.
// FERRY_TEST_PAUSE_AFTER_ROWS holds the open copy transaction for FERRY_TEST_PAUSE_SECONDS
// (once), so tests can probe what other sessions see mid-copy.
struct fault_hooks {
    static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t fail_after = never, kill_after = never, pause_after = never;
    unsigned pause_seconds = 5;
    mutable bool paused = false;

    static std::uint64_t rows_from(const char* variable) {
        const char* v = std::getenv(variable);
        return v ? std::strtoull(v, nullptr, 10) : never;
    }
    fault_hooks()
        : fail_after(rows_from("FERRY_TEST_FAIL_AFTER_ROWS")), kill_after(rows_from("FERRY_TEST_KILL_AFTER_ROWS")),
          pause_after(rows_from("FERRY_TEST_PAUSE_AFTER_ROWS")) {
        if (const char* v = std::getenv("FERRY_TEST_PAUSE_SECONDS")) pause_seconds = std::strtoul(v, nullptr, 10);
    }
    void check(std::uint64_t rows) const {
        if (rows >= pause_after && !paused) {
            paused = true;
            std::this_thread::sleep_for(std::chrono::seconds(pause_seconds));
        }
        if (rows >= kill_after) std::raise(SIGKILL);
        if (rows >= fail_after)
            throw error("injected failure after " + std::to_string(rows) + " rows (FERRY_TEST_FAIL_AFTER_ROWS)");
    }
};

constexpr std::size_t max_value_length = 64;

}  // namespace

namespace_result migrator::run(const legacy_table& table, const namespace_config& ns, copy_observer& observer,
                               bool write) {
    auto& conn = *db_.conn;
    auto& dia = *db_.dialect;
    const auto started = std::chrono::steady_clock::now();
    const fault_hooks faults;
    namespace_result result;
    result.namespace_id = ns.id;
    result.name = ns.name;

    std::optional<std::uint64_t> total;
    if (observer.wants_total()) total = count_rows(table);
    observer.started(ns, total);

    const std::array<value, 1> ns_param{ns.id};
    std::uint64_t tuples_before = 0, skipped_before = 0;
    std::string nid;
    if (write) {
        nid = network_id(false);
        if (!nid.empty()) {
            std::array<value, 2> p{std::string_view(nid), ns.id};
            tuples_before = static_cast<std::uint64_t>(query_integer(
                conn, "SELECT COUNT(*) FROM keto_relation_tuples WHERE nid = ? AND namespace_id = ?", p));
        }
        if (tuples_before > 0 && !options_.force)
            throw state_error("namespace " + ns.name + " (id " + std::to_string(ns.id) + ") already has " +
                              std::to_string(tuples_before) +
                              " tuples in keto_relation_tuples that Ferry did not copy (another migrator ran "
                              "before?); copying would duplicate them. Check them, then re-run with --force to copy "
                              "anyway, or use --down-only --force to only drop the legacy table");
        skipped_before = static_cast<std::uint64_t>(
            query_integer(conn, "SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?", ns_param));
    }

    auto reader = dia.open_legacy_reader(conn, db_.source, table.table);
    std::unique_ptr<tuple_writer> writer;
    std::unique_ptr<prepared_statement> keep_skipped;
    uuid_generator uuids;
    std::vector<legacy_row> batch;
    std::vector<relation_tuple> tuples;
    tuples.reserve(options_.batch_rows);
    std::vector<value> skip_params;

    auto skip = [&](const legacy_row& row, skip_reason reason) {
        ++result.rows_skipped;
        ++result.skipped_by_reason[reason];
        auto field = [](const std::optional<std::string>& v) -> nlohmann::json {
            return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        };
        log().warn("Skipping relation tuple, it seems to be in a broken state. Please recreate it manually.",
                   {{"namespace", ns.name},
                    {"relation_tuple",
                     {{"object", field(row.object)},
                      {"relation", field(row.relation)},
                      {"subject", field(row.subject)},
                      {"commit_time", field(row.commit_time)}}},
                    {"reason", std::string(to_string(reason))},
                    {"hint", "kept in ferry_skipped_relation_tuples"}});
        observer.skipped(ns, row, reason);
        if (!write) return;
        if (!keep_skipped)
            keep_skipped = conn.prepare(
                "INSERT INTO ferry_skipped_relation_tuples (namespace_id, shard_id, object, relation, subject, "
                "commit_time, reason, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)");
        auto opt = [](const std::optional<std::string>& v) { return v ? value(std::string_view(*v)) : value(); };
        skip_params.assign({ns.id, opt(row.shard_id), opt(row.object), opt(row.relation), opt(row.subject),
                            opt(row.commit_time), std::string_view(to_string(reason))});
        keep_skipped->execute(skip_params);
    };

    auto too_long = [](std::string_view v) { return v.size() > max_value_length && utf8_length(v) > max_value_length; };

    while (std::size_t n = reader->read(batch, options_.batch_rows)) {
        tuples.clear();
        for (std::size_t i = 0; i < n; ++i) {
            const auto& row = batch[i];
            ++result.rows_read;
            if (!row.object || !row.relation || !row.subject || !row.commit_time) {
                skip(row, skip_reason::null_value);
                continue;
            }
            const auto subject = parse_subject(*row.subject);
            if (subject.kind == parsed_subject::malformed) {
                skip(row, skip_reason::malformed_subject);
                continue;
            }
            relation_tuple t;
            t.namespace_id = ns.id;
            t.object = *row.object;
            t.relation = *row.relation;
            t.commit_time = *row.commit_time;
            bool overlong = too_long(t.object) || too_long(t.relation);
            if (subject.kind == parsed_subject::subject_id) {
                t.subject_id = subject.id;
                overlong = overlong || too_long(subject.id);
            } else {
                const auto* target = cfg_.find_by_name(subject.set_namespace);
                if (!target) {
                    skip(row, skip_reason::unknown_namespace);
                    continue;
                }
                t.subject_set_namespace_id = target->id;
                t.subject_set_object = subject.set_object;
                t.subject_set_relation = subject.set_relation;
                overlong = overlong || too_long(subject.set_object) || too_long(subject.set_relation);
            }
            if (overlong) {
                skip(row, skip_reason::value_too_long);
                continue;
            }
            if (write) uuids.next(t.shard_id);
            tuples.push_back(t);
        }
        if (write && !tuples.empty()) {
            if (nid.empty()) nid = network_id(true);  // only now: nothing written, no network row
            if (!writer) writer = dia.open_tuple_writer(conn);
            for (auto& t : tuples) t.nid = nid;
            writer->write(tuples);
        }
        result.rows_copied += tuples.size();
        observer.progress(result.rows_read);
        faults.check(result.rows_read);
    }
    if (writer) writer->finish();
    reader.reset();

    if (write) {
        // Verify inside the transaction, before anything is recorded or committed.
        const auto legacy_rows = count_rows(table);
        std::uint64_t tuples_after = 0;
        if (!nid.empty()) {
            std::array<value, 2> p{std::string_view(nid), ns.id};
            tuples_after = static_cast<std::uint64_t>(query_integer(
                conn, "SELECT COUNT(*) FROM keto_relation_tuples WHERE nid = ? AND namespace_id = ?", p));
        }
        const auto skipped_after = static_cast<std::uint64_t>(
            query_integer(conn, "SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?", ns_param));
        auto mismatch = [&](const std::string& what) {
            return verification_error("namespace " + ns.name + " (id " + std::to_string(ns.id) +
                                      ") failed verification, nothing of it was kept: " + what);
        };
        if (legacy_rows != result.rows_read)
            throw mismatch("read " + std::to_string(result.rows_read) + " rows but " + table.table + " holds " +
                           std::to_string(legacy_rows));
        if (result.rows_read != result.rows_copied + result.rows_skipped)
            throw mismatch("rows read " + std::to_string(result.rows_read) + " != copied " +
                           std::to_string(result.rows_copied) + " + skipped " + std::to_string(result.rows_skipped));
        if (tuples_after - tuples_before != result.rows_copied)
            throw mismatch("keto_relation_tuples gained " + std::to_string(tuples_after - tuples_before) +
                           " rows, expected " + std::to_string(result.rows_copied));
        if (skipped_after - skipped_before != result.rows_skipped)
            throw mismatch("ferry_skipped_relation_tuples gained " + std::to_string(skipped_after - skipped_before) +
                           " rows, expected " + std::to_string(result.rows_skipped));
        std::array<value, 5> rec{ns.id, std::string_view(ns.name), std::string_view(table.table),
                                 static_cast<std::int64_t>(result.rows_copied),
                                 static_cast<std::int64_t>(result.rows_skipped)};
        conn.execute("INSERT INTO ferry_legacy_namespaces (namespace_id, namespace_name, legacy_table, rows_copied, "
                     "rows_skipped, copied_at) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
                     rec);
        result.copied_now = true;
    }
    result.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return result;
}

namespace_result migrator::copy(const legacy_table& table, const namespace_config& ns, copy_observer& observer) {
    if (auto rec = record(ns.id)) {
        namespace_result r;
        r.namespace_id = ns.id;
        r.name = ns.name;
        r.copied_before = true;
        r.rows_copied = rec->rows_copied;
        r.rows_skipped = rec->rows_skipped;
        observer.finished(r);
        return r;
    }
    namespace_result result;
    try {
        transaction tx(*db_.conn);
        result = run(table, ns, observer, true);
        if (options_.strict && result.rows_skipped > 0)
            throw state_error("namespace " + ns.name + " (id " + std::to_string(ns.id) + ") has " +
                              std::to_string(result.rows_skipped) +
                              " broken rows (listed above) and --strict is set; nothing of it was kept. Fix or "
                              "delete those rows in " + table.table + ", or run without --strict to keep them in "
                              "ferry_skipped_relation_tuples");
        tx.commit();
    } catch (const ferry::error& e) {
        nid_.reset();  // a rolled-back network row must not be reused
        // These already name the namespace and what to do.
        if (dynamic_cast<const verification_error*>(&e) || dynamic_cast<const state_error*>(&e)) throw;
        throw error("migrating namespace " + ns.name + " (id " + std::to_string(ns.id) +
                    ") failed and was rolled back, nothing of it was kept: " + e.what() +
                    ". Namespaces finished before it stay migrated; fix the cause and run the command again to "
                    "continue");
    }
    observer.finished(result);
    return result;
}

namespace_result migrator::dry_run(const legacy_table& table, const namespace_config& ns, copy_observer& observer) {
    auto result = run(table, ns, observer, false);
    if (auto rec = record(ns.id)) {
        result.copied_before = true;
        result.rows_copied = 0;
    }
    observer.finished(result);
    return result;
}

void migrator::drop(const legacy_table& table) {
    auto& conn = *db_.conn;
    auto& dia = *db_.dialect;
    const auto tables = dia.list_tables(conn);
    auto exists = [&](const std::string& t) { return std::find(tables.begin(), tables.end(), t) != tables.end(); };
    // On dialects with transactional DDL all of this commits at once; elsewhere each statement
    // commits on its own (see the order below).
    // A recorded namespace whose legacy table no longer holds what was copied (restored from
    // a backup, written by a v0.6 server since) would lose those rows: refuse.
    if (exists(table.table) && !options_.force) {
        if (auto rec = record(table.namespace_id)) {
            const auto now = count_rows(table);
            if (now != rec->rows_copied + rec->rows_skipped)
                throw state_error(table.table + " holds " + std::to_string(now) + " rows, but " +
                                  std::to_string(rec->rows_copied + rec->rows_skipped) +
                                  " were copied or kept from it; it changed after the copy, so dropping it would "
                                  "lose rows. Check it, then drop it with --down-only --force");
        }
    }
    transaction tx(conn);
    // Where DDL commits on its own (MySQL), every statement below is a step a re-run must be able
    // to finish from. Hence the order: the record first (a re-run still finds the legacy table,
    // copies nothing and drops again), then the migrations table, then the tuple table, which is
    // what discovery looks for. Dropping the tuple table first would leave, after a kill, a
    // migrations table no re-run ever finds and a record never marked dropped.
    if (ferry_tables_exist(conn, dia)) {
        std::array<value, 1> id{table.namespace_id};
        conn.execute("UPDATE ferry_legacy_namespaces SET dropped_at = CURRENT_TIMESTAMP WHERE namespace_id = ?", id);
    }
    if (exists(table.migrations_table)) conn.execute("DROP TABLE " + dia.quote_identifier(table.migrations_table));
    if (exists(table.table)) {
        // DROP TABLE removes the indexes too. Dropping them first only matters where all of
        // this commits at once; elsewhere a run interrupted between the statements would
        // leave a re-run facing an index that is already gone.
        if (dia.caps().transactional_ddl) {
            conn.execute(dia.drop_index_sql(table.user_set_index, table.table));
            conn.execute(dia.drop_index_sql(table.object_index, table.table));
        }
        conn.execute("DROP TABLE " + dia.quote_identifier(table.table));
        // Fault tests: die right after the legacy table's drop, before the commit.
        if (std::getenv("FERRY_TEST_KILL_IN_DROP")) std::raise(SIGKILL);
    }
    tx.commit();
}

}  // namespace ferry::core::legacy
