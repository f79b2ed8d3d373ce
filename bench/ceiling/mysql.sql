-- In-server ceiling, MySQL/MariaDB, one namespace (see README.md). A random version 4 UUID
-- from RAND(), as Ferry and Keto write them: MariaDB's UUID() is version 1, whose text rises
-- with the clock, so the (shard_id, nid) primary key (InnoDB's clustered index) would be
-- appended to instead of filled at random, a cheaper workload than the one measured against
-- (1M tuples here: 7.8 s with UUID() against 12.2 s with random keys; see docs/benchmarks.md).
START TRANSACTION;
INSERT INTO keto_relation_tuples (shard_id, nid, namespace_id, object, relation, subject_id,
                                  subject_set_namespace_id, subject_set_object, subject_set_relation, commit_time)
SELECT LOWER(CONCAT(LPAD(HEX(FLOOR(RAND() * 4294967296)), 8, '0'), '-', LPAD(HEX(FLOOR(RAND() * 65536)), 4, '0'),
                    '-4', LPAD(HEX(FLOOR(RAND() * 4096)), 3, '0'), '-', HEX(8 + FLOOR(RAND() * 4)),
                    LPAD(HEX(FLOOR(RAND() * 4096)), 3, '0'), '-', LPAD(HEX(FLOOR(RAND() * 281474976710656)), 12, '0'))),
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
