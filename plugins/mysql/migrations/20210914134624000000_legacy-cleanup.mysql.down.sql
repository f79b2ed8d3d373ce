CREATE TABLE keto_namespace
(
    id             INTEGER NOT NULL AUTO_INCREMENT,
    schema_version INTEGER NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB;
