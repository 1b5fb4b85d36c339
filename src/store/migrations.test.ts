import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { openDatabase } from "./db.ts";
import { migrate, migrations, SCHEMA_VERSION, SchemaTooNewError, schemaVersion } from "./migrations.ts";

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

test("0005 upgrades a version-4 database: record annotations leave the side table, labels stay maintained", () => {
  const db = new Database(":memory:");
  db.run("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT");
  for (const m of migrations.filter((m) => m.version <= 4)) {
    db.run(m.sql);
    db.run("INSERT INTO schema_migrations VALUES (?, ?, 0)", [m.version, m.name]);
  }
  db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('r', 'ns', 'r', 1, 1, 'e')");
  const data = (app: string) => JSON.stringify({ metadata: { labels: { app, team: "t" }, annotations: { note: "n" } } });
  db.run(
    "INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES ('a', 1, 'ns', 'r', 'a', 1, 1, 'e', 't', jsonb(?))",
    [data("web")],
  );
  const rows = () => db.query("SELECT kind, key, value FROM record_kv ORDER BY kind, key").all();
  expect(rows()).toEqual([
    { kind: 0, key: "app", value: "web" },
    { kind: 0, key: "team", value: "t" },
    { kind: 1, key: "note", value: "n" },
  ]);
  expect(migrate(db)).toEqual(migrations.filter((m) => m.version > 4).map((m) => m.version));
  expect(rows()).toEqual([
    { kind: 0, key: "app", value: "web" },
    { kind: 0, key: "team", value: "t" },
  ]);
  db.run("UPDATE records SET data = jsonb(?) WHERE uid = 'a'", [data("api")]);
  expect(rows()).toEqual([
    { kind: 0, key: "app", value: "api" },
    { kind: 0, key: "team", value: "t" },
  ]);
  db.run("DELETE FROM records WHERE uid = 'a'");
  expect(rows()).toEqual([]);
});
