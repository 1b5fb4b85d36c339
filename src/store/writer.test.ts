import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { Writer } from "./writer.ts";

function setup() {
  const db = new Database(":memory:");
  db.run("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
  return { db, w: new Writer(db), ins: db.prepare("INSERT INTO t VALUES (?, ?)") };
}

test("jobs of one turn share a transaction; a failing job rolls back only itself", async () => {
  const { db, w, ins } = setup();
  const results = await Promise.allSettled([
    w.submit(() => ins.run("a", 1)),
    w.submit(() => {
      ins.run("b", 2); // written, then undone by the throw below
      throw new Error("job failed");
    }),
    w.submit(() => ins.run("a", 3)), // unique violation
    w.submit(() => ins.run("c", 4)),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
  expect(db.query("SELECT k, v FROM t ORDER BY k").all()).toEqual([
    { k: "a", v: 1 },
    { k: "c", v: 4 },
  ]);
});

test("a job's promise settles after its commit", async () => {
  const { db, w, ins } = setup();
  await w.submit(() => ins.run("x", 1));
  expect(db.inTransaction).toBe(false);
  // Visible from a second connection? Not for :memory:, but the transaction is closed.
  expect(db.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1 });
});

test("more jobs than one batch are all committed", async () => {
  const { db, w, ins } = setup();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => w.submit(() => ins.run(`k${i}`, i))));
  expect(db.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1000 });
});

test("close drains queued jobs and then refuses new ones", async () => {
  const { db, w, ins } = setup();
  const p = w.submit(() => ins.run("late", 1));
  w.close();
  await p;
  expect(db.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1 });
  await expect(w.submit(() => 1)).rejects.toThrow(/closed/);
});
