CREATE TABLE ferry_legacy_progress (
  namespace_id BIGINT NOT NULL,
  last_key TEXT NULL,
  rows_read BIGINT NOT NULL,
  rows_copied BIGINT NOT NULL,
  rows_skipped BIGINT NOT NULL,
  tuples_before BIGINT NOT NULL,
  skipped_before BIGINT NOT NULL,
  chunks BIGINT NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (namespace_id)
);
