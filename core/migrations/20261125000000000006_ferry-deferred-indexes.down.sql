DROP TABLE ferry_deferred_indexes;
