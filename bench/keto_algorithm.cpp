// Keto v0.7.0-alpha.1's legacy migration algorithm (spec 3.3), reproduced faithfully for the
// benchmark: per namespace one transaction, pages of 100 ordered by the legacy key fetched with
// LIMIT/OFFSET plus a COUNT(*) per page, and one INSERT statement per tuple. Broken rows are
// skipped as Keto does. It exists to measure Ferry against, never to migrate real data.
//
// Round trips as Keto's drivers make them: one per statement. Ferry's PostgreSQL driver
// streams a plain SELECT through a cursor (DECLARE, FETCH, CLOSE: three round trips), so the
// page and COUNT queries start with a comment, which makes it send them as one statement with
// the result buffered, as pgx does for Keto. The other drivers are unaffected. The number of
// statements is printed with the time, so the harness can model added latency exactly.
//
// --ping N times N round trips of "SELECT 1" instead and prints their mean, to measure the
// latency the benchmark actually added.
#include <chrono>
#include <iostream>

#include <boost/program_options.hpp>

#include <ferry/core/config.hpp>
#include <ferry/core/legacy.hpp>
#include <ferry/core/plugins.hpp>
#include <ferry/core/uuid.hpp>
#include <ferry/errors.hpp>

using namespace ferry;
namespace po = boost::program_options;

int main(int argc, char** argv) {
    std::string config_file;
    std::vector<std::string> plugin_dirs;
    int ping = 0;
    po::options_description desc("usage: ferry-bench-keto -c CONFIG [--plugin-dir DIR] [--ping N]");
    desc.add_options()("config,c", po::value(&config_file)->required(), "Keto config (dsn + namespaces)")(
        "plugin-dir", po::value(&plugin_dirs)->composing(), "plugin directory")(
        "ping", po::value(&ping), "only time N round trips of SELECT 1 and print the mean");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << e.what() << '\n' << desc;
        return 2;
    }
    try {
        const auto cfg = core::load_config(config_file);
        const auto registry = core::plugin_registry::load(core::plugin_search_path(plugin_dirs));
        auto db = core::open_database(registry, parse_dsn(core::resolve_dsn(std::nullopt, cfg)));
        auto& conn = *db.conn;
        if (ping > 0) {
            query_integer(conn, "/* keto */ SELECT 1");  // warm up
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < ping; ++i) query_integer(conn, "/* keto */ SELECT 1");
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            std::cout << "ping round_trips=" << ping << " mean_ms=" << ms / ping << '\n';
            return 0;
        }
        core::uuid_generator uuids;
        std::string nid;
        {
            auto r = conn.query("SELECT id FROM networks ORDER BY created_at LIMIT 1");
            if (r->next()) nid = std::string(r->text(0));
        }
        if (nid.empty()) {
            nid = uuids.next_string();
            std::array<value, 1> p{nid};
            conn.execute("INSERT INTO networks (id, created_at, updated_at) VALUES (?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", p);
        }
        const auto started = std::chrono::steady_clock::now();
        std::uint64_t copied = 0, statements = 0;
        for (const auto& table : core::legacy::discover(conn, *db.dialect)) {
            const auto* ns = cfg.find_by_id(table.namespace_id);
            if (!ns) throw config_error("no namespace for " + table.table);
            const auto quoted = db.dialect->quote_identifier(table.table);
            transaction tx(conn);
            ++statements;  // BEGIN
            for (std::int64_t page = 1;; ++page) {
                const auto count = query_integer(conn, "/* keto */ SELECT COUNT(*) FROM " + quoted);
                std::array<value, 1> offset{(page - 1) * 100};
                statements += 2;
                auto rows = conn.query("/* keto */ SELECT shard_id, object, relation, subject, commit_time FROM " + quoted +
                                           " ORDER BY object, relation, subject, commit_time LIMIT 100 OFFSET ?",
                                       offset);
                std::vector<std::array<std::string, 4>> page_rows;
                while (rows->next())
                    page_rows.push_back({std::string(rows->text(1)), std::string(rows->text(2)),
                                         std::string(rows->text(3)), std::string(rows->text(4))});
                rows.reset();
                for (const auto& [object, relation, subject, commit_time] : page_rows) {
                    const auto s = core::legacy::parse_subject(subject);
                    if (s.kind == core::legacy::parsed_subject::malformed) continue;
                    std::array<value, 10> p{uuids.next_string(), nid, ns->id, object, relation, value{}, value{},
                                            value{}, value{}, commit_time};
                    if (s.kind == core::legacy::parsed_subject::subject_id) {
                        p[5] = std::string(s.id);
                    } else {
                        const auto* target = cfg.find_by_name(s.set_namespace);
                        if (!target) throw state_error("unknown namespace in subject set");
                        p[6] = target->id;
                        p[7] = std::string(s.set_object);
                        p[8] = std::string(s.set_relation);
                    }
                    conn.execute("INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, "
                                 "subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, "
                                 "commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 p);
                    ++copied;
                    ++statements;
                }
                if (page >= (count + 99) / 100) break;
            }
            tx.commit();
            ++statements;  // COMMIT
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::cout << "keto-algorithm copied=" << copied << " statements=" << statements << " seconds=" << secs << '\n';
    } catch (const std::exception& e) {
        std::cerr << "ferry-bench-keto: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
