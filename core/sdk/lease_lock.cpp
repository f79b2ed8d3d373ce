#include <ferry/sdk/lease_lock.hpp>

#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <ferry/errors.hpp>

namespace ferry::sdk {
namespace {

// host:pid:random: says where the holder runs, and stays unique across restarts of one pid.
std::string make_owner() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::random_device rd;
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
    return std::string(host[0] ? host : "unknown-host") + ":" + std::to_string(getpid()) + ":" + suffix;
}

// The statements the lease sends: create, read, take (insert), take over (expired), renew,
// release. Markers are `?`; times are the server's, in seconds.
struct lease_statements {
    std::string create, read, take, take_over, renew, release;
};

lease_statements lease_sql(const lease_options& o) {
    const auto& now = o.now_seconds_sql;
    const auto& t = o.table;
    return {
        .create = "CREATE TABLE IF NOT EXISTS " + t +
                  " (name VARCHAR(64) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, acquired_at BIGINT NOT NULL, "
                  "heartbeat_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
        .read = "SELECT owner, expires_at, " + now + " FROM " + t + " WHERE name = ?",
        .take = "INSERT INTO " + t + " (name, owner, acquired_at, heartbeat_at, expires_at) VALUES (?, ?, " + now +
                ", " + now + ", " + now + " + ?)",
        .take_over = "UPDATE " + t + " SET owner = ?, acquired_at = " + now + ", heartbeat_at = " + now +
                     ", expires_at = " + now + " + ? WHERE name = ? AND owner = ? AND expires_at = ?",
        .renew = "UPDATE " + t + " SET heartbeat_at = " + now + ", expires_at = " + now +
                 " + ? WHERE name = ? AND owner = ?",
        .release = "DELETE FROM " + t + " WHERE name = ? AND owner = ?",
    };
}

// Losing a race to another run: the primary key refused our insert (class 23, integrity
// constraint), the table appeared between IF NOT EXISTS and CREATE (42P07), or a
// SERIALIZABLE conflict. Anything else is a real failure and must surface as itself.
bool lost_a_race(const sql_error& e) {
    return dynamic_cast<const serialization_error*>(&e) || e.sqlstate().rfind("23", 0) == 0 ||
           e.sqlstate() == "42P07";
}

class lease_lock final : public migration_lock {
public:
    lease_lock(std::unique_ptr<connection> session, lease_options options)
        : session_(std::move(session)), options_(std::move(options)), sql_(lease_sql(options_)),
          owner_(make_owner()) {}

    void acquire(std::chrono::seconds timeout) {
        try {
            session_->execute(sql_.create);
        } catch (const sql_error& e) {
            // Two runs creating the table at once: one wins, the other finds it below.
            if (!lost_a_race(e)) throw;
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            std::string holder;
            std::int64_t remaining = 0;
            if (try_take(holder, remaining)) break;
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline)
                throw lock_error("another ferry (" + holder + ") holds the migration lease on " + options_.scope +
                                 " and did not release it within " + std::to_string(timeout.count()) +
                                 "s; its lease expires in " + std::to_string(remaining) +
                                 "s unless renewed. Wait for it to finish (a killed run's lease expires by itself), "
                                 "then run this command again, or raise --lock-timeout");
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(250),
                                                                                     deadline - now));
        }
        renewed_ = std::chrono::steady_clock::now();
        heartbeat_ = std::thread([this] { beat(); });
    }

    ~lease_lock() override {
        {
            std::lock_guard<std::mutex> g(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (heartbeat_.joinable()) heartbeat_.join();
        try {
            const std::array<value, 2> p{std::string_view(options_.name), std::string_view(owner_)};
            session_->execute(sql_.release, p);
        } catch (...) {
            // The lease expires by itself; nothing else can be done from a destructor.
        }
    }

    void ensure_held() const override {
        std::lock_guard<std::mutex> g(mutex_);
        if (!lost_.empty())
            throw lock_error("the migration lease on " + options_.scope + " was lost (" + lost_ +
                             "), so another ferry may be working on it; this run stopped before committing. Run "
                             "the command again");
    }

private:
    // One attempt. True when the lease is ours; otherwise names the holder and its time left.
    bool try_take(std::string& holder, std::int64_t& remaining) {
        const std::array<value, 1> name{std::string_view(options_.name)};
        std::optional<std::string> current_owner;
        std::int64_t expires = 0, now = 0;
        {
            auto r = session_->query(sql_.read, name);
            if (r->next()) {
                current_owner = std::string(r->text(0));
                expires = r->integer(1);
                now = r->integer(2);
            }
            while (r->next()) {
            }
        }
        const auto ttl = static_cast<std::int64_t>(options_.ttl.count());
        try {
            if (!current_owner) {
                const std::array<value, 3> p{std::string_view(options_.name), std::string_view(owner_), ttl};
                session_->execute(sql_.take, p);
                return true;
            }
            if (expires < now) {
                // Compare-and-swap on the expired row: of several runs taking over at once,
                // exactly one changes it.
                if (!take_over_) take_over_ = session_->prepare(sql_.take_over);
                const std::array<value, 5> p{std::string_view(owner_), ttl, std::string_view(options_.name),
                                             std::string_view(*current_owner), expires};
                if (take_over_->execute(p) == 1) return true;
            }
        } catch (const sql_error& e) {
            if (!lost_a_race(e)) throw;  // else someone else took it first: look again
        }
        holder = current_owner ? *current_owner : "unknown";
        remaining = current_owner ? std::max<std::int64_t>(expires - now, 0) : 0;
        return false;
    }

    void beat() {
        const auto period = std::max(options_.heartbeat, std::chrono::seconds(1));
        std::unique_ptr<prepared_statement> renew;
        std::unique_lock<std::mutex> g(mutex_);
        while (!wake_.wait_for(g, period, [this] { return stopping_; })) {
            g.unlock();
            std::string problem;
            bool taken_over = false;
            try {
                if (!renew) renew = session_->prepare(sql_.renew);
                const std::array<value, 3> p{static_cast<std::int64_t>(options_.ttl.count()),
                                             std::string_view(options_.name), std::string_view(owner_)};
                taken_over = renew->execute(p) != 1;
                if (taken_over) problem = "another run took it over after it expired";
            } catch (const std::exception& e) {
                problem = std::string("renewing it failed: ") + e.what();
            }
            g.lock();
            if (problem.empty()) {
                renewed_ = std::chrono::steady_clock::now();
            } else if (taken_over || std::chrono::steady_clock::now() - renewed_ >= options_.ttl - period) {
                // Owned by someone else, or about to expire before the next renewal could land.
                if (lost_.empty()) lost_ = problem;
            }
        }
    }

    std::unique_ptr<connection> session_;
    lease_options options_;
    lease_statements sql_;
    std::string owner_;
    std::unique_ptr<prepared_statement> take_over_;  // prepared at the first expired lease seen
    std::thread heartbeat_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::string lost_;
    std::chrono::steady_clock::time_point renewed_;
};

}  // namespace

std::unique_ptr<migration_lock> acquire_lease_lock(std::unique_ptr<connection> session, std::chrono::seconds timeout,
                                                   lease_options options) {
    if (options.now_seconds_sql.empty()) throw usage_error("lease_options.now_seconds_sql is required");
    auto lock = std::make_unique<lease_lock>(std::move(session), std::move(options));
    lock->acquire(timeout);
    return lock;
}

}  // namespace ferry::sdk
