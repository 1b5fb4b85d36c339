-- Hindsight schema, version 4: where each cluster watch stream has got to.
--
-- One row per (cluster, stream); a stream is one resource, optionally in one
-- namespace ("taskruns", "pipelineruns@ci"). The watcher writes a row only
-- after every event up to it is stored, so a restart resumes from here and
-- replays at most what was in flight:
--   * resource_version alone: watching; resume the watch from it;
--   * list_continue too: a paginated list taken at resource_version was
--     stored up to this continue token; resume the list, then watch.
-- The status columns feed `hindsight status`; updated_at is the heartbeat
-- that tells a live watcher from a stopped one.

CREATE TABLE watch_streams (
  cluster          TEXT    NOT NULL,
  stream           TEXT    NOT NULL,
  resource_version TEXT,              -- NULL until a first list completes a page
  list_continue    TEXT,              -- NULL when not in the middle of a list
  state            TEXT    NOT NULL,  -- connecting | listing | watching | backoff | error | stopped
  last_event_at    INTEGER,           -- Unix ms of the last event received
  last_stored_at   INTEGER,           -- Unix ms of the last write to the store
  lag_ms           INTEGER NOT NULL DEFAULT 0,
  events           INTEGER NOT NULL DEFAULT 0,
  writes           INTEGER NOT NULL DEFAULT 0,
  errors           INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  last_error_at    INTEGER,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (cluster, stream)
) STRICT, WITHOUT ROWID;
