-- Hindsight schema, version 7: log bytes, in the same file as the records.
--
-- A log is the Log record it belongs to plus one or more parts: a part is
-- one stream of bytes (an UpdateLog upload, or one container's output
-- captured by the watcher), stored as zstd-compressed chunks. Parts keep
-- where their source has got to, so a capture resumes after a restart
-- without duplicating or losing lines. Both tables hang off records with
-- ON DELETE CASCADE: deleting a Log record, its Result, or anything that
-- deletes records deletes the bytes in the same transaction.

CREATE TABLE log_parts (
  pid        INTEGER PRIMARY KEY,
  record_rid INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,            -- order of the part within its log
  staging    INTEGER NOT NULL DEFAULT 0,  -- 1: an upload in progress, not part of the log yet
  label      TEXT    NOT NULL DEFAULT '', -- step or sidecar name ('' for uploads)
  namespace  TEXT,                        -- where a captured part came from (Dashboard lookups)
  pod        TEXT,
  container  TEXT,
  bytes      INTEGER NOT NULL DEFAULT 0,  -- raw bytes stored
  lines      INTEGER NOT NULL DEFAULT 0,  -- newline characters stored
  open_line  INTEGER NOT NULL DEFAULT 0,  -- 1: the last byte stored is not a newline
  chunks     INTEGER NOT NULL DEFAULT 0,  -- next chunk sequence number
  resume     TEXT,                        -- source position (JSON), for captures
  done       INTEGER NOT NULL DEFAULT 0,  -- 1: the source has ended
  note       TEXT                         -- why the part is empty or short
) STRICT;

CREATE INDEX log_parts_record ON log_parts (record_rid, idx);
CREATE INDEX log_parts_pod ON log_parts (pod, namespace, container) WHERE pod IS NOT NULL;

CREATE TABLE log_chunks (
  record_rid INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
  part       INTEGER NOT NULL REFERENCES log_parts (pid) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  raw_size   INTEGER NOT NULL,
  data       BLOB    NOT NULL,            -- zstd frame
  PRIMARY KEY (part, seq)
) STRICT;

CREATE INDEX log_chunks_record ON log_chunks (record_rid);
