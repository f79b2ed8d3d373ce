// The plugin loader against files that must be refused: another ABI, another toolchain, no
// entry point, random bytes, text, a world-writable file or directory, and a duplicate of a
// good plugin. `ferry plugins list` must name each with its reason and never crash.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <random>
#include <ferry/plugin.hpp>


#include "../conformance/fixture.hpp"
#include "../support/text.hpp"

using namespace ferry::test;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

const fs::path good_plugin = fs::path(FERRY_TEST_PLUGIN_DIR) / "libferry_dialect_sqlite.so";

fs::path bad_plugin(const std::string& name) {
    return fs::path(FERRY_TEST_BAD_PLUGIN_DIR) / ("libferry_bad_" + name + FERRY_TEST_BAD_PLUGIN_SUFFIX);
}

// `refused FILE: reason` lines of `ferry plugins list`, by file.
std::map<std::string, std::string> refused_lines(const std::string& out) {
    std::map<std::string, std::string> refused;
    for (const auto& line : lines_of(out)) {
        if (line.rfind("refused ", 0) != 0) continue;
        const auto colon = line.find(": ", 8);
        REQUIRE(colon != std::string::npos);
        refused[line.substr(8, colon - 8)] = line.substr(colon + 2);
    }
    return refused;
}

// Lines describing the loaded sqlite plugin (the one these tests copy around):
// "sqlite  schemes=...  file=PATH". Other dialects of the build may be listed beside it.
strings loaded_lines(const std::string& out) {
    strings loaded;
    for (const auto& line : lines_of(out))
        if (line.rfind("sqlite  schemes=", 0) == 0) loaded.push_back(line);
    return loaded;
}

void copy_plugin(const fs::path& from, const fs::path& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
}

// A directory of every kind of bad file, mode 0700.
struct bad_dir {
    temp_dir dir{"ferry-bad-plugins"};
    std::map<std::string, std::string> expected;  // file name -> part of the reason

    bad_dir() {
        copy_plugin(bad_plugin("abi999"), dir / "abi999.so");
        expected["abi999.so"] = "built for plugin ABI 999";
        copy_plugin(bad_plugin("toolchain"), dir / "toolchain.so");
        expected["toolchain.so"] = "built with toolchain gcc-0/not-this-stdlib/c++0";
        copy_plugin(bad_plugin("noentry"), dir / "noentry.so");
        expected["noentry.so"] = "no ferry_plugin_entry entry point";

        std::mt19937 random(20211125);
        std::string bytes(8192, '\0');
        for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
        write_file(dir / "garbage.so", bytes);
        expected["garbage.so"] = "not a loadable shared library";
        // ELF magic followed by noise: the header parser must refuse it too.
        write_file(dir / "truncated_elf.so", std::string("\x7f" "ELF\x02\x01\x01", 7) + bytes.substr(0, 200));
        expected["truncated_elf.so"] = "not a loadable shared library";
        write_file(dir / "text.so", "This is a text file, not a shared library.\n");
        expected["text.so"] = "not a loadable shared library";

        copy_plugin(good_plugin, dir / "world_writable.so");
        fs::permissions(dir / "world_writable.so", fs::perms::others_write, fs::perm_options::add);
        expected["world_writable.so"] = "is world-writable";
    }
};

}  // namespace

TEST_SUITE("bad plugins") {

TEST_CASE("plugins list refuses each bad file with its reason and keeps the good plugin") {
    REQUIRE(fs::exists(good_plugin));
    bad_dir bad;
    auto r = run_ferry({"--plugin-dir", bad.dir.path().string(), "plugins", "list"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);

    const auto refused = refused_lines(r.out);
    CHECK(refused.size() == bad.expected.size());
    for (const auto& [file, reason] : bad.expected) {
        const auto path = (bad.dir / file).string();
        INFO("file " << path);
        REQUIRE(refused.count(path) == 1);
        CHECK(contains(refused.at(path), reason));
    }
    // The ABI-999 file is refused on its ABI alone: nothing else of its descriptor was read.
    CHECK_FALSE(contains(refused.at((bad.dir / "abi999.so").string()), "toolchain"));

    const auto loaded = loaded_lines(r.out);
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].rfind("sqlite  schemes=sqlite,sqlite3", 0) == 0);
    CHECK(contains(loaded[0], "abi=" + std::to_string(FERRY_PLUGIN_ABI_VERSION)));
    CHECK(contains(loaded[0], "file=" + good_plugin.lexically_normal().string()));
}

TEST_CASE("a DSN whose scheme only a refused plugin serves exits 2 with one clear line") {
    bad_dir bad;
    auto r = run_ferry({"--plugin-dir", bad.dir.path().string(), "--dsn", "badtool://host/db", "migrate", "status"});
    INFO(describe(r));
    CHECK(r.exit_code == 2);
    // One error line; the world-writable file among the bad ones is also warned about.
    std::size_t errors = 0, warnings = 0;
    for (const auto& line : lines_of(r.err)) {
        errors += line.rfind("error: ", 0) == 0;
        warnings += line.rfind("warning: refused an unsafe plugin location", 0) == 0 && contains(line, "world-writable");
    }
    CHECK(errors == 1);
    CHECK(warnings == 1);
    CHECK(lines_of(r.err).size() == 2);
    CHECK(contains(r.err, "\"badtool\""));
    CHECK(contains(r.err, "sqlite://"));  // what is served instead
    CHECK(contains(r.err, "refused"));    // and where to look for the reason
    CHECK(contains(r.err, "ferry plugins list"));
}

TEST_CASE("a world-writable plugin directory is refused as a whole") {
    temp_dir dir("ferry-ww-dir");
    copy_plugin(good_plugin, dir / "libferry_dialect_sqlite.so");
    fs::permissions(dir.path(), fs::perms::others_write, fs::perm_options::add);
    auto r = run_ferry({"--plugin-dir", dir.path().string(), "plugins", "list"});
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    const auto refused = refused_lines(r.out);
    REQUIRE(refused.count(dir.path().string()) == 1);
    CHECK(contains(refused.at(dir.path().string()), "world-writable"));
    // The copy inside was never loaded: the default plugin serves sqlite.
    const auto loaded = loaded_lines(r.out);
    REQUIRE(loaded.size() == 1);
    CHECK(contains(loaded[0], "file=" + good_plugin.lexically_normal().string()));
    fs::permissions(dir.path(), fs::perms::others_write, fs::perm_options::remove);
}

TEST_CASE("a plugin serving the same schemes later in the search path is refused as a duplicate") {
    temp_dir first("ferry-first"), second("ferry-second");
    const auto copy = first / "libferry_dialect_sqlite.so";
    const auto env_copy = second / "libferry_dialect_sqlite.so";
    copy_plugin(good_plugin, copy);
    copy_plugin(good_plugin, env_copy);

    SUBCASE("--plugin-dir before the default directory") {
        auto r = run_ferry({"--plugin-dir", first.path().string(), "plugins", "list"});
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        const auto loaded = loaded_lines(r.out);
        REQUIRE(loaded.size() == 1);
        CHECK(contains(loaded[0], "file=" + copy.string()));
        const auto refused = refused_lines(r.out);
        REQUIRE(refused.size() == 1);
        REQUIRE(refused.count(good_plugin.lexically_normal().string()) == 1);
        CHECK(contains(refused.begin()->second, "already served by " + copy.string()));

        // The copy does the work.
        temp_dir work("ferry-dup-db");
        auto up = run_ferry({"--plugin-dir", first.path().string(), "--dsn",
                             "sqlite://" + (work / "x.db").string(), "migrate", "up", "--yes"});
        INFO(describe(up));
        CHECK(up.exit_code == 0);
    }
    SUBCASE("--plugin-dir before FERRY_PLUGIN_PATH before the default directory") {
        run_options options;
        options.env = {{"FERRY_PLUGIN_PATH", second.path().string()}};
        auto r = run_ferry({"--plugin-dir", first.path().string(), "plugins", "list"}, options);
        INFO(describe(r));
        CHECK(r.exit_code == 0);
        const auto loaded = loaded_lines(r.out);
        REQUIRE(loaded.size() == 1);
        CHECK(contains(loaded[0], "file=" + copy.string()));
        const auto refused = refused_lines(r.out);
        CHECK(refused.size() == 2);
        CHECK(refused.count(env_copy.string()) == 1);
        CHECK(refused.count(good_plugin.lexically_normal().string()) == 1);
    }
    SUBCASE("FERRY_PLUGIN_PATH before the default directory") {
        run_options options;
        options.env = {{"FERRY_PLUGIN_PATH", second.path().string()}};
        auto r = run_ferry({"plugins", "list"}, options);
        INFO(describe(r));
        const auto loaded = loaded_lines(r.out);
        REQUIRE(loaded.size() == 1);
        CHECK(contains(loaded[0], "file=" + env_copy.string()));
    }
}

}  // TEST_SUITE
