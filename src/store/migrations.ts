/**
 * Numbered SQL migrations, embedded in the binary at build time. Each is
 * applied in its own transaction and recorded in `schema_migrations`, so a
 * crash mid-migration leaves the previous version intact. A database whose
 * schema is newer than this binary knows is refused rather than guessed at.
 */
import type { Database } from "bun:sqlite";
import m0001 from "./migrations/0001_init.sql" with { type: "text" };
import m0002 from "./migrations/0002_filter_columns.sql" with { type: "text" };
import m0003 from "./migrations/0003_key_values_and_summary.sql" with { type: "text" };
import m0004 from "./migrations/0004_watch_state.sql" with { type: "text" };
import m0005 from "./migrations/0005_labels_only_kv.sql" with { type: "text" };
import m0006 from "./migrations/0006_uid_name.sql" with { type: "text" };
import m0007 from "./migrations/0007_logs.sql" with { type: "text" };
import m0008 from "./migrations/0008_api_tokens.sql" with { type: "text" };

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "0001_init", sql: m0001 },
  { version: 2, name: "0002_filter_columns", sql: m0002 },
  { version: 3, name: "0003_key_values_and_summary", sql: m0003 },
  { version: 4, name: "0004_watch_state", sql: m0004 },
  { version: 5, name: "0005_labels_only_kv", sql: m0005 },
  { version: 6, name: "0006_uid_name", sql: m0006 },
  { version: 7, name: "0007_logs", sql: m0007 },
  { version: 8, name: "0008_api_tokens", sql: m0008 },
];

export const SCHEMA_VERSION = migrations[migrations.length - 1]!.version;

export class SchemaTooNewError extends Error {
  constructor(readonly found: number) {
    super(
      `database schema version ${found} is newer than this binary supports (${SCHEMA_VERSION}); ` +
        `run a newer Hindsight or restore a backup taken before the upgrade`,
    );
  }
}

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: Database): number[] {
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const row = db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get();
  const current = row?.v ?? 0;
  if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.run(m.sql);
      db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        m.version,
        m.name,
        Date.now(),
      ]);
    })();
    applied.push(m.version);
  }
  return applied;
}

export function schemaVersion(db: Database): number {
  return db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get()?.v ?? 0;
}
