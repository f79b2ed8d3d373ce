// Keto's secondary indexes of keto_relation_tuples, built once after the legacy copy instead of
// maintained row by row while an empty table fills: one sorted build is cheaper than millions of
// inserts into three B-trees (docs/benchmarks.md). The final schema is the same: the indexes are
// rebuilt with the very statements of Keto's migrations.
//
// Dropping the indexes and recording how to rebuild them are one transaction, and so are the
// rebuild and clearing the record, so a run killed at any point leaves either the indexes or
// their record (ferry_deferred_indexes). Every writing command rebuilds recorded indexes first.
// Hence only on dialects whose DDL is transactional; elsewhere the copy maintains the indexes.
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

// Drops the indexes that `keto`'s migrations create on keto_relation_tuples and records their
// CREATE statements, if the table holds no rows and the dialect's DDL is transactional. Returns
// how many it deferred; 0 also when the server refused a drop (e.g. the user does not own the
// table): the copy then maintains them, only slower. Needs Ferry's tables and the write lock.
std::size_t defer_secondary_indexes(connection& conn, dialect& d, const migration_set& keto);

// Builds every recorded index and clears the record, in one transaction; returns how many.
// Needs the write lock.
std::size_t build_deferred_indexes(connection& conn, dialect& d);

// The recorded (not yet rebuilt) indexes; empty also when Ferry's tables do not exist.
std::vector<std::string> deferred_indexes(connection& conn, dialect& d);

}  // namespace ferry::core
