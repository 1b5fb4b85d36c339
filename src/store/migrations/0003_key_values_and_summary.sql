-- Hindsight schema, version 3: label and annotation equality through side
-- tables, and a covering index for summaries.
--
-- Key/value side tables. `data.metadata.labels["app"] == "web"` would
-- otherwise read every record's JSON. Each record's labels (kind 0) and
-- annotations (kind 1), and each result's annotations, are copied here as
-- (key, value) rows by triggers, so the filter translator
-- (src/store/filter/translate.ts) turns an equality into one primary-key
-- range. Only string values up to 256 characters (and keys up to 320) are
-- copied: the translator uses the table only for such literals, and falls
-- back to the JSON for anything else, so results never depend on the table
-- being complete beyond that. WITHOUT ROWID: the primary key is the table.
CREATE TABLE record_kv (
  kind  INTEGER NOT NULL,
  key   TEXT    NOT NULL,
  value TEXT    NOT NULL,
  rid   INTEGER NOT NULL,
  PRIMARY KEY (kind, key, value, rid)
) STRICT, WITHOUT ROWID;

CREATE TABLE result_kv (
  key   TEXT    NOT NULL,
  value TEXT    NOT NULL,
  rid   INTEGER NOT NULL,
  PRIMARY KEY (key, value, rid)
) STRICT, WITHOUT ROWID;

-- What a record contributes, as (kind, key, value). A view keeps the three
-- triggers and the backfill on one definition.
CREATE VIEW record_kv_source AS
  SELECT records.rid AS rid, 0 AS kind, j.key AS key, j.value AS value
    FROM records, json_each(records.data, '$."metadata"."labels"') AS j
   WHERE json_type(records.data, '$."metadata"."labels"') = 'object'
     AND j.type = 'text' AND length(j.key) <= 320 AND length(j.value) <= 256
  UNION ALL
  SELECT records.rid, 1, j.key, j.value
    FROM records, json_each(records.data, '$."metadata"."annotations"') AS j
   WHERE json_type(records.data, '$."metadata"."annotations"') = 'object'
     AND j.type = 'text' AND length(j.key) <= 320 AND length(j.value) <= 256;

CREATE VIEW result_kv_source AS
  SELECT results.rid AS rid, j.key AS key, j.value AS value
    FROM results, json_each(results.annotations) AS j
   WHERE results.annotations IS NOT NULL AND json_type(results.annotations) = 'object'
     AND j.type = 'text' AND length(j.key) <= 320 AND length(j.value) <= 256;

INSERT OR IGNORE INTO record_kv (kind, key, value, rid) SELECT kind, key, value, rid FROM record_kv_source;
INSERT OR IGNORE INTO result_kv (key, value, rid) SELECT key, value, rid FROM result_kv_source;

CREATE TRIGGER record_kv_insert AFTER INSERT ON records WHEN new.data IS NOT NULL BEGIN
  INSERT OR IGNORE INTO record_kv (kind, key, value, rid)
    SELECT kind, key, value, rid FROM record_kv_source WHERE rid = new.rid;
END;

-- Status updates rarely touch labels or annotations: then nothing is rewritten.
CREATE TRIGGER record_kv_update AFTER UPDATE OF data ON records
  WHEN (old.data -> '$."metadata"."labels"') IS NOT (new.data -> '$."metadata"."labels"')
    OR (old.data -> '$."metadata"."annotations"') IS NOT (new.data -> '$."metadata"."annotations"')
BEGIN
  DELETE FROM record_kv WHERE rid = old.rid AND kind = 0 AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."labels"') AS j
     WHERE json_type(old.data, '$."metadata"."labels"') = 'object' AND j.type = 'text');
  DELETE FROM record_kv WHERE rid = old.rid AND kind = 1 AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."annotations"') AS j
     WHERE json_type(old.data, '$."metadata"."annotations"') = 'object' AND j.type = 'text');
  INSERT OR IGNORE INTO record_kv (kind, key, value, rid)
    SELECT kind, key, value, rid FROM record_kv_source WHERE rid = new.rid;
END;

CREATE TRIGGER record_kv_delete AFTER DELETE ON records WHEN old.data IS NOT NULL BEGIN
  DELETE FROM record_kv WHERE rid = old.rid AND kind = 0 AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."labels"') AS j
     WHERE json_type(old.data, '$."metadata"."labels"') = 'object' AND j.type = 'text');
  DELETE FROM record_kv WHERE rid = old.rid AND kind = 1 AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."annotations"') AS j
     WHERE json_type(old.data, '$."metadata"."annotations"') = 'object' AND j.type = 'text');
END;

CREATE TRIGGER result_kv_insert AFTER INSERT ON results WHEN new.annotations IS NOT NULL BEGIN
  INSERT OR IGNORE INTO result_kv (key, value, rid) SELECT key, value, rid FROM result_kv_source WHERE rid = new.rid;
END;

CREATE TRIGGER result_kv_update AFTER UPDATE OF annotations ON results
  WHEN old.annotations IS NOT new.annotations
BEGIN
  DELETE FROM result_kv WHERE rid = old.rid AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.annotations) AS j
     WHERE old.annotations IS NOT NULL AND json_type(old.annotations) = 'object' AND j.type = 'text');
  INSERT OR IGNORE INTO result_kv (key, value, rid) SELECT key, value, rid FROM result_kv_source WHERE rid = new.rid;
END;

CREATE TRIGGER result_kv_delete AFTER DELETE ON results WHEN old.annotations IS NOT NULL BEGIN
  DELETE FROM result_kv WHERE rid = old.rid AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.annotations) AS j
     WHERE json_type(old.annotations) = 'object' AND j.type = 'text');
END;

-- Summaries (GetRecordListSummary) group and aggregate these fields; with
-- all of them in one index, a summary reads index entries, never the 12 KB
-- documents. Leading with the start time: a summary over a time window is a
-- range of it, and one over everything is a scan of this index, which is
-- about 1% of the table's size.
CREATE INDEX records_summary ON records
  (g_start_time, type, g_completion_time, g_reason, g_namespace, g_pipeline, parent);
