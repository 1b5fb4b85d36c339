-- Hindsight schema, version 5: the record key/value side table keeps labels
-- only.
--
-- Migration 0003 copied each record's labels and annotations into record_kv.
-- A Tekton run carries about 15 labels and 17 annotations, and every copied
-- pair is a B-tree insert at its own place in the table, so annotations
-- doubled the pages each stored run dirtied; measured, they cost about 15%
-- of the store's CPU per write, and ingest fell below its goal. Filters on
-- labels are what people write (selectors are labels by Kubernetes design);
-- a filter on a record annotation is still answered, from the JSON, as
-- before 0003. Result annotations (result_kv) are unchanged: they are few
-- and they are what the watcher sets for filtering results.
DELETE FROM record_kv WHERE kind <> 0;

DROP TRIGGER record_kv_insert;
DROP TRIGGER record_kv_update;
DROP TRIGGER record_kv_delete;
DROP VIEW record_kv_source;

CREATE VIEW record_kv_source AS
  SELECT records.rid AS rid, 0 AS kind, j.key AS key, j.value AS value
    FROM records, json_each(records.data, '$."metadata"."labels"') AS j
   WHERE json_type(records.data, '$."metadata"."labels"') = 'object'
     AND j.type = 'text' AND length(j.key) <= 320 AND length(j.value) <= 256;

CREATE TRIGGER record_kv_insert AFTER INSERT ON records WHEN new.data IS NOT NULL BEGIN
  INSERT OR IGNORE INTO record_kv (kind, key, value, rid)
    SELECT kind, key, value, rid FROM record_kv_source WHERE rid = new.rid;
END;

-- Status updates rarely touch labels: then nothing is rewritten. Deletes
-- name each old (key, value): the primary key leads with them, so that is a
-- seek per label where `rid = ?` alone would scan the table.
CREATE TRIGGER record_kv_update AFTER UPDATE OF data ON records
  WHEN (old.data -> '$."metadata"."labels"') IS NOT (new.data -> '$."metadata"."labels"')
BEGIN
  DELETE FROM record_kv WHERE kind = 0 AND rid = old.rid AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."labels"') AS j
     WHERE json_type(old.data, '$."metadata"."labels"') = 'object' AND j.type = 'text');
  INSERT OR IGNORE INTO record_kv (kind, key, value, rid)
    SELECT kind, key, value, rid FROM record_kv_source WHERE rid = new.rid;
END;

CREATE TRIGGER record_kv_delete AFTER DELETE ON records WHEN old.data IS NOT NULL BEGIN
  DELETE FROM record_kv WHERE kind = 0 AND rid = old.rid AND (key, value) IN (
    SELECT j.key, j.value FROM json_each(old.data, '$."metadata"."labels"') AS j
     WHERE json_type(old.data, '$."metadata"."labels"') = 'object' AND j.type = 'text');
END;
