CREATE TABLE ferry_deferred_indexes (
  index_name VARCHAR(128) NOT NULL,
  create_statement TEXT NOT NULL,
  deferred_at TIMESTAMP NOT NULL,
  PRIMARY KEY (index_name)
);
