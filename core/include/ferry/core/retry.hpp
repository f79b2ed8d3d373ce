// Running one unit of work in a transaction that the server may abort with a serialization
// failure (SQLSTATE 40001): CockroachDB does so routinely under SERIALIZABLE, PostgreSQL under
// SERIALIZABLE conflicts. The work is run again from the start, in a fresh transaction opened
// with the dialect's protocol, a bounded number of times with a growing, jittered pause.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <ferry/connection.hpp>
#include <ferry/dialect.hpp>

namespace ferry::core {

struct retry_policy {
    unsigned attempts = 1;  // runs in total; 1 = no retry
    std::chrono::milliseconds first_pause{50};
    std::chrono::milliseconds max_pause{2000};
};

// Runs `work(attempt)` (attempt counts from 1) inside a transaction and commits it, both via
// `dialect`'s transaction protocol. On serialization_error, from the work or the commit, with
// attempts left: restarts the transaction, pauses, calls `retrying(attempt, error)` and runs the
// work again; `work` must therefore start from scratch each time (reset its counters). When
// the attempts are used up, throws serialization_error naming `what` and the count. Any other
// error rolls back and propagates unchanged.
void run_in_transaction(connection& conn, dialect& dialect, const retry_policy& policy, const std::string& what,
                        const std::function<void(unsigned attempt)>& work,
                        const std::function<void(unsigned next_attempt, const std::string& error)>& retrying = {});

// The pause before attempt `next_attempt` (2, 3, ...): doubling from first_pause, capped at
// max_pause, with up to half of it taken off at random so that colliding runs drift apart.
std::chrono::milliseconds retry_pause(const retry_policy& policy, unsigned next_attempt);

}  // namespace ferry::core
