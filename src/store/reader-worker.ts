/**
 * A reader: one thread with its own read-only connection, running list and
 * summary queries (read-job.ts) so that a long scan never blocks the main
 * thread, where gRPC, REST and the writer live. WAL lets it read while the
 * writer commits.
 */
import type { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { openDatabase } from "./db.ts";
import { JobRunner, toJobError, type ReadJob } from "./read-job.ts";

declare const self: Worker;

export type ReaderIn =
  | { type: "open"; path: string; cacheKiB: number; mmapBytes: number }
  | { type: "job"; id: number; job: ReadJob }
  | { type: "close" };

export type ReaderOut =
  | { type: "ready"; tid: number | null }
  | { type: "open_failed"; message: string }
  | { type: "done"; id: number; rows: unknown[] }
  | { type: "failed"; id: number; error: ReturnType<typeof toJobError> }
  | { type: "closed" };

/** This thread's kernel id, so the pool can lower its priority during a long scan (Linux only). */
function threadId(): number | null {
  try {
    const tid = Number(readFileSync("/proc/thread-self/stat", "utf8").split(" ", 1)[0]);
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

let db: Database | null = null;
let runner: JobRunner | null = null;
const send = (m: ReaderOut) => postMessage(m);

self.onmessage = (ev: MessageEvent<ReaderIn>) => {
  const m = ev.data;
  switch (m.type) {
    case "open":
      try {
        db = openDatabase(m.path, { readonly: true, cacheKiB: m.cacheKiB });
        if (m.mmapBytes > 0) db.run(`PRAGMA mmap_size = ${Math.floor(m.mmapBytes)}`);
        runner = new JobRunner(db);
        send({ type: "ready", tid: threadId() });
      } catch (e) {
        send({ type: "open_failed", message: e instanceof Error ? e.message : String(e) });
      }
      return;
    case "job":
      try {
        if (!runner) throw new Error("reader has no open database");
        send({ type: "done", id: m.id, rows: runner.run(m.job) });
      } catch (e) {
        send({ type: "failed", id: m.id, error: toJobError(e) });
      }
      return;
    case "close":
      db?.close(false);
      db = runner = null;
      send({ type: "closed" });
      return;
  }
};
