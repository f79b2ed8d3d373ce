s1 SELECT version()
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT 'CREATE on schema ' || coalesce(current_schema(), '(none in search_path)'), NULL WHERE current_schema() IS NULL OR NOT has_schema_privilege(current_schema(), 'CREATE') UNION ALL SELECT p, tablename FROM pg_catalog.pg_tables, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS p WHERE schemaname = current_schema() AND NOT has_table_privilege(quote_ident(schemaname) || '.' || quote_ident(tablename), p) UNION ALL SELECT 'ownership (to drop or alter)', tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND NOT pg_has_role(tableowner, 'USAGE') ORDER BY 1, 2
s2 SELECT current_database()
s2 CREATE TABLE IF NOT EXISTS ferry_lease (name VARCHAR(64) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, acquired_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
s2 SELECT owner, expires_at, CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) FROM ferry_lease WHERE name = ?
s2 INSERT INTO ferry_lease (name, owner, acquired_at, heartbeat_at, expires_at) VALUES (?, ?, CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT), CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT), CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT) + ?)
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 BEGIN
s1 CREATE TABLE "ferry_schema_migration" (version VARCHAR(48) NOT NULL, version_self INT NOT NULL DEFAULT 0)
s1 CREATE UNIQUE INDEX "ferry_schema_migration_version_idx" ON "ferry_schema_migration" (version)
s1 CREATE INDEX "ferry_schema_migration_version_self_idx" ON "ferry_schema_migration" (version_self)
s1 COMMIT
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "ferry_schema_migration"
s1 SELECT version FROM "ferry_schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "ferry_schema_migration"
s1 CREATE TABLE ferry_migration_meta ( history_table VARCHAR(64) NOT NULL, version VARCHAR(48) NOT NULL, checksum VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, applied_at TIMESTAMP NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (history_table, version) );
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 CREATE TABLE ferry_legacy_namespaces ( namespace_id BIGINT NOT NULL, namespace_name VARCHAR(255) NOT NULL, legacy_table VARCHAR(64) NOT NULL, rows_copied BIGINT NOT NULL, rows_skipped BIGINT NOT NULL, copied_at TIMESTAMP NOT NULL, dropped_at TIMESTAMP NULL, PRIMARY KEY (namespace_id) );
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 CREATE TABLE ferry_skipped_relation_tuples ( namespace_id BIGINT NOT NULL, shard_id TEXT NULL, object TEXT NULL, relation TEXT NULL, subject TEXT NULL, commit_time TEXT NULL, reason VARCHAR(64) NOT NULL, skipped_at TIMESTAMP NOT NULL ); CREATE INDEX ferry_skipped_relation_tuples_namespace_idx ON ferry_skipped_relation_tuples (namespace_id);
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 CREATE TABLE ferry_legacy_progress ( namespace_id BIGINT NOT NULL, last_key TEXT NULL, rows_read BIGINT NOT NULL, rows_copied BIGINT NOT NULL, rows_skipped BIGINT NOT NULL, tuples_before BIGINT NOT NULL, skipped_before BIGINT NOT NULL, chunks BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY (namespace_id) );
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 CREATE TABLE ferry_staged_relation_tuples ( shard_id UUID NOT NULL, nid UUID NOT NULL, namespace_id INTEGER NOT NULL, object VARCHAR(64) NOT NULL, relation VARCHAR(64) NOT NULL, subject_id VARCHAR(64) NULL, subject_set_namespace_id INTEGER NULL, subject_set_object VARCHAR(64) NULL, subject_set_relation VARCHAR(64) NULL, commit_time TIMESTAMP NOT NULL, PRIMARY KEY (shard_id, nid) ); CREATE INDEX ferry_staged_relation_tuples_namespace_idx ON ferry_staged_relation_tuples (namespace_id);
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 CREATE TABLE ferry_deferred_indexes ( index_name VARCHAR(128) NOT NULL, create_statement TEXT NOT NULL, deferred_at TIMESTAMP NOT NULL, PRIMARY KEY (index_name) );
s1 BEGIN
s1 INSERT INTO "ferry_schema_migration" (version, version_self) VALUES (?, 0)
s1 COMMIT
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT index_name, create_statement FROM ferry_deferred_indexes ORDER BY index_name
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version_self FROM "schema_migration" WHERE 1 = 0
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM ferry_migration_meta WHERE history_table = ? AND state = 'started' ORDER BY version
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT version FROM "schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version, checksum, state FROM ferry_migration_meta WHERE history_table = ?
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 CREATE TABLE networks ( id UUID NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL, PRIMARY KEY (id) );
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 CREATE TABLE keto_relation_tuples ( shard_id UUID NOT NULL, nid UUID NOT NULL, namespace_id INTEGER NOT NULL, object VARCHAR(64) NOT NULL, relation VARCHAR(64) NOT NULL, subject_id VARCHAR(64) NULL, subject_set_namespace_id INTEGER NULL, subject_set_object VARCHAR(64) NULL, subject_set_relation VARCHAR(64) NULL, commit_time TIMESTAMP NOT NULL, PRIMARY KEY (shard_id, nid), CONSTRAINT chk_keto_rt_subject_type CHECK ( (subject_id IS NULL AND subject_set_namespace_id IS NOT NULL AND subject_set_object IS NOT NULL AND subject_set_relation IS NOT NULL) OR (subject_id IS NOT NULL AND subject_set_namespace_id IS NULL AND subject_set_object IS NULL AND subject_set_relation IS NULL) ) );
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 CREATE INDEX keto_relation_tuples_subject_ids_idx ON keto_relation_tuples (nid, namespace_id, object, relation, subject_id) WHERE subject_set_namespace_id IS NULL AND subject_set_object IS NULL AND subject_set_relation IS NULL;
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 CREATE INDEX keto_relation_tuples_subject_sets_idx ON keto_relation_tuples (nid, namespace_id, object, relation, subject_set_namespace_id, subject_set_object, subject_set_relation) WHERE subject_id IS NULL;
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 CREATE INDEX keto_relation_tuples_full_idx ON keto_relation_tuples (nid, namespace_id, object, relation, subject_id, subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time);
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s1 BEGIN
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'started', CURRENT_TIMESTAMP, 0)
s1 COMMIT
s1 DROP TABLE keto_namespace;
s1 BEGIN
s1 INSERT INTO "schema_migration" (version, version_self) VALUES (?, 0)
s1 DELETE FROM ferry_migration_meta WHERE history_table = ? AND version = ?
s1 INSERT INTO ferry_migration_meta (history_table, version, checksum, state, applied_at, duration_ms) VALUES (?, ?, ?, 'applied', CURRENT_TIMESTAMP, ?)
s1 COMMIT
s2 DELETE FROM ferry_lease WHERE name = ? AND owner = ?
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version FROM "schema_migration"
s1 SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
s1 SELECT version, checksum, state FROM ferry_migration_meta WHERE history_table = ?
