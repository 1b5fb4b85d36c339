import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { AppError } from "../core/errors.ts";
import { closeDatabase, openDatabase } from "./db.ts";
import type { ReadJob } from "./read-job.ts";
import { ReaderPool } from "./readers.ts";

let dir: string;
let db: Database;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hindsight-readers-"));
  db = openDatabase(join(dir, "h.db"));
  db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('u1', 'p', 'r', 1, 1, 'e')");
});
afterAll(() => {
  closeDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

const rows = (sql: string, ...values: Array<string | number>): ReadJob => ({ kind: "rows", segments: [{ sql, values }], limit: -1 });
/** Counts to n in SQL: seconds of pure CPU on one connection, no data needed. */
const spin = (n: number) => rows("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) SELECT count(*) AS n FROM c", n);

test("a long query on one reader does not hold up a short one on another", async () => {
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 2, slowMs: 0 });
  try {
    expect(pool.threads).toBe(0); // the first starts with the first query, more when queries overlap
    let longDone = false;
    const long = pool.run(spin(10_000_000)).then((r) => {
      longDone = true;
      return r;
    });
    const short = await pool.run(rows("SELECT name FROM results WHERE parent = ?1", "p"));
    expect(short).toEqual([{ name: "r" }]);
    expect(longDone).toBe(false);
    expect(await long).toEqual([{ n: 10_000_000 }]);
    expect(pool.threads).toBe(2);
    await Promise.all([pool.run(spin(10)), pool.run(spin(10)), pool.run(spin(10))]);
    expect(pool.threads).toBe(2); // never more than `size`
  } finally {
    await pool.close();
  }
});

test("a query over the timeout gets DEADLINE_EXCEEDED and the pool keeps serving", async () => {
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 1, timeoutMs: 200 });
  try {
    const err = await pool.run(spin(2_000_000_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("deadline_exceeded");
    expect((err as AppError).message).toMatch(/longer than 0.2 s/);
    expect(await pool.run(rows("SELECT count(*) AS n FROM results"))).toEqual([{ n: 1 }]);
  } finally {
    await pool.close();
  }
});

test("SQLite errors cross the thread boundary with their codes; readers have the filter functions", async () => {
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 1 });
  try {
    const bad = (await pool.run(rows("SELECT nope FROM results")).catch((e: unknown) => e)) as Error & { code?: string };
    expect(bad.message).toMatch(/no such column: nope/);
    expect(bad.code).toBe("SQLITE_ERROR");
    expect(await pool.run(rows("SELECT hs_regexp('u/^r$', name) AS m FROM results"))).toEqual([{ m: 1 }]);
  } finally {
    await pool.close();
  }
});

test("records jobs fetch whole rows by the keys, in the keys' order", async () => {
  db.run("INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES ('a', 1, 'p', 'r', 'n1', 1, 1, 'e', 't', jsonb('{\"k\":1}'))");
  db.run("INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES ('b', 1, 'p', 'r', 'n2', 2, 2, 'e', 't', jsonb('{\"k\":2}'))");
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 1 });
  try {
    const got = (await pool.run({
      kind: "records",
      segments: [{ sql: "SELECT rid, create_time AS sort_key FROM records ORDER BY create_time DESC", values: [] }],
      limit: 5,
    })) as Array<{ name: string; data: Uint8Array; sort_key: number }>;
    // Documents come as their UTF-8 JSON bytes.
    expect(got.map((r) => [r.name, new TextDecoder().decode(r.data), r.sort_key])).toEqual([
      ["n2", '{"k":2}', 2],
      ["n1", '{"k":1}', 1],
    ]);
  } finally {
    await pool.close();
  }
});

test("close refuses new work with UNAVAILABLE; a missing database fails the start clearly", async () => {
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 1 });
  await pool.close();
  const err = (await pool.run(rows("SELECT 1")).catch((e: unknown) => e)) as AppError;
  expect(err.code).toBe("unavailable");
  await expect(ReaderPool.start(join(dir, "absent", "x.db"), { size: 1 })).rejects.toThrow(/a reader could not open the database/);
});

test("a long query yields the CPU: its thread runs at a lower priority and is retired afterwards; short queries keep theirs", async () => {
  const pool = await ReaderPool.start(join(dir, "h.db"), { size: 2, slowMs: 50 });
  const niceOf = (tid: number) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
  try {
    await pool.run(spin(10));
    expect(pool.demotedThreads).toEqual([]);
    const long = pool.run(spin(5_000_000));
    await Bun.sleep(250);
    const demoted = pool.demotedThreads;
    if (process.platform === "linux") {
      expect(demoted).toHaveLength(1);
      expect(niceOf(demoted[0]!)).toBe(10);
      expect(niceOf(Number(readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0]))).toBe(0); // the main thread keeps its priority
    }
    // Meanwhile a short query runs on another thread at normal priority.
    expect(await pool.run(rows("SELECT name FROM results WHERE parent = ?1", "p"))).toEqual([{ name: "r" }]);
    expect(await long).toEqual([{ n: 5_000_000 }]);
    expect(pool.demotedThreads).toEqual([]);
    if (process.platform === "linux") expect(pool.threads).toBe(1); // the demoted one retired
    expect(await pool.run(spin(10))).toEqual([{ n: 10 }]);
  } finally {
    await pool.close();
  }
});

test("the first thread starts with the first query; one that cannot open the database fails that query at once, not at its timeout", async () => {
  const d = mkdtempSync(join(tmpdir(), "hs-readers-lazy-"));
  try {
    const path = join(d, "h.db");
    const db = openDatabase(path);
    closeDatabase(db);
    const pool = await ReaderPool.start(path, { size: 2, timeoutMs: 30_000 });
    expect(pool.threads).toBe(0);
    // The file goes before any thread has opened it.
    for (const s of ["", "-wal", "-shm"]) rmSync(path + s, { force: true });
    const t0 = performance.now();
    const e = await pool.run(rows("SELECT 1 AS x")).then(() => null, (err: AppError) => err);
    expect(e?.code).toBe("unavailable");
    expect(e?.message).toMatch(/a reader could not open the database/);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(pool.threads).toBe(0);
    await pool.close();
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
