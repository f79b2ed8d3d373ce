#include <ferry/drivers/postgres.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <pqxx/pqxx>
// tablewriter is deprecated in libpqxx 6.4, but it is the only public way there to send COPY
// data we format ourselves; stream_to escapes every field into a fresh std::string.
#include <pqxx/tablewriter>

#include <ferry/errors.hpp>

namespace ferry::drivers::postgres {
namespace {

// FERRY_TRACE_SQL: one line per statement sent, "s<session> <sql with whitespace collapsed>".
// Sessions are numbered in the order this process opens them.
class sql_trace {
public:
    static sql_trace& instance() {
        static sql_trace t;
        return t;
    }
    bool enabled() const { return file_ != nullptr; }
    int new_session() {
        std::lock_guard<std::mutex> g(mutex_);
        return ++sessions_;
    }
    void write(int session, std::string_view sql) {
        if (!file_) return;
        std::string line = "s" + std::to_string(session) + " ";
        bool space = false;
        for (char c : sql) {
            if (std::isspace(static_cast<unsigned char>(c))) {
                space = true;
                continue;
            }
            if (space && line.back() != ' ') line += ' ';
            space = false;
            line += c;
        }
        line += '\n';
        std::lock_guard<std::mutex> g(mutex_);
        std::fputs(line.c_str(), file_);
        std::fflush(file_);
    }

private:
    sql_trace() {
        if (const char* path = std::getenv("FERRY_TRACE_SQL"); path && *path) file_ = std::fopen(path, "a");
    }
    std::FILE* file_ = nullptr;
    std::mutex mutex_;
    int sessions_ = 0;
};


// Rows fetched per round trip from a cursor: big enough that latency does not dominate,
// small enough that a block of wide rows stays a few MiB at most.
constexpr long cursor_block_rows = 2000;
// COPY data is handed to libpq in chunks of about this size.
constexpr std::size_t copy_chunk_bytes = 128 * 1024;

// libpq and server messages span several lines ("ERROR:  ...", "DETAIL: ...", "LINE 1: ...",
// a caret line). Ferry prints one line per error: keep the text and the DETAIL/HINT, drop the
// severity label and the statement excerpt.
std::string one_line(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(pos, end - pos);
        pos = end + 1;
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.remove_suffix(1);
        if (line.empty() || line.rfind("LINE ", 0) == 0 || line.find_first_not_of("^ ") == std::string_view::npos)
            continue;
        if (!out.empty()) out += out.back() == ':' ? " " : "; ";
        const auto before = out.size();
        for (std::string_view label : {"DETAIL:", "HINT:", "CONTEXT:", "WHERE:"}) {
            if (line.rfind(label, 0) == 0) {
                out += label;
                out += ' ';
                line.remove_prefix(label.size());
                while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
                break;
            }
        }
        out += line;
        // COPY contexts quote the raw line, tabs included.
        std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                        [](char c) { return c == '\t' || c == '\r'; }, ' ');
    }
    // libpq puts the server's severity label ("FATAL:  ") at the start or after its own
    // "connection to server ... failed: " prefix.
    for (std::string_view label : {"ERROR:  ", "FATAL:  ", "PANIC:  "}) {
        for (auto at = out.find(label); at != std::string::npos; at = out.find(label, at))
            out.erase(at, label.size());
    }
    return out;
}

// The one place that decides what a libpqxx failure means to Ferry. Call it from a catch
// block; it rethrows the current exception as a ferry::error.
[[noreturn]] void rethrow_translated(std::string_view doing, const dsn& source) {
    auto message = [&](const std::exception& e, std::string_view sqlstate = {}) {
        std::string m = std::string(doing) + ": " + one_line(e.what());
        if (!sqlstate.empty()) m += " (SQLSTATE " + std::string(sqlstate) + ")";
        return redact_password(std::move(m), source);
    };
    try {
        throw;
    } catch (const ferry::error&) {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw connection_error(message(e) + " (the connection to the server was lost)");
    } catch (const pqxx::in_doubt_error& e) {
        throw connection_error(message(e) +
                               " (the connection broke during COMMIT: whether the transaction committed is unknown)");
    } catch (const pqxx::serialization_failure& e) {
        throw serialization_error(message(e, "40001"), "40001");
    } catch (const pqxx::deadlock_detected& e) {
        throw serialization_error(message(e, "40P01"), "40P01");
    } catch (const pqxx::statement_completion_unknown& e) {
        throw sql_error(message(e, "40003"), "40003");
    } catch (const pqxx::transaction_rollback& e) {
        throw sql_error(message(e, "40000"), "40000");
    } catch (const pqxx::insufficient_privilege& e) {
        // libpqxx 6.4 throws this one without its SQLSTATE.
        throw permission_error(message(e, "42501") + "; grant that privilege to the database user in the DSN");
    } catch (const pqxx::sql_error& e) {
        const std::string& state = e.sqlstate();
        if (state == "42501")
            throw permission_error(message(e, state) + "; grant that privilege to the database user in the DSN");
        if (state == "40001" || state == "40P01") throw serialization_error(message(e, state), state);
        if (state == "28P01" || state == "28000" || state.rfind("08", 0) == 0 || state == "57P01" ||
            state == "57P02" || state == "57P03")
            throw connection_error(message(e, state));
        throw sql_error(message(e, state), state);
    } catch (const pqxx::usage_error& e) {
        throw ferry::error(message(e) + " (a bug in Ferry's PostgreSQL driver)");
    } catch (const pqxx::failure& e) {
        // COPY and connection-level failures that carry no SQLSTATE.
        throw sql_error(message(e));
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        throw ferry::error(message(e));
    }
}

// Ferry values -> the text parameters libpq sends. `pointers` is what pqxx binds (nullptr =
// NULL); it points into `texts`, which is reserved up front so it never reallocates.
struct text_params {
    std::vector<std::string> texts;
    std::vector<const char*> pointers;

    explicit text_params(std::span<const value> params) {
        texts.reserve(params.size());
        pointers.reserve(params.size());
        for (const auto& p : params) {
            if (ferry::is_null(p)) {
                pointers.push_back(nullptr);
                continue;
            }
            if (auto* i = std::get_if<std::int64_t>(&p))
                texts.push_back(std::to_string(*i));
            else
                texts.emplace_back(text_of(p));
            pointers.push_back(texts.back().c_str());
        }
    }
};

// COPY's text format: backslash escapes for the characters that delimit rows and fields.
void append_copy_field(std::string& out, const value& v) {
    if (ferry::is_null(v)) {
        out += "\\N";
        return;
    }
    if (auto* i = std::get_if<std::int64_t>(&v)) {
        char digits[24];
        auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), *i);
        out.append(digits, end);
        return;
    }
    const auto text = text_of(v);
    std::size_t plain = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const char* escape = nullptr;
        switch (c) {
        case '\\': escape = "\\\\"; break;
        case '\t': escape = "\\t"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        default: continue;
        }
        out.append(text.substr(plain, i - plain));
        out += escape;
        plain = i + 1;
    }
    out.append(text.substr(plain));
}

int octal_digit(char c) { return c >= '0' && c <= '7' ? c - '0' : -1; }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_cursor_query(std::string_view sql) {
    std::size_t i = 0;
    while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
    std::string word;
    while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
    return word == "select" || word == "values" || word == "with" || word == "table";
}

class connection_impl;

// A query's result read through a server-side cursor, cursor_block_rows at a time.
class cursor_rows final : public rows {
public:
    cursor_rows(connection_impl& conn, std::string name, bool hold, std::uint64_t generation)
        : conn_(conn), name_(std::move(name)), hold_(hold), generation_(generation) {}
    ~cursor_rows() override;

    bool next() override;
    bool is_null(int column) const override { return block_[row_][column].is_null(); }
    std::string_view text(int column) const override {
        const auto f = block_[row_][column];
        return {f.c_str(), f.size()};
    }
    std::int64_t integer(int column) const override;

private:
    void close();

    connection_impl& conn_;
    std::string name_;
    bool hold_;
    std::uint64_t generation_;
    pqxx::result block_;
    pqxx::result::size_type row_ = 0;
    bool started_ = false, exhausted_ = false, closed_ = false;
};

// A statement that is not a query (RETURNING, SHOW, ...) returns its rows at once.
class buffered_rows final : public rows {
public:
    explicit buffered_rows(pqxx::result r) : result_(std::move(r)) {}
    bool next() override {
        if (started_) ++row_;
        started_ = true;
        return row_ < result_.size();
    }
    bool is_null(int column) const override { return result_[row_][column].is_null(); }
    std::string_view text(int column) const override {
        const auto f = result_[row_][column];
        return {f.c_str(), f.size()};
    }
    std::int64_t integer(int column) const override;

private:
    pqxx::result result_;
    pqxx::result::size_type row_ = 0;
    bool started_ = false;
};

std::int64_t parse_integer(std::string_view text) {
    if (text == "t") return 1;  // booleans, as the other drivers return them
    if (text == "f") return 0;
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size())
        throw sql_error("expected an integer column, got \"" + std::string(text.substr(0, 40)) + "\"");
    return out;
}

std::int64_t cursor_rows::integer(int column) const { return parse_integer(text(column)); }
std::int64_t buffered_rows::integer(int column) const { return parse_integer(text(column)); }

// COPY ... TO STDOUT, decoded line by line into one reused buffer.
class copy_rows final : public rows {
public:
    copy_rows(connection_impl& conn, std::unique_ptr<pqxx::stream_from> stream)
        : conn_(&conn), stream_(std::move(stream)) {}
    ~copy_rows() override;
    // The transaction is ending under us: cancel and let go of the stream and the connection.
    void abandon();

    bool next() override;
    bool is_null(int column) const override { return fields_[static_cast<std::size_t>(column)].null; }
    std::string_view text(int column) const override {
        const auto& f = fields_[static_cast<std::size_t>(column)];
        return std::string_view(decoded_).substr(f.offset, f.size);
    }
    std::int64_t integer(int column) const override { return parse_integer(text(column)); }

private:
    struct field {
        std::size_t offset = 0, size = 0;
        bool null = false;
    };
    void decode();

    connection_impl* conn_;  // null once abandoned
    std::unique_ptr<pqxx::stream_from> stream_;
    std::string line_, decoded_;
    std::vector<field> fields_;
    bool done_ = false;
};

class prepared_impl final : public prepared_statement {
public:
    prepared_impl(connection_impl& conn, std::string name, int markers)
        : conn_(conn), name_(std::move(name)), markers_(markers) {}
    ~prepared_impl() override;
    std::uint64_t execute(std::span<const value> params) override;

private:
    connection_impl& conn_;
    std::string name_;
    int markers_;
};

class connection_impl final : public pg_connection {
public:
    connection_impl(const dsn& source, session_options options)
        : source_(source), options_(options), session_(sql_trace::instance().new_session()),
          conn_(conninfo(source)), quiet_(conn_) {}

    ~connection_impl() override {
        // Whatever is still open is abandoned: the transaction rolls back when the session ends.
        abandon_copies();
    }

    // ---- ferry::connection --------------------------------------------------------------

    void execute(std::string_view sql, std::span<const value> params) override {
        guarded("executing a statement", [&] {
            before_statement();
            trace(sql);
            if (params.empty()) {
                run([&](pqxx::transaction_base& t) { return t.exec(std::string(sql)); });
                return;
            }
            const auto numbered = numbered_for(sql, params.size());
            const text_params p(params);
            run([&](pqxx::transaction_base& t) {
                return t.exec_params(numbered, pqxx::prepare::make_dynamic_params(p.pointers));
            });
        });
    }

    void execute_script(std::string_view script) override {
        // The simple query protocol runs every statement of the text in one round trip.
        guarded("executing a script", [&] {
            before_statement();
            trace(script);
            run([&](pqxx::transaction_base& t) { return t.exec(std::string(script)); });
        });
    }

    std::unique_ptr<rows> query(std::string_view sql, std::span<const value> params) override {
        return guarded("running a query", [&]() -> std::unique_ptr<rows> {
            before_statement();
            trace(sql);
            const auto numbered = params.empty() ? std::string(sql) : numbered_for(sql, params.size());
            const text_params p(params);
            auto exec = [&](const std::string& text) {
                return run([&](pqxx::transaction_base& t) {
                    return params.empty() ? t.exec(text)
                                          : t.exec_params(text, pqxx::prepare::make_dynamic_params(p.pointers));
                });
            };
            if (!options_.server_cursors || !is_cursor_query(sql))
                return std::make_unique<buffered_rows>(exec(numbered));
            // Outside a transaction a cursor must be WITH HOLD to outlive its implicit
            // transaction; the server then keeps the result, the client still fetches blocks.
            const bool hold = !work_;
            auto name = "ferry_cursor_" + std::to_string(++next_id_);
            exec("DECLARE " + name + " NO SCROLL CURSOR " + (hold ? "WITH HOLD " : "") + "FOR " + numbered);
            return std::make_unique<cursor_rows>(*this, std::move(name), hold, generation_);
        });
    }

    std::unique_ptr<prepared_statement> prepare(std::string_view sql) override {
        return guarded("preparing a statement", [&] {
            before_statement();
            int markers = 0;
            const auto numbered = number_markers(sql, &markers);
            auto name = "ferry_stmt_" + std::to_string(++next_id_);
            trace("PREPARE " + name + " AS " + std::string(sql));
            conn_.prepare(name, numbered);
            try {
                conn_.prepare_now(name);  // report a bad statement here, not at its first use
            } catch (...) {
                conn_.unprepare(name);
                throw;
            }
            return std::make_unique<prepared_impl>(*this, std::move(name), markers);
        });
    }

    void begin() override {
        if (work_) throw usage_error("a transaction is already open on this connection");
        guarded("starting a transaction", [&] {
            before_statement();
            trace("BEGIN");
            work_ = std::make_unique<pqxx::work>(conn_);
            work_failed_ = false;
        });
    }

    void commit() override {
        if (!work_) throw usage_error("commit() without an open transaction");
        guarded("committing", [&] { end_copy_now(); });
        auto work = std::move(work_);
        ++generation_;
        trace("COMMIT");
        guarded("committing", [&] { work->commit(); });
    }

    void rollback() override {
        if (!work_) return;
        abandon_copies();
        auto work = std::move(work_);
        ++generation_;
        trace("ROLLBACK");
        guarded("rolling back", [&] { work->abort(); });
    }

    bool in_transaction() const override { return work_ != nullptr; }

    // ---- pg_connection ------------------------------------------------------------------

    void copy_in(std::string_view target, std::span<const value> values, std::size_t columns) override {
        if (!work_) throw usage_error("COPY FROM STDIN needs an open transaction");
        if (columns == 0 || values.size() % columns != 0)
            throw usage_error("copy_in: the values do not make whole rows of " + std::to_string(columns));
        if (copy_out_) throw usage_error("a COPY TO STDOUT is still being read on this connection");
        guarded("copying rows into the database", [&] {
            if (writer_ && writer_target_ != target) end_copy_now();
            if (!writer_) start_copy(target);
            for (std::size_t i = 0; i < values.size(); ++i) {
                append_copy_field(copy_buffer_, values[i]);
                copy_buffer_ += (i + 1) % columns == 0 ? '\n' : '\t';
            }
            if (copy_buffer_.size() >= copy_chunk_bytes) flush_copy();
        });
    }

    void end_copy() override {
        guarded("finishing COPY", [&] { end_copy_now(); });
    }

    bool copy_in_open() const override { return writer_ != nullptr; }

    std::unique_ptr<rows> copy_out(std::string_view source) override {
        if (!work_) throw usage_error("COPY TO STDOUT needs an open transaction");
        return guarded("starting COPY TO STDOUT", [&] {
            before_statement();
            trace("COPY " + std::string(source) + " TO STDOUT");
            auto stream = std::make_unique<pqxx::stream_from>(*work_, std::string(source));
            auto r = std::make_unique<copy_rows>(*this, std::move(stream));
            copy_out_ = r.get();
            return r;
        });
    }

    // ---- for the result and statement objects above ---------------------------------------

    template <class F>
    auto guarded(std::string_view doing, F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (...) {
            if (work_) work_failed_ = true;
            rethrow_translated(doing, source_);
        }
    }

    pqxx::result fetch(const std::string& cursor) {
        return guarded("fetching rows", [&] {
            before_statement();
            return run([&](pqxx::transaction_base& t) {
                return t.exec("FETCH FORWARD " + std::to_string(cursor_block_rows) + " FROM " + cursor);
            });
        });
    }

    // Cleanup that must never turn a healthy transaction into a failed one: skipped when the
    // transaction already failed (it would fail too) or a COPY holds the session.
    bool can_clean_up() const { return !work_failed_ && !writer_ && !copy_out_; }

    void close_cursor(const std::string& cursor, bool hold, std::uint64_t generation) {
        // A cursor without HOLD died with its transaction; closing it in a later one would fail.
        if (!can_clean_up() || (!hold && generation != generation_)) return;
        try {
            run([&](pqxx::transaction_base& t) { return t.exec("CLOSE " + cursor); });
        } catch (...) {
        }
    }

    std::uint64_t exec_prepared(const std::string& name, int markers, std::span<const value> params) {
        if (static_cast<std::size_t>(markers) != params.size())
            throw usage_error("the prepared statement has " + std::to_string(markers) + " markers but " +
                              std::to_string(params.size()) + " parameters were given");
        return guarded("executing a prepared statement", [&] {
            before_statement();
            trace("EXECUTE " + name);
            const text_params p(params);
            const auto r = run([&](pqxx::transaction_base& t) {
                return t.exec_prepared(name, pqxx::prepare::make_dynamic_params(p.pointers));
            });
            const auto affected = r.affected_rows();
            return static_cast<std::uint64_t>(affected);
        });
    }

    void release_prepared(const std::string& name) {
        if (!can_clean_up()) return;  // the server keeps it until the session ends; harmless
        try {
            conn_.unprepare(name);
        } catch (...) {
        }
    }

    void copy_out_finished() { copy_out_ = nullptr; }
    void cancel_running_statement() {
        try {
            conn_.cancel_query();
        } catch (...) {
        }
    }

private:
    // A COPY occupies the session: end the one we write (its rows are complete) before
    // anything else is sent; refuse while one is being read.
    void trace(std::string_view sql) {
        if (sql_trace::instance().enabled()) sql_trace::instance().write(session_, sql);
    }

    void before_statement() {
        if (copy_out_) throw usage_error("a COPY TO STDOUT is still being read on this connection");
        end_copy_now();
    }

    template <class F>
    pqxx::result run(F&& f) {
        if (work_) {
            auto r = f(*work_);
            // The server refuses every statement of a failed transaction except a rollback, so
            // one that succeeded means the transaction is usable again (after ROLLBACK TO
            // SAVEPOINT: CockroachDB's retry protocol relies on it).
            work_failed_ = false;
            return r;
        }
        // Autocommit: each statement commits on its own.
        pqxx::nontransaction once(conn_);
        auto r = f(once);
        once.commit();
        return r;
    }

    std::string numbered_for(std::string_view sql, std::size_t given) {
        int markers = 0;
        auto numbered = number_markers(sql, &markers);
        if (static_cast<std::size_t>(markers) != given)
            throw usage_error("the statement has " + std::to_string(markers) + " markers but " +
                              std::to_string(given) + " parameters were given");
        return numbered;
    }

    void start_copy(std::string_view target) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        trace("COPY " + std::string(target) + " FROM STDIN");
        writer_ = std::make_unique<pqxx::tablewriter>(*work_, std::string(target));
#pragma GCC diagnostic pop
        writer_target_ = target;
        copy_buffer_.clear();
    }

    void flush_copy() { flush_copy_to(*writer_); }

    // One write for many rows: COPY data is a byte stream, chunk borders mean nothing.
    // tablewriter drops one trailing newline and libpqxx adds it back.
    void flush_copy_to(pqxx::tablewriter& writer) {
        if (copy_buffer_.empty()) return;
        writer.write_raw_line(copy_buffer_);
        copy_buffer_.clear();
    }

    // Moved out first: whatever happens, the connection is free of this COPY afterwards.
    void end_copy_now() {
        if (!writer_) return;
        auto writer = std::move(writer_);
        writer_target_.clear();
        flush_copy_to(*writer);
        writer->complete();
    }

    // Before the transaction goes away: the rows not yet sent are dropped, the COPY is ended
    // (what it reports is moot), and a COPY being read is cancelled.
    void abandon_copies() noexcept {
        copy_buffer_.clear();
        try {
            writer_.reset();
        } catch (...) {
        }
        writer_target_.clear();
        if (copy_out_) {
            copy_out_->abandon();
            copy_out_ = nullptr;
        }
    }

    dsn source_;
    session_options options_;
    int session_ = 0;
    pqxx::connection conn_;
    // Notices (DROP ... IF EXISTS "skipping", pqxx's own warnings) would go to stderr; Ferry
    // reports what matters through its own messages.
    pqxx::quiet_errorhandler quiet_;
    std::unique_ptr<pqxx::work> work_;
    bool work_failed_ = false;
    // Bumped whenever a transaction ends, so a cursor knows whether its transaction lives.
    std::uint64_t generation_ = 0;
    std::uint64_t next_id_ = 0;
    // Declared after work_: destroyed before it, as the COPY belongs to the transaction.
    std::unique_ptr<pqxx::tablewriter> writer_;
    std::string writer_target_;
    std::string copy_buffer_;
    copy_rows* copy_out_ = nullptr;  // the COPY TO STDOUT being read, if any
};

// ---- out-of-line members that need connection_impl --------------------------------------

bool cursor_rows::next() {
    if (started_ && row_ + 1 < block_.size()) {
        ++row_;
        return true;
    }
    if (exhausted_) return false;
    block_ = conn_.fetch(name_);
    started_ = true;
    row_ = 0;
    if (block_.size() < static_cast<pqxx::result::size_type>(cursor_block_rows)) {
        exhausted_ = true;
        close();
    }
    return !block_.empty();
}

void cursor_rows::close() {
    if (closed_) return;
    closed_ = true;
    conn_.close_cursor(name_, hold_, generation_);
}

cursor_rows::~cursor_rows() { close(); }

bool copy_rows::next() {
    if (done_ || !conn_) return false;
    return conn_->guarded("reading COPY data", [&] {
        if (!stream_->get_raw_line(line_)) {
            done_ = true;
            auto stream = std::move(stream_);
            conn_->copy_out_finished();
            stream->complete();
            return false;
        }
        decode();
        return true;
    });
}

// Splits a COPY text line on tabs and undoes its escapes (\N, \t, \n, \\, \ooo, \xhh, ...).
void copy_rows::decode() {
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    decoded_.clear();
    fields_.clear();
    field current;
    std::size_t i = 0;
    for (;;) {
        const auto stop = line.find_first_of("\t\\", i);
        decoded_.append(line.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i));
        if (stop == std::string_view::npos || line[stop] == '\t') {
            current.size = decoded_.size() - current.offset;
            fields_.push_back(current);
            if (stop == std::string_view::npos) break;
            current = field{decoded_.size(), 0, false};
            i = stop + 1;
            continue;
        }
        // A backslash escape.
        i = stop + 1;
        if (i >= line.size()) throw sql_error("malformed COPY data: a line ends in a backslash");
        const char e = line[i++];
        switch (e) {
        case 'N': current.null = true; break;
        case 'b': decoded_ += '\b'; break;
        case 'f': decoded_ += '\f'; break;
        case 'n': decoded_ += '\n'; break;
        case 'r': decoded_ += '\r'; break;
        case 't': decoded_ += '\t'; break;
        case 'v': decoded_ += '\v'; break;
        case 'x': {
            int v = 0, digits = 0;
            while (digits < 2 && i < line.size() && hex_digit(line[i]) >= 0) v = v * 16 + hex_digit(line[i++]), ++digits;
            if (digits == 0)
                decoded_ += 'x';
            else
                decoded_ += static_cast<char>(v);
            break;
        }
        default:
            if (octal_digit(e) >= 0) {
                int v = octal_digit(e), digits = 1;
                while (digits < 3 && i < line.size() && octal_digit(line[i]) >= 0) v = v * 8 + octal_digit(line[i++]), ++digits;
                decoded_ += static_cast<char>(v);
            } else {
                decoded_ += e;  // \\ and any other escaped character stand for themselves
            }
        }
    }
}

void copy_rows::abandon() {
    if (!conn_) return;
    if (!done_) {
        // Stop the server from sending the rest of the table just to have it discarded.
        conn_->cancel_running_statement();
        try {
            stream_.reset();
        } catch (...) {
        }
        done_ = true;
    }
    conn_ = nullptr;
}

copy_rows::~copy_rows() {
    auto* conn = conn_;
    abandon();
    if (conn) conn->copy_out_finished();
}

prepared_impl::~prepared_impl() { conn_.release_prepared(name_); }

std::uint64_t prepared_impl::execute(std::span<const value> params) {
    return conn_.exec_prepared(name_, markers_, params);
}

}  // namespace

std::unique_ptr<pg_connection> open(const dsn& source, session_options options) {
    try {
        return std::make_unique<connection_impl>(source, options);
    } catch (const ferry::error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        // Whatever libpqxx throws here (broken_connection, failure, feature_not_supported)
        // means the same to the user: no session.
        throw connection_error(redact_password(one_line(e.what()), source));
    }
}

}  // namespace ferry::drivers::postgres
