import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase } from "../store/db.ts";
import { SCHEMA_VERSION } from "../store/migrations.ts";
import { BackupError, backupBeforeMigration, backupDatabase, checkBackup, restoreDatabase } from "./backup.ts";
import { pidFile } from "./lock.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-backup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fresh(name: string, rows: number): string {
  const path = join(dir, name);
  const db = openDatabase(path);
  const ins = db.prepare("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES (?, 'p', ?, 1, 1, 'e')");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`u-${name}-${i}`, `r${i}`);
  })();
  closeDatabase(db);
  return path;
}

const count = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("SELECT count(*) AS n FROM results").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

test("a backup holds what was committed before it began, not work still uncommitted; it stands alone in one file", () => {
  const src = fresh("src.db", 100);
  const writer = openDatabase(src);
  try {
    // Uncommitted work at the moment of the backup stays out of it.
    writer.run("BEGIN IMMEDIATE");
    writer.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('late', 'p', 'late', 1, 1, 'e')");
    const r = backupDatabase(src, join(dir, "out", "b.db"));
    writer.run("COMMIT");
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.bytes).toBeGreaterThan(0);
    expect(count(r.path)).toBe(100);
    expect(count(src)).toBe(101);
    expect(checkBackup(r.path)).toBe(SCHEMA_VERSION);
    // No WAL, no journal, no partial files beside it.
    expect(readdirSync(join(dir, "out"))).toEqual(["b.db"]);
    expect(() => backupDatabase(src, r.path)).toThrow(/already exists/);
  } finally {
    closeDatabase(writer);
  }
});

test("checkBackup refuses what is not an intact Hindsight database", () => {
  expect(() => checkBackup(join(dir, "none.db"))).toThrow(/no backup at/);
  const junk = join(dir, "junk.db");
  writeFileSync(junk, "x".repeat(5000));
  expect(() => checkBackup(junk)).toThrow(BackupError);
  const other = join(dir, "other.db");
  const o = new Database(other, { create: true });
  o.run("CREATE TABLE t (x)");
  o.close();
  expect(() => checkBackup(other)).toThrow(/not a Hindsight one/);
  const newer = fresh("newer.db", 1);
  const n = new Database(newer);
  n.run("INSERT INTO schema_migrations VALUES (?, 'future', 0)", [SCHEMA_VERSION + 1]);
  n.close();
  expect(() => checkBackup(newer)).toThrow(/newer than this binary supports/);
});

test("restore keeps the replaced database, and refuses while a live process serves it", async () => {
  const target = fresh("target.db", 5);
  const backup = backupDatabase(fresh("b-src.db", 7), join(dir, "b2.db")).path;
  const child = Bun.spawn(["sleep", "30"]);
  writeFileSync(pidFile(target), `${child.pid}\n`);
  try {
    expect(() => restoreDatabase(backup, target)).toThrow(`database ${target} is being served by process ${child.pid}`);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  const r = restoreDatabase(backup, target);
  expect(count(target)).toBe(7);
  expect(r.previous).not.toBeNull();
  expect(count(r.previous!)).toBe(5);
  expect(readdirSync(dir).some((f) => f.startsWith("target.db.restoring-"))).toBe(false);
});

test("a backup before migration only for an existing database on an older schema", () => {
  expect(backupBeforeMigration(join(dir, "absent.db"), null)).toBeNull();
  expect(backupBeforeMigration(fresh("current.db", 1), null)).toBeNull();
  const old = fresh("old.db", 3);
  const o = new Database(old);
  o.run("DELETE FROM schema_migrations WHERE version > 1");
  o.close();
  const r = backupBeforeMigration(old, join(dir, "auto"))!;
  expect(r.path).toMatch(/auto\/hindsight-schema1-.*\.db$/);
  expect(r.schemaVersion).toBe(1);
  expect(count(r.path)).toBe(3);
  expect(existsSync(old)).toBe(true);
});

test("backups taken while another process writes and checkpoints without pause are each intact and complete", async () => {
  const src = fresh("busy.db", 2000);
  const before = count(src);
  // Another process: commits rows of 4 KB and runs passive checkpoints as fast as it can,
  // so database pages are being overwritten while the backup copies the file.
  const script = `
    import { Database } from "bun:sqlite";
    const db = new Database(${JSON.stringify(src)});
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA wal_autocheckpoint = 0");
    const ins = db.prepare("INSERT INTO results (uid, parent, name, create_time, update_time, etag, annotations) VALUES (?, 'w', ?, 1, 1, 'e', json_object('pad', hex(randomblob(2000))))");
    let i = 0;
    process.stdout.write("ready\\n");
    for (;;) {
      db.transaction(() => { for (let k = 0; k < 20; k++, i++) ins.run("w-" + i, "w" + i); })();
      if (i % 100 === 0) db.run("PRAGMA wal_checkpoint(PASSIVE)");
    }
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = child.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
    await Bun.sleep(300);
    const first = count(src);
    for (let i = 0; i < 4; i++) {
      const atStart = count(src);
      const r = backupDatabase(src, join(dir, `busy-${i}.db`));
      expect(checkBackup(r.path)).toBe(SCHEMA_VERSION);
      expect(count(r.path)).toBeGreaterThanOrEqual(Math.max(atStart, before));
      expect(existsSync(`${r.path}-wal`)).toBe(false);
    }
    // The writer really was writing throughout.
    expect(count(src)).toBeGreaterThan(first + 100);
  } finally {
    child.kill();
    await child.exited;
  }
}, 60_000);
