import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { openDatabase } from "./db.ts";
import { migrate, SCHEMA_VERSION, SchemaTooNewError, schemaVersion } from "./migrations.ts";

test("a new database gets every migration, recorded; reopening applies nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "hs-mig-"));
  try {
    const path = join(dir, "sub", "h.db");
    const db = openDatabase(path); // creates the directory too
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    db.close();
    const again = new Database(path);
    expect(migrate(again)).toEqual([]);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a database from a newer Hindsight is refused with a clear message", () => {
  const db = new Database(":memory:");
  migrate(db);
  db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", [SCHEMA_VERSION + 1]);
  expect(() => migrate(db)).toThrow(SchemaTooNewError);
  expect(() => migrate(db)).toThrow(/newer than this binary supports/);
});

test("a failing migration leaves the previous version intact", () => {
  const db = new Database(":memory:");
  db.run("CREATE TABLE results (x)"); // collides with migration 1
  expect(() => migrate(db)).toThrow();
  expect(schemaVersion(db)).toBe(0);
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'records'").get()).toBeNull();
});
