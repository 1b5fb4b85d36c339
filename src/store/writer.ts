/**
 * The single writer. Write jobs submitted in the same event-loop turn are
 * committed together in one transaction (group commit), each inside its own
 * savepoint so one job's failure rolls back only that job. A job's promise
 * settles only after the COMMIT, so an acknowledged write is on disk (in the
 * WAL) before the client hears about it.
 *
 * Under load the writer lingers for a millisecond before committing, so that
 * the calls in flight share a commit: one commit costs about as much as the
 * row writes of a job, and every transaction rewrites the same index pages.
 * When idle it commits on the next turn, so a lone write is not delayed.
 */
import type { Database, Statement } from "bun:sqlite";

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Bounds one transaction so a flood of writes cannot hold the lock for long. */
const MAX_BATCH = 256;
/** A flush this recent means the writer is busy: wait for company. */
const BUSY_WITHIN_MS = 5;
const LINGER_MS = 1;

export class Writer {
  private queue: Job[] = [];
  private scheduled = false;
  private lastFlush = -Infinity;
  private closed = false;
  private readonly stmts: Record<"begin" | "commit" | "rollback" | "save" | "release" | "undo", Statement>;

  constructor(private readonly db: Database) {
    this.stmts = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      save: db.prepare("SAVEPOINT job"),
      release: db.prepare("RELEASE job"),
      undo: db.prepare("ROLLBACK TO job"),
    };
  }

  submit<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        if (performance.now() - this.lastFlush < BUSY_WITHIN_MS) setTimeout(() => this.flush(), LINGER_MS);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Runs everything queued now; used by close() to drain. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const jobs = this.queue.splice(0, MAX_BATCH);
      this.runBatch(jobs);
    }
    this.lastFlush = performance.now();
  }

  private runBatch(jobs: Job[]): void {
    const s = this.stmts;
    const outcomes: Array<{ ok: true; v: unknown } | { ok: false; e: unknown }> = [];
    try {
      s.begin.run();
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    for (const j of jobs) {
      s.save.run();
      try {
        const v = j.fn();
        s.release.run();
        outcomes.push({ ok: true, v });
      } catch (e) {
        s.undo.run();
        s.release.run();
        outcomes.push({ ok: false, e });
      }
    }
    try {
      s.commit.run();
    } catch (e) {
      if (this.db.inTransaction) s.rollback.run();
      for (const j of jobs) j.reject(e);
      return;
    }
    jobs.forEach((j, i) => {
      const o = outcomes[i]!;
      if (o.ok) j.resolve(o.v);
      else j.reject(o.e);
    });
  }

  /** Drains pending jobs; later submissions are refused. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
