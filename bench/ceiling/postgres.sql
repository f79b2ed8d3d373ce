-- In-server ceiling, PostgreSQL, one namespace (see README.md). gen_random_uuid() is built in
-- from PostgreSQL 13.
BEGIN;
INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id,
                                  subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time)
SELECT gen_random_uuid(),
       '{{NID}}',
       {{NAMESPACE_ID}},
       l.object,
       l.relation,
       CASE WHEN strpos(l.subject, '#') = 0 THEN l.subject END,
       ns.id,
       CASE WHEN strpos(l.subject, '#') > 0 THEN split_part(split_part(l.subject, '#', 1), ':', 2) END,
       CASE WHEN strpos(l.subject, '#') > 0 THEN split_part(l.subject, '#', 2) END,
       l.commit_time
  FROM {{TABLE}} AS l
  LEFT JOIN ({{NAMESPACES}}) AS ns
    ON strpos(l.subject, '#') > 0 AND ns.name = split_part(l.subject, ':', 1);
COMMIT;
DROP TABLE {{TABLE}};
DROP TABLE {{MIGRATIONS_TABLE}};
