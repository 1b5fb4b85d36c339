/**
 * One watch stream: one resource (TaskRuns, PipelineRuns or CustomRuns) of
 * one cluster, optionally one namespace. The loop every Kubernetes
 * controller runs, with its resume point kept in the database:
 *
 *   resume point saved?  ── no ──► list (paginated, `limit`/`continue`)
 *          │ yes                     │ items go to the pipeline page by page;
 *          ▼                         │ after each stored page the resume point
 *   watch from it ◄──────────────────┘ is (list RV, next continue token)
 *     │  events -> pipeline; BOOKMARKs move the resume point
 *     │  server ends the watch ──► watch again from the last RV received
 *     │  connection fails      ──► jittered backoff, watch again
 *     └  410 Gone              ──► list again (resume point expired)
 *
 * Memory is bounded by the page size and the pipeline's window, never by
 * the number of runs in the cluster. Nothing here stalls another stream or
 * another cluster: each runs its own loop.
 */
import { log } from "../log.ts";
import { KubeError, type Gvr, type KubeClient } from "./kube.ts";
import type { KubeObject } from "./mapping.ts";
import type { WatchMetrics } from "./metrics.ts";
import { relieve } from "./memory.ts";
import { Pipeline, type Checkpoint, type Job } from "./pipeline.ts";

/** A saved resume point and status, as the store keeps it (src/store/watch-state.ts). */
export interface StreamRow {
  cluster: string;
  stream: string;
  resourceVersion: string | null;
  listContinue: string | null;
  state: string;
  lastEventAt: number | null;
  lastStoredAt: number | null;
  lagMs: number;
  events: number;
  writes: number;
  errors: number;
  lastError: string | null;
  lastErrorAt: number | null;
  updatedAt: number;
}

/** Where resume points are kept (implemented by SqliteWatchState). */
export interface ProgressStore {
  load(cluster: string, stream: string): StreamRow | null;
  save(row: StreamRow): Promise<void>;
}

export interface StreamTuning {
  /** Items per list page. */
  pageSize: number;
  /** Pipeline window (events in flight). */
  window: number;
  /** Reconnect backoff: first delay and cap; each delay is jittered (x0.5..1.5). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Server-side watch timeout; the watch is re-opened after it. */
  watchTimeoutSeconds: number;
  /** No byte (not even a bookmark) for this long: the connection is presumed dead. */
  idleTimeoutMs: number;
  /** How often the resume point and status are saved. */
  saveIntervalMs: number;
}

export const DEFAULT_TUNING: StreamTuning = {
  pageSize: 250,
  window: 256,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  watchTimeoutSeconds: 300,
  idleTimeoutMs: 150_000,
  saveIntervalMs: 1000,
};

export type StreamState = "connecting" | "listing" | "watching" | "backoff" | "error" | "stopped";

export interface StreamDeps {
  cluster: string;
  key: string;
  gvr: Gvr;
  namespace: string | null;
  labelSelector: string | null;
  client: KubeClient;
  progress: ProgressStore;
  metrics: WatchMetrics;
  tuning: StreamTuning;
  /** Stores one object state (and does the cluster-side follow-ups); true when a record was written. */
  process: (job: Job, gvr: Gvr) => Promise<boolean>;
  retryable: (e: unknown) => boolean;
}

export class WatchStream {
  state: StreamState = "connecting";
  lastEventAt: number | null = null;
  events = 0;
  writes = 0;
  errors = 0;
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  /** True once a list has completed or a saved resume point has been watched from successfully. */
  synced = false;
  private readonly pipeline: Pipeline;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private saver: ReturnType<typeof setInterval> | null = null;
  private savedSeq = -1;
  private saving: Promise<void> = Promise.resolve();
  private readonly labels: { cluster: string; resource: string };

  constructor(private readonly d: StreamDeps) {
    this.labels = { cluster: d.cluster, resource: d.gvr.plural };
    this.pipeline = new Pipeline({
      window: d.tuning.window,
      process: async (job) => {
        if (await d.process(job, d.gvr)) this.writes++;
      },
      retryable: d.retryable,
      onError: (e, job, willRetry) => {
        this.errors++;
        this.noteError(e);
        d.metrics.writeErrors.inc(this.labels);
        const m = job.obj.metadata;
        (willRetry ? log.warn : log.error)(willRetry ? "storing a run failed; retrying" : "a run cannot be stored; skipped", {
          cluster: d.cluster,
          resource: d.gvr.plural,
          namespace: m?.namespace,
          name: m?.name,
          uid: m?.uid,
          error: e instanceof Error ? e.message : String(e),
        });
      },
    });
  }

  get key(): string {
    return this.d.key;
  }

  get lagMs(): number {
    return this.pipeline.lagMs();
  }

  get checkpoint(): Checkpoint | null {
    return this.pipeline.checkpoint;
  }

  get connected(): boolean {
    return this.state === "watching" || this.state === "listing";
  }

  private noteError(e: unknown): void {
    this.lastError = e instanceof Error ? e.message : String(e);
    this.lastErrorAt = Date.now();
  }

  start(): void {
    const saved = this.d.progress.load(this.d.cluster, this.d.key);
    if (saved?.resourceVersion) {
      this.pipeline.checkpoint = { resourceVersion: saved.resourceVersion, listContinue: saved.listContinue };
    }
    this.events = saved?.events ?? 0;
    this.writes = saved?.writes ?? 0;
    this.errors = saved?.errors ?? 0;
    this.savedSeq = this.pipeline.checkpointSeq;
    this.saver = setInterval(() => void this.save(), this.d.tuning.saveIntervalMs);
    this.loop = this.run(saved?.resourceVersion ?? null, saved?.listContinue ?? null);
  }

  /** Stops reading, lets in-flight writes finish, saves the resume point. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    await this.pipeline.stop();
    if (this.saver) clearInterval(this.saver);
    this.state = "stopped";
    await this.save(true);
  }

  /**
   * Saves the resume point and the status (every save interval: the row's
   * updated_at is also the heartbeat `hindsight status` reads). A failed save
   * is logged when it mattered (the point had moved, or on stop).
   */
  save(force = false): Promise<void> {
    const cp = this.pipeline.checkpoint;
    const seq = this.pipeline.checkpointSeq;
    const moved = seq !== this.savedSeq;
    this.saving = this.saving.then(async () => {
      const row: StreamRow = {
        cluster: this.d.cluster,
        stream: this.d.key,
        resourceVersion: cp?.resourceVersion ?? null,
        listContinue: cp?.listContinue ?? null,
        state: this.state,
        lastEventAt: this.lastEventAt,
        lastStoredAt: this.pipeline.lastStoredAt,
        lagMs: this.pipeline.lagMs(),
        events: this.events,
        writes: this.writes,
        errors: this.errors,
        lastError: this.lastError,
        lastErrorAt: this.lastErrorAt,
        updatedAt: Date.now(),
      };
      try {
        await this.d.progress.save(row);
        this.savedSeq = seq;
      } catch (e) {
        if (force || moved) log.warn("saving the watch resume point failed", { cluster: this.d.cluster, stream: this.d.key, error: (e as Error).message });
      }
    });
    return this.saving;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  /** Where the loop is: the last resourceVersion received, and the list in progress if any. */
  private rv: string | null = null;
  private listing = false;
  private listRv: string | null = null;
  private listToken: string | null = null;

  private async run(rv: string | null, cont: string | null): Promise<void> {
    this.rv = rv;
    if (cont !== null && rv !== null) {
      // A list was interrupted: resume it from the saved page.
      this.listing = true;
      this.listRv = rv;
      this.listToken = cont;
    } else this.listing = rv === null;
    let attempt = 0;
    const progressed = () => {
      attempt = 0;
      this.synced ||= !this.listing;
    };
    while (!this.stopped) {
      try {
        if (this.listing) {
          this.state = "listing";
          if (this.listToken === null) this.d.metrics.relists.inc(this.labels);
          await this.list(progressed);
          if (this.stopped) break;
          this.synced = true;
        }
        this.state = "watching";
        await this.watch(progressed);
        // The server ended the watch (its timeout): open the next one at once.
        if (!this.stopped) this.d.metrics.restarts.inc(this.labels);
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof KubeError && e.gone) {
          // The resume point or continue token expired: list afresh.
          log.info("resume point expired; listing again", { cluster: this.d.cluster, stream: this.d.key, reason: e.message });
          this.listing = true;
          this.listRv = null;
          this.listToken = null;
          continue;
        }
        this.noteError(e);
        this.state = "backoff";
        const delay = Math.min(this.d.tuning.backoffInitialMs * 2 ** attempt, this.d.tuning.backoffMaxMs) * (0.5 + Math.random());
        attempt = Math.min(attempt + 1, 30);
        log.warn("watch stream failed; reconnecting", { cluster: this.d.cluster, stream: this.d.key, error: (e as Error).message, retryInMs: Math.round(delay) });
        this.d.metrics.restarts.inc(this.labels);
        await this.sleep(delay);
      }
    }
  }

  private received(type: string): void {
    this.events++;
    this.lastEventAt = Date.now();
    this.d.metrics.events.inc({ ...this.labels, type });
    this.d.metrics.lastEvent.set({ cluster: this.d.cluster }, this.lastEventAt / 1000);
  }

  /**
   * Lists page by page from the saved continue token (or the start); a
   * failed page is fetched again from the same token after the backoff.
   * Ends with the list's resourceVersion as the point to watch from.
   */
  private async list(progressed: () => void): Promise<void> {
    for (;;) {
      const page = await this.d.client.list(this.d.gvr, {
        namespace: this.d.namespace,
        limit: this.d.tuning.pageSize,
        continue: this.listToken,
        labelSelector: this.d.labelSelector ?? undefined,
        cancel: this.abort.signal,
      });
      progressed();
      this.listRv ??= page.resourceVersion;
      for (const obj of page.items) {
        relieve();
        this.received("LISTED");
        await this.pipeline.reserve();
        if (this.stopped) return;
        this.pipeline.submit(this.job(obj, "LISTED"), null);
      }
      this.listToken = page.continue;
      this.pipeline.mark({ resourceVersion: this.listRv, listContinue: this.listToken });
      if (this.listToken === null) {
        this.rv = this.listRv;
        this.listRv = null;
        this.listing = false;
        return;
      }
    }
  }

  private job(obj: KubeObject, type: Job["type"]): Job {
    if (!obj.apiVersion) obj.apiVersion = `${this.d.gvr.group}/${this.d.gvr.version}`;
    if (!obj.kind) obj.kind = this.d.gvr.kind;
    return { obj, type, receivedAt: performance.now() };
  }

  /** Watches from the last resourceVersion received until the server ends the stream. */
  private async watch(progressed: () => void): Promise<void> {
    const stream = this.d.client.watch(this.d.gvr, {
      namespace: this.d.namespace,
      resourceVersion: this.rv!,
      labelSelector: this.d.labelSelector ?? undefined,
      timeoutSeconds: Math.round(this.d.tuning.watchTimeoutSeconds * (1 + Math.random())),
      idleTimeoutMs: this.d.tuning.idleTimeoutMs,
      signal: this.abort.signal,
    });
    let first = true;
    for await (const ev of stream) {
      if (first) {
        first = false;
        progressed();
      }
      if (ev.type === "ERROR") {
        throw new KubeError(this.d.cluster, ev.status, ev.reason, `cluster "${this.d.cluster}": watch ${this.d.gvr.plural}: ${ev.status} ${ev.reason}: ${ev.message}`, true);
      }
      if (ev.type === "BOOKMARK") {
        this.received("BOOKMARK");
        if (ev.resourceVersion) {
          this.rv = ev.resourceVersion;
          this.pipeline.mark({ resourceVersion: this.rv, listContinue: null });
        }
        continue;
      }
      relieve();
      this.received(ev.type);
      const objRv = ev.object.metadata?.resourceVersion;
      await this.pipeline.reserve();
      if (this.stopped) return;
      this.pipeline.submit(this.job(ev.object, ev.type), objRv ? { resourceVersion: objRv, listContinue: null } : null);
      if (objRv) this.rv = objRv;
    }
  }
}
