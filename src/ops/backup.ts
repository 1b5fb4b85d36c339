/**
 * Online backups and restores of the one database file.
 *
 * A backup is `VACUUM INTO` on a connection of its own: it reads inside
 * one read transaction, so in WAL mode it sees one consistent snapshot,
 * every write committed before it began and none after, while the service
 * keeps writing. The copy is compacted and stands alone (no WAL). It is
 * written under a temporary name and renamed when complete, so a backup
 * path never holds half a copy. bun:sqlite does not expose the page-level
 * backup API; VACUUM INTO needs nothing else and runs at disk speed.
 *
 * A restore checks the backup first (integrity, a Hindsight schema this
 * binary can run), refuses while a process serves the database, keeps the
 * database it replaces beside it, and moves the copy into place by rename.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { SCHEMA_VERSION } from "../store/migrations.ts";
import { servingPid } from "./lock.ts";

/** A backup or restore that cannot go ahead, worded for the operator. */
export class BackupError extends Error {}

export interface BackupResult {
  path: string;
  bytes: number;
  ms: number;
  schemaVersion: number;
}

function openReadOnly(path: string): Database {
  const db = new Database(path, { readonly: true });
  db.run("PRAGMA busy_timeout = 10000");
  return db;
}

function versionOf(db: Database): number | null {
  const hasTable = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== null;
  if (!hasTable) return null;
  return db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get()?.v ?? 0;
}

/** Copies the live database `db` to `dest` (which must not exist). */
export function backupDatabase(db: string, dest: string): BackupResult {
  if (!existsSync(db)) throw new BackupError(`no database at ${db}`);
  if (existsSync(dest)) throw new BackupError(`${dest} already exists; choose a new path (a backup never overwrites)`);
  mkdirSync(dirname(dest), { recursive: true });
  const partial = `${dest}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  const t0 = performance.now();
  const src = openReadOnly(db);
  let schemaVersion: number;
  try {
    schemaVersion = versionOf(src) ?? 0;
    src.prepare("VACUUM INTO ?").run(partial);
  } catch (e) {
    rmSync(partial, { force: true });
    throw new BackupError(`backup of ${db} to ${dest} failed: ${(e as Error).message}`);
  } finally {
    src.close();
  }
  renameSync(partial, dest);
  return { path: dest, bytes: statSync(dest).size, ms: performance.now() - t0, schemaVersion };
}

/** Checks that `path` is an intact Hindsight database this binary can serve; returns its schema version. */
export function checkBackup(path: string): number {
  if (!existsSync(path)) throw new BackupError(`no backup at ${path}`);
  let db: Database;
  try {
    db = openReadOnly(path);
  } catch (e) {
    throw new BackupError(`${path} cannot be opened as a database: ${(e as Error).message}`);
  }
  try {
    let problems: string[];
    try {
      problems = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
    } catch (e) {
      throw new BackupError(`${path} is not a valid SQLite database: ${(e as Error).message}`);
    }
    if (problems.length !== 1 || problems[0] !== "ok") throw new BackupError(`${path} fails the integrity check: ${problems.slice(0, 5).join("; ")}`);
    const v = versionOf(db);
    if (v === null) throw new BackupError(`${path} is a SQLite database but not a Hindsight one (no schema_migrations table)`);
    if (v > SCHEMA_VERSION) throw new BackupError(`${path} has schema version ${v}, newer than this binary supports (${SCHEMA_VERSION}); restore it with a newer Hindsight`);
    return v;
  } finally {
    db.close();
  }
}

export interface RestoreResult {
  schemaVersion: number;
  /** Where the replaced database was moved, or null when there was none. */
  previous: string | null;
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, "-");

/** Replaces `db` with a copy of `backup`, after checking both. */
export function restoreDatabase(backup: string, db: string): RestoreResult {
  const pid = servingPid(db);
  if (pid !== null) throw new BackupError(`database ${db} is being served by process ${pid}; stop the service first (systemctl stop hindsight)`);
  const schemaVersion = checkBackup(backup);
  mkdirSync(dirname(db), { recursive: true });
  const incoming = `${db}.restoring-${process.pid}`;
  copyFileSync(backup, incoming);
  let previous: string | null = null;
  if (existsSync(db)) {
    previous = `${db}.before-restore-${stamp()}`;
    // The WAL goes with its database: it may hold commits not yet checkpointed.
    for (const suffix of ["-wal", "-shm"]) if (existsSync(db + suffix)) renameSync(db + suffix, previous + suffix);
    renameSync(db, previous);
  }
  renameSync(incoming, db);
  return { schemaVersion, previous };
}

/**
 * Before a newer binary migrates an existing database: a backup named after
 * the schema it holds, in `dir` (default backups/ beside the database).
 * Returns null when there is nothing to migrate.
 */
export function backupBeforeMigration(db: string, dir: string | null): BackupResult | null {
  if (db === ":memory:" || !existsSync(db) || statSync(db).size === 0) return null;
  const conn = openReadOnly(db);
  let v: number | null;
  try {
    v = versionOf(conn);
  } finally {
    conn.close();
  }
  if (v === null || v === 0 || v >= SCHEMA_VERSION) return null;
  const dest = join(dir ?? join(dirname(db), "backups"), `hindsight-schema${v}-${stamp()}.db`);
  return backupDatabase(db, dest);
}
