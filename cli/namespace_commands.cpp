// ferry namespace migrate legacy [NAME] [--yes] [--down-only] [--force] [--strict] [--dry-run] [--report FILE]
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <ferry/core/legacy.hpp>
#include <ferry/core/deferred_indexes.hpp>
#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>

#include "app.hpp"

namespace ferry::cli {
namespace {

namespace legacy = core::legacy;
using legacy::skip_reason;

// Skipped rows as JSON lines, in a file that is new (never overwritten) and private (0600):
// it holds tuple data.
class report_file {
public:
    explicit report_file(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            if (errno == EEXIST)
                throw config_error("report file " + path + " already exists; choose a new name or remove it first");
            throw config_error("cannot create report file " + path + ": " + std::strerror(errno));
        }
    }
    ~report_file() { ::close(fd_); }
    void write(const nlohmann::json& line) {
        auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw error("cannot write report file " + path_ + ": " + std::strerror(errno));
    }

private:
    std::string path_;
    int fd_ = -1;
};

class cli_observer final : public legacy::copy_observer {
public:
    cli_observer(report_file* report, bool tty) : report_(report), tty_(tty) {}

    bool wants_total() const override { return tty_; }
    void started(const core::namespace_config& ns, std::optional<std::uint64_t> total) override {
        name_ = ns.name;
        total_ = total;
        start_ = std::chrono::steady_clock::now();
        last_draw_ = {};
    }
    void progress(std::uint64_t rows) override {
        if (!tty_) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_draw_ < std::chrono::milliseconds(200)) return;
        last_draw_ = now;
        const double secs = std::chrono::duration<double>(now - start_).count();
        const double rate = secs > 0 ? rows / secs : 0;
        std::ostringstream line;
        line << "\r" << name_ << ": " << rows;
        if (total_) line << "/" << *total_;
        line << " rows, " << static_cast<std::uint64_t>(rate) << " rows/s";
        if (total_ && rate > 0 && *total_ >= rows)
            line << ", ETA " << static_cast<std::uint64_t>((*total_ - rows) / rate) << "s";
        line << "   ";
        std::cerr << line.str() << std::flush;
        drawn_ = true;
    }
    void skipped(const core::namespace_config& ns, const legacy_row& row, skip_reason reason) override {
        if (reason == skip_reason::unknown_namespace && row.subject) {
            auto p = legacy::parse_subject(*row.subject);
            if (missing_.size() < 50) missing_.insert(std::string(p.set_namespace));
        }
        if (!report_) return;
        auto field = [](const std::optional<std::string>& v) {
            return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        };
        report_->write({{"namespace", ns.name},
                        {"namespace_id", ns.id},
                        {"shard_id", field(row.shard_id)},
                        {"object", field(row.object)},
                        {"relation", field(row.relation)},
                        {"subject", field(row.subject)},
                        {"commit_time", field(row.commit_time)},
                        {"reason", std::string(legacy::to_string(reason))}});
    }
    void finished(const legacy::namespace_result&) override { clear_line(); }
    void clear_line() {
        if (drawn_) std::cerr << "\r\033[K" << std::flush;
        drawn_ = false;
    }
    const std::set<std::string>& missing_namespaces() const { return missing_; }

private:
    report_file* report_;
    bool tty_;
    std::string name_;
    std::optional<std::uint64_t> total_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false;
    std::set<std::string> missing_;
};

std::string reasons_text(const legacy::namespace_result& r) {
    std::string out;
    for (const auto& [reason, n] : r.skipped_by_reason)
        out += (out.empty() ? "" : ", ") + std::string(legacy::to_string(reason)) + " " + std::to_string(n);
    return out;
}

std::string seconds_text(std::chrono::milliseconds ms) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << ms.count() / 1000.0 << "s";
    return s.str();
}

void print_summary(const std::vector<legacy::namespace_result>& results) {
    if (results.empty()) return;
    std::cout << "\nSummary:\n";
    std::uint64_t skipped = 0;
    for (const auto& r : results) {
        std::cout << "  namespace " << r.name << " (id " << r.namespace_id << "): ";
        if (r.copied_before)
            std::cout << "copied by an earlier run (" << r.rows_copied << " copied, " << r.rows_skipped << " skipped)";
        else if (r.copied_now)
            std::cout << "copied " << r.rows_copied << ", skipped " << r.rows_skipped
                      << (r.rows_skipped ? " (" + reasons_text(r) + ")" : "");
        else
            std::cout << "not copied";
        std::cout << ", " << (r.dropped ? "legacy table dropped" : "legacy table kept");
        if (r.copied_now) std::cout << ", " << seconds_text(r.took);
        std::cout << '\n';
        if (r.copied_now) skipped += r.rows_skipped;
        core::log().info("namespace result", {{"namespace", r.name},
                                              {"namespace_id", r.namespace_id},
                                              {"copied", r.rows_copied},
                                              {"skipped", r.rows_skipped},
                                              {"copied_before", r.copied_before},
                                              {"dropped", r.dropped},
                                              {"seconds", r.took.count() / 1000.0}});
    }
    if (skipped)
        std::cout << "Skipped tuples are kept verbatim, with their reason, in ferry_skipped_relation_tuples; "
                     "recreate them by hand (docs/legacy-migration.md).\n";
}

struct target {
    legacy::legacy_table table;
    core::namespace_config ns;
};

int dry_run(legacy::migrator& lm, const std::vector<target>& targets, const std::vector<legacy::legacy_table>& unconfigured,
            cli_observer& observer) {
    std::cout << "Dry run: nothing will be written.\n";
    for (const auto& t : targets) {
        auto r = lm.dry_run(t.table, t.ns, observer);
        std::cout << "  namespace " << t.ns.name << " (id " << t.ns.id << "): " << r.rows_read << " rows";
        if (r.copied_before)
            std::cout << ", already copied by an earlier run (only the drop is left)\n";
        else
            std::cout << ", would copy " << r.rows_copied << ", would skip " << r.rows_skipped
                      << (r.rows_skipped ? " (" + reasons_text(r) + ")" : "") << '\n';
    }
    for (const auto& u : unconfigured)
        std::cout << "  table " << u.table << " (id " << u.namespace_id
                  << "): no namespace with this id in the config; add one before migrating\n";
    if (!observer.missing_namespaces().empty()) {
        std::cout << "  subject sets name namespaces missing from the config:";
        for (const auto& m : observer.missing_namespaces()) std::cout << " \"" << m << "\"";
        std::cout << '\n';
    }
    return exit_ok;
}

}  // namespace

int run_namespace(app& a) {
    const auto& o = a.opts();
    const auto& cmd = o.command;
    if (cmd.size() < 3 || cmd[1] != "migrate" || cmd[2] != "legacy" || cmd.size() > 4)
        throw usage_error("usage: ferry namespace migrate legacy [NAME] [--yes] [--down-only] [--force] [--strict] "
                          "[--dry-run] [--report FILE]");
    allow_only(o, {"yes", "down-only", "force", "strict", "dry-run", "report", "migrations", "chunk-rows"},
               "namespace migrate legacy");
    if (o.chunk_rows && *o.chunk_rows < 0)
        throw usage_error("--chunk-rows must be 0 (never chunk) or a positive number of rows, not " +
                          std::to_string(*o.chunk_rows));
    if (o.dry_run && o.down_only) throw usage_error("--dry-run and --down-only exclude each other");
    if (o.strict && o.down_only) throw usage_error("--strict applies to copying; --down-only copies nothing");
    const std::optional<std::string> name = cmd.size() == 4 ? std::optional(cmd[3]) : std::nullopt;

    const auto& cfg = a.config();
    if (name && !cfg.find_by_name(*name)) {
        std::string known;
        for (const auto& ns : cfg.namespaces) known += (known.empty() ? "" : ", ") + ns.name;
        throw config_error("namespace \"" + *name + "\" is not in the config (configured: " +
                           (known.empty() ? "none" : known) + "); check the name or the namespaces of the config");
    }
    std::optional<report_file> report;
    if (o.report) report.emplace(*o.report);

    auto db = a.open();
    legacy::copy_options copy_opts;
    copy_opts.strict = o.strict;
    copy_opts.force = o.force;
    if (o.chunk_rows) copy_opts.chunk_rows = static_cast<std::uint64_t>(*o.chunk_rows);
    legacy::migrator lm(db, cfg, copy_opts);
    const auto keto = a.keto_migrations(*db.dialect);
    lm.require_schema(keto);

    // Choose the namespaces and refuse bad input before anything is touched.
    const auto found = legacy::discover(*db.conn, *db.dialect);
    std::vector<target> targets;
    std::vector<legacy::legacy_table> unconfigured;
    if (name) {
        const auto* ns = cfg.find_by_name(*name);
        auto it = std::find_if(found.begin(), found.end(), [&](auto& t) { return t.namespace_id == ns->id; });
        if (it == found.end()) {
            if (lm.record(ns->id)) {
                // The exits that take no lock still owe a killed run's index build.
                build_deferred_indexes_now(o, db);
                std::cout << "Nothing to be done: namespace " << *name << " was already migrated and its legacy "
                          << "table dropped.\n";
                return exit_ok;
            }
            throw state_error("there is no legacy table " + legacy::legacy_table_for(ns->id).table + " for namespace " +
                              *name + " (id " + std::to_string(ns->id) + ") in this database; nothing to migrate");
        }
        targets.push_back({*it, *ns});
    } else {
        for (const auto& t : found) {
            if (const auto* ns = cfg.find_by_id(t.namespace_id))
                targets.push_back({t, *ns});
            else
                unconfigured.push_back(t);
        }
        if (!unconfigured.empty() && !o.dry_run) {
            std::string list;
            for (const auto& u : unconfigured)
                list += (list.empty() ? "" : ", ") + u.table + " (id " + std::to_string(u.namespace_id) + ")";
            throw config_error("legacy tables without a namespace in the config: " + list +
                               "; add {id, name} entries for them to the config's namespaces (Keto v0.6 used the "
                               "same ids), or migrate the configured namespaces one by one by NAME");
        }
        if (targets.empty() && unconfigured.empty()) {
            build_deferred_indexes_now(o, db);
            std::cout << "Could not find legacy namespaces, there seems nothing to be done.\n";
            return exit_ok;
        }
    }

    // A table that is not in the v0.6 layout fails here, before any namespace is touched.
    if (!o.down_only)
        for (const auto& t : targets) lm.check_layout(t.table);

    cli_observer observer(report ? &*report : nullptr, ::isatty(STDERR_FILENO) == 1);
    if (o.dry_run) return dry_run(lm, targets, unconfigured, observer);

    if (o.down_only) {
        for (const auto& t : targets)
            if (!lm.record(t.ns.id) && !o.force)
                throw state_error("namespace " + t.ns.name + " (id " + std::to_string(t.ns.id) +
                                  ") was never copied and its legacy table holds " +
                                  std::to_string(lm.count_rows(t.table)) +
                                  " rows that dropping would lose; copy it first (run without --down-only), or add "
                                  "--force to drop it anyway");
    }

    core::require_write_privileges(db);
    if (!o.yes) {
        bool go;
        if (name) {
            go = confirm("Are you sure that you want to migrate the namespace '" + *name + "'?");
        } else {
            std::cout << "I found the following legacy namespaces:\n";
            for (const auto& t : targets) std::cout << "  " << t.ns.name << '\n';
            go = confirm("Do you want to migrate all of them?");
        }
        if (!go) {
            std::cout << "OK, aborting.\n";
            return exit_ok;
        }
    }

    auto lock = lock_for_writing(o, db);
    lm.guard_with(*lock);
    const bool indexes_deferred = !o.down_only && core::defer_secondary_indexes(*db.conn, *db.dialect, keto) > 0;

    std::vector<legacy::namespace_result> results;
    try {
        for (const auto& t : targets) {
            legacy::namespace_result r;
            if (o.down_only) {
                r.namespace_id = t.ns.id;
                r.name = t.ns.name;
                if (auto rec = lm.record(t.ns.id)) {
                    r.copied_before = true;
                    r.rows_copied = rec->rows_copied;
                    r.rows_skipped = rec->rows_skipped;
                }
            } else {
                r = lm.copy(t.table, t.ns, observer);
            }
            results.push_back(r);
            bool drop = o.yes;
            if (!drop) {
                try {
                    drop = confirm("Do you want to migrate namespace " + t.ns.name +
                                   " down? This will delete all data in the legacy table.");
                } catch (const end_of_input&) {
                    // Not main's "nothing was changed": this namespace is copied and committed by
                    // now, and earlier ones may be dropped (the summary says which).
                    throw error("no answer on standard input (end of input) at the drop prompt of namespace " +
                                t.ns.name + "; " +
                                (o.down_only ? "its legacy table was kept" : "it was copied and its legacy table kept") +
                                ", later namespaces were not touched. Run the command again (with --yes to answer "
                                "every prompt) to finish");
                }
            }
            if (drop) {
                lm.drop(t.table);
                results.back().dropped = true;
                std::cout << "Successfully migrated down namespace " << t.ns.name << ".\n";
            }
        }
    } catch (...) {
        observer.clear_line();
        if (indexes_deferred) {
            try {
                core::build_deferred_indexes(*db.conn, *db.dialect);
            } catch (const std::exception& e) {
                // The failure below is the one to report; the record stays for the next run.
                core::log().warn("the secondary indexes of keto_relation_tuples stay deferred (building them "
                                 "failed too); the next writing ferry command builds them",
                                 {{"error", a.redact(e.what())}});
            }
        }
        print_summary(results);
        throw;
    }
    if (indexes_deferred) core::build_deferred_indexes(*db.conn, *db.dialect);
    print_summary(results);
    return exit_ok;
}

}  // namespace ferry::cli
