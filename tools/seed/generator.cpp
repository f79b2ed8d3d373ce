#include "generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <set>

#include <ferry/errors.hpp>

namespace ferry::seed {
namespace {

// splitmix64: the same numbers on every platform and standard library (std::*_distribution
// is implementation-defined, so it is not used).
constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class rng {
public:
    explicit rng(std::uint64_t state) : state_(state) {}
    std::uint64_t next() { return mix(state_ += golden); }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t state_;
};

void append(std::string& out, std::uint64_t n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

// Hard text for objects, relations and subjects: no ':' and no '#' (those change how a
// subject parses), at most 24 bytes each.
constexpr std::array<std::string_view, 16> fragments = {
    "it's",
    "say \"hi\"",
    "back\\slash\\",
    "tab\there",
    "new\nline",
    "cr\r\nlf",
    "100%_done",
    "%",
    "_",
    "caf\u00e9-\u00e9",
    "\u6f22\u5b57",
    "\U0001F642",
    " padded ",
    "'; DROP TABLE x; --",
    "mix'\"\\\t\n%_\u00e9\u6f22\u5b57\U0001F642",
    "\\'\\\"",
};

constexpr std::array<std::string_view, 3> relations = {"view", "edit", "owner"};

// 2021 is not a leap year.
constexpr std::array<int, 12> month_days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

void commit_time(rng& r, std::string& out) {
    const std::uint64_t second = r.below(365ULL * 86400);
    const std::uint64_t micro = r.below(1000000);
    int day = static_cast<int>(second / 86400);
    int month = 0;
    while (day >= month_days[month]) day -= month_days[month++];
    const int in_day = static_cast<int>(second % 86400);
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "2021-%02d-%02d %02d:%02d:%02d.%06d", month + 1, day + 1,
                                in_day / 3600, in_day / 60 % 60, in_day % 60, static_cast<int>(micro));
    out.assign(buf, static_cast<std::size_t>(n));
}

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && name.find(':') == std::string_view::npos &&
           name.find('#') == std::string_view::npos;
}

}  // namespace

std::vector<namespace_spec> parse_namespaces(std::string_view text) {
    const std::string hint = "; expected NAME=ID[,NAME=ID...], e.g. a=0,b=1,c=2";
    std::vector<namespace_spec> out;
    std::set<std::string> names;
    std::set<std::int64_t> ids;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        const auto entry = text.substr(start, end - start);
        start = end + 1;
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos)
            throw usage_error("--namespaces: entry \"" + std::string(entry) + "\" has no '='" + hint);
        namespace_spec ns{std::string(entry.substr(0, eq)), 0};
        const auto digits = entry.substr(eq + 1);
        const bool numeric = !digits.empty() && digits.size() <= 10 &&
                             std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (numeric) std::from_chars(digits.data(), digits.data() + digits.size(), ns.id);
        if (!numeric || ns.id > 2147483647)
            throw usage_error("--namespaces: id \"" + std::string(digits) + "\" of \"" + ns.name +
                              "\" is not an integer in 0..2147483647" + hint);
        if (!valid_name(ns.name))
            throw usage_error("--namespaces: name \"" + ns.name +
                              "\" must be 1 to 64 bytes without ':' or '#' (a subject set could not name it)");
        if (!names.insert(ns.name).second)
            throw usage_error("--namespaces: name \"" + ns.name + "\" is given twice");
        if (!ids.insert(ns.id).second)
            throw usage_error("--namespaces: id " + std::to_string(ns.id) + " is given twice");
        out.push_back(std::move(ns));
    }
    return out;
}

std::string padded_id(std::int64_t id) {
    char buf[24];
    const int n = std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(id));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::string tuple_table(std::int64_t id) { return "keto_" + padded_id(id) + "_relation_tuples"; }

std::string namespace_history_table(std::int64_t id) { return "keto_namespace_" + padded_id(id) + "_migrations"; }

generator::generator(const std::vector<namespace_spec>& all, std::size_t index, const generator_options& options)
    : all_(all), self_(all.at(index)), options_(options) {
    for (const auto& ns : all_) short_names_.push_back(ns.name.size() <= 20 ? ns.name : std::to_string(ns.id));
    stream_ = mix(mix(options_.seed ^ 0x5eed5eed5eed5eedULL) ^ (static_cast<std::uint64_t>(self_.id) * golden));
    ghost_ = "ghost";
    for (int n = 1; std::any_of(all_.begin(), all_.end(), [&](const auto& ns) { return ns.name == ghost_; }); ++n)
        ghost_ = "ghost-" + std::to_string(n);
    broken_kinds_ = options_.allow_nulls ? 7 : 5;
}

void generator::fill(std::uint64_t i, row& out) const {
    rng r(stream_ ^ mix(i + 1));
    const auto self = static_cast<std::size_t>(&self_ - all_.data());

    // Kind: u runs through every residue mod 100 in any 100 consecutive rows.
    const std::uint64_t u = (i * 37 + stream_ % 100) % 100;
    const auto broken = static_cast<std::uint64_t>(options_.broken_percent);
    const auto sets = static_cast<std::uint64_t>(options_.subject_set_percent);
    out.kind = u < broken ? row_kind::broken : u < broken + sets ? row_kind::subject_set : row_kind::subject_id;
    out.subject_null = false;
    out.commit_time_null = false;

    // One row in eight carries hard text in a non-empty subset of object, relation, subject.
    const unsigned hard = r.below(8) == 0 ? static_cast<unsigned>(1 + r.below(7)) : 0;
    auto fragment = [&] { return fragments[r.below(fragments.size())]; };

    out.object.assign("obj-");
    out.object += short_names_[self];
    out.object += '-';
    append(out.object, i);
    if (hard & 1) {
        out.object += '-';
        out.object += fragment();
    }

    if (hard & 2) {
        switch (r.below(4)) {
        case 0: out.relation.clear(); break;
        case 1: out.relation.assign("r:x"); break;
        default: out.relation.assign(fragment()); break;
        }
    } else {
        out.relation.assign(relations[r.below(relations.size())]);
    }

    auto& s = out.subject;
    const std::uint64_t k = r.below(1000);
    const std::size_t target = r.below(all_.size());
    auto set_object = [&] {
        s += "obj-";
        s += short_names_[target];
        s += '-';
        append(s, k);
    };
    switch (out.kind) {
    case row_kind::subject_id:
        s.clear();
        if (hard & 4) {
            switch (r.below(6)) {
            case 0: break;  // empty subject id
            case 1: s.assign("a:b"); break;
            case 2: s.assign("a:b:c"); break;
            case 3: s.assign("user:"); append(s, k); break;
            default: s.assign("user-"); append(s, k); s += '-'; s += fragment(); break;
            }
        } else {
            s.assign("user-");
            append(s, k);
        }
        break;
    case row_kind::subject_set: {
        s.assign(all_[target].name);
        s += ':';
        std::string_view relation = relations[r.below(relations.size())];
        if (hard & 4) {
            switch (r.below(6)) {
            case 0: break;  // empty object: ns:#rel
            case 1: set_object(); relation = {}; break;  // empty relation: ns:obj#
            case 2: set_object(); relation = "r:x"; break;  // ':' is allowed in the relation
            case 3: relation = {}; break;                  // ns:#
            case 4: set_object(); s += '-'; s += fragment(); break;
            default: set_object(); relation = fragment(); break;
            }
        } else {
            set_object();
        }
        s += '#';
        s += relation;
        break;
    }
    case row_kind::broken: {
        const std::uint64_t ordinal = i / 100 * broken + u;
        switch (static_cast<broken_kind>(ordinal % static_cast<std::uint64_t>(broken_kinds_))) {
        case broken_kind::two_colons:
            s.assign(all_[target].name);
            s += ':';
            set_object();
            s += ":x#view";
            break;
        case broken_kind::no_colon:
            s.clear();
            set_object();
            s += "#view";
            break;
        case broken_kind::two_hashes:
            s.assign(all_[target].name);
            s += ':';
            set_object();
            s += "#view#edit";
            break;
        case broken_kind::overlong_id: {
            s.assign("user-");
            append(s, k);
            s += '-';
            const std::size_t length = 65 + r.below(16);
            s.resize(length, 'x');
            break;
        }
        case broken_kind::unknown_namespace:
            s.assign(ghost_);
            s += ':';
            set_object();
            s += "#view";
            break;
        case broken_kind::null_subject:
            s.clear();
            out.subject_null = true;
            break;
        case broken_kind::null_commit_time:
            s.assign("user-");
            append(s, k);
            out.commit_time_null = true;
            break;
        }
        break;
    }
    }

    commit_time(r, out.commit_time);
    if (out.commit_time_null) out.commit_time.clear();
}

}  // namespace ferry::seed
