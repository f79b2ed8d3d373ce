#include <ferry/core/deferred_indexes.hpp>

#include <array>
#include <regex>

#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>

namespace ferry::core {

namespace {

constexpr const char* target_table = "keto_relation_tuples";

struct recorded_index {
    std::string name, create_statement;
};

std::vector<recorded_index> recorded(connection& conn, dialect& d) {
    std::vector<recorded_index> out;
    if (!table_exists(conn, d, "ferry_deferred_indexes")) return out;
    auto r = conn.query("SELECT index_name, create_statement FROM ferry_deferred_indexes ORDER BY index_name");
    while (r->next()) out.push_back({std::string(r->text(0)), std::string(r->text(1))});
    return out;
}

}  // namespace

std::string index_created_by(const migration& m) {
    // One statement, nothing after it but an optional semicolon and blanks.
    static const std::regex create_index(
        R"(\s*CREATE\s+INDEX\s+([A-Za-z_][A-Za-z0-9_]*)\s+ON\s+keto_relation_tuples\s*\([^;]*\)[^;()]*;?\s*)",
        std::regex::icase);
    std::smatch match;
    return std::regex_match(m.up, match, create_index) ? match[1].str() : std::string();
}

std::size_t defer_secondary_indexes(connection& conn, dialect& d, const migration_set& keto) {
    if (!defers_index_builds(d.caps())) return 0;
    {
        auto r = conn.query(std::string("SELECT 1 FROM ") + target_table + " LIMIT 1");
        if (r->next()) return 0;  // rows to keep indexed: the copy maintains the indexes
    }
    std::vector<std::pair<std::string, const migration*>> indexes;
    for (const auto& m : keto.migrations())
        if (auto name = index_created_by(m); !name.empty()) indexes.emplace_back(std::move(name), &m);
    if (indexes.empty()) return 0;
    try {
        transaction tx(conn);
        for (const auto& [name, m] : indexes) {
            conn.execute(d.drop_index_sql(name, target_table));
            std::array<value, 2> row{std::string_view(name), std::string_view(m->up)};
            conn.execute("INSERT INTO ferry_deferred_indexes (index_name, create_statement, deferred_at) "
                         "VALUES (?, ?, CURRENT_TIMESTAMP)",
                         row);
        }
        tx.commit();
    } catch (const connection_error&) {
        throw;
    } catch (const ferry::error& e) {
        // Missing ownership of the table, an index dropped by hand: nothing changed (one
        // transaction), and the copy works as well with the indexes in place.
        log().info("keeping the indexes of keto_relation_tuples during the copy: they could not be dropped",
                   {{"reason", std::string(e.what())}});
        return 0;
    }
    log().info("dropped the secondary indexes of the empty keto_relation_tuples; they are built after the copy",
               {{"indexes", indexes.size()}});
    return indexes.size();
}

std::size_t build_deferred_indexes(connection& conn, dialect& d) {
    const auto pending = recorded(conn, d);
    if (pending.empty()) return 0;
    transaction tx(conn);
    if (!table_exists(conn, d, target_table)) {
        // Dropped since (migrate down, by hand): nothing left to index.
        log().warn("forgetting the deferred indexes of keto_relation_tuples: the table no longer exists",
                   {{"indexes", pending.size()}});
    } else {
        log().info("building the secondary indexes of keto_relation_tuples", {{"indexes", pending.size()}});
        for (const auto& ix : pending) conn.execute_script(ix.create_statement);
    }
    conn.execute("DELETE FROM ferry_deferred_indexes");
    tx.commit();
    return pending.size();
}

std::vector<std::string> deferred_indexes(connection& conn, dialect& d) {
    std::vector<std::string> names;
    for (auto& ix : recorded(conn, d)) names.push_back(std::move(ix.name));
    return names;
}

}  // namespace ferry::core
