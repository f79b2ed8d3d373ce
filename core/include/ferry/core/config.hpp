// Keto's configuration file, read unchanged: `dsn` and `namespaces` (inline list or file://).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::core {

struct namespace_config {
    std::int64_t id = 0;
    std::string name;
};

struct config {
    std::optional<std::string> dsn;            // as written in the file; may hold a password
    std::vector<namespace_config> namespaces;  // in file order; ids and names unique

    const namespace_config* find_by_name(std::string_view name) const;
    const namespace_config* find_by_id(std::int64_t id) const;
};

// Reads a Keto YAML config. `namespaces` may be an inline list of {id, name[, config]} or a
// `file://PATH` URI naming one JSON/YAML namespace file or a directory of them (relative
// paths resolve against the current directory, as Keto does). The NAMESPACES environment
// variable, when set, overrides the file's value (JSON list or file:// URI), as in Keto.
// Throws config_error with one line naming the file, the key and what to fix.
config load_config(const std::filesystem::path& file);

// Config used when no -c is given: no DSN, namespaces from NAMESPACES if set, else none.
config config_from_environment();

// The DSN precedence: --dsn flag, then the DSN environment variable, then the config file.
// Throws config_error when none is set.
std::string resolve_dsn(const std::optional<std::string>& flag, const config& cfg);

}  // namespace ferry::core
