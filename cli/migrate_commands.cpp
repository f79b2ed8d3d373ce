// ferry migrate up | down | status | resolve
#include <iostream>

#include <nlohmann/json.hpp>

#include <ferry/core/deferred_indexes.hpp>
#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>

#include "app.hpp"

namespace ferry::cli {
namespace {

using core::migration_state;

std::string state_text(const core::migration_status& s) {
    std::string text = s.state == migration_state::applied ? "Applied" : "Pending";
    if (s.changed()) text += " (file changed since applied)";
    return text;
}

void print_status(const std::vector<core::migration_status>& statuses, const std::string& format) {
    if (format == "json") {
        auto list = nlohmann::json::array();
        for (const auto& s : statuses) {
            nlohmann::json j{{"version", s.m->version},
                             {"name", s.m->name},
                             {"state", s.state == migration_state::applied ? "applied" : "pending"}};
            if (s.recorded_checksum) j["changed"] = s.changed();
            list.push_back(std::move(j));
        }
        std::cout << list.dump(2) << '\n';
        return;
    }
    std::size_t name_width = 4;
    for (const auto& s : statuses) name_width = std::max(name_width, s.m->name.size());
    auto row = [&](const std::string& v, const std::string& n, const std::string& st) {
        std::cout << v << std::string(v.size() < 20 ? 20 - v.size() : 0, ' ') << "  " << n
                  << std::string(name_width - n.size(), ' ') << "  " << st << '\n';
    };
    row("Version", "Name", "Status");
    for (const auto& s : statuses) row(s.m->version, s.m->name, state_text(s));
}

void refuse_changed(const std::vector<core::migration_status>& statuses) {
    for (const auto& s : statuses)
        if (s.changed())
            throw migration_error("migration " + s.m->version + " (" + s.m->up_file +
                                  ") was changed after it was applied; restore the original file, or write a new "
                                  "migration for the change");
}

void log_event(const core::migration_event& e) {
    const char* what = "";
    switch (e.what) {
    case core::migration_event::applying: what = "applying migration"; break;
    case core::migration_event::recorded_only: what = "recording migration applied under its legacy version"; break;
    case core::migration_event::reverting: what = "reverting migration"; break;
    case core::migration_event::empty_skipped: what = "ignoring migration because content is empty"; break;
    }
    core::log().info(what, {{"version", e.m->version}, {"name", e.m->name}});
}

int migrate_status(app& a) {
    allow_only(a.opts(), {"format", "migrations"}, "migrate status");
    auto db = a.open();
    auto set = a.keto_migrations(*db.dialect);
    core::migrator m(*db.conn, *db.dialect, set);
    print_status(m.status(), a.opts().format);
    if (const auto deferred = core::deferred_indexes(*db.conn, *db.dialect); !deferred.empty())
        core::log().warn("keto_relation_tuples lacks indexes an interrupted legacy migration deferred; `ferry "
                         "migrate up` or the next `ferry namespace migrate legacy` builds them",
                         {{"indexes", deferred}});
    for (const auto& v : m.unknown_versions())
        core::log().warn("schema_migration holds a version this migration set does not know; up and down will "
                         "refuse to run",
                         {{"version", v}});
    return exit_ok;
}

int migrate_up(app& a) {
    allow_only(a.opts(), {"yes", "format", "migrations"}, "migrate up");
    if (a.opts().command.size() != 2) throw usage_error("usage: ferry migrate up [--yes]");
    auto db = a.open();
    auto set = a.keto_migrations(*db.dialect);
    core::migrator m(*db.conn, *db.dialect, set);
    auto before = m.status();
    std::cout << "Current status:\n";
    print_status(before, a.opts().format);
    refuse_changed(before);
    m.check_unknown_versions();  // also when nothing is pending: that history is not this set's
    if (std::none_of(before.begin(), before.end(), [](auto& s) { return s.state == migration_state::pending; })) {
        build_deferred_indexes_now(a.opts(), db);
        std::cout << "All migrations are already applied, there is nothing to do.\n";
        return exit_ok;
    }
    core::require_write_privileges(db);
    if (!a.opts().yes &&
        !confirm("Are you sure that you want to apply this migration? Make sure to check the CHANGELOG.md for "
                 "breaking changes beforehand.")) {
        std::cout << "Aborting\n";
        return exit_ok;
    }
    std::cout << "Applying migrations...\n";
    {
        auto lock = lock_for_writing(a.opts(), db);
        m.up(log_event);
    }
    std::cout << "Successfully applied all migrations:\n";
    print_status(m.status(), a.opts().format);
    return exit_ok;
}

int migrate_down(app& a) {
    allow_only(a.opts(), {"yes", "format", "migrations"}, "migrate down");
    const auto& cmd = a.opts().command;
    if (cmd.size() != 3) throw usage_error("usage: ferry migrate down STEPS [--yes] (STEPS 0 = all)");
    int steps = 0;
    try {
        std::size_t used = 0;
        steps = std::stoi(cmd[2], &used, 0);
        if (used != cmd[2].size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
        throw usage_error("malformed argument " + cmd[2] + " for STEPS: expected an integer (0 = all)");
    }
    auto db = a.open();
    auto set = a.keto_migrations(*db.dialect);
    core::migrator m(*db.conn, *db.dialect, set);
    print_status(m.status(), a.opts().format);
    core::require_write_privileges(db);
    if (!a.opts().yes && !confirm("Do you really want to migrate down? This will delete data.")) {
        std::cout << "Migration aborted.\n";
        return exit_ok;
    }
    {
        auto lock = lock_for_writing(a.opts(), db);
        auto n = m.down(steps, log_event);
        std::cout << "Reverted " << n << " migration" << (n == 1 ? "" : "s") << ".\n";
    }
    print_status(m.status(), a.opts().format);
    return exit_ok;
}

int migrate_resolve(app& a) {
    allow_only(a.opts(), {"applied", "pending", "migrations"}, "migrate resolve");
    const auto& cmd = a.opts().command;
    const auto& given = a.opts().given;
    const bool applied = std::find(given.begin(), given.end(), "applied") != given.end();
    const bool pending = std::find(given.begin(), given.end(), "pending") != given.end();
    if (cmd.size() != 3 || applied == pending)
        throw usage_error("usage: ferry migrate resolve VERSION --applied|--pending");
    auto db = a.open();
    auto set = a.keto_migrations(*db.dialect);
    core::migrator m(*db.conn, *db.dialect, set);
    core::require_write_privileges(db);
    auto lock = lock_for_writing(a.opts(), db);
    m.resolve(cmd[2], applied);
    std::cout << "Migration " << cmd[2] << " recorded as " << (applied ? "applied" : "pending") << ".\n";
    return exit_ok;
}

}  // namespace

int run_migrate(app& a) {
    const auto& cmd = a.opts().command;
    const std::string sub = cmd.size() > 1 ? cmd[1] : "";
    if (sub == "up") return migrate_up(a);
    if (sub == "down") return migrate_down(a);
    if (sub == "status") {
        if (cmd.size() != 2) throw usage_error("usage: ferry migrate status [--format table|json]");
        return migrate_status(a);
    }
    if (sub == "resolve") return migrate_resolve(a);
    throw usage_error("usage: ferry migrate up|down|status|resolve");
}

}  // namespace ferry::cli
