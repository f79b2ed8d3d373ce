// Keto's config file and namespace files (spec 5, 5.1). yaml-cpp reads both YAML and JSON,
// since JSON is a subset of YAML. Every error is one line: where (file, entry, line), what is
// wrong, what to do.
#include <ferry/core/config.hpp>
#include <ferry/errors.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace ferry::core {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view file_uri_prefix = "file://";

// A namespace plus where it came from, so that a duplicate can name both places.
struct located_namespace {
    namespace_config ns;
    std::string where;
};

[[noreturn]] void fail(const std::string& where, const std::string& problem) {
    throw config_error(where + ": " + problem);
}

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "an object";
        case YAML::NodeType::Scalar: return "\"" + node.Scalar() + "\"";
        default: return "nothing";
    }
}

// yaml-cpp tags plain (unquoted) scalars "?"; quoted ones get "!" and explicit tags their own.
bool is_plain(const YAML::Node& node) { return node.Tag() == "?" || node.Tag().empty(); }

std::string with_line(std::string where, const YAML::Node& node) {
    const auto mark = node.Mark();
    if (mark.line >= 0) where += " (line " + std::to_string(mark.line + 1) + ")";
    return where;
}

std::string read_file(const fs::path& path, const std::string& where) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) fail(where, "does not exist; check the path");
    if (fs::is_directory(status)) fail(where, "is a directory, not a file; give a file's path");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(where, "cannot be opened (" + std::generic_category().message(errno) +
                        "); check its permissions");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail(where, "cannot be read; check the file and its permissions");
    return text.str();
}

YAML::Node parse_yaml(const std::string& text, const std::string& where) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        std::string position;
        if (e.mark.line >= 0)
            position = " at line " + std::to_string(e.mark.line + 1) + ", column " +
                       std::to_string(e.mark.column + 1);
        fail(where, "malformed YAML/JSON" + position + ": " + e.msg + "; fix the syntax");
    }
}

// Decimal integers only: "1.5", "0x10", "1e3" and "abc" are not namespace ids.
std::int64_t parse_id(const YAML::Node& node, const std::string& where) {
    const std::string& text = node.Scalar();
    const std::string hint = "; give every namespace a unique integer id >= 0";
    if (!is_plain(node))
        fail(where, "`id` must be an integer, found the string \"" + text +
                        "\"; remove the quotes");
    std::string_view digits = text;
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+'))
        digits.remove_prefix(1);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        fail(where, "`id` must be an integer, found \"" + text + "\"" + hint);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size())
        fail(where, "`id` " + text + " is too large" + hint);
    if (negative && value != 0) fail(where, "`id` must be >= 0, found " + text + hint);
    return value;
}

// YAML reads an unquoted 12, true or null as a number, a boolean or nothing; Keto's schema
// wants a string, so such names must be quoted.
bool resolves_to_non_string(std::string_view text) {
    static constexpr std::string_view words[] = {
        "null",  "Null",  "NULL", "~",    "true",  "True",  "TRUE",  "false", "False",
        "FALSE", ".inf",  ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf",
        "+.INF", ".nan",  ".NaN", ".NAN"};
    if (std::find(std::begin(words), std::end(words), text) != std::end(words)) return true;

    // A number: [-+] (digits [. digits*] | . digits) [(e|E) [-+] digits]
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        return i > start;
    };
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    const bool integer_part = digits();
    bool fraction_part = false;
    if (i < text.size() && text[i] == '.') {
        ++i;
        fraction_part = digits();
    }
    if (!integer_part && !fraction_part) return false;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
        if (!digits()) return false;
    }
    return i == text.size();
}

namespace_config parse_entry(const YAML::Node& node, const std::string& where) {
    if (!node.IsMap())
        fail(where, "a namespace must be an object {id, name} (config is optional), found " +
                        describe(node));
    for (const auto& item : node) {
        if (!item.first.IsScalar()) fail(where, "a namespace has a key that is not a string");
        const std::string& key = item.first.Scalar();
        if (key != "id" && key != "name" && key != "config")
            fail(where, "unknown key `" + key +
                            "` in a namespace; the allowed keys are id, name and config");
    }

    namespace_config out;
    const YAML::Node id = node["id"];
    if (!id.IsDefined() || id.IsNull())
        fail(where, "`id` is missing; give every namespace a unique integer id >= 0 (it is part "
                    "of the v0.6 table names)");
    if (!id.IsScalar()) fail(where, "`id` must be an integer >= 0, found " + describe(id));
    out.id = parse_id(id, where);

    const YAML::Node name = node["name"];
    if (!name.IsDefined()) fail(where, "`name` is missing; give every namespace a unique name");
    if (name.IsNull()) fail(where, "`name` is empty; give every namespace a unique name");
    if (!name.IsScalar()) fail(where, "`name` must be a string, found " + describe(name));
    if (is_plain(name) && resolves_to_non_string(name.Scalar()))
        fail(where, "`name` must be a string, found the bare value " + name.Scalar() +
                        "; put it in quotes");
    if (name.Scalar().empty())
        fail(where, "`name` is empty; give every namespace a unique name");
    out.name = name.Scalar();

    const YAML::Node extra = node["config"];
    if (extra.IsDefined() && !extra.IsNull() && !extra.IsMap())
        fail(where, "`config` must be an object, found " + describe(extra) + "; or leave it out");
    return out;
}

void parse_list(const YAML::Node& list, const std::string& where, const std::string& index_label,
                std::vector<located_namespace>& out) {
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string entry_where =
            with_line(where + ", " + index_label + "[" + std::to_string(i) + "]", list[i]);
        out.push_back({parse_entry(list[i], entry_where), entry_where});
    }
}

// Keto reads one namespace object per file; a list of them is accepted too, for convenience.
void load_namespace_file(const fs::path& path, std::vector<located_namespace>& out) {
    const std::string where = "namespace file " + quoted(path);
    const YAML::Node doc = parse_yaml(read_file(path, where), where);
    if (!doc.IsDefined() || doc.IsNull())
        fail(where, "is empty; put one namespace object {id, name} (or a list of them) in it");
    if (doc.IsSequence()) {
        parse_list(doc, where, "", out);
    } else {
        const std::string entry_where = with_line(where, doc);
        out.push_back({parse_entry(doc, entry_where), entry_where});
    }
}

std::string lower_extension(const fs::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return ext;
}

void load_namespace_directory(const fs::path& dir, const std::string& where,
                              std::vector<located_namespace>& out) {
    std::vector<fs::path> files;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) fail(where, "namespace directory " + quoted(dir) + " cannot be listed (" +
                            ec.message() + "); check its permissions");
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) continue;
        const auto ext = lower_extension(it->path());
        if (ext == ".toml")
            fail("namespace file " + quoted(it->path()),
                 "TOML namespace files are not supported; convert it to YAML or JSON");
        if (ext == ".json" || ext == ".yaml" || ext == ".yml") files.push_back(it->path());
    }
    if (ec) fail(where, "namespace directory " + quoted(dir) + " cannot be listed (" +
                            ec.message() + "); check its permissions");
    // Directory order is arbitrary; file-name order makes every run see the same list.
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const auto& file : files) load_namespace_file(file, out);
}

void load_namespace_uri(const std::string& uri, const std::string& where,
                        std::vector<located_namespace>& out) {
    if (uri.compare(0, file_uri_prefix.size(), file_uri_prefix) != 0)
        fail(where, "namespaces given as a string must be a file:// URI (e.g. "
                    "file://./keto_namespaces), found \"" + uri + "\"; only file:// is supported");
    const fs::path path = uri.substr(file_uri_prefix.size());
    if (path.empty()) fail(where, "the URI \"" + uri + "\" names no path");
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status))
        fail(where, "the namespace path " + quoted(path) + " (from " + uri +
                        ") does not exist; create it or fix the URI");
    if (fs::is_directory(status))
        load_namespace_directory(path, where, out);
    else
        load_namespace_file(path, out);
}

std::vector<located_namespace> namespaces_from_env(const std::string& value) {
    const std::string where = "environment variable NAMESPACES";
    std::vector<located_namespace> out;
    std::string_view trimmed = value;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
        trimmed.remove_prefix(1);
    // Checked before YAML parsing: a path may contain ": ", which YAML would read as a map.
    if (trimmed.substr(0, file_uri_prefix.size()) == file_uri_prefix) {
        std::string uri(trimmed);
        while (!uri.empty() && std::isspace(static_cast<unsigned char>(uri.back()))) uri.pop_back();
        load_namespace_uri(uri, where, out);
        return out;
    }
    const YAML::Node doc = parse_yaml(value, where);
    if (doc.IsSequence())
        parse_list(doc, where, "", out);
    else if (doc.IsScalar())
        load_namespace_uri(doc.Scalar(), where, out);
    else
        fail(where, "must be a JSON list of {id, name} objects or a file:// URI, found " +
                        describe(doc));
    return out;
}

std::vector<namespace_config> check_unique(const std::vector<located_namespace>& found) {
    std::vector<namespace_config> out;
    out.reserve(found.size());
    for (std::size_t i = 0; i < found.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (found[j].ns.id == found[i].ns.id)
                fail(found[i].where, "namespace id " + std::to_string(found[i].ns.id) +
                                         " is already used by \"" + found[j].ns.name + "\" (" +
                                         found[j].where + "); give each namespace its own id");
            if (found[j].ns.name == found[i].ns.name)
                fail(found[i].where, "namespace name \"" + found[i].ns.name +
                                         "\" is already used by id " +
                                         std::to_string(found[j].ns.id) + " (" + found[j].where +
                                         "); give each namespace its own name");
        }
        out.push_back(found[i].ns);
    }
    return out;
}

const char* non_empty_env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

const namespace_config* config::find_by_name(std::string_view name) const {
    for (const auto& ns : namespaces)
        if (ns.name == name) return &ns;
    return nullptr;
}

const namespace_config* config::find_by_id(std::int64_t id) const {
    for (const auto& ns : namespaces)
        if (ns.id == id) return &ns;
    return nullptr;
}

config load_config(const fs::path& file) {
    const std::string where = "config file " + quoted(file);
    const YAML::Node doc = parse_yaml(read_file(file, where), where);
    config cfg;
    if (!doc.IsDefined() || doc.IsNull()) {
        // An empty file is a config with nothing set; resolve_dsn reports the missing DSN.
    } else if (!doc.IsMap()) {
        fail(where, "the top level must be a mapping with keys such as dsn: and namespaces:, "
                    "found " + describe(doc));
    }

    const YAML::Node dsn = doc["dsn"];
    if (dsn.IsDefined() && !dsn.IsNull()) {
        if (!dsn.IsScalar())
            fail(where, "`dsn` must be a string such as postgres://user:password@host/keto, "
                        "found " + describe(dsn));
        cfg.dsn = dsn.Scalar();
    }

    std::vector<located_namespace> found;
    if (const char* env = non_empty_env("NAMESPACES")) {
        // Keto lets the environment override the file, so the file's value is not even read.
        found = namespaces_from_env(env);
    } else if (const YAML::Node ns = doc["namespaces"]; ns.IsDefined() && !ns.IsNull()) {
        if (ns.IsSequence())
            parse_list(ns, where, "namespaces", found);
        else if (ns.IsScalar())
            load_namespace_uri(ns.Scalar(), with_line(where + ", `namespaces`", ns), found);
        else
            fail(with_line(where, ns), "`namespaces` must be a list of {id, name} objects or a "
                                       "file:// URI, found " + describe(ns));
    }
    cfg.namespaces = check_unique(found);
    return cfg;
}

config config_from_environment() {
    config cfg;
    if (const char* env = non_empty_env("NAMESPACES"))
        cfg.namespaces = check_unique(namespaces_from_env(env));
    return cfg;
}

std::string resolve_dsn(const std::optional<std::string>& flag, const config& cfg) {
    if (flag && !flag->empty()) return *flag;
    if (const char* env = non_empty_env("DSN")) return env;
    if (cfg.dsn && !cfg.dsn->empty()) return *cfg.dsn;
    throw config_error(
        "no database configured: pass --dsn, set DSN, or put `dsn:` in the config file (-c)");
}

}  // namespace ferry::core
