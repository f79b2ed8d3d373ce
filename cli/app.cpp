#include "app.hpp"

#include <algorithm>
#include <iostream>

#include <ferry/core/deferred_indexes.hpp>
#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>

namespace ferry::cli {

const core::config& app::config() {
    if (!config_) config_ = opts_.config_file ? core::load_config(*opts_.config_file) : core::config_from_environment();
    return *config_;
}

const core::plugin_registry& app::plugins() {
    if (!plugins_) {
        plugins_ = core::plugin_registry::load(core::plugin_search_path(opts_.plugin_dirs));
        // Anyone who can write there could run code as this user: say so on every command,
        // not only in `ferry plugins list`.
        for (const auto& r : plugins_->refused())
            if (r.unsafe)
                core::log().warn("refused an unsafe plugin location", {{"path", r.file.string()}, {"reason", r.reason}});
    }
    return *plugins_;
}

core::database app::open() {
    dsn_ = parse_dsn(core::resolve_dsn(opts_.dsn, config()));
    return core::open_database(plugins(), *dsn_);
}

core::migration_set app::keto_migrations(dialect& d) {
    if (opts_.migrations_dir) return core::migration_set::from_directory(*opts_.migrations_dir, d.migration_dialect());
    return core::migration_set::from_embedded(d.keto_migrations(), d.migration_dialect());
}

std::string app::redact(std::string message) const {
    return dsn_ ? redact_password(std::move(message), *dsn_) : message;
}

std::unique_ptr<migration_lock> lock_for_writing(const options& opts, core::database& db) {
    auto lock = db.dialect->acquire_migration_lock(*db.conn, db.source, std::chrono::seconds(opts.lock_timeout_seconds));
    core::ensure_ferry_tables(*db.conn, *db.dialect);
    core::build_deferred_indexes(*db.conn, *db.dialect);  // left by a legacy run that was killed
    return lock;
}

void build_deferred_indexes_now(const options& opts, core::database& db) {
    if (opts.dry_run || core::deferred_indexes(*db.conn, *db.dialect).empty()) return;
    core::require_write_privileges(db);
    lock_for_writing(opts, db);  // builds them
    std::cout << "Built the indexes of keto_relation_tuples that an interrupted legacy migration had deferred.\n";
}

void allow_only(const options& opts, std::initializer_list<const char*> flags, const std::string& command) {
    static const char* global[] = {"config", "dsn", "plugin-dir", "log-format", "verbose", "lock-timeout", "help"};
    for (const auto& given : opts.given) {
        auto is = [&](const char* f) { return given == f; };
        if (std::any_of(std::begin(global), std::end(global), is) || std::any_of(flags.begin(), flags.end(), is))
            continue;
        throw usage_error("option --" + given + " does not apply to `ferry " + command + "`");
    }
}

int run_version(app& a) {
    allow_only(a.opts(), {}, "version");
    std::cout << "ferry " << FERRY_VERSION << " (plugin ABI " << FERRY_PLUGIN_ABI_VERSION << ", "
              << FERRY_TOOLCHAIN_STAMP << ")\n";
    return exit_ok;
}

int run_plugins(app& a) {
    const auto& cmd = a.opts().command;
    if (cmd.size() != 2 || cmd[1] != "list") throw usage_error("usage: ferry plugins list");
    allow_only(a.opts(), {}, "plugins list");
    const auto& reg = a.plugins();
    std::cout << "searched:";
    for (const auto& d : reg.searched()) std::cout << ' ' << d.string();
    std::cout << '\n';
    if (reg.plugins().empty()) std::cout << "no plugins loaded\n";
    for (const auto& p : reg.plugins()) {
        std::cout << p.name << "  schemes=";
        for (std::size_t i = 0; i < p.schemes.size(); ++i) std::cout << (i ? "," : "") << p.schemes[i];
        std::cout << "  version=" << p.version << "  abi=" << p.abi_version << "  file=" << p.file.string() << '\n';
    }
    for (const auto& r : reg.refused()) std::cout << "refused " << r.file.string() << ": " << r.reason << '\n';
    return exit_ok;
}

}  // namespace ferry::cli
