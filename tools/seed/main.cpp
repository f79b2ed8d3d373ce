// ferry-seed: creates a database in exact Keto v0.6 layout (spec section 1) with generated
// relation tuples, on any DSN a loaded dialect plugin serves. Only generic SQL plus the
// dialect's quote_identifier/history_table_ddl is used; the one dialect check is whether the
// legacy primary key admits NULLs (SQLite), which decides the NULL broken kinds.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include <ferry/connection.hpp>
#include <ferry/core/plugins.hpp>
#include <ferry/dialect.hpp>
#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

#include "generator.hpp"

namespace po = boost::program_options;
using namespace ferry;

namespace {

constexpr const char* usage_line =
    "usage: ferry-seed --dsn DSN [--plugin-dir DIR]... [--namespaces a=0,b=1,c=2] [--tuples N]\n"
    "                  [--subject-sets P] [--broken P] [--seed S] [--batch N] [--config-out FILE] [--append]";

// Keto v0.6's history versions (spec 1.3).
constexpr std::string_view main_version = "20201110175414";
constexpr std::string_view namespace_version = "20210128140414";
constexpr std::uint64_t commit_every = 10000;
// 5 markers per row; SQLite's default limit is 32766 markers per statement (PostgreSQL and
// MySQL allow 65535).
constexpr std::uint64_t max_batch = 32766 / 5;

struct options {
    std::optional<std::string> dsn;
    std::vector<std::string> plugin_dirs;
    std::string namespaces = "a=0,b=1,c=2";
    std::uint64_t tuples = 1000;
    int subject_sets = 30;
    int broken = 0;
    std::uint64_t seed = 1;
    std::uint64_t batch = 100;
    std::optional<std::string> config_out;
    bool append = false;
};

std::uint64_t parse_unsigned(const std::string& flag, const std::string& text, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
        throw usage_error("--" + flag + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                          ", not \"" + text + "\"");
    return v;
}

std::string yaml_quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// A Keto config with the DSN as given and the namespaces inline. Mode 0600: the DSN may hold
// a password.
void write_config(const std::string& path, const std::string& dsn_text, const std::vector<seed::namespace_spec>& nss) {
    std::string text = "dsn: " + yaml_quoted(dsn_text) + "\nnamespaces:\n";
    for (const auto& ns : nss) text += "  - id: " + std::to_string(ns.id) + "\n    name: " + yaml_quoted(ns.name) + "\n";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw error("cannot write --config-out " + path + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw error("cannot write --config-out " + path + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw error("cannot write --config-out " + path + ": " + std::strerror(errno));
}

class seeder {
public:
    seeder(core::database& db, const options& opts, const std::vector<seed::namespace_spec>& nss)
        : d_(*db.dialect), conn_(*db.conn), opts_(opts), nss_(nss) {}

    // Refuses (usage_error, exit 2) when a table this run would create exists, unless --append.
    void check_tables() {
        const auto listed = d_.list_tables(conn_);
        existing_ = std::set<std::string>(listed.begin(), listed.end());
        if (opts_.append) return;
        std::vector<std::string> wanted = {"schema_migration", "keto_namespace"};
        for (const auto& ns : nss_) {
            wanted.push_back(seed::tuple_table(ns.id));
            wanted.push_back(seed::namespace_history_table(ns.id));
        }
        std::string found;
        for (const auto& t : wanted)
            if (existing_.count(t)) found += (found.empty() ? "" : ", ") + t;
        if (!found.empty())
            throw usage_error("the database already has " + found +
                              "; seed an empty database, or pass --append to add rows to it");
    }

    // Tables, indexes and history rows: one transaction where DDL is transactional.
    void create_layout() {
        const bool tx = d_.caps().transactional_ddl;
        if (tx) conn_.begin();
        try {
            // On --append into a database that already has a history table (e.g. one that
            // `migrate up` converted), the main part is left alone: v0.7 dropped keto_namespace.
            if (!existing_.count("schema_migration")) {
                create_history("schema_migration", main_version);
                if (!existing_.count("keto_namespace"))
                    conn_.execute("CREATE TABLE " + q("keto_namespace") + " (" + q("id") + " INTEGER PRIMARY KEY, " +
                                  q("schema_version") + " INTEGER NOT NULL)");
            }
            for (const auto& ns : nss_) {
                const auto table = seed::tuple_table(ns.id);
                if (!existing_.count(table)) {
                    conn_.execute("CREATE TABLE " + q(table) + " (" + q("shard_id") + " varchar(64), " + q("object") +
                                  " varchar(64), " + q("relation") + " varchar(64), " + q("subject") +
                                  " varchar(256), " + q("commit_time") + " timestamp, PRIMARY KEY (" + q("shard_id") +
                                  ", " + q("object") + ", " + q("relation") + ", " + q("subject") + ", " +
                                  q("commit_time") + "))");
                    conn_.execute("CREATE INDEX " + q(table + "_object_idx") + " ON " + q(table) + " (" + q("object") +
                                  ")");
                    conn_.execute("CREATE INDEX " + q(table + "_user_set_idx") + " ON " + q(table) + " (" +
                                  q("object") + ", " + q("relation") + ")");
                }
                const auto history = seed::namespace_history_table(ns.id);
                if (!existing_.count(history)) {
                    create_history(history, namespace_version);
                } else {
                    insert_version(history, namespace_version);
                }
            }
            if (tx) conn_.commit();
        } catch (...) {
            if (conn_.in_transaction()) safe_rollback();
            throw;
        }
    }

    void seed_all() {
        seed::generator_options g{.seed = opts_.seed,
                                  .subject_set_percent = opts_.subject_sets,
                                  .broken_percent = opts_.broken,
                                  .allow_nulls = d_.migration_dialect() == "sqlite3"};
        for (std::size_t n = 0; n < nss_.size(); ++n) seed_namespace(n, g);
    }

private:
    struct counts {
        std::uint64_t rows = 0, ids = 0, sets = 0, broken = 0;
    };

    std::string q(std::string_view name) const { return d_.quote_identifier(name); }

    void create_history(const std::string& table, std::string_view version) {
        for (const auto& sql : d_.history_table_ddl(table)) conn_.execute(sql);
        insert_version(table, version);
    }

    void insert_version(const std::string& table, std::string_view version) {
        const value v[] = {version};
        if (query_integer(conn_, "SELECT COUNT(*) FROM " + q(table) + " WHERE " + q("version") + " = ?", v) == 0)
            conn_.execute("INSERT INTO " + q(table) + " (" + q("version") + ") VALUES (?)", v);
    }

    void safe_rollback() {
        try {
            conn_.rollback();
        } catch (...) {
            // The original error is what the operator needs to see.
        }
    }

    std::string insert_sql(const std::string& table, std::uint64_t rows) const {
        std::string sql = "INSERT INTO " + q(table) + " (" + q("shard_id") + ", " + q("object") + ", " + q("relation") +
                          ", " + q("subject") + ", " + q("commit_time") + ") VALUES ";
        sql.reserve(sql.size() + rows * 12);
        for (std::uint64_t r = 0; r < rows; ++r) sql += r ? ",(?,?,?,?,?)" : "(?,?,?,?,?)";
        return sql;
    }

    void seed_namespace(std::size_t index, const seed::generator_options& g) {
        const auto& ns = nss_[index];
        const auto table = seed::tuple_table(ns.id);
        // --append continues the row sequence after the rows already there, so object names
        // (which embed the row index) stay unique.
        const std::uint64_t first =
            existing_.count(table) ? static_cast<std::uint64_t>(query_integer(conn_, "SELECT COUNT(*) FROM " + q(table)))
                                   : 0;
        const seed::generator gen(nss_, index, g);
        const std::uint64_t batch = std::min<std::uint64_t>(opts_.batch, std::max<std::uint64_t>(opts_.tuples, 1));

        // The one batch held in memory: row buffers keep their capacity, parameters point into them.
        std::vector<seed::row> rows(batch);
        std::vector<value> params(batch * 5);
        std::unique_ptr<prepared_statement> full;
        counts c;

        auto flush = [&](std::uint64_t n) {
            for (std::uint64_t r = 0; r < n; ++r) {
                const auto& row = rows[r];
                value* p = &params[r * 5];
                p[0] = std::string_view("default");  // v0.6 always wrote this shard id
                p[1] = std::string_view(row.object);
                p[2] = std::string_view(row.relation);
                p[3] = row.subject_null ? value{} : value{std::string_view(row.subject)};
                p[4] = row.commit_time_null ? value{} : value{std::string_view(row.commit_time)};
            }
            const std::span<const value> bound(params.data(), n * 5);
            if (n == batch) {
                if (!full) full = conn_.prepare(insert_sql(table, batch));
                full->execute(bound);
            } else {
                conn_.prepare(insert_sql(table, n))->execute(bound);  // the last, short batch
            }
        };

        try {
            conn_.begin();
            std::uint64_t filled = 0, since_commit = 0;
            for (std::uint64_t i = 0; i < opts_.tuples; ++i) {
                auto& row = rows[filled++];
                gen.fill(first + i, row);
                ++c.rows;
                switch (row.kind) {
                case seed::row_kind::subject_id: ++c.ids; break;
                case seed::row_kind::subject_set: ++c.sets; break;
                case seed::row_kind::broken: ++c.broken; break;
                }
                if (filled == batch) {
                    flush(filled);
                    since_commit += filled;
                    filled = 0;
                    if (since_commit >= commit_every) {
                        conn_.commit();
                        conn_.begin();
                        since_commit = 0;
                    }
                }
            }
            if (filled) flush(filled);
            conn_.commit();
        } catch (const ferry::error& e) {
            if (conn_.in_transaction()) safe_rollback();
            throw error("seeding namespace " + ns.name + " into " + table + ": " + e.what());
        } catch (...) {
            if (conn_.in_transaction()) safe_rollback();
            throw;
        }
        std::cout << "seeded namespace " << ns.name << " (id " << ns.id << "): " << c.rows << " rows (ids " << c.ids
                  << ", sets " << c.sets << ", broken " << c.broken << ")\n";
    }

    dialect& d_;
    connection& conn_;
    const options& opts_;
    const std::vector<seed::namespace_spec>& nss_;
    std::set<std::string> existing_;
};

}  // namespace

int main(int argc, char** argv) {
    options opts;
    std::vector<seed::namespace_spec> nss;
    try {
        std::string tuples, subject_sets, broken, seed, batch;
        po::options_description desc("options");
        desc.add_options()
            ("help,h", "show this help")
            ("dsn", po::value<std::string>(), "database to seed (default: the DSN environment variable)")
            ("plugin-dir", po::value<std::vector<std::string>>(&opts.plugin_dirs)->composing(),
             "directory of dialect plugins (repeatable; searched first)")
            ("namespaces", po::value<std::string>(&opts.namespaces), "NAME=ID list (default a=0,b=1,c=2)")
            ("tuples", po::value<std::string>(&tuples), "rows per namespace (default 1000)")
            ("subject-sets", po::value<std::string>(&subject_sets),
             "percent of rows with a valid subject set (default 30)")
            ("broken", po::value<std::string>(&broken), "percent of broken rows (default 0)")
            ("seed", po::value<std::string>(&seed), "the same seed gives the same rows (default 1)")
            ("batch", po::value<std::string>(&batch), "rows per INSERT statement (default 100)")
            ("config-out", po::value<std::string>(), "also write a Keto config file (dsn, namespaces) here")
            ("append", po::bool_switch(&opts.append), "add to existing legacy tables instead of refusing");
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << usage_line << "\n\ncreates a database in Keto v0.6 layout with generated relation tuples\n\n"
                      << desc;
            return 0;
        }
        if (vm.count("dsn")) opts.dsn = vm["dsn"].as<std::string>();
        if (vm.count("config-out")) opts.config_out = vm["config-out"].as<std::string>();
        if (vm.count("tuples")) opts.tuples = parse_unsigned("tuples", tuples, 0, UINT64_MAX / 2);
        if (vm.count("subject-sets")) opts.subject_sets = static_cast<int>(parse_unsigned("subject-sets", subject_sets, 0, 100));
        if (vm.count("broken")) opts.broken = static_cast<int>(parse_unsigned("broken", broken, 0, 100));
        if (vm.count("seed")) opts.seed = parse_unsigned("seed", seed, 0, UINT64_MAX);
        if (vm.count("batch")) opts.batch = parse_unsigned("batch", batch, 1, max_batch);
        if (opts.subject_sets + opts.broken > 100)
            throw usage_error("--subject-sets plus --broken must be at most 100, not " +
                              std::to_string(opts.subject_sets + opts.broken));
        nss = seed::parse_namespaces(opts.namespaces);
    } catch (const po::error& e) {
        std::cerr << "ferry-seed: " << e.what() << "; run `ferry-seed --help` for usage\n";
        return 2;
    } catch (const usage_error& e) {
        std::cerr << "ferry-seed: " << e.what() << '\n';
        return 2;
    }

    std::optional<dsn> source;
    auto redact = [&](std::string message) { return source ? redact_password(std::move(message), *source) : message; };
    try {
        const char* env = std::getenv("DSN");
        if (!opts.dsn && !(env && *env)) throw usage_error("no database given: pass --dsn DSN (or set DSN)");
        const std::string dsn_text = opts.dsn ? *opts.dsn : env;
        source = parse_dsn(dsn_text);
        const auto registry = core::plugin_registry::load(core::plugin_search_path(opts.plugin_dirs));
        auto db = core::open_database(registry, *source);
        seeder s(db, opts, nss);
        s.check_tables();
        if (opts.config_out) write_config(*opts.config_out, dsn_text, nss);
        s.create_layout();
        s.seed_all();
        return 0;
    } catch (const usage_error& e) {
        std::cerr << "ferry-seed: " << redact(e.what()) << '\n';
        return 2;
    } catch (const config_error& e) {
        std::cerr << "ferry-seed: " << redact(e.what()) << '\n';
        return 2;
    } catch (const plugin_error& e) {
        std::cerr << "ferry-seed: " << redact(e.what()) << '\n';
        return 2;
    } catch (const ferry::error& e) {
        std::cerr << "ferry-seed: " << redact(e.what()) << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "ferry-seed: unexpected failure: " << redact(e.what()) << '\n';
        return 1;
    }
}
