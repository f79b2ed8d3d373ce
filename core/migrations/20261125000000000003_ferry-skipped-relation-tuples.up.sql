CREATE TABLE ferry_skipped_relation_tuples (
  namespace_id BIGINT NOT NULL,
  shard_id TEXT NULL,
  object TEXT NULL,
  relation TEXT NULL,
  subject TEXT NULL,
  commit_time TEXT NULL,
  reason VARCHAR(64) NOT NULL,
  skipped_at TIMESTAMP NOT NULL
);
CREATE INDEX ferry_skipped_relation_tuples_namespace_idx ON ferry_skipped_relation_tuples (namespace_id);
