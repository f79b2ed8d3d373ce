// Keto's secondary indexes of keto_relation_tuples, built once after the legacy copy instead of
// maintained row by row while an empty table fills: one sorted build is cheaper than millions of
// inserts into three B-trees (docs/benchmarks.md). The final schema is the same: the indexes are
// rebuilt with the very statements of Keto's migrations.
//
// Dropping the indexes and recording how to rebuild them are one transaction, and so are the
// rebuild and clearing the record, so a run killed at any point leaves either the indexes or
// their record (ferry_deferred_indexes). Every writing command rebuilds recorded indexes first.
// Hence only on dialects whose DDL is transactional, and that ask for it (PostgreSQL; not
// SQLite, whose in-process build would make ferry's memory grow with the table). Elsewhere the
// copy maintains the indexes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <ferry/core/migrations.hpp>
#include <ferry/dialect.hpp>

namespace ferry::core {

// The index a Keto migration creates on keto_relation_tuples, when creating it is all the
// migration does (one CREATE INDEX statement); empty for any other migration.
std::string index_created_by(const migration& m);

// Whether a dialect with these capabilities gets its indexes built after the copy.
inline bool defers_index_builds(const capabilities& caps) {
    return caps.transactional_ddl && caps.build_indexes_after_copy;
}

// Drops the indexes that `keto`'s migrations create on keto_relation_tuples and records their
// CREATE statements, if the table holds no rows and defers_index_builds(d.caps()). Returns
// how many it deferred; 0 also when the server refused a drop (e.g. the user does not own the
// table): the copy then maintains them, only slower. Needs Ferry's tables and the write lock.
std::size_t defer_secondary_indexes(connection& conn, dialect& d, const migration_set& keto);

// Builds every recorded index and clears the record, in one transaction; returns how many.
// Needs the write lock.
std::size_t build_deferred_indexes(connection& conn, dialect& d);

// The recorded (not yet rebuilt) indexes; empty also when Ferry's tables do not exist.
std::vector<std::string> deferred_indexes(connection& conn, dialect& d);

}  // namespace ferry::core
