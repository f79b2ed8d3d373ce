// ferry: argv -> options -> one command; every error type becomes a message and an exit code here.
#include <iostream>

#include <boost/program_options.hpp>

#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>

#include "app.hpp"

namespace po = boost::program_options;
using namespace ferry;

namespace {

const char* usage_text =
    "usage: ferry [global options] COMMAND\n"
    "\n"
    "commands:\n"
    "  version                                   print ferry's version\n"
    "  plugins list                              list dialect plugins and refused files\n"
    "  migrate up [--yes]                        apply pending schema migrations\n"
    "  migrate down STEPS [--yes]                revert STEPS migrations (0 = all)\n"
    "  migrate status [--format table|json]      show applied and pending migrations\n"
    "  migrate resolve VERSION --applied|--pending\n"
    "                                            settle a migration interrupted on a dialect without\n"
    "                                            transactional DDL, after checking the schema by hand\n"
    "  namespace migrate legacy [NAME] [--yes] [--down-only] [--force] [--strict] [--dry-run]\n"
    "                           [--report FILE] [--chunk-rows N]\n"
    "                                            move Keto v0.6 relation tuples into keto_relation_tuples\n"
    "\n"
    "exit codes: 0 success or a declined prompt, 1 the operation failed, 2 bad usage or configuration\n";

po::options_description all_options(cli::options& o) {
    po::options_description d("options");
    d.add_options()
        ("help,h", "show this help")
        ("config,c", po::value<std::string>(), "Keto config file (YAML) with dsn and namespaces")
        ("dsn", po::value<std::string>(), "database; overrides DSN and the config file")
        ("plugin-dir", po::value<std::vector<std::string>>(&o.plugin_dirs)->composing(),
         "directory of dialect plugins (repeatable; searched first)")
        ("migrations", po::value<std::string>(), "directory of migration files replacing the built-in set")
        ("log-format", po::value<std::string>(&o.log_format), "text (default) or json")
        ("format,f", po::value<std::string>(&o.format), "output of migrate status: table (default) or json")
        ("yes,y", po::bool_switch(&o.yes), "answer every prompt with yes")
        ("down-only", po::bool_switch(&o.down_only), "only drop legacy tables already copied")
        ("force", po::bool_switch(&o.force), "with --down-only: drop tables never copied too")
        ("strict", po::bool_switch(&o.strict), "roll a namespace back when any row is broken")
        ("dry-run", po::bool_switch(&o.dry_run), "read and report, write nothing")
        ("report", po::value<std::string>(), "write skipped tuples as JSON lines to this new file")
        ("applied", "with migrate resolve: the migration's DDL completed")
        ("pending", "with migrate resolve: the migration's DDL was undone")
        ("lock-timeout", po::value<int>(&o.lock_timeout_seconds), "seconds to wait for another ferry (default 60)")
        ("chunk-rows", po::value<long long>(),
         "legacy rows per transaction; larger namespaces are copied in resumable chunks (default: the "
         "dialect's limit, none on most; 0 = never chunk)")
        ("verbose,v", po::bool_switch(&o.verbose), "debug logging")
        ("command", po::value<std::vector<std::string>>(&o.command), "command words");
    return d;
}

int dispatch(cli::app& a) {
    const auto& cmd = a.opts().command;
    if (cmd.empty()) throw usage_error("no command given; run `ferry --help` for the list");
    if (cmd[0] == "version") return cli::run_version(a);
    if (cmd[0] == "plugins") return cli::run_plugins(a);
    if (cmd[0] == "migrate") return cli::run_migrate(a);
    if (cmd[0] == "namespace") return cli::run_namespace(a);
    throw usage_error("unknown command \"" + cmd[0] + "\"; run `ferry --help` for the list");
}

// --log-format json must hold for errors in the command line itself, which are reported before
// the parsed options exist: look for it first.
bool json_logs_requested(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--log-format=json") return true;
        if (arg == "--log-format" && i + 1 < argc && std::string_view(argv[i + 1]) == "json") return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (json_logs_requested(argc, argv)) core::log().configure(core::log_format::json, core::log_level::info);
    cli::options opts;
    try {
        auto desc = all_options(opts);
        po::positional_options_description pos;
        pos.add("command", -1);
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << usage_text << '\n' << desc;
            return cli::exit_ok;
        }
        for (const auto& [name, v] : vm)
            if (!v.defaulted() && name != "command") opts.given.push_back(name);
        if (vm.count("config")) opts.config_file = vm["config"].as<std::string>();
        if (vm.count("dsn")) opts.dsn = vm["dsn"].as<std::string>();
        if (vm.count("migrations")) opts.migrations_dir = vm["migrations"].as<std::string>();
        if (vm.count("report")) opts.report = vm["report"].as<std::string>();
        if (vm.count("chunk-rows")) opts.chunk_rows = vm["chunk-rows"].as<long long>();
        if (opts.log_format != "text" && opts.log_format != "json")
            throw usage_error("--log-format must be text or json, not \"" + opts.log_format + "\"");
        if (opts.format != "table" && opts.format != "json")
            throw usage_error("--format must be table or json, not \"" + opts.format + "\"");
        core::log().configure(opts.log_format == "json" ? core::log_format::json : core::log_format::text,
                              opts.verbose ? core::log_level::debug : core::log_level::info);
    } catch (const po::error& e) {
        core::log().error(std::string(e.what()) + "; run `ferry --help` for usage");
        return cli::exit_usage;
    } catch (const usage_error& e) {
        core::log().error(e.what());
        return cli::exit_usage;
    }

    cli::app a(opts);
    // The one place where error types become exit codes.
    try {
        return dispatch(a);
    } catch (const cli::end_of_input&) {
        core::log().error("no answer on standard input (end of input); nothing was changed. Pass --yes to run "
                          "without prompts");
        return cli::exit_failed;
    } catch (const usage_error& e) {
        core::log().error(a.redact(e.what()));
        return cli::exit_usage;
    } catch (const config_error& e) {
        core::log().error(a.redact(e.what()));
        return cli::exit_usage;
    } catch (const plugin_error& e) {
        core::log().error(a.redact(e.what()));
        return cli::exit_usage;
    } catch (const ferry::error& e) {
        core::log().error(a.redact(e.what()));
        return cli::exit_failed;
    } catch (const std::exception& e) {
        core::log().error(a.redact(std::string("unexpected failure: ") + e.what()));
        return cli::exit_failed;
    }
}
