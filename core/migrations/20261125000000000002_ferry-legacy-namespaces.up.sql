CREATE TABLE ferry_legacy_namespaces (
  namespace_id BIGINT NOT NULL,
  namespace_name VARCHAR(255) NOT NULL,
  legacy_table VARCHAR(64) NOT NULL,
  rows_copied BIGINT NOT NULL,
  rows_skipped BIGINT NOT NULL,
  copied_at TIMESTAMP NOT NULL,
  dropped_at TIMESTAMP NULL,
  PRIMARY KEY (namespace_id)
);
