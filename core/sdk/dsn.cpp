// DSN parsing and redaction (spec 5.2). Every message that echoes a DSN goes through a masked
// copy of it: the password must never reach a terminal or a log, even when the DSN is broken.
#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace ferry {
namespace {

constexpr std::string_view mask = "xxxxx";
constexpr std::string_view memory_shorthand = "memory";
constexpr std::string_view memory_expansion = "sqlite://file::memory:?_fk=true&cache=shared";

// Keto reads these itself to size its connection pool; a driver would reject them as unknown.
constexpr std::array<std::string_view, 4> pool_options{"max_conns", "max_idle_conns",
                                                       "max_conn_lifetime", "max_conn_idle_time"};

// Characters that survive unencoded when a component is rendered back into a DSN, on top of
// the RFC 3986 unreserved set. Each set leaves out the delimiters that would end its component.
constexpr std::string_view userinfo_keep = "!$&'()*+,;=";
constexpr std::string_view host_keep = "!$&'()*+,;=";
constexpr std::string_view database_keep = "!$&'()*+,;=:@";
constexpr std::string_view file_path_keep = "!$&'()*+,;=:@/";
constexpr std::string_view query_keep = "!$'()*,;:@/";

char ascii_lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

std::string percent_encode(std::string_view s, std::string_view keep, bool lower_hex = false) {
    const char* digits = lower_hex ? "0123456789abcdef" : "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += digits[byte >> 4];
            out += digits[byte & 0x0f];
        }
    }
    return out;
}

// Query parameters may hold secrets of their own (libpq's password/sslpassword, go-sqlite3's
// _auth_pass); they are masked like the password.
bool is_secret_key(std::string_view key) {
    const std::string k = to_lower(key);
    return k.find("pass") != std::string::npos || k.find("pwd") != std::string::npos;
}

bool is_pool_option(std::string_view key) {
    return std::find(pool_options.begin(), pool_options.end(), key) != pool_options.end();
}

bool is_file_scheme(std::string_view scheme) { return scheme == "sqlite" || scheme == "sqlite3"; }

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
    if (needle.empty()) return;
    for (auto pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + with.size())) {
        text.replace(pos, needle.size(), with);
    }
}

// Masks the value of every `key=value` whose key looks secret, whatever separates the pairs
// (`&` in a URL query, spaces in a libpq keyword string someone pasted by mistake).
std::string mask_secret_pairs(std::string text) {
    auto is_separator = [](char c) {
        return c == '&' || c == '?' || c == ';' || std::isspace(static_cast<unsigned char>(c));
    };
    for (std::size_t eq = text.find('='); eq != std::string::npos; eq = text.find('=', eq + 1)) {
        std::size_t key_begin = eq;
        while (key_begin > 0 && !is_separator(text[key_begin - 1])) --key_begin;
        if (!is_secret_key(std::string_view(text).substr(key_begin, eq - key_begin))) continue;
        std::size_t value_end = eq + 1;
        while (value_end < text.size() && !is_separator(text[value_end])) ++value_end;
        if (value_end > eq + 1) text.replace(eq + 1, value_end - eq - 1, mask);
    }
    return text;
}

// Used when the DSN is too broken to find its user info reliably: masks everything between
// the first ':' of the would-be user info and the last '@'. Over-masking is the safe error.
std::string mask_unparsed(std::string_view text) {
    std::string out(text);
    const auto at = out.rfind('@');
    if (at != std::string::npos) {
        auto start = out.find("://");
        start = (start == std::string::npos || start > at) ? 0 : start + 3;
        const auto colon = out.find(':', start);
        if (colon != std::string::npos && colon + 1 < at)
            out.replace(colon + 1, at - colon - 1, mask);
    }
    return mask_secret_pairs(std::move(out));
}

class parser {
public:
    explicit parser(std::string_view text) : text_(text), shown_(mask_unparsed(text)) {}

    dsn parse() {
        if (text_.empty())
            fail("the DSN is empty; set it with --dsn, the DSN variable or `dsn:` in the config "
                 "file");
        const auto sep = text_.find("://");
        if (sep == std::string_view::npos)
            fail("it has no scheme; expected SCHEME://..., e.g. "
                 "postgres://user:password@host:5432/keto, sqlite://./keto.db or memory");
        check_scheme(text_.substr(0, sep));

        dsn out;
        out.scheme = to_lower(text_.substr(0, sep));
        rest_offset_ = sep + 3;
        if (is_file_scheme(out.scheme))
            parse_file_form(out);
        else if (out.scheme != "mysql" || !parse_mysql_go_form(out))
            parse_url_form(out);
        return out;
    }

private:
    std::string_view text_;
    std::string shown_;  // text_ with secrets masked: the only form any message may quote
    std::size_t rest_offset_ = 0;

    [[noreturn]] void fail(const std::string& problem) const {
        throw config_error("invalid DSN \"" + shown_ + "\": " + problem);
    }

    std::string_view rest() const { return text_.substr(rest_offset_); }

    void check_scheme(std::string_view scheme) const {
        // The scheme is not quoted back: when '://' appears late, it may hold a password.
        const bool valid =
            !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme.front())) &&
            std::all_of(scheme.begin(), scheme.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
                       c == '.';
            });
        if (!valid)
            fail("the text before '://' is not a scheme (a letter, then letters, digits, '+', "
                 "'-' or '.'); start the DSN with e.g. postgres://");
    }

    // Once the user info is located, the masked copy can be exact instead of heuristic.
    void set_user_info_span(std::size_t begin, std::size_t end) {
        const auto info = text_.substr(begin, end - begin);
        const auto colon = info.find(':');
        std::string shown(text_);
        if (colon != std::string_view::npos && colon + 1 < info.size())
            shown.replace(begin + colon + 1, info.size() - colon - 1, mask);
        shown_ = mask_secret_pairs(std::move(shown));
    }

    // Without user info, an '@' elsewhere might still mean a password we failed to spot.
    void set_no_user_info() {
        if (text_.find('@') == std::string_view::npos)
            shown_ = mask_secret_pairs(std::string(text_));
    }

    void parse_user_info(std::string_view info, dsn& out) const {
        const auto colon = info.find(':');
        out.user = decode(info.substr(0, colon), "the user name", false);
        if (colon != std::string_view::npos)
            out.password = decode(info.substr(colon + 1), "the password", false);
    }

    std::string decode(std::string_view s, const std::string& what, bool plus_is_space) const {
        std::string out;
        out.reserve(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '%') {
                const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
                const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    fail(what + " contains a '%' that does not start a %XX escape; write a "
                                "literal '%' as %25");
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
            } else if (plus_is_space && s[i] == '+') {
                out += ' ';
            } else {
                out += s[i];
            }
        }
        return out;
    }

    unsigned parse_port(std::string_view s) const {
        if (s.empty()) fail("the port after ':' is empty; give a port 1-65535 or drop the ':'");
        // A non-numeric port is not quoted: it is often the tail of a password whose ':', '@',
        // '/' or '?' was not percent-encoded.
        if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            fail("the port is not a number; expected 1-65535 (percent-encode ':', '@', '/' and "
                 "'?' in the user name and password)");
        unsigned long value = 0;
        for (char c : s) {
            value = value * 10 + static_cast<unsigned long>(c - '0');
            if (value > 65535) break;
        }
        if (value == 0 || value > 65535)
            fail("port " + std::string(s) + " is out of range; expected 1-65535");
        return static_cast<unsigned>(value);
    }

    void parse_host_port(std::string_view s, dsn& out) const {
        if (s.empty()) return;
        if (s.front() == '[') {
            const auto close = s.find(']');
            if (close == std::string_view::npos)
                fail("the IPv6 address has no closing ']'; write it as [ADDRESS]:PORT");
            if (close == 1) fail("the IPv6 address between '[' and ']' is empty");
            out.host = decode(s.substr(1, close - 1), "the host", false);
            const auto after = s.substr(close + 1);
            if (after.empty()) return;
            if (after.front() != ':')
                fail("unexpected text after the IPv6 address; write it as [ADDRESS]:PORT");
            out.port = parse_port(after.substr(1));
            return;
        }
        const auto colon = s.find(':');
        if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos)
            fail("the host has more than one ':'; put an IPv6 address in brackets, e.g. "
                 "[::1]:5432");
        out.host = decode(s.substr(0, colon), "the host", false);
        if (colon != std::string_view::npos) out.port = parse_port(s.substr(colon + 1));
    }

    void parse_query(std::string_view query, dsn& out) const {
        while (!query.empty()) {
            const auto amp = query.find('&');
            const auto pair = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (pair.empty()) continue;
            const auto eq = pair.find('=');
            auto key = decode(pair.substr(0, eq), "a query parameter name", true);
            std::string value;
            if (eq != std::string_view::npos)
                value = decode(pair.substr(eq + 1), "query parameter \"" + key + "\"", true);
            if (is_pool_option(key)) continue;
            out.params.emplace_back(std::move(key), std::move(value));
        }
    }

    void parse_path(std::string_view path, dsn& out) const {
        if (!path.empty()) out.database = decode(path.substr(1), "the database name", false);
    }

    // go-sqlite3 takes everything after the scheme as a file name plus driver options.
    void parse_file_form(dsn& out) {
        set_no_user_info();
        const auto r = rest();
        const auto q = r.find('?');
        const auto path = r.substr(0, q);
        if (path.empty())
            fail("it names no database file; e.g. sqlite://./keto.db?_fk=true, "
                 "sqlite:///var/lib/keto/db.sqlite or memory");
        out.database = decode(path, "the file path", false);
        if (q != std::string_view::npos) parse_query(r.substr(q + 1), out);
    }

    // go-sql-driver's own form, which Keto passes through: user:pass@tcp(host:port)/db.
    // Returns false when the DSN has no net(address) part, so the URL form applies.
    bool parse_mysql_go_form(dsn& out) {
        const auto r = rest();
        const auto q = r.find('?');
        const auto head = r.substr(0, q);

        std::size_t info_end = std::string_view::npos;  // user info ends before this '@'
        std::size_t net_begin = std::string_view::npos;
        std::string_view net;
        for (std::string_view candidate : {"tcp(", "unix("}) {
            std::size_t at_pos = std::string_view::npos;
            std::size_t begin = std::string_view::npos;
            if (head.substr(0, candidate.size()) == candidate) {
                begin = 0;
            } else {
                // The first "@tcp(" is the last '@' before the address, so a raw '@' in the
                // password stays in the password.
                at_pos = head.find(std::string("@").append(candidate));
                if (at_pos != std::string_view::npos) begin = at_pos + 1;
            }
            if (begin != std::string_view::npos && begin < net_begin) {
                net_begin = begin;
                info_end = at_pos;
                net = candidate;
            }
        }
        if (net_begin == std::string_view::npos) return false;

        if (info_end != std::string_view::npos) {
            set_user_info_span(rest_offset_, rest_offset_ + info_end);
            parse_user_info(head.substr(0, info_end), out);
        } else {
            set_no_user_info();
        }

        const auto addr_begin = net_begin + net.size();
        const auto close = head.find(')', addr_begin);
        if (close == std::string_view::npos)
            fail("'" + std::string(net) + "' has no closing ')'; write " +
                 (net == "tcp(" ? "tcp(HOST:PORT)" : "unix(/path/to/socket)"));
        const auto addr = head.substr(addr_begin, close - addr_begin);
        if (net == "tcp(") {
            parse_host_port(addr, out);
        } else {
            if (addr.empty()) fail("unix() names no socket path; write unix(/path/to/socket)");
            out.host = decode(addr, "the socket path", false);
        }

        const auto path = head.substr(close + 1);
        if (!path.empty() && path.front() != '/')
            fail("expected '/' after the closing ')', e.g. tcp(localhost:3306)/keto");
        parse_path(path, out);
        if (q != std::string_view::npos) parse_query(r.substr(q + 1), out);
        return true;
    }

    // scheme://[user[:password]@]host[:port][/database][?query]
    void parse_url_form(dsn& out) {
        const auto r = rest();
        const auto q = r.find('?');
        const auto head = r.substr(0, q);
        // The last '@' before the query ends the user info, as in Go's URL parser; this keeps
        // a raw '@' or '/' in a password inside the password.
        const auto at = head.rfind('@');
        std::size_t host_begin = 0;
        if (at != std::string_view::npos) {
            set_user_info_span(rest_offset_, rest_offset_ + at);
            parse_user_info(head.substr(0, at), out);
            host_begin = at + 1;
        } else {
            set_no_user_info();
        }
        const auto slash = head.find('/', host_begin);
        const auto authority = head.substr(host_begin, slash == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : slash - host_begin);
        parse_host_port(authority, out);
        if (slash != std::string_view::npos) parse_path(head.substr(slash), out);
        if (q != std::string_view::npos) parse_query(r.substr(q + 1), out);
    }
};

std::string_view trim(std::string_view s) {
    auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string render_host(const std::string& host, const std::optional<unsigned>& port) {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]"
                                                           : percent_encode(host, host_keep);
    if (port) out += ":" + std::to_string(*port);
    return out;
}

// Lower-case hex is as valid as upper-case, and a DSN written by hand may use either.
std::string lower_escapes(std::string s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            s[i + 1] = ascii_lower(s[i + 1]);
            s[i + 2] = ascii_lower(s[i + 2]);
            i += 2;
        }
    }
    return s;
}

}  // namespace

std::string dsn::redacted() const {
    std::string out = scheme + "://";
    if (is_file_scheme(scheme)) {
        out += percent_encode(database, file_path_keep);
    } else {
        if (!user.empty() || password) {
            out += percent_encode(user, userinfo_keep);
            if (password) out += ":" + std::string(password->empty() ? "" : mask);
            out += "@";
        }
        if (scheme == "mysql") {
            // Rendered in go-sql-driver's form, which is what Keto documents for MySQL.
            if (!host.empty() && host.front() == '/')
                out += "unix(" + host + ")";
            else if (!host.empty() || port)
                out += "tcp(" + render_host(host, port) + ")";
            out += "/" + percent_encode(database, database_keep);
        } else {
            out += render_host(host, port);
            if (!database.empty()) out += "/" + percent_encode(database, database_keep);
        }
    }
    char separator = '?';
    for (const auto& [key, value] : params) {
        out += separator;
        out += percent_encode(key, query_keep) + "=" +
               (is_secret_key(key) && !value.empty() ? std::string(mask)
                                                     : percent_encode(value, query_keep));
        separator = '&';
    }
    return out;
}

dsn parse_dsn(std::string_view text) {
    text = trim(text);
    if (text == memory_shorthand) text = memory_expansion;
    return parser(text).parse();
}

std::string redact_password(std::string text, const dsn& source) {
    std::vector<std::string> secrets;
    auto add = [&secrets](const std::string& secret) {
        if (secret.empty()) return;
        // The ways a secret may appear in a driver message: decoded, or encoded as it would
        // be in a DSN, with minimal or full escaping and either hex case; '+' for spaces in
        // query form.
        for (std::string_view keep : {userinfo_keep, query_keep, std::string_view{}}) {
            const auto encoded = percent_encode(secret, keep);
            auto plus_form = percent_encode(secret, std::string(keep) + " ");
            std::replace(plus_form.begin(), plus_form.end(), ' ', '+');
            for (const auto& form : {encoded, plus_form}) {
                secrets.push_back(form);
                secrets.push_back(lower_escapes(form));
            }
        }
        secrets.push_back(secret);
    };
    if (source.password) add(*source.password);
    for (const auto& [key, value] : source.params)
        if (is_secret_key(key)) add(value);

    // Longest first, so that a raw secret never leaves half of its encoded form behind.
    std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() > b.size() : a < b;
    });
    secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
    for (const auto& secret : secrets) replace_all(text, secret, mask);
    return text;
}

}  // namespace ferry
