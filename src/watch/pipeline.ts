/**
 * The path from a received event to a stored run, for one watch stream.
 *
 * Events enter in the order the cluster sent them and take a slot in a
 * bounded window. Different objects are stored concurrently (so the single
 * writer can commit many in one transaction); events of the same object are
 * applied in order, and a newer state waiting behind a running write
 * replaces an older waiting one (the latest state is what matters).
 *
 * The resume point only moves past a slot once it and every slot before it
 * are done, so a saved resume point never skips an unstored event: after a
 * crash the stream replays from there. The window is bounded: when it is
 * full, reading from the cluster waits (memory stays flat however far
 * behind the store is).
 */
import type { KubeObject } from "./mapping.ts";

export interface Checkpoint {
  resourceVersion: string;
  /** Set while a paginated list is in progress: the token for the next page. */
  listContinue: string | null;
}

interface Slot {
  done: boolean;
  checkpoint: Checkpoint | null;
  receivedAt: number;
}

export interface Job {
  obj: KubeObject;
  type: "ADDED" | "MODIFIED" | "DELETED" | "LISTED";
  /** performance.now() when the event was received. */
  receivedAt: number;
}

export interface PipelineOptions {
  /** Slots in the window (events received and not yet behind the resume point). */
  window: number;
  /** Stores one object state; a throw is retried or given up as `retryable` decides. */
  process: (job: Job) => Promise<void>;
  /** Decides whether an error is worth retrying; false: the event is given up (counted and logged). */
  retryable: (e: unknown) => boolean;
  onError: (e: unknown, job: Job, willRetry: boolean) => void;
  /** Backoff between retries of one object. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export class Pipeline {
  private readonly slots: Slot[] = [];
  private head = 0;
  private waiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  private readonly objects = new Map<string, { running: boolean; pending: { job: Job; slots: Slot[] } | null }>();
  private stopping = false;
  private active = 0;
  /** The resume point: every event up to it is stored. */
  checkpoint: Checkpoint | null = null;
  /** Bumped whenever the checkpoint moves. */
  checkpointSeq = 0;
  lastStoredAt: number | null = null;

  constructor(private readonly o: PipelineOptions) {}

  /** Slots in use (received, not yet behind the resume point). */
  get size(): number {
    return this.slots.length - this.head;
  }

  /** Age in ms of the oldest event not yet stored; 0 when caught up. */
  lagMs(now = performance.now()): number {
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (!s.done) return now - s.receivedAt;
    }
    return 0;
  }

  /** Waits for a free slot (back-pressure on the reader). */
  async reserve(): Promise<void> {
    while (this.size >= this.o.window && !this.stopping) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Adds an object state. Call reserve() first. */
  submit(job: Job, checkpoint: Checkpoint | null): void {
    const slot: Slot = { done: false, checkpoint, receivedAt: job.receivedAt };
    this.slots.push(slot);
    const uid = job.obj.metadata?.uid ?? `${job.obj.metadata?.namespace}/${job.obj.metadata?.name}`;
    let st = this.objects.get(uid);
    if (!st) {
      st = { running: false, pending: null };
      this.objects.set(uid, st);
    }
    if (st.pending) {
      st.pending.job = job;
      st.pending.slots.push(slot);
    } else st.pending = { job, slots: [slot] };
    if (!st.running) void this.run(uid, st);
  }

  /** A resume point with no object (a bookmark, or the end of a list page). */
  mark(checkpoint: Checkpoint): void {
    this.slots.push({ done: true, checkpoint, receivedAt: performance.now() });
    this.advance();
  }

  private async run(uid: string, st: { running: boolean; pending: { job: Job; slots: Slot[] } | null }): Promise<void> {
    st.running = true;
    this.active++;
    try {
      while (st.pending && !this.stopping) {
        const { job, slots } = st.pending;
        st.pending = null;
        if (await this.processWithRetry(job)) {
          for (const s of slots) s.done = true;
          this.lastStoredAt = Date.now();
          this.advance();
        } else return; // stopping: leave the slots undone, so the resume point stays before them
      }
    } finally {
      st.running = false;
      if (!st.pending) this.objects.delete(uid);
      this.active--;
      if (this.active === 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** True when stored (or given up); false when stopping interrupted the retries. */
  private async processWithRetry(job: Job): Promise<boolean> {
    let delay = this.o.retryInitialMs ?? 200;
    for (;;) {
      try {
        await this.o.process(job);
        return true;
      } catch (e) {
        const retry = this.o.retryable(e) && !this.stopping;
        this.o.onError(e, job, retry);
        if (!retry) return !this.stopping;
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, this.o.retryMaxMs ?? 10_000);
      }
    }
  }

  private advance(): void {
    let moved = false;
    while (this.head < this.slots.length && this.slots[this.head]!.done) {
      const s = this.slots[this.head++]!;
      if (s.checkpoint) {
        this.checkpoint = s.checkpoint;
        moved = true;
      }
    }
    if (moved) this.checkpointSeq++;
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
    if (this.size < this.o.window) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when nothing is being stored (everything submitted is done or abandoned). */
  async idle(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  /** Stops retrying; in-flight writes finish, waiting ones are abandoned (the resume point stays before them). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.waiters.splice(0)) w();
    await this.idle();
  }
}
