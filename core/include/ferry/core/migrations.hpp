// Versioned schema migrations with popx's history rules (spec 2.5), so that a database written
// by Keto v0.6 or v0.7 is recognised as it is.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/dialect.hpp>

namespace ferry::core {

struct migration_file {
    std::string name;     // VERSION_NAME[.DIALECT].(up|down).sql
    std::string content;
};

struct migration {
    std::string version;  // digits, compared as strings
    std::string name;
    std::string up_file, down_file;
    std::string up, down;  // empty (or blank) = recorded without running
    std::string checksum;  // of the up script, "crc32:xxxxxxxx"

    bool up_is_empty() const;
    bool down_is_empty() const;
};

// The migrations of one dialect, in ascending version order.
class migration_set {
public:
    // Picks, per version and direction, the file for `dialect` over the generic one; files of
    // other dialects are ignored. Throws migration_error on a malformed name or a version that
    // has an up file but no down file (or the reverse).
    static migration_set from_files(std::vector<migration_file> files, std::string_view dialect);
    static migration_set from_embedded(std::span<const embedded_file> files, std::string_view dialect);
    static migration_set from_directory(const std::filesystem::path& dir, std::string_view dialect);

    const std::vector<migration>& migrations() const { return migrations_; }

private:
    std::vector<migration> migrations_;
};

std::string checksum_of(std::string_view content);

enum class migration_state { applied, pending };

struct migration_status {
    const migration* m = nullptr;
    migration_state state = migration_state::pending;
    // Known only for migrations Ferry applied itself (Keto records no checksums).
    std::optional<std::string> recorded_checksum;
    bool changed() const { return recorded_checksum && *recorded_checksum != m->checksum; }
};

// What the migrator reports while it works, for logs and progress.
struct migration_event {
    enum kind { applying, recorded_only, reverting, empty_skipped } what;
    const migration* m;
};
using migration_listener = std::function<void(const migration_event&)>;

// Applies a migration set to one history table on one connection. The caller holds the
// dialect's migration lock around up() and down().
class migrator {
public:
    migrator(connection& conn, dialect& dialect, const migration_set& set,
             std::string history_table = "schema_migration", bool record_checksums = true);

    // Reads the history; never creates or changes anything.
    std::vector<migration_status> status();
    // Applies every pending migration. Refuses before running anything when an applied
    // migration's file changed or a non-transactional migration was interrupted. Returns the
    // number of migrations applied or recorded.
    std::size_t up(const migration_listener& listener = {});
    // Reverts `steps` migrations (0 or less = all) by popx's rules.
    std::size_t down(int steps, const migration_listener& listener = {});
    // Settles a migration left "started" by an interrupted run on a dialect without
    // transactional DDL, after a human checked the schema: record it applied, or forget it.
    void resolve(const std::string& version, bool applied);
    // Versions in the history table that this set does not know (not even as a 14-digit prefix).
    std::vector<std::string> unknown_versions();
    // Throws migration_error naming them when unknown_versions() is not empty.
    void check_unknown_versions();

private:
    bool history_exists();
    void ensure_history_table();
    std::vector<std::string> applied_versions();
    std::optional<std::vector<std::pair<std::string, std::string>>> recorded_checksums();
    void check_interrupted();
    void record_version(const migration& m, std::chrono::milliseconds took);
    void run_up(const migration& m);

    connection& conn_;
    dialect& dialect_;
    const migration_set& set_;
    std::string table_;
    std::string quoted_;
    bool record_checksums_;
};

// Ferry's own bookkeeping tables (checksums, legacy progress, skipped tuples), versioned in
// ferry_schema_migration. Idempotent; called by every command that writes.
void ensure_ferry_tables(connection& conn, dialect& dialect);

// True when `table` is one of the dialect's list_tables() (the current schema/database).
bool table_exists(connection& conn, dialect& dialect, std::string_view table);

// True when Ferry's own tables exist (read-only commands use this to avoid creating them).
bool ferry_tables_exist(connection& conn, dialect& dialect);

}  // namespace ferry::core
