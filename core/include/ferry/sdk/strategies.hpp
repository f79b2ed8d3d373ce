// Ready-made pieces for dialect plugins: the generic legacy reader and the batched INSERT
// writer. A plugin uses them as they are or supplies its own (PostgreSQL's COPY, say).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ferry/dialect.hpp>

namespace ferry::sdk {

// The columns of a legacy table in the order legacy_row holds them.
inline constexpr std::string_view legacy_columns = "shard_id, object, relation, subject, commit_time";

// The columns of keto_relation_tuples in the order relation_tuple holds them.
inline constexpr std::string_view tuple_columns =
    "shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, "
    "subject_set_object, subject_set_relation, commit_time";
inline constexpr std::size_t tuple_column_count = 10;

// Streams `select_sql` (which must select legacy_columns, in that order) on `conn`.
std::unique_ptr<legacy_reader> make_query_reader(connection& conn, std::string select_sql);

// Same, taking ownership of a connection of its own (a reader beside the writer's session).
std::unique_ptr<legacy_reader> make_query_reader(std::unique_ptr<connection> conn, std::string select_sql);

// Reads legacy rows from any streaming result whose columns are legacy_columns, in order (a
// COPY out, a cursor). `session`, if given, is the connection the rows come from: it is kept
// open as long as the reader and closed after the rows.
std::unique_ptr<legacy_reader> make_rows_reader(std::unique_ptr<rows> source,
                                                std::unique_ptr<connection> session = nullptr);

// The primary key of a legacy table, as text. v0.6 gave every row the shard_id "default", so
// only all five columns identify one.
using legacy_key = std::array<std::string, 5>;

// A legacy reader that knows where it is.
class keyset_reader : public legacy_reader {
public:
    // The key of the last row read, if any.
    virtual const std::optional<legacy_key>& last_key() const = 0;
};

// Pages through `quoted_table` in primary-key order, starting after `after`: one query
// (ORDER BY the key, LIMIT the rows asked for) per read(), each drained before read() returns.
// Memory stays bounded without server-side cursors, a chunk can start after any key, and the
// caller may run other statements on `conn` between reads (MySQL allows nothing else while a
// result streams). Throws state_error when a row with a NULL key column ends a page: there
// would be no key to continue from.
std::unique_ptr<keyset_reader> make_keyset_reader(connection& conn, std::string quoted_table,
                                                  std::optional<legacy_key> after = std::nullopt);

// Multi-row INSERT INTO `table` (a plain identifier: the table dialect::open_tuple_writer was
// given), `rows_per_statement` rows per execution, the tail of each write() in power-of-two
// pieces; each statement size prepared once per writer.
// `timestamp_marker` replaces each commit_time marker when the server needs help parsing
// text, e.g. "CAST(? AS TIMESTAMP)".
std::unique_ptr<tuple_writer> make_batched_insert_writer(connection& conn, std::string_view table,
                                                         std::size_t rows_per_statement,
                                                         std::string timestamp_marker = "?");

// Shared by the writers: appends the 10 parameters of one tuple in tuple_columns order.
void append_tuple_params(const relation_tuple& t, std::vector<value>& out);

}  // namespace ferry::sdk
