DROP TABLE ferry_legacy_progress;
