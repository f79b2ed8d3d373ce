// Finding, checking and loading dialect plugins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ferry/dialect.hpp>
#include <ferry/dsn.hpp>

namespace ferry::core {

struct plugin_info {
    std::string name;
    std::vector<std::string> schemes;
    std::string version;
    std::uint32_t abi_version = 0;
    std::string toolchain;
    std::filesystem::path file;
};

struct refused_plugin {
    std::filesystem::path file;
    std::string reason;
    // Refused because others could write it: worth a warning on every command, not only in
    // `ferry plugins list`.
    bool unsafe = false;
};

// The directories searched, in order: each --plugin-dir, then FERRY_PLUGIN_PATH
// (colon-separated), then lib/ferry/plugins next to the running binary.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& plugin_dirs);

class plugin_registry {
public:
    // Loads every *.so in `dirs`. A file that cannot be used is refused (kept in refused())
    // with its reason. Loading runs the library's static initialisers and its entry function
    // (which only returns a static descriptor); nothing else of a plugin runs before its ABI
    // version and toolchain stamp were checked.
    static plugin_registry load(const std::vector<std::filesystem::path>& dirs);

    const std::vector<plugin_info>& plugins() const { return infos_; }
    const std::vector<refused_plugin>& refused() const { return refused_; }
    const std::vector<std::filesystem::path>& searched() const { return dirs_; }

    // A dialect from the plugin serving `scheme`. The returned object keeps its library loaded.
    // Throws plugin_error naming the schemes the loaded plugins serve.
    std::shared_ptr<dialect> create(std::string_view scheme) const;

    struct loaded;  // a library and its descriptor

private:
    std::vector<std::filesystem::path> dirs_;
    std::vector<std::shared_ptr<loaded>> loaded_;
    std::vector<plugin_info> infos_;
    std::vector<refused_plugin> refused_;
};

// An open database: the dialect that serves it and one connection. Members are destroyed in
// reverse order, so the connection (whose code lives in the plugin) goes before the dialect
// that keeps the plugin loaded.
struct database {
    std::shared_ptr<ferry::dialect> dialect;
    ferry::dsn source;
    std::unique_ptr<connection> conn;
};

database open_database(const plugin_registry& registry, const ferry::dsn& source);

// Throws permission_error naming every missing privilege, before anything was written.
void require_write_privileges(database& db);

}  // namespace ferry::core
