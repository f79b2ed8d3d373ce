DROP TABLE ferry_migration_meta;
