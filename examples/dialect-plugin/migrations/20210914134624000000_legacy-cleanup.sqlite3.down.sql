CREATE TABLE keto_namespace
(
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_version INTEGER NOT NULL
);
