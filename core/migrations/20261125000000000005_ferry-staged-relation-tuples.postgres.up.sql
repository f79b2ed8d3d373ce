CREATE TABLE ferry_staged_relation_tuples (
  shard_id UUID NOT NULL,
  nid UUID NOT NULL,
  namespace_id INTEGER NOT NULL,
  object VARCHAR(64) NOT NULL,
  relation VARCHAR(64) NOT NULL,
  subject_id VARCHAR(64) NULL,
  subject_set_namespace_id INTEGER NULL,
  subject_set_object VARCHAR(64) NULL,
  subject_set_relation VARCHAR(64) NULL,
  commit_time TIMESTAMP NOT NULL,
  PRIMARY KEY (shard_id, nid)
);
CREATE INDEX ferry_staged_relation_tuples_namespace_idx ON ferry_staged_relation_tuples (namespace_id);
