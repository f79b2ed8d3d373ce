// Text-level helpers that need no server: the DSN -> libpq translation and marker numbering.
#include <ferry/drivers/postgres.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>
#include <vector>

#include <ferry/errors.hpp>

namespace ferry::drivers::postgres {
namespace {

// The keywords this libpq accepts, asked of libpq itself so that a newer libpq's parameters
// (sslnegotiation, load_balance_hosts, ...) pass through without a Ferry release.
const std::set<std::string, std::less<>>& libpq_keywords() {
    static const std::set<std::string, std::less<>> keywords = [] {
        std::set<std::string, std::less<>> out;
        if (PQconninfoOption* options = PQconndefaults()) {
            for (auto* o = options; o->keyword; ++o) out.emplace(o->keyword);
            PQconninfoFree(options);
        }
        return out;
    }();
    return keywords;
}

// libpq's conninfo quoting: single quotes, with ' and \ escaped by a backslash.
void append_pair(std::string& out, std::string_view key, std::string_view val) {
    if (!out.empty()) out += ' ';
    out += key;
    out += "='";
    for (char c : val) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
}

// The server splits `options` on unescaped spaces, so spaces and backslashes inside a value
// are escaped with a backslash.
void append_server_setting(std::string& options, std::string_view key, std::string_view val) {
    if (!options.empty()) options += ' ';
    options += "-c ";
    options += key;
    options += '=';
    for (char c : val) {
        if (c == ' ' || c == '\\') options += '\\';
        options += c;
    }
}

bool is_identifier_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}

// End (one past) of a quoted run that starts at `begin` with `quote`; a doubled quote is an
// escaped one, and in E'' strings a backslash escapes the next byte. Unterminated runs end at
// the end of the text: the server reports the syntax error better than we could.
std::size_t end_of_quoted(std::string_view sql, std::size_t begin, char quote, bool backslash_escapes) {
    std::size_t i = begin + 1;
    while (i < sql.size()) {
        if (backslash_escapes && sql[i] == '\\') {
            i += 2;
            continue;
        }
        if (sql[i] == quote) {
            if (i + 1 < sql.size() && sql[i + 1] == quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        ++i;
    }
    return sql.size();
}

std::size_t end_of_block_comment(std::string_view sql, std::size_t begin) {
    int depth = 0;  // PostgreSQL's block comments nest
    std::size_t i = begin;
    while (i + 1 < sql.size()) {
        if (sql[i] == '/' && sql[i + 1] == '*') {
            ++depth;
            i += 2;
        } else if (sql[i] == '*' && sql[i + 1] == '/') {
            i += 2;
            if (--depth == 0) return i;
        } else {
            ++i;
        }
    }
    return sql.size();
}

// A dollar quote opens with $tag$ where tag is empty or an identifier not starting with a
// digit ($1 is a parameter). Returns 0 when `begin` does not open one.
std::size_t end_of_dollar_quoted(std::string_view sql, std::size_t begin) {
    std::size_t i = begin + 1;
    if (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i]))) return 0;
    while (i < sql.size() && sql[i] != '$') {
        if (!is_identifier_char(sql[i])) return 0;
        ++i;
    }
    if (i >= sql.size()) return 0;
    const auto tag = sql.substr(begin, i + 1 - begin);
    const auto close = sql.find(tag, i + 1);
    return close == std::string_view::npos ? sql.size() : close + tag.size();
}

}  // namespace

std::string conninfo(const dsn& source) {
    std::string out;
    if (!source.host.empty()) append_pair(out, "host", source.host);
    if (source.port) append_pair(out, "port", std::to_string(*source.port));
    if (!source.database.empty()) append_pair(out, "dbname", source.database);
    if (!source.user.empty()) append_pair(out, "user", source.user);
    if (source.password) append_pair(out, "password", *source.password);

    const auto& known = libpq_keywords();
    std::string server_options;
    auto given = [&](std::string_view key) { return source.param(key).has_value(); };
    for (const auto& [key, val] : source.params) {
        if (key == "options") {
            if (!server_options.empty()) server_options += ' ';
            server_options += val;
        } else if (known.count(key)) {
            append_pair(out, key, val);
        } else {
            if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
                }))
                throw config_error("DSN query parameter \"" + key +
                                   "\" is neither a libpq parameter nor a server setting name");
            append_server_setting(server_options, key, val);
        }
    }
    if (!server_options.empty()) append_pair(out, "options", server_options);
    // Legacy values are UTF-8 in Keto; COPY text and parameters travel in this encoding.
    if (!given("client_encoding")) append_pair(out, "client_encoding", "UTF8");
    // Shows up in pg_stat_activity, which is where an operator looks for "who holds the lock".
    if (!given("fallback_application_name") && !given("application_name"))
        append_pair(out, "fallback_application_name", "ferry");
    // Without it an unreachable host waits for the kernel's TCP timeout, minutes on Linux.
    if (!given("connect_timeout")) append_pair(out, "connect_timeout", "10");
    return out;
}

std::string number_markers(std::string_view sql, int* count) {
    std::string out;
    out.reserve(sql.size() + 16);
    int n = 0;
    std::size_t i = 0;
    while (i < sql.size()) {
        const char c = sql[i];
        const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
        std::size_t end = 0;
        if (c == '\'') {
            const bool escape_string =
                i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !is_identifier_char(sql[i - 2]));
            end = end_of_quoted(sql, i, '\'', escape_string);
        } else if (c == '"') {
            end = end_of_quoted(sql, i, '"', false);
        } else if (c == '-' && next == '-') {
            end = sql.find('\n', i);
            end = end == std::string_view::npos ? sql.size() : end;
        } else if (c == '/' && next == '*') {
            end = end_of_block_comment(sql, i);
        } else if (c == '$' && (i == 0 || !is_identifier_char(sql[i - 1]))) {
            end = end_of_dollar_quoted(sql, i);
        } else if (c == '?') {
            out += '$';
            out += std::to_string(++n);
            ++i;
            continue;
        }
        if (end > i) {
            out.append(sql.substr(i, end - i));
            i = end;
        } else {
            out += c;
            ++i;
        }
    }
    if (count) *count = n;
    return out;
}

}  // namespace ferry::drivers::postgres
