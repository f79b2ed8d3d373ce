-- In-server ceiling, SQLite, one namespace (see README.md). A v4 UUID from random():
-- version nibble 4, variant bits 10.
BEGIN;
INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id,
                                  subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time)
SELECT printf('%08x-%04x-4%03x-%04x-%012x', random() & 4294967295, random() & 65535, random() & 4095,
              (random() & 16383) | 32768, random() & 281474976710655),
       '{{NID}}',
       {{NAMESPACE_ID}},
       l.object,
       l.relation,
       CASE WHEN instr(l.subject, '#') = 0 THEN l.subject END,
       ns.id,
       CASE WHEN instr(l.subject, '#') > 0
            THEN substr(l.subject, instr(l.subject, ':') + 1, instr(l.subject, '#') - instr(l.subject, ':') - 1) END,
       CASE WHEN instr(l.subject, '#') > 0 THEN substr(l.subject, instr(l.subject, '#') + 1) END,
       l.commit_time
  FROM {{TABLE}} AS l
  LEFT JOIN ({{NAMESPACES}}) AS ns
    ON instr(l.subject, '#') > 0 AND ns.name = substr(l.subject, 1, instr(l.subject, ':') - 1);
COMMIT;
DROP TABLE {{TABLE}};
DROP TABLE {{MIGRATIONS_TABLE}};
