// ferry-bench-delay-proxy: a TCP relay that holds every byte for a fixed time in each
// direction, for the benchmark's latency runs where the kernel has no netem qdisc (or as a
// plain relay with --delay-ms 0 when netem does the delaying).
//
//   ferry-bench-delay-proxy --listen 10.213.0.1:5433 --connect 127.0.0.1:5432 --delay-ms 0.5
//
// Model: an ideal link of unlimited bandwidth and a constant one-way delay. Per connection and
// direction a reader thread timestamps each chunk it receives and a writer thread sends it on
// once `delay` has passed, so a request/response exchange gains 2 x delay (the round trip) and
// a stream in one direction (COPY) pays the delay once, not per chunk. Both sockets use
// TCP_NODELAY. It prints "ready" on stdout once it listens, and stops on SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

std::atomic<bool> stopping{false};

void on_signal(int) { stopping = true; }

[[noreturn]] void die(const std::string& what) {
    std::cerr << "ferry-bench-delay-proxy: " << what << ": " << std::strerror(errno) << '\n';
    std::exit(1);
}

sockaddr_in parse_address(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "ferry-bench-delay-proxy: expected HOST:PORT, got " << text << '\n';
        std::exit(2);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a.sin_addr) != 1) {
        std::cerr << "ferry-bench-delay-proxy: not an IPv4 address: " << text << '\n';
        std::exit(2);
    }
    return a;
}

void no_delay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// One direction of one connection: bytes read from `from` reach `to` `delay` later.
class pipe_direction {
public:
    pipe_direction(int from, int to, clock_type::duration delay) : from_(from), to_(to), delay_(delay) {}

    void run() {
        std::thread writer([this] { write_loop(); });
        read_loop();
        writer.join();
    }

private:
    struct chunk {
        clock_type::time_point due;
        std::vector<char> bytes;  // empty: end of stream
    };

    void read_loop() {
        for (;;) {
            std::vector<char> buf(64 * 1024);
            const auto n = ::read(from_, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
            {
                std::lock_guard lock(mutex_);
                queue_.push_back({clock_type::now() + delay_, std::move(buf)});
            }
            ready_.notify_one();
            if (n <= 0) return;
        }
    }

    void write_loop() {
        for (;;) {
            chunk c;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [&] { return !queue_.empty(); });
                c = std::move(queue_.front());
                queue_.pop_front();
            }
            std::this_thread::sleep_until(c.due);
            if (c.bytes.empty()) {
                ::shutdown(to_, SHUT_WR);
                return;
            }
            std::size_t done = 0;
            while (done < c.bytes.size()) {
                const auto n = ::write(to_, c.bytes.data() + done, c.bytes.size() - done);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    // The peer is gone: stop reading too, so the other side sees the end.
                    ::shutdown(from_, SHUT_RDWR);
                    ::shutdown(to_, SHUT_RDWR);
                    drain();
                    return;
                }
                done += static_cast<std::size_t>(n);
            }
        }
    }

    // After a write failure: consume until the reader has posted its end marker.
    void drain() {
        for (;;) {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return !queue_.empty(); });
            const bool end = queue_.front().bytes.empty();
            queue_.pop_front();
            if (end) return;
        }
    }

    int from_, to_;
    clock_type::duration delay_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<chunk> queue_;
};

void serve(int client, sockaddr_in target, clock_type::duration delay) {
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        std::cerr << "ferry-bench-delay-proxy: cannot connect to the target: " << std::strerror(errno) << '\n';
        if (server >= 0) ::close(server);
        ::close(client);
        return;
    }
    no_delay(client);
    no_delay(server);
    pipe_direction up(client, server, delay), down(server, client, delay);
    std::thread t([&] { up.run(); });
    down.run();
    t.join();
    ::close(server);
    ::close(client);
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_at, connect_to;
    double delay_ms = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "ferry-bench-delay-proxy: " << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--listen")
            listen_at = next();
        else if (a == "--connect")
            connect_to = next();
        else if (a == "--delay-ms")
            delay_ms = std::stod(next());
        else {
            std::cerr << "usage: ferry-bench-delay-proxy --listen HOST:PORT --connect HOST:PORT [--delay-ms ONE_WAY_MS]\n";
            return 2;
        }
    }
    if (listen_at.empty() || connect_to.empty()) {
        std::cerr << "usage: ferry-bench-delay-proxy --listen HOST:PORT --connect HOST:PORT [--delay-ms ONE_WAY_MS]\n";
        return 2;
    }
    const auto listen_addr = parse_address(listen_at);
    const auto target = parse_address(connect_to);
    const auto delay = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double, std::milli>(delay_ms));

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    // Wake up on time: the default 50 us timer slack would add to every delayed chunk.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket");
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener, reinterpret_cast<const sockaddr*>(&listen_addr), sizeof listen_addr) != 0) die("bind " + listen_at);
    if (::listen(listener, 64) != 0) die("listen");
    std::cout << "ready" << std::endl;

    while (!stopping) {
        pollfd p{listener, POLLIN, 0};
        const int r = ::poll(&p, 1, 200);
        if (r <= 0) continue;
        const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        std::thread(serve, client, target, delay).detach();
    }
    ::close(listener);
    return 0;
}
