#include <ferry/core/migrations.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <boost/crc.hpp>

#include <ferry/core/log.hpp>
#include <ferry/errors.hpp>

std::span<const ferry::embedded_file> ferry_internal_migration_files();

namespace ferry::core {
namespace {

constexpr std::string_view known_dialects[] = {"postgres", "mysql", "cockroach", "sqlite3"};

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

struct parsed_name {
    std::string version, name, dialect, direction;
};

std::optional<parsed_name> parse_file_name(const std::string& file) {
    static const std::regex pattern(R"(^([0-9]+)_([^.]+)(\.([a-z0-9]+))?\.(up|down)\.sql$)");
    std::smatch m;
    if (!std::regex_match(file, m, pattern)) return std::nullopt;
    parsed_name p{m[1], m[2], m[4], m[5]};
    if (!p.dialect.empty() &&
        std::find(std::begin(known_dialects), std::end(known_dialects), p.dialect) == std::end(known_dialects))
        return std::nullopt;
    return p;
}

}  // namespace

bool migration::up_is_empty() const { return blank(up); }
bool migration::down_is_empty() const { return blank(down); }

std::string checksum_of(std::string_view content) {
    boost::crc_32_type crc;
    crc.process_bytes(content.data(), content.size());
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", crc.checksum());
    return std::string("crc32:") + buf;
}

migration_set migration_set::from_files(std::vector<migration_file> files, std::string_view dialect) {
    struct slot {
        std::string name;
        // [0] generic, [1] dialect-specific; per direction.
        std::optional<migration_file> up[2], down[2];
    };
    std::map<std::string, slot> by_version;
    for (auto& f : files) {
        auto p = parse_file_name(f.name);
        if (!p)
            throw migration_error("bad migration file name \"" + f.name +
                                  "\"; expected VERSION_NAME[.DIALECT].(up|down).sql with DIALECT one of "
                                  "postgres, mysql, cockroach, sqlite3");
        if (!p->dialect.empty() && p->dialect != dialect) continue;
        auto& s = by_version[p->version];
        if (!s.name.empty() && s.name != p->name)
            throw migration_error("migration version " + p->version + " has two names (\"" + s.name + "\" and \"" +
                                  p->name + "\"); give each version one name");
        s.name = p->name;
        auto& target = (p->direction == "up" ? s.up : s.down)[p->dialect.empty() ? 0 : 1];
        if (target) throw migration_error("migration file " + f.name + " is given twice");
        target = std::move(f);
    }
    migration_set set;
    for (auto& [version, s] : by_version) {
        auto& up = s.up[1] ? s.up[1] : s.up[0];
        auto& down = s.down[1] ? s.down[1] : s.down[0];
        if (!up || !down)
            throw migration_error("migration " + version + "_" + s.name + " has " + (up ? "an up" : "a down") +
                                  " file but no " + (up ? "down" : "up") + " file for dialect " +
                                  std::string(dialect) + "; add the missing file (it may be empty)");
        migration m;
        m.version = version;
        m.name = s.name;
        m.up_file = up->name;
        m.down_file = down->name;
        m.up = std::move(up->content);
        m.down = std::move(down->content);
        m.checksum = checksum_of(m.up);
        set.migrations_.push_back(std::move(m));
    }
    // std::map orders by string already; versions compare as strings, as popx does.
    return set;
}

migration_set migration_set::from_embedded(std::span<const embedded_file> files, std::string_view dialect) {
    std::vector<migration_file> copies;
    for (const auto& f : files) copies.push_back({f.name, std::string(f.content, f.size)});
    return from_files(std::move(copies), dialect);
}

migration_set migration_set::from_directory(const std::filesystem::path& dir, std::string_view dialect) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw config_error("migrations directory " + dir.string() + " does not exist or is not a directory");
    std::vector<migration_file> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) throw config_error("cannot read migration file " + entry.path().string());
        std::ostringstream content;
        content << in.rdbuf();
        files.push_back({entry.path().filename().string(), content.str()});
    }
    if (ec) throw config_error("cannot list migrations directory " + dir.string() + ": " + ec.message());
    return from_files(std::move(files), dialect);
}

// ---------------------------------------------------------------------------------------------

migrator::migrator(connection& conn, dialect& d, const migration_set& set, std::string history_table,
                   bool record_checksums)
    : conn_(conn), dialect_(d), set_(set), table_(std::move(history_table)),
      quoted_(d.quote_identifier(table_)), record_checksums_(record_checksums) {}

bool migrator::history_exists() { return table_exists(conn_, dialect_, table_); }

std::vector<std::string> migrator::applied_versions() {
    std::vector<std::string> versions;
    auto r = conn_.query("SELECT version FROM " + quoted_);
    while (r->next()) versions.emplace_back(r->text(0));
    return versions;
}

// popx's first step before every run: create the table when missing, convert a pre-popx
// (pop) table that lacks version_self.
void migrator::ensure_history_table() {
    if (!history_exists()) {
        transaction tx(conn_);
        for (const auto& stmt : dialect_.history_table_ddl(table_)) conn_.execute(stmt);
        tx.commit();
        return;
    }
    try {
        conn_.query("SELECT version_self FROM " + quoted_ + " WHERE 1 = 0")->next();
        return;
    } catch (const sql_error&) {
        // A pop-era table: convert it below, as popx does.
    }
    log().info("converting the pre-popx history table", {{"table", table_}});
    const auto staging = table_ + "_transactional";
    {
        transaction tx(conn_);
        conn_.execute(dialect_.drop_index_sql(table_ + "_version_idx", table_));
        for (const auto& stmt : dialect_.history_table_ddl(staging)) conn_.execute(stmt);
        conn_.execute("INSERT INTO " + dialect_.quote_identifier(staging) + " (version) SELECT version FROM " +
                      quoted_);
        conn_.execute("ALTER TABLE " + quoted_ + " RENAME TO " + dialect_.quote_identifier(table_ + "_pop_legacy"));
        tx.commit();
    }
    transaction tx(conn_);
    conn_.execute("ALTER TABLE " + dialect_.quote_identifier(staging) + " RENAME TO " + quoted_);
    tx.commit();
}

std::optional<std::vector<std::pair<std::string, std::string>>> migrator::recorded_checksums() {
    if (!record_checksums_ || !ferry_tables_exist(conn_, dialect_)) return std::nullopt;
    std::vector<std::pair<std::string, std::string>> out;
    std::array<value, 1> p{std::string_view(table_)};
    auto r = conn_.query("SELECT version, checksum, state FROM ferry_migration_meta WHERE history_table = ?", p);
    while (r->next())
        if (r->text(2) == "applied") out.emplace_back(r->text(0), r->text(1));
    return out;
}

std::vector<migration_status> migrator::status() {
    std::vector<migration_status> out;
    std::set<std::string> applied;
    std::map<std::string, std::string> sums;
    if (history_exists()) {
        for (auto& v : applied_versions()) applied.insert(std::move(v));
        if (auto recorded = recorded_checksums())
            for (auto& [v, c] : *recorded) sums[v] = c;
    }
    for (const auto& m : set_.migrations()) {
        migration_status s;
        s.m = &m;
        const bool exact = applied.count(m.version) > 0;
        const bool legacy = m.version.size() > 14 && applied.count(m.version.substr(0, 14)) > 0;
        s.state = exact || legacy ? migration_state::applied : migration_state::pending;
        if (auto it = sums.find(m.version); it != sums.end()) s.recorded_checksum = it->second;
        out.push_back(std::move(s));
    }
    return out;
}

// A migration on a dialect without transactional DDL is marked "started" in its own
// transaction before its DDL runs; a "started" row that is still there means a run died
// between DDL and history row, and a human must look at what the DDL left behind.
void migrator::check_interrupted() {
    if (!record_checksums_ || !ferry_tables_exist(conn_, dialect_)) return;
    std::array<value, 1> p{std::string_view(table_)};
    auto r = conn_.query(
        "SELECT version FROM ferry_migration_meta WHERE history_table = ? AND state = 'started' ORDER BY version", p);
    if (r->next()) {
        const std::string version(r->text(0));
        throw migration_error(
            "migration " + version + " was interrupted by an earlier run after its DDL started and before it was "
            "recorded; this database cannot roll DDL back, so inspect the schema, complete or undo that migration "
            "by hand, then run `ferry migrate resolve " + version + " --applied` or `--pending`");
    }
}

std::vector<std::string> migrator::unknown_versions() {
    std::set<std::string> known;
    for (const auto& m : set_.migrations()) {
        known.insert(m.version);
        if (m.version.size() > 14) known.insert(m.version.substr(0, 14));  // popx's legacy rows
    }
    std::vector<std::string> unknown;
    if (!history_exists()) return unknown;
    for (auto& v : applied_versions())
        if (!known.count(v)) unknown.push_back(std::move(v));
    std::sort(unknown.begin(), unknown.end());
    return unknown;
}

// A version the set does not know was applied by something else (a newer Keto, another
// tool): running this set's up or down against it would guess. Refuse instead.
void migrator::check_unknown_versions() {
    const auto unknown = unknown_versions();
    if (unknown.empty()) return;
    std::string list;
    for (const auto& v : unknown) list += (list.empty() ? "" : ", ") + v;
    throw migration_error(table_ + " holds versions this migration set does not know (" + list +
                          "); the database was migrated by a newer Keto or another tool. Use the migration set "
                          "that wrote them (--migrations DIR), or remove those rows if you are sure they are stale");
}

void migrator::record_version(const migration& m, std::chrono::milliseconds took) {
    std::array<value, 1> v{std::string_view(m.version)};
    conn_.execute("INSERT INTO " + quoted_ + " (version, version_self) VALUES (?, 0)", v);
    if (!record_checksums_) return;
    std::array<value, 2> key{std::string_view(table_), std::string_view(m.version)};
    conn_.execute("DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?", key);
    std::array<value, 4> row{std::string_view(table_), std::string_view(m.version), std::string_view(m.checksum),
                             static_cast<std::int64_t>(took.count())};
    conn_.execute("INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) "
                  "VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)",
                  row);
}

void migrator::run_up(const migration& m) {
    const auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    };
    auto fail = [&](const ferry::error& e) -> migration_error {
        return migration_error("migration " + m.version + " (" + m.up_file + ") failed: " + e.what());
    };
    if (dialect_.caps().transactional_ddl || m.up_is_empty()) {
        try {
            transaction tx(conn_);
            if (!m.up_is_empty()) conn_.execute_script(m.up);
            record_version(m, elapsed());
            tx.commit();
        } catch (const migration_error&) {
            throw;
        } catch (const permission_error&) {
            throw;
        } catch (const ferry::error& e) {
            throw fail(e);
        }
        return;
    }
    if (record_checksums_) {
        transaction tx(conn_);
        // A meta row can outlive its history row when someone deleted the latter by hand.
        std::array<value, 2> key{std::string_view(table_), std::string_view(m.version)};
        conn_.execute("DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?", key);
        std::array<value, 3> row{std::string_view(table_), std::string_view(m.version), std::string_view(m.checksum)};
        conn_.execute("INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, "
                      "duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)",
                      row);
        tx.commit();
    }
    try {
        conn_.execute_script(m.up);
    } catch (const ferry::error& e) {
        throw migration_error("migration " + m.version + " (" + m.up_file +
                              ") failed and this database cannot roll DDL back: " + e.what() +
                              "; inspect what it left, then run `ferry migrate resolve " + m.version +
                              " --applied` or `--pending`");
    }
    transaction tx(conn_);
    record_version(m, elapsed());
    tx.commit();
}

std::size_t migrator::up(const migration_listener& listener) {
    ensure_history_table();
    check_interrupted();
    check_unknown_versions();
    std::set<std::string> applied;
    for (auto& v : applied_versions()) applied.insert(std::move(v));
    // Every applied file is checked before anything runs: an edited migration stops the run whole.
    for (const auto& s : status())
        if (s.changed())
            throw migration_error("migration " + s.m->version + " (" + s.m->up_file +
                                  ") was changed after it was applied (recorded " + *s.recorded_checksum +
                                  ", file now " + s.m->checksum +
                                  "); restore the original file, or write a new migration for the change");
    std::size_t done = 0;
    for (const auto& m : set_.migrations()) {
        if (applied.count(m.version)) continue;
        if (m.version.size() > 14 && applied.count(m.version.substr(0, 14))) {
            // Applied by a pre-popx engine under its 14-digit version: record, don't run.
            if (listener) listener({migration_event::recorded_only, &m});
            transaction tx(conn_);
            record_version(m, std::chrono::milliseconds(0));
            tx.commit();
            ++done;
            continue;
        }
        if (listener) listener({m.up_is_empty() ? migration_event::empty_skipped : migration_event::applying, &m});
        run_up(m);
        ++done;
    }
    return done;
}

std::size_t migrator::down(int steps, const migration_listener& listener) {
    ensure_history_table();
    check_interrupted();
    check_unknown_versions();
    const auto count = static_cast<std::size_t>(query_integer(conn_, "SELECT COUNT(*) FROM " + quoted_));
    std::vector<const migration*> list;
    for (auto it = set_.migrations().rbegin(); it != set_.migrations().rend(); ++it) list.push_back(&*it);
    // popx's rule: with fewer history rows than migrations, only the last `count` entries of
    // the descending list are candidates.
    if (list.size() > count) list.erase(list.begin(), list.end() - static_cast<std::ptrdiff_t>(count));
    if (steps > 0 && list.size() > static_cast<std::size_t>(steps)) list.resize(static_cast<std::size_t>(steps));
    std::set<std::string> applied;
    for (auto& v : applied_versions()) applied.insert(std::move(v));
    // Known once: reverting migrations of this set never creates or drops Ferry's own tables.
    const bool forget_checksums = record_checksums_ && ferry_tables_exist(conn_, dialect_);
    std::size_t done = 0;
    for (const auto* m : list) {
        if (!applied.count(m->version)) {
            if (m->version.size() <= 14)
                throw migration_error("migration version " + m->version + " does not exist in " + table_);
            if (!applied.count(m->version.substr(0, 14))) {
                log().info("stopping: migration is not applied", {{"version", m->version}});
                break;
            }
        }
        if (listener) listener({migration_event::reverting, m});
        auto revert = [&] {
            if (!m->down_is_empty()) conn_.execute_script(m->down);
            std::array<value, 1> v{std::string_view(m->version)};
            conn_.execute("DELETE FROM " + quoted_ + " WHERE version = ?", v);
            if (forget_checksums) {
                std::array<value, 2> key{std::string_view(table_), std::string_view(m->version)};
                conn_.execute("DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?", key);
            }
        };
        try {
            transaction tx(conn_);
            revert();
            tx.commit();
        } catch (const permission_error&) {
            throw;
        } catch (const ferry::error& e) {
            throw migration_error("down migration " + m->version + " (" + m->down_file + ") failed: " + e.what());
        }
        ++done;
    }
    return done;
}

void migrator::resolve(const std::string& version, bool applied) {
    auto it = std::find_if(set_.migrations().begin(), set_.migrations().end(),
                           [&](const migration& m) { return m.version == version; });
    if (it == set_.migrations().end())
        throw usage_error("no migration with version " + version + " in this migration set");
    if (!ferry_tables_exist(conn_, dialect_))
        throw state_error("migration " + version + " has no interrupted run recorded; nothing to resolve");
    std::array<value, 2> key{std::string_view(table_), std::string_view(version)};
    if (query_integer(conn_,
                      "SELECT COUNT(*) FROM ferry_migration_meta WHERE history_table = ? AND version = ? AND "
                      "state = 'started'",
                      key) == 0)
        throw state_error("migration " + version + " has no interrupted run recorded; nothing to resolve");
    transaction tx(conn_);
    conn_.execute("DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?", key);
    if (applied) record_version(*it, std::chrono::milliseconds(0));
    tx.commit();
}

// ---------------------------------------------------------------------------------------------

namespace {
const migration_set& internal_set(std::string_view dialect) {
    // One set per dialect name; the files are generic today but may gain dialect variants.
    static std::map<std::string, migration_set, std::less<>> sets;
    auto it = sets.find(dialect);
    if (it == sets.end())
        it = sets.emplace(std::string(dialect), migration_set::from_embedded(ferry_internal_migration_files(), dialect))
                 .first;
    return it->second;
}
}  // namespace

bool table_exists(connection& conn, dialect& d, std::string_view table) {
    const auto tables = d.list_tables(conn);
    return std::find(tables.begin(), tables.end(), table) != tables.end();
}

bool ferry_tables_exist(connection& conn, dialect& d) { return table_exists(conn, d, "ferry_migration_meta"); }

void ensure_ferry_tables(connection& conn, dialect& d) {
    migrator m(conn, d, internal_set(d.migration_dialect()), "ferry_schema_migration", false);
    m.up([](const migration_event& e) { log().debug("ferry bookkeeping migration", {{"version", e.m->version}}); });
}

}  // namespace ferry::core
