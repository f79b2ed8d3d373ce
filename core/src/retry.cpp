#include <ferry/core/retry.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include <ferry/errors.hpp>

namespace ferry::core {

std::chrono::milliseconds retry_pause(const retry_policy& policy, unsigned next_attempt) {
    const unsigned doublings = std::min(next_attempt > 2 ? next_attempt - 2 : 0u, 20u);
    const auto full = std::min<std::int64_t>(policy.first_pause.count() << doublings, policy.max_pause.count());
    thread_local std::minstd_rand jitter(std::random_device{}());
    const auto cut = full / 2 ? std::uniform_int_distribution<std::int64_t>(0, full / 2)(jitter) : 0;
    return std::chrono::milliseconds(full - cut);
}

void run_in_transaction(connection& conn, dialect& dia, const retry_policy& policy, const std::string& what,
                        const std::function<void(unsigned attempt)>& work,
                        const std::function<void(unsigned next_attempt, const std::string& error)>& retrying) {
    const unsigned attempts = std::max(policy.attempts, 1u);
    // Whatever leaves this function by an exception must not leave a transaction open.
    auto abandon = [&] {
        try {
            if (conn.in_transaction()) conn.rollback();
        } catch (...) {
            // The error being propagated says more; a broken session ends the transaction anyway.
        }
    };
    dia.begin_transaction(conn);
    for (unsigned attempt = 1;; ++attempt) {
        try {
            work(attempt);
            dia.commit_transaction(conn);
            return;
        } catch (const serialization_error& e) {
            if (attempt >= attempts) {
                abandon();
                throw serialization_error(what + " was aborted by the database " + std::to_string(attempt) +
                                              (attempt == 1 ? " time" : " times") +
                                              " by conflicting transactions (serialization failure) and was rolled "
                                              "back; run the command again when other writers are quiet: " +
                                              e.what(),
                                          e.sqlstate());
            }
            try {
                dia.restart_transaction(conn);
                std::this_thread::sleep_for(retry_pause(policy, attempt + 1));
                if (retrying) retrying(attempt + 1, e.what());
            } catch (...) {
                abandon();
                throw;
            }
        } catch (...) {
            abandon();
            throw;
        }
    }
}

}  // namespace ferry::core
