// The rows ferry-seed writes: a pure function of (seed, namespace list, namespace, row index),
// so that the same options always produce the same database, whatever the batch size, and an
// --append run continues the row sequence where the table ends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::seed {

struct namespace_spec {
    std::string name;
    std::int64_t id = 0;
};

// Parses "a=0,b=1,c=2". Throws usage_error on an empty list, a malformed entry, a duplicate
// name or id, an id outside 0..2147483647, or a name that is empty, longer than 64 bytes or
// contains ':' or '#' (no subject set could name such a namespace).
std::vector<namespace_spec> parse_namespaces(std::string_view text);

// keto_NNNNNNNNNN_relation_tuples and keto_namespace_NNNNNNNNNN_migrations.
std::string padded_id(std::int64_t id);
std::string tuple_table(std::int64_t id);
std::string namespace_history_table(std::int64_t id);

enum class row_kind { subject_id, subject_set, broken };

// The broken forms, in rotation order. The last two only where the legacy primary key admits
// NULLs (SQLite).
enum class broken_kind {
    two_colons,         // a:b:c#rel
    no_colon,           // obj#rel
    two_hashes,         // ns:obj#a#b
    overlong_id,        // a subject id of 65..80 characters
    unknown_namespace,  // ghost:obj#rel, ghost not configured
    null_subject,
    null_commit_time,
};

// One legacy row. Reused from batch to batch: the strings keep their capacity.
struct row {
    std::string object;
    std::string relation;
    std::string subject;
    std::string commit_time;
    bool subject_null = false;
    bool commit_time_null = false;
    row_kind kind = row_kind::subject_id;
};

struct generator_options {
    std::uint64_t seed = 1;
    int subject_set_percent = 30;
    int broken_percent = 0;
    bool allow_nulls = false;  // rotate NULL subject / NULL commit_time into the broken kinds
};

// Kinds are laid out so that any 100 consecutive rows hold exactly `broken_percent` broken
// rows and `subject_set_percent` valid subject sets. About one row in eight carries hard
// text (quotes, backslashes, tabs, newlines, % and _, non-ASCII, 4-byte UTF-8, empty
// strings) in its object, relation or subject. Every value stays within 64 bytes (so within
// 64 characters in any charset) except the deliberately overlong broken subject ids; the
// object embeds the row index, so rows are unique by the legacy primary key.
class generator {
public:
    generator(const std::vector<namespace_spec>& all, std::size_t index, const generator_options& options);
    void fill(std::uint64_t i, row& out) const;

private:
    const std::vector<namespace_spec>& all_;
    const namespace_spec& self_;
    std::vector<std::string> short_names_;  // in object names: the name if short, else the id
    generator_options options_;
    std::uint64_t stream_;  // per-namespace hash of the seed
    std::string ghost_;     // a namespace name not in the list
    int broken_kinds_;
};

}  // namespace ferry::seed
