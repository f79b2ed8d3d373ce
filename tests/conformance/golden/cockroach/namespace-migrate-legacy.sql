s1 SELECT version()
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version, checksum, state FROM ferry_migration_meta WHERE history_table = ?
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000000_relation_tuples" WHERE 1 = 0
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000001_relation_tuples" WHERE 1 = 0
s1 SELECT 'CREATE on schema ' || coalesce(current_schema(), '(none in search_path)'), NULL WHERE current_schema() IS NULL OR NOT has_schema_privilege(current_schema(), 'CREATE') UNION ALL SELECT p, tablename FROM pg_catalog.pg_tables, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS p WHERE schemaname = current_schema() AND NOT has_table_privilege(quote_ident(schemaname) || '.' || quote_ident(tablename), p) UNION ALL SELECT 'ownership (to drop or alter)', tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND NOT pg_has_role(tableowner, 'USAGE') ORDER BY 1, 2
s2 SELECT current_database()
s2 CREATE TABLE IF NOT EXISTS ferry_lease (name VARCHAR(64) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, acquired_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
s2 SELECT owner, expires_at, CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) FROM ferry_lease WHERE name = ?
s2 INSERT INTO ferry_lease (name, owner, acquired_at, heartbeat_at, expires_at) VALUES (?, ?, CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT), CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT), CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) + ?)
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version_self FROM "ferry_schema_migration" WHERE 1 = 0
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "ferry_schema_migration"
s1 SELECT version FROM "ferry_schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "ferry_schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT index_name, create_statement FROM ferry_deferred_indexes ORDER BY index_name
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT rows_copied, rows_skipped, dropped_at FROM ferry_legacy_namespaces WHERE namespace_id = ?
s1 SELECT last_key, rows_read, rows_copied, rows_skipped, tuples_before, skipped_before, chunks FROM ferry_legacy_progress WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000000_relation_tuples"
s1 DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 SELECT id FROM networks ORDER BY created_at LIMIT 1
s1 SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000000_relation_tuples" ORDER BY shard_id, object, relation, subject, commit_time LIMIT 20
s1 PREPARE ferry_stmt_1 AS INSERT INTO ferry_skipped_relation_tuples (namespace_id, shard_id, object, relation, subject, commit_time, reason, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 EXECUTE ferry_stmt_1
s1 EXECUTE ferry_stmt_1
s1 SELECT id FROM networks ORDER BY created_at LIMIT 1
s1 INSERT INTO networks (id, created_at, updated_at) VALUES (?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
s1 PREPARE ferry_stmt_2 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_2
s1 PREPARE ferry_stmt_3 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_3
s1 INSERT INTO ferry_legacy_progress (namespace_id, last_key, rows_read, rows_copied, rows_skipped, tuples_before, skipped_before, chunks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000000_relation_tuples" WHERE (shard_id, object, relation, subject, commit_time) > (?, ?, ?, ?, ?) ORDER BY shard_id, object, relation, subject, commit_time LIMIT 20
s1 PREPARE ferry_stmt_4 AS INSERT INTO ferry_skipped_relation_tuples (namespace_id, shard_id, object, relation, subject, commit_time, reason, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 EXECUTE ferry_stmt_4
s1 PREPARE ferry_stmt_5 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_5
s1 PREPARE ferry_stmt_6 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_6
s1 UPDATE ferry_legacy_progress SET last_key = ?, rows_read = ?, rows_copied = ?, rows_skipped = ?, chunks = ?, updated_at = CURRENT_TIMESTAMP WHERE namespace_id = ?
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) SELECT shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000000_relation_tuples"
s1 SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = ? AND nid = ?
s1 SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?
s1 INSERT INTO ferry_legacy_namespaces (namespace_id, namespace_name, legacy_table, rows_copied, rows_skipped, copied_at) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 DELETE FROM ferry_legacy_progress WHERE namespace_id = ?
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 SELECT reason, COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ? GROUP BY reason
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT rows_copied, rows_skipped, dropped_at FROM ferry_legacy_namespaces WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000000_relation_tuples"
s1 BEGIN
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 UPDATE ferry_legacy_namespaces SET dropped_at = CURRENT_TIMESTAMP WHERE namespace_id = ?
s1 DROP TABLE "keto_namespace_0000000000_migrations"
s1 DROP TABLE "keto_0000000000_relation_tuples"
s1 COMMIT
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT rows_copied, rows_skipped, dropped_at FROM ferry_legacy_namespaces WHERE namespace_id = ?
s1 SELECT last_key, rows_read, rows_copied, rows_skipped, tuples_before, skipped_before, chunks FROM ferry_legacy_progress WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000001_relation_tuples"
s1 DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = ? AND nid = ?
s1 SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000001_relation_tuples" ORDER BY shard_id, object, relation, subject, commit_time LIMIT 20
s1 PREPARE ferry_stmt_7 AS INSERT INTO ferry_skipped_relation_tuples (namespace_id, shard_id, object, relation, subject, commit_time, reason, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 EXECUTE ferry_stmt_7
s1 EXECUTE ferry_stmt_7
s1 PREPARE ferry_stmt_8 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_8
s1 PREPARE ferry_stmt_9 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_9
s1 INSERT INTO ferry_legacy_progress (namespace_id, last_key, rows_read, rows_copied, rows_skipped, tuples_before, skipped_before, chunks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 SELECT shard_id, object, relation, subject, commit_time FROM "keto_0000000001_relation_tuples" WHERE (shard_id, object, relation, subject, commit_time) > (?, ?, ?, ?, ?) ORDER BY shard_id, object, relation, subject, commit_time LIMIT 20
s1 PREPARE ferry_stmt_10 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_10
s1 PREPARE ferry_stmt_11 AS INSERT INTO ferry_staged_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
s1 EXECUTE ferry_stmt_11
s1 UPDATE ferry_legacy_progress SET last_key = ?, rows_read = ?, rows_copied = ?, rows_skipped = ?, chunks = ?, updated_at = CURRENT_TIMESTAMP WHERE namespace_id = ?
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 BEGIN
s1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
s1 SAVEPOINT cockroach_restart
s1 INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time) SELECT shard_id, nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000001_relation_tuples"
s1 SELECT COUNT(*) FROM keto_relation_tuples WHERE namespace_id = ? AND nid = ?
s1 SELECT COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ?
s1 INSERT INTO ferry_legacy_namespaces (namespace_id, namespace_name, legacy_table, rows_copied, rows_skipped, copied_at) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
s1 DELETE FROM ferry_staged_relation_tuples WHERE namespace_id = ?
s1 DELETE FROM ferry_legacy_progress WHERE namespace_id = ?
s1 RELEASE SAVEPOINT cockroach_restart
s1 COMMIT
s1 SELECT reason, COUNT(*) FROM ferry_skipped_relation_tuples WHERE namespace_id = ? GROUP BY reason
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT rows_copied, rows_skipped, dropped_at FROM ferry_legacy_namespaces WHERE namespace_id = ?
s1 SELECT COUNT(*) FROM "keto_0000000001_relation_tuples"
s1 BEGIN
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 UPDATE ferry_legacy_namespaces SET dropped_at = CURRENT_TIMESTAMP WHERE namespace_id = ?
s1 DROP TABLE "keto_namespace_0000000001_migrations"
s1 DROP TABLE "keto_0000000001_relation_tuples"
s1 COMMIT
s2 DELETE FROM ferry_lease WHERE name = ? AND owner = ?
