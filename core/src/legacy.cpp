#include <ferry/core/legacy.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

#include <ferry/core/log.hpp>
#include <ferry/core/retry.hpp>
#include <ferry/core/uuid.hpp>
#include <ferry/errors.hpp>
#include <ferry/sdk/strategies.hpp>

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

// Hooks for the fault tests (docs/reliability.md): stop hard after N rows of a namespace.
// FERRY_TEST_PAUSE_AFTER_ROWS holds the open copy transaction for FERRY_TEST_PAUSE_SECONDS
// (once), so tests can probe what other sessions see mid-copy. FERRY_TEST_PAUSE_BEFORE_COMMIT
// (seconds) holds a namespace's first copy transaction once, after its work and just before
// its commit: a test's conflicting transaction then makes the commit fail with 40001.
struct fault_hooks {
    static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t fail_after = never, kill_after = never, pause_after = never;
    unsigned pause_seconds = 5;
    unsigned pause_before_commit = 0;
    mutable bool paused = false, paused_before_commit = false;

    void before_commit() const {
        if (pause_before_commit == 0 || paused_before_commit) return;
        paused_before_commit = true;
        log().info("test hook: pausing before the commit", {{"seconds", pause_before_commit}});
        std::this_thread::sleep_for(std::chrono::seconds(pause_before_commit));
    }

    static std::uint64_t rows_from(const char* variable) {
        const char* v = std::getenv(variable);
        return v ? std::strtoull(v, nullptr, 10) : never;
    }
    fault_hooks()
        : fail_after(rows_from("FERRY_TEST_FAIL_AFTER_ROWS")), kill_after(rows_from("FERRY_TEST_KILL_AFTER_ROWS")),
          pause_after(rows_from("FERRY_TEST_PAUSE_AFTER_ROWS")) {
        if (const char* v = std::getenv("FERRY_TEST_PAUSE_SECONDS")) pause_seconds = std::strtoul(v, nullptr, 10);
        if (const char* v = std::getenv("FERRY_TEST_PAUSE_BEFORE_COMMIT"))
            pause_before_commit = std::strtoul(v, nullptr, 10);
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

namespace {

constexpr std::size_t max_value_length = 64;

bool too_long(std::string_view v) { return v.size() > max_value_length && utf8_length(v) > max_value_length; }

using sdk::legacy_key;

}  // namespace

// A chunked copy in progress: a row of ferry_legacy_progress.
struct chunk_progress {
    std::optional<legacy_key> last_key;
    std::uint64_t rows_read = 0, rows_copied = 0, rows_skipped = 0;
    std::uint64_t tuples_before = 0, skipped_before = 0;
    std::uint64_t chunks = 0;
};

// What one transaction of the copy (or a dry run) has done so far. Broken rows are reported
// only once the transaction that kept them has committed, when it may be retried: a retry
// must not report them twice.
struct migrator::pass {
    bool write = false;
    std::string_view target = "keto_relation_tuples";
    bool defer_reports = false;
    std::uint64_t rows_before = 0;  // rows of this namespace read by earlier chunks
    const fault_hooks* faults = nullptr;
    std::uint64_t rows_read = 0, rows_copied = 0, rows_skipped = 0;
    std::map<skip_reason, std::uint64_t> skipped_by_reason;
    std::vector<std::pair<legacy_row, skip_reason>> unreported;
    std::unique_ptr<tuple_writer> writer;
    std::optional<std::uint64_t> written = 0;  // rows the writer reports written; nullopt: unknown
    std::unique_ptr<prepared_statement> keep_skipped;
    std::vector<value> skip_params;
    uuid_generator uuids;
    std::vector<legacy_row> batch;
    std::vector<relation_tuple> tuples;
};

void migrator::report_skip(const namespace_config& ns, const legacy_row& row, skip_reason reason,
                           copy_observer& observer) {
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
}

void migrator::report_deferred(pass& p, const namespace_config& ns, copy_observer& observer) {
    for (const auto& [row, reason] : p.unreported) report_skip(ns, row, reason, observer);
    p.unreported.clear();
}

namespace_result migrator::result_of(const namespace_config& ns, std::uint64_t read, std::uint64_t copied,
                                     std::uint64_t skipped, std::chrono::steady_clock::time_point started) {
    namespace_result r;
    r.namespace_id = ns.id;
    r.name = ns.name;
    r.rows_read = read;
    r.rows_copied = copied;
    r.rows_skipped = skipped;
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return r;
}

void migrator::pump(pass& p, legacy_reader& reader, const namespace_config& ns, copy_observer& observer,
                    std::uint64_t max_rows) {
    auto& conn = *db_.conn;
    auto skip = [&](const legacy_row& row, skip_reason reason) {
        ++p.rows_skipped;
        ++p.skipped_by_reason[reason];
        if (p.defer_reports)
            p.unreported.emplace_back(row, reason);
        else
            report_skip(ns, row, reason, observer);
        if (!p.write) return;
        if (!p.keep_skipped)
            p.keep_skipped = conn.prepare(
                "INSERT INTO ferry_skipped_relation_tuples (namespace_id, shard_id, object, relation, subject, "
                "commit_time, reason, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)");
        auto opt = [](const std::optional<std::string>& v) { return v ? value(std::string_view(*v)) : value(); };
        p.skip_params.assign({ns.id, opt(row.shard_id), opt(row.object), opt(row.relation), opt(row.subject),
                              opt(row.commit_time), std::string_view(to_string(reason))});
        p.keep_skipped->execute(p.skip_params);
    };

    p.tuples.reserve(options_.batch_rows);
    std::uint64_t read_now = 0;
    while (max_rows == 0 || read_now < max_rows) {
        const auto want = max_rows == 0 ? options_.batch_rows
                                         : static_cast<std::size_t>(std::min<std::uint64_t>(options_.batch_rows,
                                                                                             max_rows - read_now));
        const std::size_t n = reader.read(p.batch, want);
        if (n == 0) break;
        read_now += n;
        p.tuples.clear();
        for (std::size_t i = 0; i < n; ++i) {
            const auto& row = p.batch[i];
            ++p.rows_read;
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
            if (p.write) p.uuids.next(t.shard_id);
            p.tuples.push_back(t);
        }
        if (p.write && !p.tuples.empty()) {
            const auto nid = network_id(true);  // only now: nothing written, no network row
            if (!p.writer) p.writer = db_.dialect->open_tuple_writer(conn, p.target);
            for (auto& t : p.tuples) t.nid = nid;
            p.writer->write(p.tuples);
        }
        p.rows_copied += p.tuples.size();
        observer.progress(p.rows_before + p.rows_read);
        if (p.faults) p.faults->check(p.rows_before + p.rows_read);
    }
    if (p.writer) {
        const auto reported = p.writer->finish();
        p.written = p.written && reported ? std::optional(*p.written + *reported) : std::nullopt;
    }
}

std::uint64_t migrator::count_namespace(std::string_view table, std::int64_t namespace_id, bool by_network) {
    const std::string sql = "SELECT COUNT(*) FROM " + std::string(table) + " WHERE namespace_id = ?";
    if (!by_network) {
        std::array<value, 1> p{namespace_id};
        return static_cast<std::uint64_t>(query_integer(*db_.conn, sql, p));
    }
    const auto nid = network_id(false);
    if (nid.empty()) return 0;
    std::array<value, 2> p{namespace_id, std::string_view(nid)};
    return static_cast<std::uint64_t>(query_integer(*db_.conn, sql + " AND nid = ?", p));
}

void migrator::refuse_foreign_tuples(const namespace_config& ns, std::uint64_t tuples_before) {
    if (tuples_before > 0 && !options_.force)
        throw state_error("namespace " + ns.name + " (id " + std::to_string(ns.id) + ") already has " +
                          std::to_string(tuples_before) +
                          " tuples in keto_relation_tuples that Ferry did not copy (another migrator ran "
                          "before?); copying would duplicate them. Check them, then re-run with --force to copy "
                          "anyway, or use --down-only --force to only drop the legacy table");
}

void migrator::verify_and_record(const legacy_table& table, const namespace_config& ns, std::uint64_t rows_read,
                                 std::uint64_t rows_copied, std::uint64_t rows_skipped, std::uint64_t tuples_before,
                                 std::uint64_t skipped_before, std::optional<std::uint64_t> written) {
    // Inside the transaction, before anything is recorded or committed. What the server
    // reported inserting is as good as counting the rows afterwards, and free: counting scans
    // the namespace's index range, seconds per million rows on a cold MariaDB buffer pool.
    const auto legacy_rows = count_rows(table);
    const auto tuples_after = written ? tuples_before + *written : count_namespace("keto_relation_tuples", ns.id, true);
    const auto skipped_after = count_namespace("ferry_skipped_relation_tuples", ns.id, false);
    auto mismatch = [&](const std::string& what) {
        return verification_error("namespace " + ns.name + " (id " + std::to_string(ns.id) +
                                  ") failed verification, nothing of it was kept: " + what);
    };
    if (legacy_rows != rows_read)
        throw mismatch("read " + std::to_string(rows_read) + " rows but " + table.table + " holds " +
                       std::to_string(legacy_rows));
    if (rows_read != rows_copied + rows_skipped)
        throw mismatch("rows read " + std::to_string(rows_read) + " != copied " + std::to_string(rows_copied) +
                       " + skipped " + std::to_string(rows_skipped));
    if (tuples_after - tuples_before != rows_copied)
        throw mismatch((written ? "the database reported writing " : "keto_relation_tuples gained ") +
                       std::to_string(tuples_after - tuples_before) + " rows, expected " +
                       std::to_string(rows_copied));
    if (skipped_after - skipped_before != rows_skipped)
        throw mismatch("ferry_skipped_relation_tuples gained " + std::to_string(skipped_after - skipped_before) +
                       " rows, expected " + std::to_string(rows_skipped));
    std::array<value, 5> rec{ns.id, std::string_view(ns.name), std::string_view(table.table),
                             static_cast<std::int64_t>(rows_copied), static_cast<std::int64_t>(rows_skipped)};
    db_.conn->execute("INSERT INTO ferry_legacy_namespaces (namespace_id, namespace_name, legacy_table, rows_copied, "
                      "rows_skipped, copied_at) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
                      rec);
}

void migrator::refuse_broken_rows_if_strict(const legacy_table& table, const namespace_config& ns,
                                            std::uint64_t rows_skipped) {
    if (options_.strict && rows_skipped > 0)
        throw state_error("namespace " + ns.name + " (id " + std::to_string(ns.id) + ") has " +
                          std::to_string(rows_skipped) +
                          " broken rows (listed above) and --strict is set; nothing of it was kept. Fix or delete "
                          "those rows in " + table.table + ", or run without --strict to keep them in "
                          "ferry_skipped_relation_tuples");
}

retry_policy migrator::retries() const { return {.attempts = db_.dialect->caps().transaction_attempts}; }

void migrator::transact(pass& p, const namespace_config& ns, copy_observer& observer, const std::string& what,
                        const fault_hooks& faults, const std::function<void(unsigned attempt)>& work) {
    const auto policy = retries();
    try {
        run_in_transaction(
            *db_.conn, *db_.dialect, policy, what,
            [&](unsigned attempt) {
                work(attempt);
                if (options_.lock) options_.lock->ensure_held();
                faults.before_commit();
            },
            [&](unsigned next_attempt, const std::string& why) {
                nid_.reset();  // the network row may have been rolled back with the transaction
                log().warn("the database aborted the transaction (serialization failure); running it again",
                           {{"namespace", ns.name}, {"attempt", next_attempt}, {"of", policy.attempts}, {"error", why}});
            });
    } catch (...) {
        // Broken rows of the attempt that failed for good are reported all the same (--strict
        // refers to them), once.
        report_deferred(p, ns, observer);
        throw;
    }
    report_deferred(p, ns, observer);
}

namespace_result migrator::copy_whole(const legacy_table& table, const namespace_config& ns,
                                      copy_observer& observer, std::optional<std::uint64_t> total) {
    const auto started = std::chrono::steady_clock::now();
    const fault_hooks faults;
    auto& conn = *db_.conn;
    observer.started(ns, total);

    pass p;
    transact(p, ns, observer, "copying namespace " + ns.name, faults, [&](unsigned) {
        p = pass{};
        p.write = true;
        p.defer_reports = retries().attempts > 1;
        p.faults = &faults;
        const auto tuples_before = count_namespace("keto_relation_tuples", ns.id, true);
        refuse_foreign_tuples(ns, tuples_before);
        const auto skipped_before = count_namespace("ferry_skipped_relation_tuples", ns.id, false);
        {
            auto reader = db_.dialect->open_legacy_reader(conn, db_.source, table.table);
            pump(p, *reader, ns, observer, 0);
        }
        verify_and_record(table, ns, p.rows_read, p.rows_copied, p.rows_skipped, tuples_before, skipped_before,
                          p.written);
        refuse_broken_rows_if_strict(table, ns, p.rows_skipped);
    });

    auto result = result_of(ns, p.rows_read, p.rows_copied, p.rows_skipped, started);
    result.skipped_by_reason = p.skipped_by_reason;
    result.copied_now = true;
    return result;
}

// A namespace too large for one transaction: chunks of `chunk_rows` legacy rows, each in its
// own transaction, go to ferry_staged_relation_tuples (which no Keto reads), and
// ferry_legacy_progress records after each one where the next starts, so a re-run resumes
// there. When every row is staged, one transaction moves the staged rows into
// keto_relation_tuples, verifies and records the namespace: Keto sees all of it or nothing.
namespace_result migrator::copy_chunked(const legacy_table& table, const namespace_config& ns,
                                        copy_observer& observer, std::optional<std::uint64_t> total,
                                        std::optional<chunk_progress> progress, std::uint64_t chunk_rows) {
    const auto started = std::chrono::steady_clock::now();
    const fault_hooks faults;
    auto& conn = *db_.conn;
    const std::array<value, 1> ns_param{ns.id};

    if (!progress) {
        progress.emplace();
        // Leftovers of a chunk whose progress row never committed cannot exist (same
        // transaction), but a hand-deleted progress row could leave staged rows behind.
        conn.execute("DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?", ns_param);
        progress->tuples_before = count_namespace("keto_relation_tuples", ns.id, true);
        refuse_foreign_tuples(ns, progress->tuples_before);
        progress->skipped_before = count_namespace("ferry_skipped_relation_tuples", ns.id, false);
    } else {
        log().info("resuming the chunked copy of a namespace",
                   {{"namespace", ns.name}, {"rows_done", progress->rows_read}, {"chunks_done", progress->chunks}});
    }
    observer.started(ns, total);

    std::map<skip_reason, std::uint64_t> skipped_by_reason;
    for (bool more = true; more;) {
        pass p;
        chunk_progress next;
        transact(p, ns, observer,
                 "copying chunk " + std::to_string(progress->chunks + 1) + " of namespace " + ns.name, faults,
                 [&](unsigned) {
                     p = pass{};
                     p.write = true;
                     p.target = "ferry_staged_relation_tuples";
                     p.defer_reports = true;
                     p.rows_before = progress->rows_read;
                     p.faults = &faults;
                     auto reader =
                         sdk::make_keyset_reader(conn, db_.dialect->quote_identifier(table.table), progress->last_key);
                     pump(p, *reader, ns, observer, chunk_rows);
                     refuse_broken_rows_if_strict(table, ns, p.rows_skipped);
                     if (p.rows_read == 0) return;
                     next = *progress;
                     next.rows_read += p.rows_read;
                     next.rows_copied += p.rows_copied;
                     next.rows_skipped += p.rows_skipped;
                     next.last_key = reader->last_key();
                     ++next.chunks;
                     save_progress(ns, next);
                 });
        for (auto& [reason, n] : p.skipped_by_reason) skipped_by_reason[reason] += n;
        if (p.rows_read > 0) *progress = next;
        more = p.rows_read == chunk_rows;
    }

    pass none;  // publishing reads no legacy rows
    transact(none, ns, observer, "publishing namespace " + ns.name, faults, [&](unsigned) {
        // Column by column: the staging table was created with the same columns, but not
        // necessarily in the same order on every dialect.
        const std::string columns(sdk::tuple_columns);
        conn.execute("INSERT INTO keto_relation_tuples (" + columns + ") SELECT " + columns +
                         " FROM ferry_staged_relation_tuples WHERE namespace_id = ?",
                     ns_param);
        verify_and_record(table, ns, progress->rows_read, progress->rows_copied, progress->rows_skipped,
                          progress->tuples_before, progress->skipped_before, std::nullopt);
        conn.execute("DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?", ns_param);
        conn.execute("DELETE FROM ferry_legacy_progress WHERE namespace_id = ?", ns_param);
    });

    auto result = result_of(ns, progress->rows_read, progress->rows_copied, progress->rows_skipped, started);
    // Chunks of an earlier, interrupted run reported their broken rows then; the breakdown
    // of the whole namespace is in the table they were kept in.
    if (progress->skipped_before == 0) {
        skipped_by_reason.clear();
        auto r = conn.query("SELECT reason, COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ? "
                            "GROUP BY reason",
                            ns_param);
        while (r->next())
            for (auto reason : {skip_reason::null_value, skip_reason::malformed_subject, skip_reason::value_too_long,
                                skip_reason::unknown_namespace})
                if (r->text(0) == to_string(reason)) skipped_by_reason[reason] = static_cast<std::uint64_t>(r->integer(1));
    }
    result.skipped_by_reason = std::move(skipped_by_reason);
    result.copied_now = true;
    return result;
}

std::optional<chunk_progress> migrator::load_progress(std::int64_t namespace_id) {
    std::array<value, 1> id{namespace_id};
    auto r = db_.conn->query("SELECT last_key, rows_read, rows_copied, rows_skipped, tuples_before, "
                             "skipped_before, chunks FROM ferry_legacy_progress WHERE namespace_id = ?",
                             id);
    if (!r->next()) return std::nullopt;
    chunk_progress p;
    if (!r->is_null(0)) {
        const auto parts = nlohmann::json::parse(r->text(0), nullptr, false);
        if (!parts.is_array() || parts.size() != 5)
            throw state_error("ferry_legacy_progress holds an unreadable position for namespace " +
                              std::to_string(namespace_id) + "; delete that row (and its rows in "
                              "ferry_staged_relation_tuples) to copy the namespace from the start");
        p.last_key.emplace();
        for (std::size_t i = 0; i < 5; ++i) (*p.last_key)[i] = parts[i].get<std::string>();
    }
    p.rows_read = static_cast<std::uint64_t>(r->integer(1));
    p.rows_copied = static_cast<std::uint64_t>(r->integer(2));
    p.rows_skipped = static_cast<std::uint64_t>(r->integer(3));
    p.tuples_before = static_cast<std::uint64_t>(r->integer(4));
    p.skipped_before = static_cast<std::uint64_t>(r->integer(5));
    p.chunks = static_cast<std::uint64_t>(r->integer(6));
    while (r->next()) {
    }
    return p;
}

void migrator::save_progress(const namespace_config& ns, const chunk_progress& now) {
    auto n = [](std::uint64_t v) { return value(static_cast<std::int64_t>(v)); };
    const value key = now.last_key ? value(nlohmann::json(*now.last_key).dump()) : value();
    if (now.chunks == 1) {
        std::array<value, 8> p{ns.id, key, n(now.rows_read), n(now.rows_copied), n(now.rows_skipped),
                               n(now.tuples_before), n(now.skipped_before), n(now.chunks)};
        db_.conn->execute("INSERT INTO ferry_legacy_progress (namespace_id, last_key, rows_read, rows_copied, "
                          "rows_skipped, tuples_before, skipped_before, chunks, updated_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
                          p);
        return;
    }
    std::array<value, 6> p{key, n(now.rows_read), n(now.rows_copied), n(now.rows_skipped), n(now.chunks), ns.id};
    db_.conn->execute("UPDATE ferry_legacy_progress SET last_key = ?, rows_read = ?, rows_copied = ?, "
                      "rows_skipped = ?, chunks = ?, updated_at = CURRENT_TIMESTAMP WHERE namespace_id = ?",
                      p);
}

std::uint64_t migrator::chunk_rows() const {
    return options_.chunk_rows ? *options_.chunk_rows : db_.dialect->caps().max_rows_per_transaction;
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
    bool chunked = false;
    try {
        const auto limit = chunk_rows();
        auto progress = load_progress(ns.id);
        // One count of the legacy table serves both the decision and a progress display.
        std::optional<std::uint64_t> total;
        if (observer.wants_total() || (limit > 0 && !progress)) total = count_rows(table);
        chunked = progress || (limit > 0 && *total > limit);
        if (!observer.wants_total()) total.reset();
        result = chunked ? copy_chunked(table, ns, observer, total, std::move(progress), limit ? limit : options_.batch_rows)
                         : copy_whole(table, ns, observer, total);
    } catch (const ferry::error& e) {
        nid_.reset();  // a rolled-back network row must not be reused
        // These already name the namespace and what to do.
        if (dynamic_cast<const verification_error*>(&e) || dynamic_cast<const state_error*>(&e)) throw;
        throw error("migrating namespace " + ns.name + " (id " + std::to_string(ns.id) + ") failed: " + e.what() +
                    (chunked ? ". The chunks committed before it stay staged, invisible to Keto, and the next run "
                               "resumes after them"
                             : ". It was rolled back, nothing of it was kept") +
                    "; namespaces finished before it stay migrated. Fix the cause and run the command again to "
                    "continue");
    }
    observer.finished(result);
    return result;
}

namespace_result migrator::run_dry(const legacy_table& table, const namespace_config& ns, copy_observer& observer) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::uint64_t> total;
    if (observer.wants_total()) total = count_rows(table);
    observer.started(ns, total);
    pass p;
    auto reader = db_.dialect->open_legacy_reader(*db_.conn, db_.source, table.table);
    pump(p, *reader, ns, observer, 0);
    auto result = result_of(ns, p.rows_read, p.rows_copied, p.rows_skipped, started);
    result.skipped_by_reason = p.skipped_by_reason;
    return result;
}

namespace_result migrator::dry_run(const legacy_table& table, const namespace_config& ns, copy_observer& observer) {
    auto result = run_dry(table, ns, observer);
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
