DROP TABLE ferry_legacy_namespaces;
