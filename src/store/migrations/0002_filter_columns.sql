-- Hindsight schema, version 2: the fields filters use most, indexed.
--
-- VIRTUAL generated columns cost nothing in the row; their indexes hold the
-- values. The filter translator (src/store/filter/columns.ts) reads these
-- columns by name for the matching JSON paths, because SQLite does not map
-- `data ->> '$.metadata.namespace'` onto the column by itself. Each index
-- ends in uid, so a filtered list in the default order walks the index
-- without sorting.

ALTER TABLE records ADD COLUMN g_namespace TEXT
  GENERATED ALWAYS AS (data ->> '$."metadata"."namespace"') VIRTUAL;
ALTER TABLE records ADD COLUMN g_name TEXT
  GENERATED ALWAYS AS (data ->> '$."metadata"."name"') VIRTUAL;
ALTER TABLE records ADD COLUMN g_uid TEXT
  GENERATED ALWAYS AS (data ->> '$."metadata"."uid"') VIRTUAL;
ALTER TABLE records ADD COLUMN g_pipeline TEXT
  GENERATED ALWAYS AS (data ->> '$."metadata"."labels"."tekton.dev/pipeline"') VIRTUAL;
ALTER TABLE records ADD COLUMN g_task TEXT
  GENERATED ALWAYS AS (data ->> '$."metadata"."labels"."tekton.dev/task"') VIRTUAL;
ALTER TABLE records ADD COLUMN g_reason TEXT
  GENERATED ALWAYS AS (data ->> '$."status"."conditions"[0]."reason"') VIRTUAL;
-- Run start and completion as Unix microseconds, parsed as CEL's timestamp()
-- does (RFC 3339, 20 to 30 characters); NULL when absent or not a timestamp.
ALTER TABLE records ADD COLUMN g_start_time INTEGER
  GENERATED ALWAYS AS (CASE
    WHEN json_type(data, '$."status"."startTime"') = 'text'
     AND length(data ->> '$."status"."startTime"') BETWEEN 20 AND 30
     AND (data ->> '$."status"."startTime"') GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
    THEN CAST(round(unixepoch(data ->> '$."status"."startTime"', 'subsec') * 1000000) AS INTEGER) END) VIRTUAL;
ALTER TABLE records ADD COLUMN g_completion_time INTEGER
  GENERATED ALWAYS AS (CASE
    WHEN json_type(data, '$."status"."completionTime"') = 'text'
     AND length(data ->> '$."status"."completionTime"') BETWEEN 20 AND 30
     AND (data ->> '$."status"."completionTime"') GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
    THEN CAST(round(unixepoch(data ->> '$."status"."completionTime"', 'subsec') * 1000000) AS INTEGER) END) VIRTUAL;

CREATE INDEX records_type ON records (type, uid);
CREATE INDEX records_g_namespace ON records (g_namespace, uid);
CREATE INDEX records_g_name ON records (g_name, uid);
CREATE INDEX records_g_uid ON records (g_uid);
CREATE INDEX records_g_pipeline ON records (g_pipeline, uid);
CREATE INDEX records_g_task ON records (g_task, uid);
CREATE INDEX records_g_reason ON records (g_reason, uid);
CREATE INDEX records_g_start_time ON records (g_start_time, uid);
CREATE INDEX records_g_completion_time ON records (g_completion_time, uid);

CREATE INDEX results_summary_status ON results (summary_status, uid);
CREATE INDEX results_summary_type ON results (summary_type, uid);
CREATE INDEX results_summary_start_time ON results (summary_start_time, uid);
CREATE INDEX results_summary_end_time ON results (summary_end_time, uid);
