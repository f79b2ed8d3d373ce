#include "process.hpp"

#include <ferry/dsn.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ferry::test {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct pipe_pair {
    int fd[2] = {-1, -1};
    pipe_pair() {
        if (::pipe2(fd, O_CLOEXEC) != 0) fail_errno("pipe2");
    }
    ~pipe_pair() {
        close_read();
        close_write();
    }
    void close_read() {
        if (fd[0] >= 0) ::close(fd[0]);
        fd[0] = -1;
    }
    void close_write() {
        if (fd[1] >= 0) ::close(fd[1]);
        fd[1] = -1;
    }
};

std::vector<std::string> child_environment(const env_overrides& overrides) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        vars[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    for (const auto& [k, v] : overrides) {
        if (v)
            vars[k] = *v;
        else
            vars.erase(k);
    }
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

namespace {

// A started child: its pid and our ends of its three pipes.
struct child {
    pid_t pid = -1;
    pipe_pair in, out, err;
};

void spawn(const std::string& program, const std::vector<std::string>& args, const run_options& options, child& c) {
    // A child that exits without reading its stdin must not kill the test with SIGPIPE.
    static const bool sigpipe_ignored = [] {
        ::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)sigpipe_ignored;

    std::vector<std::string> argv_storage{program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto env_storage = child_environment(options.env);
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string cwd = options.cwd ? options.cwd->string() : std::string();

    c.pid = ::fork();
    if (c.pid < 0) fail_errno("fork");
    if (c.pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        if (::dup2(c.in.fd[0], 0) < 0 || ::dup2(c.out.fd[1], 1) < 0 || ::dup2(c.err.fd[1], 2) < 0) ::_exit(126);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execve(program.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    c.in.close_read();
    c.out.close_write();
    c.err.close_write();
    set_nonblocking(c.in.fd[1]);
    set_nonblocking(c.out.fd[0]);
    set_nonblocking(c.err.fd[0]);
}

// Feeds stdin, collects stdout and stderr until both are closed (or the deadline kills the
// child), then reaps it. `sink(is_err, bytes, n)` receives the output as it arrives.
template <typename Sink>
void pump(child& c, const std::string& stdin_text, std::chrono::steady_clock::time_point deadline,
          process_result& result, Sink&& sink) {
    std::size_t written = 0;
    if (stdin_text.empty()) c.in.close_write();
    char buf[65536];
    while (c.out.fd[0] >= 0 || c.err.fd[0] >= 0) {
        std::vector<pollfd> fds;
        if (c.in.fd[1] >= 0) fds.push_back({c.in.fd[1], POLLOUT, 0});
        if (c.out.fd[0] >= 0) fds.push_back({c.out.fd[0], POLLIN, 0});
        if (c.err.fd[0] >= 0) fds.push_back({c.err.fd[0], POLLIN, 0});
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(c.pid, SIGKILL);
            result.timed_out = true;
            break;
        }
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) fail_errno("poll");
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            if (p.fd == c.in.fd[1]) {
                ssize_t w = ::write(p.fd, stdin_text.data() + written, stdin_text.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR) c.in.close_write();  // EPIPE: child closed stdin
                if (written == stdin_text.size()) c.in.close_write();
                continue;
            }
            ssize_t r = ::read(p.fd, buf, sizeof buf);
            if (r > 0) {
                sink(p.fd == c.err.fd[0], buf, static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (p.fd == c.out.fd[0])
                    c.out.close_read();
                else
                    c.err.close_read();
            }
        }
    }
    c.in.close_write();
    c.out.close_read();
    c.err.close_read();
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0)
        if (errno != EINTR) fail_errno("waitpid");
    if (WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.exit_code = 128 + WTERMSIG(status);
}

env_overrides ferry_environment(const env_overrides& caller) {
    env_overrides env{{"DSN", std::nullopt},
                      {"NAMESPACES", std::nullopt},
                      {"LOG_LEVEL", std::nullopt},
                      {"FERRY_PLUGIN_PATH", std::nullopt}};
    // The caller's settings come last and win.
    env.insert(env.end(), caller.begin(), caller.end());
    return env;
}

}  // namespace

process_result run_process(const std::string& program, const std::vector<std::string>& args,
                           const run_options& options) {
    child c;
    spawn(program, args, options, c);
    process_result result;
    pump(c, options.stdin_text, std::chrono::steady_clock::now() + options.timeout, result,
         [&](bool is_err, const char* data, std::size_t n) { (is_err ? result.err : result.out).append(data, n); });
    return result;
}

// ---- background_process ---------------------------------------------------------------------

struct background_process::state {
    child c;
    std::string stdin_text;
    std::chrono::steady_clock::time_point deadline;
    mutable std::mutex mutex;
    std::condition_variable changed;
    process_result result;  // out/err grow under the mutex; the rest is set once done
    bool done = false;
    std::string failure;  // what went wrong in the pump thread, if anything
    std::thread thread;
};

background_process::background_process(const std::string& program, const std::vector<std::string>& args,
                                       const run_options& options)
    : s_(std::make_unique<state>()) {
    s_->stdin_text = options.stdin_text;
    s_->deadline = std::chrono::steady_clock::now() + options.timeout;
    spawn(program, args, options, s_->c);
    s_->thread = std::thread([st = s_.get()] {
        process_result r;
        try {
            pump(st->c, st->stdin_text, st->deadline, r, [st](bool is_err, const char* data, std::size_t n) {
                std::lock_guard<std::mutex> lock(st->mutex);
                (is_err ? st->result.err : st->result.out).append(data, n);
                st->changed.notify_all();
            });
        } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(st->mutex);
            st->failure = e.what();
        }
        std::lock_guard<std::mutex> lock(st->mutex);
        st->result.exit_code = r.exit_code;
        st->result.timed_out = r.timed_out;
        st->done = true;
        st->changed.notify_all();
    });
}

background_process::~background_process() {
    if (!s_) return;
    {
        std::lock_guard<std::mutex> lock(s_->mutex);
        if (!s_->done) ::kill(s_->c.pid, SIGKILL);  // reaped by the pump thread
    }
    if (s_->thread.joinable()) s_->thread.join();
}

int background_process::pid() const { return s_->c.pid; }

bool background_process::running() const {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return !s_->done;
}

std::string background_process::out_so_far() const {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->result.out;
}

std::string background_process::err_so_far() const {
    std::lock_guard<std::mutex> lock(s_->mutex);
    return s_->result.err;
}

bool background_process::wait_for_output(std::string_view text, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(s_->mutex);
    auto seen = [&] {
        return s_->result.out.find(text) != std::string::npos || s_->result.err.find(text) != std::string::npos;
    };
    s_->changed.wait_for(lock, limit, [&] { return seen() || s_->done; });
    return seen();
}

process_result background_process::wait() {
    if (s_->thread.joinable()) s_->thread.join();
    if (!s_->failure.empty()) throw std::runtime_error("collecting a background process: " + s_->failure);
    return s_->result;
}

background_process start_process(const std::string& program, const std::vector<std::string>& args,
                                 const run_options& options) {
    return background_process(program, args, options);
}

background_process start_ferry(const std::vector<std::string>& args, run_options options) {
    options.env = ferry_environment(options.env);
    return background_process(ferry_binary(), args, options);
}

std::string& ferry_binary() {
    static std::string path = FERRY_TEST_FERRY_BIN;
    return path;
}

process_result run_ferry(const std::vector<std::string>& args, run_options options) {
    options.env = ferry_environment(options.env);
    return run_process(ferry_binary(), args, options);
}

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

temp_dir::temp_dir(std::string_view prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) fail_errno("mkdtemp " + pattern);
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    // Tests chmod files; make sure everything can be removed.
    fs::remove_all(path_, ec);
}

void write_file(const fs::path& file, std::string_view content) {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + file.string());
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f) throw std::runtime_error("cannot write " + file.string());
}

namespace {

// The passwords of the DSNs the suite was given, read once.
const std::vector<std::string>& test_server_passwords() {
    static const std::vector<std::string> passwords = [] {
        std::vector<std::string> out;
        for (char** e = environ; e && *e; ++e) {
            const std::string_view entry(*e);
            const auto eq = entry.find('=');
            const auto name = entry.substr(0, eq);
            if (eq == std::string_view::npos || name.rfind("FERRY_TEST_", 0) != 0 || !name.ends_with("_DSN")) continue;
            try {
                if (auto pw = ferry::parse_dsn(entry.substr(eq + 1)).password; pw && !pw->empty())
                    out.push_back(*pw);
            } catch (const std::exception&) {
                // Not a DSN the parser knows: nothing to mask.
            }
        }
        return out;
    }();
    return passwords;
}

void mask(std::string& text, std::string_view secret) {
    if (secret.empty()) return;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
        text.replace(at, secret.size(), "***");
}

}  // namespace

std::string masked(std::string text, std::initializer_list<std::string_view> secrets) {
    for (const auto& pw : test_server_passwords()) mask(text, pw);
    for (auto s : secrets) mask(text, s);
    return text;
}

std::string describe(const process_result& r, std::initializer_list<std::string_view> secrets) {
    return masked("exit code " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
                      "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err + "--------------",
                  secrets);
}

}  // namespace ferry::test
