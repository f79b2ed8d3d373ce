CREATE TABLE keto_namespace
(
    id             SERIAL NOT NULL,
    schema_version int    NOT NULL,
    PRIMARY KEY (id)
);
