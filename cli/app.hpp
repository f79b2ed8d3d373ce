// The CLI's shared pieces: parsed options, opening the database, prompts, exit codes.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <ferry/core/config.hpp>
#include <ferry/core/migrations.hpp>
#include <ferry/core/plugins.hpp>

namespace ferry::cli {

// Exit codes, the whole table: 0 success or a declined prompt; 1 the operation failed;
// 2 bad usage or bad configuration.
enum exit_code { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

struct options {
    std::vector<std::string> command;  // positional words: "migrate", "up", ...
    std::optional<std::string> config_file;
    std::optional<std::string> dsn;
    std::vector<std::string> plugin_dirs;
    std::optional<std::string> migrations_dir;
    std::string log_format = "text";
    std::string format = "table";
    bool yes = false;
    bool down_only = false;
    bool force = false;
    bool strict = false;
    bool dry_run = false;
    bool verbose = false;
    std::optional<std::string> report;
    int lock_timeout_seconds = 60;
    std::optional<long long> chunk_rows;
    std::vector<std::string> given;  // long names of the flags the user passed
};

// Loaded lazily: `ferry version` needs neither config nor plugins.
class app {
public:
    explicit app(options opts) : opts_(std::move(opts)) {}
    const options& opts() const { return opts_; }
    const core::config& config();
    const core::plugin_registry& plugins();
    core::database open();
    core::migration_set keto_migrations(dialect& d);
    // Removes the password of the DSN in use (if one was resolved) from a message.
    std::string redact(std::string message) const;

private:
    options opts_;
    std::optional<core::config> config_;
    std::optional<core::plugin_registry> plugins_;
    std::optional<ferry::dsn> dsn_;
};

// Takes the dialect's migration lock, makes sure Ferry's bookkeeping tables exist and builds
// the indexes a killed legacy run deferred (core/deferred_indexes.hpp): the first steps of
// every command that writes.
std::unique_ptr<migration_lock> lock_for_writing(const options& opts, core::database& db);

// Builds, under the lock, the indexes a killed legacy run deferred, if there are any: for
// commands that may find nothing else to do and return before they take the lock. A dry run
// (--dry-run) writes nothing, so it builds nothing.
void build_deferred_indexes_now(const options& opts, core::database& db);

// Refuses a flag the command does not take (e.g. --down-only on migrate up).
void allow_only(const options& opts, std::initializer_list<const char*> flags, const std::string& command);

// Asks `question [y/n]: ` on stdout and reads the answer from stdin. Re-asks on anything but
// y/yes/n/no. Throws prompt_declined_eof at end of input.
bool confirm(const std::string& question);

struct end_of_input {};

int run_version(app& a);
int run_plugins(app& a);
int run_migrate(app& a);
int run_namespace(app& a);

}  // namespace ferry::cli
