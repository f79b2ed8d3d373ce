#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

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

process_result run_process(const std::string& program, const std::vector<std::string>& args,
                           const run_options& options) {
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

    pipe_pair in, out, err;
    const pid_t pid = ::fork();
    if (pid < 0) fail_errno("fork");
    if (pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        if (::dup2(in.fd[0], 0) < 0 || ::dup2(out.fd[1], 1) < 0 || ::dup2(err.fd[1], 2) < 0) ::_exit(126);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execve(program.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    in.close_read();
    out.close_write();
    err.close_write();
    set_nonblocking(in.fd[1]);
    set_nonblocking(out.fd[0]);
    set_nonblocking(err.fd[0]);

    process_result result;
    std::size_t written = 0;
    if (options.stdin_text.empty()) in.close_write();
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    char buf[65536];
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        std::vector<pollfd> fds;
        if (in.fd[1] >= 0) fds.push_back({in.fd[1], POLLOUT, 0});
        if (out.fd[0] >= 0) fds.push_back({out.fd[0], POLLIN, 0});
        if (err.fd[0] >= 0) fds.push_back({err.fd[0], POLLIN, 0});
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            result.timed_out = true;
            break;
        }
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) fail_errno("poll");
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            if (p.fd == in.fd[1]) {
                ssize_t w = ::write(p.fd, options.stdin_text.data() + written, options.stdin_text.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR) in.close_write();  // EPIPE: child closed stdin
                if (written == options.stdin_text.size()) in.close_write();
                continue;
            }
            ssize_t r = ::read(p.fd, buf, sizeof buf);
            if (r > 0) {
                (p.fd == out.fd[0] ? result.out : result.err).append(buf, static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (p.fd == out.fd[0])
                    out.close_read();
                else
                    err.close_read();
            }
        }
    }
    in.close_write();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail_errno("waitpid");
    if (WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.exit_code = 128 + WTERMSIG(status);
    return result;
}

process_result run_ferry(const std::vector<std::string>& args, run_options options) {
    env_overrides env{{"DSN", std::nullopt},
                      {"NAMESPACES", std::nullopt},
                      {"LOG_LEVEL", std::nullopt},
                      {"FERRY_PLUGIN_PATH", std::nullopt}};
    // The caller's settings come last and win.
    env.insert(env.end(), options.env.begin(), options.env.end());
    options.env = std::move(env);
    return run_process(FERRY_TEST_FERRY_BIN, args, options);
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

std::string describe(const process_result& r) {
    return "exit code " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout ---\n" +
           r.out + "--- stderr ---\n" + r.err + "--------------";
}

}  // namespace ferry::test
