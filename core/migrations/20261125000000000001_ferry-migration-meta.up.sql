CREATE TABLE ferry_migration_meta (
  history_table VARCHAR(64) NOT NULL,
  version VARCHAR(48) NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  state VARCHAR(16) NOT NULL,
  applied_at TIMESTAMP NOT NULL,
  duration_ms BIGINT NOT NULL,
  PRIMARY KEY (history_table, version)
);
