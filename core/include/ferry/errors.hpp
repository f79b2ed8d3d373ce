// Ferry's typed errors. Everything Ferry throws derives from ferry::error; the CLI maps each
// type to a message and an exit code in one place (cli/exit_codes). Plugins translate their
// driver's exceptions into these types, so the core never sees a driver type.
//
// These classes are thrown across the plugin boundary, so they have default visibility: the
// host and every plugin must agree on their type_info (see docs/plugins.md, "ABI").
#pragma once

#include <stdexcept>
#include <string>

#define FERRY_VISIBLE __attribute__((visibility("default")))

namespace ferry {

class FERRY_VISIBLE error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The user asked for something malformed (flags, arguments). Retrying the same call cannot help.
class FERRY_VISIBLE usage_error : public error {
public:
    using error::error;
};

// Configuration, DSN or namespace files are missing, unreadable or invalid. Fix the input.
class FERRY_VISIBLE config_error : public error {
public:
    using error::error;
};

// A plugin file could not be loaded or no plugin serves a DSN scheme.
class FERRY_VISIBLE plugin_error : public error {
public:
    using error::error;
};

// The database could not be reached or the session broke. A retry may help.
class FERRY_VISIBLE connection_error : public error {
public:
    using error::error;
};

// The server refused an operation for lack of privileges. Grant the privilege named.
class FERRY_VISIBLE permission_error : public error {
public:
    using error::error;
};

// A statement failed. Carries the SQLSTATE (or the driver's native code) when known.
class FERRY_VISIBLE sql_error : public error {
public:
    sql_error(const std::string& message, std::string sqlstate = {})
        : error(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
    std::string sqlstate_;
};

// A transaction lost a serialization conflict (SQLSTATE 40001) or a deadlock. Retrying the
// whole transaction is expected to succeed eventually.
class FERRY_VISIBLE serialization_error : public sql_error {
public:
    using sql_error::sql_error;
};

// Another ferry holds the migration lock and did not release it in time. Retry later.
class FERRY_VISIBLE lock_error : public error {
public:
    using error::error;
};

// The migration set and the database's history disagree (edited file, interrupted
// non-transactional migration, unknown version). A human has to look; retrying cannot help.
class FERRY_VISIBLE migration_error : public error {
public:
    using error::error;
};

// The database is not in a state the command can work on (schema not applied, unconfigured
// legacy table, namespace never copied). The message says which command fixes it.
class FERRY_VISIBLE state_error : public error {
public:
    using error::error;
};

// A data check failed inside a copy transaction (counts differ); the transaction was rolled back.
class FERRY_VISIBLE verification_error : public error {
public:
    using error::error;
};

}  // namespace ferry
