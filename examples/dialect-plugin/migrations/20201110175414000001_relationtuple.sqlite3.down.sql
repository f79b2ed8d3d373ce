DROP TABLE keto_namespace;
