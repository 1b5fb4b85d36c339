// The background checkpointer keeps the WAL bounded while the writer, with
// inline checkpoints off, writes without pause; nothing written is lost.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { Checkpointer } from "./checkpointer.ts";
import { closeDatabase, openDatabase } from "./db.ts";

test("the WAL is checkpointed and truncated beside a busy writer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hs-ckpt-"));
  try {
    const path = join(dir, "h.db");
    const db = openDatabase(path);
    const ck = new Checkpointer(path, 10, 64);
    await ck.start();
    db.run("PRAGMA wal_autocheckpoint = 0");
    db.run("CREATE TABLE blob (id INTEGER PRIMARY KEY, b BLOB)");
    const ins = db.prepare("INSERT INTO blob (b) VALUES (randomblob(4000))");
    let maxWal = 0;
    for (let round = 0; round < 40; round++) {
      db.transaction(() => {
        for (let i = 0; i < 50; i++) ins.run();
      })();
      await Bun.sleep(15);
      maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
    }
    // 2,000 rows of 4 KB written: far more than 64 pages, yet the WAL stays small.
    expect(maxWal).toBeLessThan(4 * 1024 * 1024);
    await ck.stop();
    closeDatabase(db);
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
    const check = new Database(path, { readonly: true });
    expect(check.query("SELECT count(*) AS n FROM blob").get()).toEqual({ n: 2000 });
    expect(check.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    check.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("started lazily: not while the WAL is small, at once when it passes the threshold; a stop before the start is clean", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hs-ckpt-"));
  try {
    const path = join(dir, "h.db");
    const db = openDatabase(path);
    db.run("PRAGMA wal_autocheckpoint = 0");
    // The migrations' writes: out of the WAL, so it starts empty.
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const ck = new Checkpointer(path, 10, 64);
    ck.startWhenWalExceeds(256 * 1024, 20);
    db.run("CREATE TABLE blob (id INTEGER PRIMARY KEY, b BLOB)");
    db.run("INSERT INTO blob (b) VALUES (randomblob(1000))");
    await Bun.sleep(100);
    expect(ck.running).toBe(false);
    const ins = db.prepare("INSERT INTO blob (b) VALUES (randomblob(4000))");
    db.transaction(() => {
      for (let i = 0; i < 200; i++) ins.run();
    })();
    for (let i = 0; i < 100 && !ck.running; i++) await Bun.sleep(20);
    expect(ck.running).toBe(true);
    await ck.stop();
    closeDatabase(db);

    // Never started: stop is immediate, and closing the last connection still empties the WAL.
    const db2 = openDatabase(path);
    const idle = new Checkpointer(path);
    idle.startWhenWalExceeds();
    db2.run("INSERT INTO blob (b) VALUES (x'00')");
    await idle.stop();
    expect(idle.running).toBe(false);
    closeDatabase(db2);
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The thread's connection must be closed for good when stop() resolves. A
// lazy close left it to close later, on the thread's teardown, where it
// checkpointed as if it were the last connection while the server ran its
// own TRUNCATE: that one then answered busy (13-15 of these 40 stops), and
// when it was the server's last, the WAL stayed behind.
test("after stop the thread holds nothing: the server's TRUNCATE right after is never busy (40 starts and stops)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hs-ckpt-"));
  try {
    const busy: number[] = [];
    for (let k = 0; k < 40; k++) {
      const path = join(dir, `h${k}.db`);
      const db = openDatabase(path);
      db.run("PRAGMA wal_autocheckpoint = 0");
      const ck = new Checkpointer(path, 10, 64);
      await ck.start();
      db.run("CREATE TABLE blob (id INTEGER PRIMARY KEY, b BLOB)");
      const ins = db.prepare("INSERT INTO blob (b) VALUES (randomblob(4000))");
      db.transaction(() => {
        for (let i = 0; i < 200; i++) ins.run();
      })();
      await ck.stop();
      const r = db.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get()!;
      if (r.busy) busy.push(k);
      closeDatabase(db);
      expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
    }
    expect(busy).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
