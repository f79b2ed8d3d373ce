// Test support: run a program with arguments and stdin text, capture stdout, stderr and the
// exit code (fork + execve with pipes; no shell), and a temporary directory removed on scope exit.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::test {

struct process_result {
    int exit_code = -1;      // the program's exit status; 128 + N when killed by signal N
    std::string out, err;    // everything written to stdout / stderr
    bool timed_out = false;  // killed because it ran longer than the limit
};

// nullopt value = remove the variable from the child's environment.
using env_overrides = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct run_options {
    std::string stdin_text;
    env_overrides env;
    std::optional<std::filesystem::path> cwd;
    std::chrono::seconds timeout{120};
};

// Runs `program` with `args` (argv[0] is the program path). Throws std::runtime_error only when
// the process cannot be started at all.
process_result run_process(const std::string& program, const std::vector<std::string>& args,
                           const run_options& options = {});

// Runs the ferry binary of this build (FERRY_TEST_FERRY_BIN). DSN, NAMESPACES, LOG_LEVEL and
// FERRY_PLUGIN_PATH are removed from the child's environment unless `options.env` sets them,
// so the developer's shell cannot change what a test sees.
process_result run_ferry(const std::vector<std::string>& args, run_options options = {});

// The ferry binary run_ferry() and start_ferry() run: this build's (FERRY_TEST_FERRY_BIN) unless
// replaced before the first test (the installed conformance kit takes it from --ferry).
std::string& ferry_binary();

// A program running in the background (fork + execve, like run_process). Its stdout and stderr
// are collected by a thread of its own as they come, so the child never blocks on a full pipe;
// options.timeout still bounds its life (it is killed with SIGKILL then). Destroying the object
// kills a child that is still running and reaps it.
class background_process {
public:
    background_process(const std::string& program, const std::vector<std::string>& args,
                       const run_options& options = {});
    background_process(background_process&&) noexcept = default;
    background_process& operator=(background_process&&) noexcept = default;
    ~background_process();

    int pid() const;
    bool running() const;
    std::string out_so_far() const;
    std::string err_so_far() const;
    // Waits until `text` appears on stdout or stderr (true), or the child exits or `limit`
    // passes first (false).
    bool wait_for_output(std::string_view text, std::chrono::milliseconds limit);
    // Waits for the child to exit and returns the whole run. Call once.
    process_result wait();

private:
    struct state;
    std::unique_ptr<state> s_;
};

background_process start_process(const std::string& program, const std::vector<std::string>& args,
                                 const run_options& options = {});
// run_ferry in the background: the same environment cleaning.
background_process start_ferry(const std::vector<std::string>& args, run_options options = {});

// The non-empty lines of `text`.
std::vector<std::string> lines_of(std::string_view text);

// A directory under the system temp dir, mode 0700, removed with everything in it on destruction.
class temp_dir {
public:
    explicit temp_dir(std::string_view prefix = "ferry-test");
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// Writes `content` to `file` (creating or truncating it).
void write_file(const std::filesystem::path& file, std::string_view content);

// For failure messages: the whole run, readable.
// Exit code, stdout and stderr, for a failure report. Every password of a test server's DSN
// (FERRY_TEST_*_DSN in this process's environment) and every one of `secrets` is replaced by
// ***: a check that a password is never shown must not show it when it fails.
std::string describe(const process_result& r, std::initializer_list<std::string_view> secrets = {});
// `text` with those passwords and `secrets` replaced by ***.
std::string masked(std::string text, std::initializer_list<std::string_view> secrets = {});

}  // namespace ferry::test
