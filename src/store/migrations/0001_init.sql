-- Hindsight schema, version 1: results and records.
--
-- Rows have an integer rowid ("rid") as their physical key, so indexes and
-- the record -> result reference stay small; the API's uid is a UUIDv7 with
-- its own unique index, so ordering by uid is ordering by creation.
-- Times are Unix microseconds. Record data is JSONB (smaller than text and
-- faster to scan) and is the last column, so the other columns of a row stay
-- on its first page and index walks never touch the blob's overflow pages.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

-- Signs page tokens (HMAC), so tokens survive restarts but cannot be forged.
INSERT INTO meta (key, value) VALUES ('page_token_key', randomblob(32));

CREATE TABLE results (
  rid                 INTEGER PRIMARY KEY,
  uid                 TEXT    NOT NULL,
  parent              TEXT    NOT NULL,
  name                TEXT    NOT NULL,
  create_time         INTEGER NOT NULL,
  update_time         INTEGER NOT NULL,
  etag                TEXT    NOT NULL,
  annotations         TEXT,              -- JSON object; NULL when empty
  summary_record      TEXT,              -- NULL when the result has no summary
  summary_type        TEXT,
  summary_start_time  INTEGER,
  summary_end_time    INTEGER,
  summary_status      INTEGER,
  summary_annotations TEXT
) STRICT;

CREATE UNIQUE INDEX results_uid ON results (uid);
CREATE UNIQUE INDEX results_by_name ON results (parent, name);
CREATE INDEX results_parent_uid ON results (parent, uid);
CREATE INDEX results_parent_create ON results (parent, create_time, uid);
CREATE INDEX results_create ON results (create_time, uid);

CREATE TABLE records (
  rid         INTEGER PRIMARY KEY,
  uid         TEXT    NOT NULL,
  result_rid  INTEGER NOT NULL REFERENCES results (rid) ON DELETE CASCADE,
  parent      TEXT    NOT NULL,
  result_name TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  etag        TEXT    NOT NULL,
  type        TEXT,                      -- data.type; NULL when the record has no data
  data        BLOB                       -- JSONB of data.value; NULL when no data
) STRICT;

CREATE UNIQUE INDEX records_uid ON records (uid);
CREATE UNIQUE INDEX records_by_name ON records (parent, result_name, name);
-- Serves the cascade from results and lists of one result in uid order.
CREATE INDEX records_result_uid ON records (result_rid, uid);
CREATE INDEX records_parent_uid ON records (parent, uid);
CREATE INDEX records_parent_create ON records (parent, create_time, uid);
CREATE INDEX records_create ON records (create_time, uid);
