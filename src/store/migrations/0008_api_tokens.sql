-- Hindsight schema, version 8: API tokens for auth mode `token`.
--
-- Only a SHA-256 hash of each secret is kept: a copy of the database does
-- not let anyone call the API. `parents` is a JSON array of parent globs,
-- NULL for every parent. A revoked token keeps its row (revoked_at set) so
-- `hindsight token list` still shows who had access and until when, and
-- its name cannot be reused by accident.
CREATE TABLE api_tokens (
  name        TEXT    PRIMARY KEY,
  role        TEXT    NOT NULL CHECK (role IN ('viewer', 'writer', 'admin')),
  parents     TEXT,
  hash        BLOB    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
) STRICT;
