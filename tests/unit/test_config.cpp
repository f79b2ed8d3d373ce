// Keto config loading (spec 5, 5.1): dsn, namespaces inline / file:// / NAMESPACES, validation.
#include <ferry/core/config.hpp>
#include <ferry/errors.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include "../support/text.hpp"

using ferry::test::contains;

namespace {

namespace fs = std::filesystem;
using ferry::config_error;
using ferry::core::config;
using ferry::core::config_from_environment;
using ferry::core::load_config;
using ferry::core::resolve_dsn;

// A fresh directory per test, removed afterwards even when a check fails.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<unsigned> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = fs::temp_directory_path() /
                ("ferry-test-config-" + std::to_string(::getpid()) + "-" +
                 std::to_string(stamp) + "-" + std::to_string(counter++));
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const fs::path& path() const { return path_; }

    fs::path write(const fs::path& relative, const std::string& text) const {
        const fs::path file = path_ / relative;
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }

private:
    fs::path path_;
};

// Sets (or unsets, with nullopt) an environment variable for one scope, then restores it, so
// that tests neither see nor leak the caller's DSN / NAMESPACES.
class env_var {
public:
    env_var(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        set(value);
    }
    ~env_var() { set(old_); }
    env_var(const env_var&) = delete;
    env_var& operator=(const env_var&) = delete;

private:
    void set(const std::optional<std::string>& value) {
        if (value)
            ::setenv(name_, value->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    const char* name_;
    std::optional<std::string> old_;
};

// The message of the config_error that loading `file` throws; fails the test if none is thrown.
std::string load_error(const fs::path& file) {
    try {
        load_config(file);
    } catch (const config_error& e) {
        return e.what();
    }
    FAIL("no config_error for " << file);
    return {};
}

std::vector<std::pair<std::int64_t, std::string>> summary(const config& cfg) {
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (const auto& ns : cfg.namespaces) out.emplace_back(ns.id, ns.name);
    return out;
}

using ns_list = std::vector<std::pair<std::int64_t, std::string>>;

}  // namespace

TEST_SUITE("config") {

TEST_CASE("inline namespaces, dsn and unknown top-level keys") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const auto file = dir.write("keto.yml", R"(
version: v0.7.0-alpha.1
dsn: postgres://keto:secret@db:5432/keto?sslmode=disable
serve:
  read:
    port: 4466
log:
  level: debug
namespaces:
  - id: 0
    name: default
  - id: 1
    name: other
    config: {}
  - {id: 7, name: "12", config: {some: thing}}
  - {id: 8, name: 1-2}
)");
    const config cfg = load_config(file);
    REQUIRE(cfg.dsn);
    CHECK(*cfg.dsn == "postgres://keto:secret@db:5432/keto?sslmode=disable");
    CHECK(summary(cfg) == ns_list{{0, "default"}, {1, "other"}, {7, "12"}, {8, "1-2"}});

    REQUIRE(cfg.find_by_name("other"));
    CHECK(cfg.find_by_name("other")->id == 1);
    CHECK(cfg.find_by_name("missing") == nullptr);
    REQUIRE(cfg.find_by_id(7));
    CHECK(cfg.find_by_id(7)->name == "12");
    CHECK(cfg.find_by_id(2) == nullptr);
}

TEST_CASE("a config without dsn or namespaces, and an empty file") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const config partial = load_config(dir.write("keto.yml", "serve: {}\n"));
    CHECK_FALSE(partial.dsn);
    CHECK(partial.namespaces.empty());

    const config empty = load_config(dir.write("empty.yml", ""));
    CHECK_FALSE(empty.dsn);
    CHECK(empty.namespaces.empty());

    const config json = load_config(dir.write("keto.json", R"({"dsn": "memory"})"));
    CHECK(json.dsn == "memory");
}

TEST_CASE("file:// to a single namespace file") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const auto ns_file = dir.write("ns/one.yaml", "id: 3\nname: files\nconfig: {}\n");
    const auto file = dir.write("keto.yml", "namespaces: file://" + ns_file.string() + "\n");
    CHECK(summary(load_config(file)) == ns_list{{3, "files"}});
}

TEST_CASE("file:// to a file holding a list") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const auto ns_file =
        dir.write("namespaces.json", R"([{"id": 0, "name": "a"}, {"id": 1, "name": "b"}])");
    const auto file = dir.write("keto.yml", "namespaces: file://" + ns_file.string() + "\n");
    CHECK(summary(load_config(file)) == ns_list{{0, "a"}, {1, "b"}});
}

TEST_CASE("file:// to a directory: json, yaml and yml in file-name order, others skipped") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    dir.write("ns/c.yml", "id: 2\nname: c\n");
    dir.write("ns/a.json", R"({"id": 5, "name": "a", "config": {}})");
    dir.write("ns/b.yaml", "id: 1\nname: b\n");
    dir.write("ns/README.txt", "not a namespace: [");
    dir.write("ns/sub/d.yaml", "id: 9\nname: nested\n");  // subdirectories are not searched
    const auto file =
        dir.write("keto.yml", "namespaces: file://" + (dir.path() / "ns").string() + "\n");
    CHECK(summary(load_config(file)) == ns_list{{5, "a"}, {1, "b"}, {2, "c"}});

    SUBCASE("an empty directory means no namespaces") {
        fs::create_directories(dir.path() / "none");
        const auto empty =
            dir.write("empty.yml", "namespaces: file://" + (dir.path() / "none").string());
        CHECK(load_config(empty).namespaces.empty());
    }
}

TEST_CASE("file:// with a relative path resolves against the current directory") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    dir.write("keto_namespaces/a.yml", "id: 0\nname: a\n");
    const auto file = dir.write("keto.yml", "namespaces: file://./keto_namespaces\n");
    const auto previous = fs::current_path();
    fs::current_path(dir.path());
    config cfg;
    CHECK_NOTHROW(cfg = load_config(file));
    fs::current_path(previous);
    CHECK(summary(cfg) == ns_list{{0, "a"}});
}

TEST_CASE("NAMESPACES overrides the file") {
    const temp_dir dir;
    const auto file = dir.write("keto.yml", "dsn: memory\nnamespaces:\n  - {id: 0, name: file}\n");

    SUBCASE("JSON list") {
        const env_var env("NAMESPACES", R"([{"id": 4, "name": "env"}, {"id": 5, "name": "two"}])");
        const config cfg = load_config(file);
        CHECK(summary(cfg) == ns_list{{4, "env"}, {5, "two"}});
        CHECK(cfg.dsn == "memory");
        CHECK(summary(config_from_environment()) == summary(cfg));
    }
    SUBCASE("file:// URI") {
        dir.write("envns/x.json", R"({"id": 8, "name": "x"})");
        const env_var env("NAMESPACES", "file://" + (dir.path() / "envns").string());
        CHECK(summary(load_config(file)) == ns_list{{8, "x"}});
    }
    SUBCASE("the overridden file value is not read") {
        const auto broken = dir.write("broken.yml", "namespaces: file:///does/not/exist\n");
        const env_var env("NAMESPACES", "[{id: 1, name: ok}]");
        CHECK(summary(load_config(broken)) == ns_list{{1, "ok"}});
    }
    SUBCASE("unset or empty: the file applies") {
        const env_var env("NAMESPACES", std::nullopt);
        CHECK(summary(load_config(file)) == ns_list{{0, "file"}});
        CHECK(config_from_environment().namespaces.empty());
        const env_var empty("NAMESPACES", "");
        CHECK(summary(load_config(file)) == ns_list{{0, "file"}});
    }
    SUBCASE("invalid values are errors naming the variable") {
        const env_var env("NAMESPACES", "{id: 1, name: x}");
        std::string message;
        try {
            config_from_environment();
        } catch (const config_error& e) {
            message = e.what();
        }
        CHECK(contains(message, "NAMESPACES"));
        CHECK(contains(message, "list"));
        const env_var bad_entry("NAMESPACES", R"([{"id": -1, "name": "x"}])");
        CHECK_THROWS_AS(config_from_environment(), config_error);
        const env_var bad_uri("NAMESPACES", "file:///does/not/exist/anywhere");
        CHECK_THROWS_WITH_AS(config_from_environment(),
                             doctest::Contains("/does/not/exist/anywhere"), config_error);
    }
}

TEST_CASE("config_from_environment has no DSN") {
    const env_var env("NAMESPACES", "[{id: 2, name: b}]");
    const config cfg = config_from_environment();
    CHECK_FALSE(cfg.dsn);
    CHECK(summary(cfg) == ns_list{{2, "b"}});
}

TEST_CASE("file and YAML errors name the file and the problem") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;

    SUBCASE("missing config file") {
        const auto missing = dir.path() / "nope.yml";
        const auto message = load_error(missing);
        CHECK(contains(message, missing.string()));
        CHECK(contains(message, "does not exist"));
    }
    SUBCASE("config path is a directory") {
        CHECK(contains(load_error(dir.path()), "is a directory"));
    }
    SUBCASE("unreadable config file") {
        const auto file = dir.write("secret.yml", "dsn: memory\n");
        fs::permissions(file, fs::perms::none);
        if (std::ifstream(file).good()) {
            MESSAGE("running with privileges that ignore file permissions; check skipped");
        } else {
            const auto message = load_error(file);
            CHECK(contains(message, file.string()));
            CHECK(contains(message, "cannot be opened"));
        }
    }
    SUBCASE("malformed YAML with line and column") {
        const auto file = dir.write("bad.yml", "dsn: memory\nnamespaces: [\n  {id: 1, name: a}\n");
        const auto message = load_error(file);
        CHECK(contains(message, file.string()));
        CHECK(contains(message, "malformed YAML"));
        CHECK(contains(message, "line "));
        CHECK(contains(message, "column "));
        CHECK(message.find('\n') == std::string::npos);
    }
    SUBCASE("top level not a mapping") {
        CHECK(contains(load_error(dir.write("list.yml", "- a\n- b\n")), "top level"));
    }
    SUBCASE("dsn not a string") {
        CHECK(contains(load_error(dir.write("d.yml", "dsn: {a: b}\n")), "`dsn` must be a string"));
    }
    SUBCASE("namespaces of the wrong type") {
        const auto message = load_error(dir.write("n.yml", "namespaces: {id: 1, name: a}\n"));
        CHECK(contains(message, "`namespaces` must be a list"));
        CHECK(contains(load_error(dir.write("u.yml", "namespaces: ws://example.com/ns\n")),
                       "file://"));
    }
    SUBCASE("file:// path that does not exist") {
        const auto target = dir.path() / "no_such_dir";
        const auto message =
            load_error(dir.write("m.yml", "namespaces: file://" + target.string() + "\n"));
        CHECK(contains(message, target.string()));
        CHECK(contains(message, "does not exist"));
    }
    SUBCASE("malformed namespace file") {
        const auto ns = dir.write("ns/a.json", R"({"id": 1, "name": )");
        const auto message =
            load_error(dir.write("k.yml", "namespaces: file://" + ns.string() + "\n"));
        CHECK(contains(message, ns.string()));
        CHECK(contains(message, "malformed YAML"));
    }
    SUBCASE("empty namespace file") {
        const auto ns = dir.write("ns/empty.yaml", "");
        CHECK(contains(load_error(dir.write("k.yml", "namespaces: file://" + ns.string())),
                       "is empty"));
    }
    SUBCASE("TOML namespace file in a directory") {
        dir.write("ns/a.yaml", "id: 0\nname: a\n");
        const auto toml = dir.write("ns/b.toml", "id = 1\nname = \"b\"\n");
        const auto message = load_error(
            dir.write("k.yml", "namespaces: file://" + (dir.path() / "ns").string()));
        CHECK(contains(message, toml.string()));
        CHECK(contains(message, "TOML namespace files are not supported"));
        CHECK(contains(message, "YAML or JSON"));
    }
}

TEST_CASE("namespace entry validation") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    struct bad_case {
        std::string entries;  // YAML flow list
        std::string expected;
    };
    const bad_case cases[] = {
        {"[{name: a}]", "`id` is missing"},
        {"[{id: ~, name: a}]", "`id` is missing"},
        {"[{id: 1.5, name: a}]", "`id` must be an integer, found \"1.5\""},
        {"[{id: abc, name: a}]", "`id` must be an integer, found \"abc\""},
        {"[{id: 0x10, name: a}]", "`id` must be an integer"},
        {"[{id: \"1\", name: a}]", "remove the quotes"},
        {"[{id: [1], name: a}]", "`id` must be an integer >= 0, found a list"},
        {"[{id: -1, name: a}]", "`id` must be >= 0, found -1"},
        {"[{id: 99999999999999999999, name: a}]", "too large"},
        {"[{id: 1}]", "`name` is missing"},
        {"[{id: 1, name: }]", "`name` is empty"},
        {"[{id: 1, name: \"\"}]", "`name` is empty"},
        {"[{id: 1, name: {a: b}}]", "`name` must be a string, found an object"},
        {"[{id: 1, name: 12}]", "`name` must be a string"},
        {"[{id: 1, name: true}]", "put it in quotes"},
        {"[{id: 1, name: a, extra: x}]", "unknown key `extra`"},
        {"[{id: 1, name: a, config: [1]}]", "`config` must be an object"},
        {"[a, b]", "a namespace must be an object"},
        {"[{id: 1, name: a}, {id: 1, name: b}]", "namespace id 1 is already used by \"a\""},
        {"[{id: 1, name: a}, {id: 2, name: a}]", "namespace name \"a\" is already used by id 1"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.entries);
        const auto file = dir.write("keto.yml", "dsn: memory\nnamespaces: " + c.entries + "\n");
        const auto message = load_error(file);
        CAPTURE(message);
        CHECK(contains(message, file.string()));
        CHECK(contains(message, "namespaces["));
        CHECK(contains(message, c.expected));
        CHECK(message.find('\n') == std::string::npos);
    }
}

TEST_CASE("duplicates across namespace files name both files") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const auto first = dir.write("ns/a.yml", "id: 1\nname: a\n");
    const auto second = dir.write("ns/b.json", R"({"id": 1, "name": "b"})");
    const auto message =
        load_error(dir.write("k.yml", "namespaces: file://" + (dir.path() / "ns").string()));
    CHECK(contains(message, first.string()));
    CHECK(contains(message, second.string()));
    CHECK(contains(message, "namespace id 1 is already used"));
}

TEST_CASE("entry errors in namespace files name the file") {
    const env_var no_namespaces("NAMESPACES", std::nullopt);
    const temp_dir dir;
    const auto ns = dir.write("ns/a.yaml", "id: 1\nname: a\ncolour: blue\n");
    const auto message = load_error(dir.write("k.yml", "namespaces: file://" + ns.string()));
    CHECK(contains(message, ns.string()));
    CHECK(contains(message, "unknown key `colour`"));
}

TEST_CASE("resolve_dsn precedence: flag, then DSN, then the config file") {
    config cfg;
    cfg.dsn = "sqlite://from-file.db";
    {
        const env_var env("DSN", "sqlite://from-env.db");
        CHECK(resolve_dsn(std::string("sqlite://from-flag.db"), cfg) == "sqlite://from-flag.db");
        CHECK(resolve_dsn(std::nullopt, cfg) == "sqlite://from-env.db");
        CHECK(resolve_dsn(std::string(), cfg) == "sqlite://from-env.db");
    }
    {
        const env_var env("DSN", std::nullopt);
        CHECK(resolve_dsn(std::nullopt, cfg) == "sqlite://from-file.db");
        const env_var empty("DSN", "");
        CHECK(resolve_dsn(std::nullopt, cfg) == "sqlite://from-file.db");
    }
    {
        const env_var env("DSN", std::nullopt);
        CHECK_THROWS_WITH_AS(resolve_dsn(std::nullopt, config{}),
                             "no database configured: pass --dsn, set DSN, or put `dsn:` in the "
                             "config file (-c)",
                             config_error);
        config empty_dsn;
        empty_dsn.dsn = "";
        CHECK_THROWS_AS(resolve_dsn(std::nullopt, empty_dsn), config_error);
    }
}

}  // TEST_SUITE
