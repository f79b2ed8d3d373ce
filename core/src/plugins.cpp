#include <ferry/core/plugins.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <ferry/errors.hpp>
#include <ferry/plugin.hpp>

namespace ferry::core {

struct plugin_registry::loaded {
    boost::dll::shared_library library;
    const ferry_plugin_descriptor* descriptor = nullptr;
    plugin_info info;
};

namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_path_list(std::string_view list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto end = list.find(':', start);
        if (end == std::string_view::npos) end = list.size();
        if (end > start) out.emplace_back(list.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// Anyone who can write a plugin file or its directory can run code as the operator.
std::optional<std::string> unsafe_permissions(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    if (st.st_mode & S_IWOTH) return path.string() + " is world-writable";
    return std::nullopt;
}

// Loads one file and checks its descriptor. Returns the reason when the file is refused.
std::variant<std::shared_ptr<plugin_registry::loaded>, std::string> load_one(const fs::path& file) {
    auto plugin = std::make_shared<plugin_registry::loaded>();
    try {
        plugin->library.load(file.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return std::string("not a loadable shared library (") + e.what() + ")";
    }
    if (!plugin->library.has(FERRY_PLUGIN_ENTRY_SYMBOL))
        return "no " FERRY_PLUGIN_ENTRY_SYMBOL " entry point; not a ferry dialect plugin";
    auto& entry = plugin->library.get<ferry_plugin_entry_fn>(FERRY_PLUGIN_ENTRY_SYMBOL);
    const ferry_plugin_descriptor* d = entry();
    if (d == nullptr) return "entry point returned no descriptor";
    // abi_version is read before any other field: its meaning is the one thing every ABI shares.
    if (d->abi_version != FERRY_PLUGIN_ABI_VERSION)
        return "built for plugin ABI " + std::to_string(d->abi_version) + ", this ferry loads ABI " +
               std::to_string(FERRY_PLUGIN_ABI_VERSION) + "; rebuild the plugin against this ferry's SDK";
    if (d->descriptor_size != sizeof(ferry_plugin_descriptor))
        return "descriptor size " + std::to_string(d->descriptor_size) + " differs from " +
               std::to_string(sizeof(ferry_plugin_descriptor)) + "; rebuild the plugin against this ferry's SDK";
    if (d->toolchain == nullptr || std::strcmp(d->toolchain, FERRY_TOOLCHAIN_STAMP) != 0)
        return std::string("built with toolchain ") + (d->toolchain ? d->toolchain : "(none)") +
               ", this ferry with " FERRY_TOOLCHAIN_STAMP "; rebuild the plugin with the same compiler";
    if (d->name == nullptr || d->schemes == nullptr || d->create == nullptr || d->destroy == nullptr)
        return "descriptor is incomplete (name, schemes, create and destroy are required)";
    plugin->descriptor = d;
    plugin->info.name = d->name;
    plugin->info.version = d->version ? d->version : "";
    plugin->info.abi_version = d->abi_version;
    plugin->info.toolchain = d->toolchain;
    plugin->info.file = file;
    for (auto s = d->schemes; *s; ++s) plugin->info.schemes.emplace_back(*s);
    return plugin;
}

}  // namespace

std::vector<fs::path> plugin_search_path(const std::vector<std::string>& plugin_dirs) {
    std::vector<fs::path> dirs(plugin_dirs.begin(), plugin_dirs.end());
    if (const char* env = std::getenv("FERRY_PLUGIN_PATH"))
        for (auto& d : split_path_list(env)) dirs.emplace_back(d);
    const fs::path exe = boost::dll::program_location().string();
    dirs.push_back((exe.parent_path().parent_path() / FERRY_PLUGIN_SUBDIR).lexically_normal());
    return dirs;
}

plugin_registry plugin_registry::load(const std::vector<fs::path>& dirs) {
    plugin_registry reg;
    reg.dirs_ = dirs;
    std::set<fs::path> seen_dirs;
    for (const auto& dir : dirs) {
        std::error_code ec;
        auto canonical = fs::weakly_canonical(dir, ec);
        if (!seen_dirs.insert(ec ? dir : canonical).second) continue;
        if (!fs::is_directory(dir, ec)) continue;
        if (auto unsafe = unsafe_permissions(dir)) {
            reg.refused_.push_back({dir, *unsafe + "; its plugins are ignored (fix with chmod o-w)", true});
            continue;
        }
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            if (auto unsafe = unsafe_permissions(file)) {
                reg.refused_.push_back({file, *unsafe + "; fix with chmod o-w", true});
                continue;
            }
            auto result = load_one(file);
            if (auto* reason = std::get_if<std::string>(&result)) {
                reg.refused_.push_back({file, *reason});
                continue;
            }
            auto plugin = std::get<std::shared_ptr<loaded>>(std::move(result));
            std::string clash;
            for (const auto& scheme : plugin->info.schemes)
                for (const auto& other : reg.infos_)
                    if (std::find(other.schemes.begin(), other.schemes.end(), scheme) != other.schemes.end())
                        clash = "scheme " + scheme + " is already served by " + other.file.string() +
                                " (found earlier in the search path); remove one of them";
            if (!clash.empty()) {
                reg.refused_.push_back({file, clash});
                continue;
            }
            reg.infos_.push_back(plugin->info);
            reg.loaded_.push_back(std::move(plugin));
        }
    }
    return reg;
}

std::shared_ptr<dialect> plugin_registry::create(std::string_view scheme) const {
    for (const auto& plugin : loaded_) {
        const auto& s = plugin->info.schemes;
        if (std::find(s.begin(), s.end(), scheme) == s.end()) continue;
        dialect* d = plugin->descriptor->create();
        if (!d) throw plugin_error("plugin " + plugin->info.file.string() + " failed to create its dialect");
        // The deleter holds the library: no dialect object outlives its code.
        return std::shared_ptr<dialect>(d, [plugin](dialect* p) { plugin->descriptor->destroy(p); });
    }
    std::string served;
    for (const auto& info : infos_)
        for (const auto& s : info.schemes) served += (served.empty() ? "" : ", ") + s + "://";
    std::string message = "no dialect plugin serves the DSN scheme \"" + std::string(scheme) + "\"; ";
    if (served.empty()) {
        message += "no plugin was loaded from";
        for (const auto& d : dirs_) message += " " + d.string();
        message += " (see `ferry plugins list`)";
    } else {
        message += "the loaded plugins serve " + served;
        // The plugin for this scheme may be among the refused files: point at the reasons.
        if (!refused_.empty())
            message += "; " + std::to_string(refused_.size()) + " plugin file" +
                       (refused_.size() == 1 ? " was" : "s were") + " refused (see `ferry plugins list`)";
    }
    throw plugin_error(message);
}

database open_database(const plugin_registry& registry, const ferry::dsn& source) {
    database db;
    db.dialect = registry.create(source.scheme);
    db.source = source;
    try {
        db.conn = db.dialect->open(source);
    } catch (const ferry::error& e) {
        // Drivers echo connection strings in places; the password never leaves this function.
        auto message = redact_password(e.what(), source);
        if (dynamic_cast<const config_error*>(&e)) throw config_error(message);
        if (dynamic_cast<const permission_error*>(&e)) throw permission_error(message);
        throw connection_error("cannot connect to " + source.redacted() + ": " + message);
    } catch (const std::exception& e) {
        throw connection_error("cannot connect to " + source.redacted() + ": " +
                               redact_password(e.what(), source));
    }
    return db;
}

void require_write_privileges(database& db) {
    const auto missing = db.dialect->missing_write_privileges(*db.conn);
    if (missing.empty()) return;
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw permission_error("this command writes, but the session on " + db.source.redacted() + " lacks: " + list +
                           "; grant the privileges (or fix the file permissions) or connect as a user who has them. "
                           "Nothing was changed");
}

}  // namespace ferry::core
