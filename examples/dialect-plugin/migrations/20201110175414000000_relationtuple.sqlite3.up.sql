CREATE TABLE keto_namespace
(
    id             INTEGER PRIMARY KEY,
    schema_version INTEGER NOT NULL
);
