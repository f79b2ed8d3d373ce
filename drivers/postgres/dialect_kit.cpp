// The parts of a dialect that are the same on every server speaking PostgreSQL's protocol and
// catalog: the postgres and cockroach plugins both use them, so neither keeps a copy.
#include <ferry/drivers/postgres.hpp>

#include <ferry/errors.hpp>

namespace ferry::drivers::postgres {
namespace {

// Re-throws the current ferry::error with `context` in front, keeping its type: the CLI picks
// the exit code by type.
[[noreturn]] void rethrow_with_context(const std::string& context) {
    try {
        throw;
    } catch (const connection_error& e) {
        throw connection_error(context + e.what());
    } catch (const permission_error& e) {
        throw permission_error(context + e.what());
    } catch (const serialization_error& e) {
        throw serialization_error(context + e.what(), e.sqlstate());
    } catch (const sql_error& e) {
        throw sql_error(context + e.what(), e.sqlstate());
    } catch (const config_error& e) {
        throw config_error(context + e.what());
    }
}

}  // namespace

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::vector<std::string> history_table_ddl(std::string_view table) {
    const auto t = std::string(table);
    return {
        "CREATE TABLE " + quote_identifier(t) + " (version VARCHAR(48) NOT NULL, version_self INT NOT NULL DEFAULT 0)",
        "CREATE UNIQUE INDEX " + quote_identifier(t + "_version_idx") + " ON " + quote_identifier(t) + " (version)",
        "CREATE INDEX " + quote_identifier(t + "_version_self_idx") + " ON " + quote_identifier(t) + " (version_self)",
    };
}

std::unique_ptr<pg_connection> open_session(const dsn& source, const std::string& purpose, session_options options) {
    try {
        return open(source, options);
    } catch (const ferry::error&) {
        rethrow_with_context("opening a second session " + purpose + ": ");
    }
}

std::vector<std::string> missing_write_privileges(connection& conn) {
    auto r = conn.query(R"(
        SELECT 'CREATE on schema ' || coalesce(current_schema(), '(none in search_path)'), NULL
         WHERE current_schema() IS NULL OR NOT has_schema_privilege(current_schema(), 'CREATE')
        UNION ALL
        SELECT p, tablename
          FROM pg_catalog.pg_tables, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS p
         WHERE schemaname = current_schema()
           AND NOT has_table_privilege(quote_ident(schemaname) || '.' || quote_ident(tablename), p)
        UNION ALL
        SELECT 'ownership (to drop or alter)', tablename
          FROM pg_catalog.pg_tables
         WHERE schemaname = current_schema() AND NOT pg_has_role(tableowner, 'USAGE')
        ORDER BY 1, 2)");
    // Grouped per privilege, naming a few tables: a read-only user lacks them on all.
    std::vector<std::string> missing;
    std::string privilege, tables;
    std::size_t count = 0;
    auto flush = [&] {
        if (privilege.empty()) return;
        if (count > 3) tables += " and " + std::to_string(count - 3) + " more tables";
        missing.push_back(count ? privilege + " on " + tables : privilege);
    };
    while (r->next()) {
        std::string p(r->text(0));
        if (p != privilege) {
            flush();
            privilege = p;
            tables.clear();
            count = 0;
        }
        if (r->is_null(1)) continue;
        if (++count <= 3) tables += (tables.empty() ? "" : ", ") + std::string(r->text(1));
    }
    flush();
    return missing;
}

}  // namespace ferry::drivers::postgres
