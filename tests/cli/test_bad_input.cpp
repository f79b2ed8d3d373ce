// Bad input that fails before any database is reached (DSNs, plugins), table-driven through the
// ferry binary (issue 8): one line on stderr naming the problem, exit 2, a seeded SQLite database
// next to it unchanged and no password in any output. The database-level bad input runs per
// dialect in tests/conformance/test_reliability.cpp.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "../conformance/fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

fs::path bad_plugin(const std::string& name) {
    return fs::path(FERRY_TEST_BAD_PLUGIN_DIR) / ("libferry_bad_" + name + FERRY_TEST_BAD_PLUGIN_SUFFIX);
}

}  // namespace

TEST_SUITE("bad input") {

// None of these DSNs reaches a database (ferry refuses them before connecting), so there is
// no database whose contents could change.
TEST_CASE("bad DSNs and plugins: one line naming the problem, exit 2, no password shown") {
    temp_dir work("ferry-bad-input");
    const std::string secret = "Pl41n-s3cret-pw";

    // Plugin directories, mode 0700: one holding only a wrong-ABI plugin, one only random bytes,
    // one empty (the plugin for the scheme is missing).
    temp_dir abi("ferry-abi"), corrupt("ferry-corrupt"), empty("ferry-empty");
    fs::copy_file(bad_plugin("abi999"), abi / "libferry_dialect_badtool.so");
    std::mt19937 random(8);
    std::string bytes(4096, '\0');
    for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
    write_file(corrupt / "libferry_dialect_badtool.so", bytes);

    struct bad_case {
        std::string what;
        strings args;
        strings named;
    };
    const std::vector<bad_case> cases{
        {"an empty DSN", {"--dsn", "", "migrate", "up", "--yes"}, {"no database configured"}},
        {"an unknown scheme", {"--dsn", "oracle://u:" + secret + "@h/db", "migrate", "up", "--yes"}, {"\"oracle\""}},
        {"a malformed DSN (port)", {"--dsn", "postgres://u:" + secret + "@h:notaport/db", "migrate", "up", "--yes"},
         {"port"}},
        {"a malformed DSN (no scheme)", {"--dsn", "u:" + secret + "@h/db", "migrate", "up", "--yes"}, {"DSN"}},
        {"a malformed MySQL DSN", {"--dsn", "mysql://u:" + secret + "@tcp(h:99999)/db", "migrate", "up", "--yes"},
         {"port"}},
        {"a missing plugin for the scheme", {"--plugin-dir", empty.path().string(), "--dsn", "badtool://u:" + secret + "@h/db",
                                             "migrate", "up", "--yes"}, {"\"badtool\""}},
        {"a wrong-ABI plugin for the scheme", {"--plugin-dir", abi.path().string(), "--dsn",
                                               "badtool://u:" + secret + "@h/db", "migrate", "up", "--yes"},
         {"\"badtool\"", "refused", "ferry plugins list"}},
        {"a corrupt plugin for the scheme", {"--plugin-dir", corrupt.path().string(), "--dsn",
                                             "badtool://u:" + secret + "@h/db", "migrate", "up", "--yes"},
         {"\"badtool\"", "refused"}},
    };
    for (const auto& c : cases) {
        INFO("bad input: " << c.what);
        run_options options;
        options.cwd = work.path();
        auto r = run_ferry(c.args, options);
        INFO(describe(r, {secret}));
        CHECK(r.exit_code == 2);
        CHECK(lines_of(r.err).size() == 1);
        for (const auto& n : c.named) CHECK(contains(r.err, n));
        CHECK_FALSE(contains(r.err + r.out, secret));
    }
    // The same bad DSN through DSN and through the config file: the same refusal, no password.
    write_file(work / "config.yml", "dsn: postgres://u:" + secret + "@h:notaport/db\n");
    for (const auto& [args, env] :
         {std::pair<strings, env_overrides>{{"migrate", "status"}, {{"DSN", "postgres://u:" + secret + "@h:notaport/db"}}},
          std::pair<strings, env_overrides>{{"--config", (work / "config.yml").string(), "migrate", "status"}, {}}}) {
        run_options options;
        options.env = env;
        options.cwd = work.path();
        auto r = run_ferry(args, options);
        INFO(describe(r, {secret}));
        CHECK(r.exit_code == 2);
        CHECK(lines_of(r.err).size() == 1);
        CHECK(contains(r.err, "port"));
        CHECK_FALSE(contains(r.err + r.out, secret));
    }
}

}  // TEST_SUITE
