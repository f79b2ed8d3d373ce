// A migration lock for servers without session-bound locks (CockroachDB has no advisory
// locks; its pg_advisory_lock is a stub that always succeeds). The lock is a row in a table:
// an owner id, the time it was taken, its last heartbeat and an expiry. A heartbeat thread
// renews the expiry; a killed run stops renewing, so the next run takes the lease over once it
// expires, at most `ttl` later. Only the owner renews or releases it (every write checks the
// owner), and a run whose lease could not be renewed learns it at its next ensure_held().
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <ferry/connection.hpp>
#include <ferry/dialect.hpp>

namespace ferry::sdk {

struct lease_options {
    std::string table = "ferry_lease";  // created when missing
    std::string name = "migration";     // one lease per name
    std::chrono::seconds ttl{30};       // a lease not renewed for this long is free
    std::chrono::seconds heartbeat{5};  // renewal period; well below ttl
    // An SQL expression for the server's current time in whole seconds since the epoch, so
    // every run compares expiries on one clock (theirs would drift apart). For example
    // "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT)" on PostgreSQL and CockroachDB.
    std::string now_seconds_sql;
    // Words for messages: what the lease protects, e.g. `CockroachDB database "keto"`.
    std::string scope = "this database";
};

// Waits up to `timeout` for the lease, then throws lock_error naming the holder and when its
// lease expires. `session` must be a connection of its own: the heartbeat thread writes
// through it for as long as the lock lives. Statements on it run outside transactions.
std::unique_ptr<migration_lock> acquire_lease_lock(std::unique_ptr<connection> session, std::chrono::seconds timeout,
                                                   lease_options options);

}  // namespace ferry::sdk
