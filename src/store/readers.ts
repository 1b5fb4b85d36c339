/**
 * Where read queries (lists, summaries) run. bun:sqlite is synchronous, so a
 * 2-second scan on the main thread would stall every other request for 2
 * seconds; the ReaderPool runs them on worker threads with their own
 * connections instead, and the main thread only waits for a message. An
 * in-memory database cannot be shared between connections, so it reads
 * inline (InlineReaders), which tests and tools use.
 */
import { Database } from "bun:sqlite";
import { setPriority } from "node:os";
import { AppError } from "../core/errors.ts";
import type { Hold } from "../core/store.ts";
import { fromJobError, JobRunner, type ReadJob } from "./read-job.ts";
import type { ReaderIn, ReaderOut } from "./reader-worker.ts";
import { workerUrl } from "./worker-url.ts";

export interface Readers {
  run(job: ReadJob): Promise<unknown[]>;
  close(): Promise<void>;
}

export class InlineReaders implements Readers {
  private readonly runner: JobRunner;
  constructor(db: Database) {
    this.runner = new JobRunner(db);
  }
  async run(job: ReadJob, hold?: Hold<unknown>): Promise<unknown[]> {
    return this.runner.run(job, hold);
  }
  async close(): Promise<void> {}
}

export interface PoolOptions {
  /** Most reader threads (one at start, more while queries overlap). A long scan occupies one; the others keep serving. */
  size?: number;
  /** Page cache per reader connection, KiB. */
  cacheKiB?: number;
  /** Memory-mapped I/O per reader connection, bytes (0 = off). */
  mmapBytes?: number;
  /** A query running longer is abandoned (its thread replaced) with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  /**
   * A query running longer yields the CPU: its thread's nice value is raised
   * (0 = never). On a 2-core machine a full scan takes a whole core, and the
   * short indexed queries, gRPC and the writer share the other; the kernel
   * then serves them first. A thread's priority cannot be raised back
   * without privileges, so the thread is retired after that query and a
   * fresh one starts when needed.
   */
  slowMs?: number;
}

/** The nice value of a reader thread running a long query. */
const SLOW_NICE = 10;

interface Pending {
  id: number;
  job: ReadJob;
  resolve: (rows: unknown[]) => void;
  reject: (e: Error) => void;
}

interface Reader {
  worker: Worker;
  busy: Pending | null;
  timer: ReturnType<typeof setTimeout> | null;
  slowTimer: ReturnType<typeof setTimeout> | null;
  ready: Promise<void>;
  opened: boolean;
  /** Kernel thread id (Linux), for setPriority. */
  tid: number | null;
  /** Its priority was lowered: retired after its current query. */
  demoted: boolean;
}

export class ReaderPool implements Readers {
  private readonly readers: Reader[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly opts: Required<PoolOptions>;

  private constructor(
    private readonly path: string,
    opts: PoolOptions,
  ) {
    this.opts = { size: 3, cacheKiB: 8192, mmapBytes: 0, timeoutMs: 60_000, slowMs: 200, ...opts };
  }

  /**
   * Checks that the database opens for reading (so a bad path fails the
   * start) and returns; the first thread starts with the first query and
   * more when queries overlap, so a server nobody asks runs one JavaScript
   * engine fewer (~10 MB, and ~40 ms of start-up).
   */
  static async start(path: string, opts: PoolOptions = {}): Promise<ReaderPool> {
    try {
      const probe = new Database(path, { readonly: true });
      try {
        probe.query("SELECT count(*) FROM sqlite_master").get();
      } finally {
        probe.close();
      }
    } catch (e) {
      throw new Error(`a reader could not open the database: ${(e as Error).message}`);
    }
    return new ReaderPool(path, opts);
  }

  /** Reader threads running now. */
  get threads(): number {
    return this.readers.length;
  }

  /** Kernel ids of the reader threads running a long query at lowered priority (for tests and status). */
  get demotedThreads(): number[] {
    return this.readers.filter((r) => r.demoted && r.tid !== null).map((r) => r.tid!);
  }

  run(job: ReadJob): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new AppError("unavailable", "the server is shutting down"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  /** Lets running queries finish (up to their timeout), then stops the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new AppError("unavailable", "the server is shutting down"));
    await Promise.all(
      this.readers.map(async (r) => {
        while (r.busy) await Bun.sleep(5);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          r.worker.onmessage = (ev: MessageEvent<ReaderOut>) => {
            if (ev.data.type === "closed") {
              clearTimeout(t);
              resolve();
            }
          };
          r.worker.postMessage({ type: "close" } satisfies ReaderIn);
        });
        r.worker.terminate();
      }),
    );
    this.readers.length = 0;
  }

  private spawn(): Reader {
    const worker = new Worker(workerUrl("reader-worker.ts"));
    const reader: Reader = { worker, busy: null, timer: null, slowTimer: null, ready: Promise.resolve(), opened: false, tid: null, demoted: false };
    reader.ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (ev: MessageEvent<ReaderOut>) => {
        const m = ev.data;
        if (m.type === "ready") {
          reader.opened = true;
          reader.tid = m.tid;
          resolve();
        }
        else if (m.type === "open_failed") {
          const err = new Error(`a reader could not open the database: ${m.message}`);
          reject(err);
          // Started for a query: that query fails now rather than at its timeout, and the
          // thread goes (the next query starts another, which may succeed).
          this.drop(reader, new AppError("unavailable", err.message));
        }
        else this.onResult(reader, m);
      };
      worker.onerror = (ev) => {
        reject(new Error(`a reader thread failed: ${ev.message}`));
        // One that never opened is not replaced: its replacement would fail the same way.
        if (reader.opened) this.replace(reader, new Error(`reader thread failed: ${ev.message}`));
      };
    });
    // Kept from becoming an unhandled rejection; start() and dispatch() observe it.
    reader.ready.catch(() => undefined);
    const open: ReaderIn = { type: "open", path: this.path, cacheKiB: this.opts.cacheKiB, mmapBytes: this.opts.mmapBytes };
    worker.postMessage(open);
    return reader;
  }

  private onResult(reader: Reader, m: ReaderOut): void {
    const p = reader.busy;
    if (!p || (m.type !== "done" && m.type !== "failed") || m.id !== p.id) return;
    if (reader.timer) clearTimeout(reader.timer);
    if (reader.slowTimer) clearTimeout(reader.slowTimer);
    reader.busy = null;
    reader.timer = reader.slowTimer = null;
    if (m.type === "done") p.resolve(m.rows);
    else p.reject(fromJobError(m.error));
    if (reader.demoted) this.retire(reader);
    this.dispatch();
  }

  private drop(reader: Reader, err: Error): void {
    const i = this.readers.indexOf(reader);
    if (i >= 0) this.readers.splice(i, 1);
    if (reader.timer) clearTimeout(reader.timer);
    if (reader.slowTimer) clearTimeout(reader.slowTimer);
    reader.busy?.reject(err);
    reader.busy = null;
    reader.worker.terminate();
  }

  /** Lowers a long query's thread's priority (see PoolOptions.slowMs). */
  private demote(reader: Reader): void {
    reader.slowTimer = null;
    if (!reader.busy || reader.tid === null) return;
    try {
      setPriority(reader.tid, SLOW_NICE);
      reader.demoted = true;
    } catch {
      // Not permitted or not Linux: the query keeps its priority.
    }
  }

  /** Removes a demoted thread once idle; dispatch() starts a fresh one when queries need it. */
  private retire(reader: Reader): void {
    const i = this.readers.indexOf(reader);
    if (i < 0) return;
    this.readers.splice(i, 1);
    reader.worker.postMessage({ type: "close" } satisfies ReaderIn);
    setTimeout(() => reader.worker.terminate(), 1000).unref?.();
  }

  private dispatch(): void {
    const idle = this.readers.filter((r) => !r.busy).length;
    // Grow up to `size` while queries wait and every thread is busy.
    for (let n = this.queue.length - idle; n > 0 && this.readers.length < this.opts.size; n--) this.readers.push(this.spawn());
    for (const r of this.readers) {
      if (this.queue.length === 0) return;
      if (r.busy) continue;
      const p = this.queue.shift()!;
      r.busy = p;
      r.timer = setTimeout(() => this.timeout(r), this.opts.timeoutMs);
      if (this.opts.slowMs > 0) r.slowTimer = setTimeout(() => this.demote(r), this.opts.slowMs);
      r.worker.postMessage({ type: "job", id: p.id, job: p.job } satisfies ReaderIn);
    }
  }

  /** SQLite cannot be interrupted from another thread here, so the thread goes and a new one comes. */
  private timeout(reader: Reader): void {
    const secs = Math.round(this.opts.timeoutMs / 100) / 10;
    this.replace(
      reader,
      new AppError("deadline_exceeded", `the query ran longer than ${secs} s and was stopped; narrow it with an indexed filter`),
    );
  }

  private replace(reader: Reader, err: Error): void {
    const i = this.readers.indexOf(reader);
    if (i < 0) return;
    if (reader.timer) clearTimeout(reader.timer);
    if (reader.slowTimer) clearTimeout(reader.slowTimer);
    reader.busy?.reject(err);
    reader.busy = null;
    reader.worker.terminate();
    if (this.closed) {
      this.readers.splice(i, 1);
      return;
    }
    this.readers[i] = this.spawn();
    this.dispatch();
  }
}
