-- In-server ceiling, MySQL/MariaDB, one namespace (see README.md). UUID() is a version 1
-- UUID: unique, which is all shard_id needs.
START TRANSACTION;
INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id,
                                  subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time)
SELECT UUID(),
       '{{NID}}',
       {{NAMESPACE_ID}},
       l.object,
       l.relation,
       CASE WHEN INSTR(l.subject, '#') = 0 THEN l.subject END,
       ns.id,
       CASE WHEN INSTR(l.subject, '#') > 0 THEN SUBSTRING_INDEX(SUBSTRING_INDEX(l.subject, '#', 1), ':', -1) END,
       CASE WHEN INSTR(l.subject, '#') > 0 THEN SUBSTRING_INDEX(l.subject, '#', -1) END,
       l.commit_time
  FROM {{TABLE}} AS l
  LEFT JOIN ({{NAMESPACES}}) AS ns
    ON INSTR(l.subject, '#') > 0 AND ns.name = SUBSTRING_INDEX(l.subject, ':', 1);
COMMIT;
DROP TABLE {{TABLE}};
DROP TABLE {{MIGRATIONS_TABLE}};
