/**
 * The WAL checkpointer, on its own thread with its own connection. A
 * checkpoint copies committed pages into the database file and syncs it;
 * done inline after a commit (SQLite's default) it stalls every request for
 * tens of milliseconds. Here it runs beside the writer: PASSIVE mode never
 * blocks the writer or readers. Under a steady stream of writes a passive
 * checkpoint never quite catches up, so the WAL would only grow; past
 * maxWalPages a TRUNCATE checkpoint briefly holds the writer back (most
 * pages are already copied by then) and starts the WAL afresh.
 */
import { Database } from "bun:sqlite";

declare const self: Worker;

interface Start {
  path: string;
  intervalMs: number;
  maxWalPages: number;
}

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

self.onmessage = (ev: MessageEvent<Start | "stop">) => {
  if (ev.data === "stop") {
    if (timer) clearInterval(timer);
    db?.close();
    db = null;
    postMessage("stopped");
    return;
  }
  const { path, intervalMs, maxWalPages } = ev.data;
  db = new Database(path, { readwrite: true });
  db.run("PRAGMA busy_timeout = 10000");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA cache_size = -2048");
  const passive = db.prepare<{ busy: number; log: number; checkpointed: number }, []>("PRAGMA wal_checkpoint(PASSIVE)");
  const truncate = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  timer = setInterval(() => {
    try {
      const r = passive.get();
      if (r && r.log > maxWalPages) truncate.run();
    } catch {
      // Busy or locked: the next tick tries again.
    }
  }, intervalMs);
  postMessage("started");
};
