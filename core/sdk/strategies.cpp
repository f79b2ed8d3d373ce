#include <ferry/sdk/strategies.hpp>

#include <bit>
#include <map>

#include <ferry/errors.hpp>

namespace ferry::sdk {
namespace {

class rows_reader final : public legacy_reader {
public:
    rows_reader(std::unique_ptr<rows> source, std::unique_ptr<connection> session)
        : session_(std::move(session)), rows_(std::move(source)) {}

    std::size_t read(std::vector<legacy_row>& batch, std::size_t max_rows) override {
        if (batch.size() < max_rows) batch.resize(max_rows);
        std::size_t n = 0;
        while (n < max_rows && !done_) {
            if (!rows_->next()) {
                done_ = true;
                break;
            }
            auto& row = batch[n++];
            assign(row.shard_id, 0);
            assign(row.object, 1);
            assign(row.relation, 2);
            assign(row.subject, 3);
            assign(row.commit_time, 4);
        }
        return n;
    }

private:
    // assign() into an engaged optional reuses the string's buffer: no allocation per row once
    // the batch has warmed up.
    void assign(std::optional<std::string>& field, int column) {
        if (rows_->is_null(column)) {
            field.reset();
            return;
        }
        auto text = rows_->text(column);
        if (field)
            field->assign(text);
        else
            field.emplace(text);
    }

    std::unique_ptr<connection> session_;  // declared first: destroyed after the result set
    std::unique_ptr<rows> rows_;
    bool done_ = false;
};

class keyset_reader_impl final : public keyset_reader {
public:
    keyset_reader_impl(connection& conn, std::string table, std::optional<legacy_key> after)
        : conn_(conn), table_(std::move(table)), after_(std::move(after)) {}

    std::size_t read(std::vector<legacy_row>& batch, std::size_t max_rows) override {
        if (done_ || max_rows == 0) return 0;
        const std::string columns(legacy_columns);
        std::vector<value> params;
        if (after_)
            for (const auto& part : *after_) params.emplace_back(std::string_view(part));
        rows_reader page(conn_.query("SELECT " + columns + " FROM " + table_ +
                                         (after_ ? " WHERE (" + columns + ") > (?, ?, ?, ?, ?)" : std::string()) +
                                         " ORDER BY " + columns + " LIMIT " + std::to_string(max_rows),
                                     params),
                         nullptr);
        const auto n = page.read(batch, max_rows);
        page.read(rest_, 1);  // reaches the end of the result (LIMIT): the session is free again
        if (n < max_rows) done_ = true;
        if (n) {
            const auto& last = batch[n - 1];
            if (!last.shard_id || !last.object || !last.relation || !last.subject || !last.commit_time)
                throw state_error(table_ + " has rows with NULL in its primary key, which cannot be read in key "
                                  "order; copy it in one transaction (--chunk-rows 0) on a dialect that streams it");
            after_ = legacy_key{*last.shard_id, *last.object, *last.relation, *last.subject, *last.commit_time};
        }
        return n;
    }

    const std::optional<legacy_key>& last_key() const override { return after_; }

private:
    connection& conn_;
    std::string table_;
    std::optional<legacy_key> after_;
    std::vector<legacy_row> rest_;
    bool done_ = false;
};

std::string values_group(std::string_view timestamp_marker) {
    return "(?, ?, ?, ?, ?, ?, ?, ?, ?, " + std::string(timestamp_marker) + ")";
}

std::string insert_sql(std::string_view table, std::size_t rows, std::string_view timestamp_marker) {
    std::string sql = "INSERT INTO " + std::string(table) + " (" + std::string(tuple_columns) + ") VALUES ";
    const auto group = values_group(timestamp_marker);
    sql.reserve(sql.size() + rows * (group.size() + 2));
    for (std::size_t i = 0; i < rows; ++i) {
        if (i) sql += ", ";
        sql += group;
    }
    return sql;
}

// Whole batches go through the statement prepared for batch_rows_; the tail of each write()
// in descending power-of-two pieces, each through a statement prepared (on first use) for
// exactly that many rows: a write() of n rows costs at most n / batch + log2(batch) + 1
// statements, never one per row. Nothing is buffered across calls (the tuples' views are only
// valid during write()).
class batched_insert_writer final : public tuple_writer {
public:
    batched_insert_writer(connection& conn, std::string_view table, std::size_t rows_per_statement,
                          std::string timestamp_marker)
        : conn_(conn), table_(table), batch_rows_(rows_per_statement ? rows_per_statement : 1),
          timestamp_marker_(std::move(timestamp_marker)) {
        params_.reserve(batch_rows_ * tuple_column_count);
    }

    void write(std::span<const relation_tuple> tuples) override {
        while (tuples.size() >= batch_rows_) {
            insert(tuples.first(batch_rows_));
            tuples = tuples.subspan(batch_rows_);
        }
        while (!tuples.empty()) {
            const auto piece = std::bit_floor(tuples.size());
            insert(tuples.first(piece));
            tuples = tuples.subspan(piece);
        }
    }

    // A driver that does not know affected rows returns 0 (connection.hpp); an INSERT of at
    // least one row that reports 0 therefore means "unknown", not "nothing written".
    std::optional<std::uint64_t> finish() override {
        if (unknown_) return std::nullopt;
        return written_;
    }

private:
    void insert(std::span<const relation_tuple> rows) {
        params_.clear();
        for (const auto& t : rows) append_tuple_params(t, params_);
        auto& statement = statements_[rows.size()];
        if (!statement) statement = conn_.prepare(insert_sql(table_, rows.size(), timestamp_marker_));
        const auto affected = statement->execute(params_);
        if (affected == 0) unknown_ = true;
        written_ += affected;
    }

    connection& conn_;
    std::string table_;
    std::size_t batch_rows_;
    std::string timestamp_marker_;
    std::map<std::size_t, std::unique_ptr<prepared_statement>> statements_;  // by rows per statement
    std::vector<value> params_;
    std::uint64_t written_ = 0;
    bool unknown_ = false;
};

template <class T>
value optional_value(const std::optional<T>& v) {
    if (!v) return value{};
    return value{*v};
}

}  // namespace

void append_tuple_params(const relation_tuple& t, std::vector<value>& out) {
    out.emplace_back(std::string_view(t.shard_id.data(), t.shard_id.size()));
    out.emplace_back(t.nid);
    out.emplace_back(t.namespace_id);
    out.emplace_back(t.object);
    out.emplace_back(t.relation);
    out.push_back(optional_value(t.subject_id));
    out.push_back(optional_value(t.subject_set_namespace_id));
    out.push_back(optional_value(t.subject_set_object));
    out.push_back(optional_value(t.subject_set_relation));
    out.emplace_back(t.commit_time);
}

std::unique_ptr<legacy_reader> make_rows_reader(std::unique_ptr<rows> source, std::unique_ptr<connection> session) {
    return std::make_unique<rows_reader>(std::move(source), std::move(session));
}

std::unique_ptr<legacy_reader> make_query_reader(connection& conn, std::string select_sql) {
    return make_rows_reader(conn.query(select_sql));
}

std::unique_ptr<legacy_reader> make_query_reader(std::unique_ptr<connection> conn, std::string select_sql) {
    auto source = conn->query(select_sql);
    return make_rows_reader(std::move(source), std::move(conn));
}

std::unique_ptr<keyset_reader> make_keyset_reader(connection& conn, std::string quoted_table,
                                                  std::optional<legacy_key> after) {
    return std::make_unique<keyset_reader_impl>(conn, std::move(quoted_table), std::move(after));
}

std::unique_ptr<tuple_writer> make_batched_insert_writer(connection& conn, std::string_view table,
                                                         std::size_t rows_per_statement,
                                                         std::string timestamp_marker) {
    return std::make_unique<batched_insert_writer>(conn, table, rows_per_statement, std::move(timestamp_marker));
}

}  // namespace ferry::sdk
