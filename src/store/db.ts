/**
 * Opening the database: one file, WAL so readers never wait for the writer,
 * foreign keys for the result -> record cascade, a busy timeout so a backup
 * or another reader never makes a write fail outright.
 *
 * synchronous=NORMAL: in WAL mode every commit is written to the WAL before
 * it returns, so a killed process loses nothing it acknowledged; only a power
 * loss can drop the last commits (FULL would fsync each one and halve ingest).
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { registerFilterFunctions } from "./filter/regexp.ts";
import { migrate } from "./migrations.ts";

export interface OpenOptions {
  /** Page cache per connection, in KiB. */
  cacheKiB?: number;
  readonly?: boolean;
}

export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  if (path !== ":memory:" && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, opts.readonly ? { readonly: true } : { create: true, readwrite: true, strict: true });
  db.run("PRAGMA busy_timeout = 10000");
  if (!opts.readonly) {
    db.run("PRAGMA journal_mode = WAL");
    // Checkpoint less often than the default 1000 pages: each 12 KB record
    // dirties a dozen pages, and the checkpoint runs inline after a commit.
    db.run("PRAGMA wal_autocheckpoint = 8000");
  }
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA foreign_keys = ON");
  db.run(`PRAGMA cache_size = -${opts.cacheKiB ?? 8192}`);
  db.run("PRAGMA temp_store = MEMORY");
  registerFilterFunctions(db);
  if (!opts.readonly) {
    migrate(db);
    // Gather planner statistics where they are missing or stale (cheap:
    // analysis is limited), so filters pick the right index.
    optimize(db, "PRAGMA optimize = 0x10002");
  }
  return db;
}

/** Checkpoints the WAL into the main file and closes, so no WAL is left to replay. */
export function closeDatabase(db: Database): void {
  try {
    optimize(db, "PRAGMA optimize");
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close(false);
  }
}

/**
 * ANALYZE inside `PRAGMA optimize` reads first and then writes; a connection
 * that already reads gets SQLITE_BUSY at once (no busy handler) if another
 * connection briefly holds the write lock, e.g. a reader thread recovering
 * the WAL index. Taking the write lock first waits like any other write.
 */
function optimize(db: Database, pragma: string): void {
  db.run("BEGIN IMMEDIATE");
  try {
    db.run(pragma);
    db.run("COMMIT");
  } catch (e) {
    db.run("ROLLBACK");
    throw e;
  }
}
