// Moving Keto v0.6 relation tuples (one keto_NNNNNNNNNN_relation_tuples table per namespace)
// into Keto v0.7's keto_relation_tuples: per namespace, in one transaction, never twice.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/core/config.hpp>
#include <ferry/core/migrations.hpp>
#include <ferry/core/plugins.hpp>
#include <ferry/core/retry.hpp>
#include <ferry/dialect.hpp>

namespace ferry::core::legacy {

// ---- the subject encoding of v0.6 (spec 3.2) -----------------------------------------------

struct parsed_subject {
    enum kind_t { subject_id, subject_set, malformed } kind = malformed;
    std::string_view id;         // subject_id
    std::string_view set_namespace, set_object, set_relation;  // subject_set
};

// Splits by Keto's rules without copying: the views point into `s`.
parsed_subject parse_subject(std::string_view s);

// Characters (UTF-8 code points) in `s`: what VARCHAR(64) counts on every dialect.
std::size_t utf8_length(std::string_view s);

// Why a legacy row could not be copied. Such rows are kept, with the reason, in
// ferry_skipped_relation_tuples.
enum class skip_reason { null_value, malformed_subject, value_too_long, unknown_namespace };
std::string_view to_string(skip_reason r);

// ---- discovery --------------------------------------------------------------------------------

struct legacy_table {
    std::int64_t namespace_id = 0;
    std::string table;                 // keto_NNNNNNNNNN_relation_tuples
    std::string migrations_table;      // keto_namespace_NNNNNNNNNN_migrations
    std::string object_index, user_set_index;
};

legacy_table legacy_table_for(std::int64_t namespace_id);

// The legacy tables of the current database/schema whose name is exactly keto_, ten digits,
// _relation_tuples, in ascending id order.
std::vector<legacy_table> discover(connection& conn, dialect& d);

// ---- per-namespace work -----------------------------------------------------------------------

struct copy_record {  // a row of ferry_legacy_namespaces
    std::uint64_t rows_copied = 0, rows_skipped = 0;
    bool dropped = false;
};

struct namespace_result {
    std::int64_t namespace_id = 0;
    std::string name;
    std::uint64_t rows_read = 0, rows_copied = 0, rows_skipped = 0;
    std::map<skip_reason, std::uint64_t> skipped_by_reason;
    bool copied_now = false;      // copied by this run
    bool copied_before = false;   // recorded by an earlier run; not copied again
    bool dropped = false;
    std::chrono::milliseconds took{0};
};

// What the copy tells its caller while it works (progress bars, reports, logs).
class copy_observer {
public:
    virtual ~copy_observer() = default;
    // Asked once per namespace: a progress display needs the row count up front (one extra scan).
    virtual bool wants_total() const { return false; }
    virtual void started(const namespace_config&, std::optional<std::uint64_t> /*total_rows*/) {}
    virtual void progress(std::uint64_t /*rows_read*/) {}
    virtual void skipped(const namespace_config&, const legacy_row&, skip_reason) {}
    virtual void finished(const namespace_result&) {}
};

struct copy_options {
    bool strict = false;          // any skipped row rolls the namespace back
    bool force = false;           // copy even if keto_relation_tuples already holds rows of it
    std::size_t batch_rows = 2000;
    // Legacy rows per transaction; a larger namespace is copied in resumable chunks. Unset:
    // the dialect's capabilities::max_rows_per_transaction. 0: never chunk.
    std::optional<std::uint64_t> chunk_rows;
    // The lock the command holds; checked before every commit (a lease can be lost).
    const migration_lock* lock = nullptr;
};

struct fault_hooks;
struct chunk_progress;

class migrator {
public:
    migrator(database& db, const config& cfg, copy_options options = {});

    // Throws state_error (with the hint to run `ferry migrate up`) unless every migration of
    // `keto` is applied.
    void require_schema(const migration_set& keto);

    // The lock the command took; checked before every commit of the copy.
    void guard_with(const migration_lock& lock) { options_.lock = &lock; }

    // The recorded copy of a namespace, if any (nullopt also when Ferry's tables don't exist).
    std::optional<copy_record> record(std::int64_t namespace_id);

    // Copies one namespace in one transaction: stream, parse, write, keep broken rows, verify,
    // record. Returns without copying when a record exists. Rolls back and throws on any failure.
    namespace_result copy(const legacy_table& table, const namespace_config& ns, copy_observer& observer);

    // Reads and classifies like copy() but writes nothing and takes no lock.
    namespace_result dry_run(const legacy_table& table, const namespace_config& ns, copy_observer& observer);

    // Drops the legacy table, its two indexes and its migrations table; marks the record dropped.
    // Refuses (unless force) when a recorded table no longer holds the rows that were copied.
    void drop(const legacy_table& table);

    std::uint64_t count_rows(const legacy_table& table);

    // Throws state_error naming the table unless it has the columns the copy reads (shard_id,
    // object, relation, subject, commit_time). Reads nothing but the catalog's view of it.
    void check_layout(const legacy_table& table);

private:
    struct pass;
    namespace_result copy_whole(const legacy_table& table, const namespace_config& ns, copy_observer& observer,
                                std::optional<std::uint64_t> total);
    namespace_result copy_chunked(const legacy_table& table, const namespace_config& ns, copy_observer& observer,
                                  std::optional<std::uint64_t> total, std::optional<chunk_progress> progress,
                                  std::uint64_t chunk_rows);
    // One transaction of the copy: `work` (run again from scratch after a serialization
    // failure, as the dialect's retry protocol allows), the lock check, the commit; then the
    // pass's broken rows are reported, also when it fails for good.
    void transact(pass& p, const namespace_config& ns, copy_observer& observer, const std::string& what,
                  const fault_hooks& faults, const std::function<void(unsigned attempt)>& work);
    namespace_result run_dry(const legacy_table& table, const namespace_config& ns, copy_observer& observer);
    // Reads up to `max_rows` rows (0: all) through `reader` into the pass.
    void pump(pass& p, legacy_reader& reader, const namespace_config& ns, copy_observer& observer,
              std::uint64_t max_rows);
    void report_skip(const namespace_config& ns, const legacy_row& row, skip_reason reason, copy_observer& observer);
    void report_deferred(pass& p, const namespace_config& ns, copy_observer& observer);
    static namespace_result result_of(const namespace_config& ns, std::uint64_t read, std::uint64_t copied,
                                      std::uint64_t skipped, std::chrono::steady_clock::time_point started);
    std::uint64_t count_namespace(std::string_view table, std::int64_t namespace_id, bool by_network);
    void refuse_foreign_tuples(const namespace_config& ns, std::uint64_t tuples_before);
    void refuse_broken_rows_if_strict(const legacy_table& table, const namespace_config& ns,
                                      std::uint64_t rows_skipped);
    void verify_and_record(const legacy_table& table, const namespace_config& ns, std::uint64_t rows_read,
                           std::uint64_t rows_copied, std::uint64_t rows_skipped, std::uint64_t tuples_before,
                           std::uint64_t skipped_before, std::optional<std::uint64_t> written);
    std::optional<chunk_progress> load_progress(std::int64_t namespace_id);
    // Writes `now`, the state after its latest chunk (a first chunk inserts the row).
    void save_progress(const namespace_config& ns, const chunk_progress& now);
    std::uint64_t chunk_rows() const;
    retry_policy retries() const;
    std::string network_id(bool create);

    database& db_;
    const config& cfg_;
    copy_options options_;
    std::optional<std::string> nid_;
};

}  // namespace ferry::core::legacy
