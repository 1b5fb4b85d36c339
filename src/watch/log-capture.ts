/**
 * Log capture (spec §8.6, done differently): every step and sidecar
 * container of a TaskRun's pod is followed while it runs, so the log is
 * stored even when the pod is deleted a second after completion. Upstream
 * reads logs once, after completion, with a 30-second timeout and no retry.
 *
 *   * Never in the way: `observe` returns at once; the run is stored by the
 *     watcher whatever happens here.
 *   * Durable as it goes: output is stored in chunks (every 256 KiB or every
 *     second) together with the resume point (the last line's timestamp, see
 *     log-lines.ts), so a reconnect or a restart resumes without duplicating
 *     or losing lines.
 *   * Bounded: one pending chunk per container, at most `maxFollowers`
 *     streams open per cluster (the rest wait their turn).
 *   * Honest: a container whose log could not be read gets a note line in
 *     its place saying why (never started, pod deleted, refused).
 *   * `captured(run)` is true only once the Log record says isStored, which
 *     is written after every container's bytes are stored: cleanup deletes a
 *     run only then. A PipelineRun's log is its TaskRuns' logs (rendered with
 *     `[task : step]` prefixes when read); it is marked stored when they are.
 */
import { AppError } from "../core/errors.ts";
import type { IdGenerator } from "../core/clock.ts";
import type { LogsService } from "../core/logs-service.ts";
import type { LogPart } from "../core/store.ts";
import { log } from "../log.ts";
import type { LogCapture } from "./cleanup.ts";
import { KubeError, type KubeClient } from "./kube.ts";
import { sinceTimeOf, TimestampedLines, type ResumePoint } from "./log-lines.ts";
import { isDone, logRecordNameOf, succeededCondition, type KubeObject } from "./mapping.ts";
import type { WatchMetrics } from "./metrics.ts";

export interface LogCaptureOptions {
  /** Streams open at once per cluster. */
  maxFollowers: number;
  /** Runs being captured at once per cluster (a relist of many finished runs waits its turn). */
  maxRuns: number;
  /** Store what was read at this size... */
  flushBytes: number;
  /** ...or this long after the first byte not yet stored. */
  flushMs: number;
  /** After a run is done, an open follow stream gets this long to end before it is read once more without follow. */
  settleMs: number;
  /** After a PipelineRun is done, how long to wait for its TaskRuns' logs before marking its own stored anyway. */
  childWaitMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_LOG_CAPTURE: LogCaptureOptions = {
  maxFollowers: 256,
  maxRuns: 1024,
  flushBytes: 256 * 1024,
  flushMs: 1000,
  settleMs: 5000,
  childWaitMs: 10 * 60_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
};

export interface LogCaptureDeps {
  cluster: string;
  client: KubeClient;
  logs: LogsService;
  ids: IdGenerator;
  /** The uid of a stored Result. */
  resultUid: (resultName: string) => Promise<string | null>;
  /** The Result a run is stored under. */
  resultNameOf: (obj: KubeObject) => string;
  options?: Partial<LogCaptureOptions>;
  metrics?: WatchMetrics;
}

interface ContainerRef {
  step: string;
  container: string;
  idx: number;
}

/**
 * What capture keeps of a run's latest state: a few hundred bytes, not the
 * object (a relist of 100k finished runs must not hold 100k documents).
 */
export interface RunView {
  name: string;
  podName: string;
  containers: Array<ContainerRef & { state: string }>;
  reason: string;
  /** PipelineRuns: names of their child TaskRuns (childReferences, or v1beta1's embedded map). */
  children: string[];
  task: string | null;
}

export function viewOf(o: KubeObject): RunView {
  const children = (o.status?.childReferences ?? []).filter((c) => (c.kind ?? "TaskRun") === "TaskRun" && c.name).map((c) => c.name!);
  children.push(...Object.keys((o.status?.taskRuns as Record<string, unknown> | undefined) ?? {}));
  return {
    name: o.metadata?.name ?? "",
    podName: typeof o.status?.podName === "string" ? o.status.podName : "",
    containers: containersOf(o).map((c) => ({ ...c, state: containerState(o, c.container) })),
    reason: succeededCondition(o)?.reason ?? "",
    children,
    task: o.metadata?.labels?.["tekton.dev/pipelineTask"] ?? null,
  };
}

interface RunState {
  uid: string;
  kind: string;
  ns: string;
  view: RunView;
  resultName: string;
  resultUid: string;
  recordName: string;
  recordUid: string | null;
  deleted: boolean;
  doneAt: number | null;
  followers: Map<string, Promise<void>>;
  /** Open log requests; true for follow streams (the ones settling cuts). */
  aborts: Map<AbortController, boolean>;
  wake: () => void;
  changed: Promise<void>;
  driver: Promise<void> | null;
}

/** Stored runs remembered (uid), so a relist does not re-check each in the database. */
const STORED_MEMORY = 50_000;

const stepsOf = (o: KubeObject) => (Array.isArray(o.status?.steps) ? (o.status.steps as Array<Record<string, unknown>>) : []);
const sidecarsOf = (o: KubeObject) => (Array.isArray(o.status?.sidecars) ? (o.status.sidecars as Array<Record<string, unknown>>) : []);

/**
 * The containers of a TaskRun's pod, steps in order then sidecars. Each
 * retry (status.retriesStatus) runs a new pod; its parts follow the earlier
 * attempts' in the log.
 */
export function containersOf(o: KubeObject): ContainerRef[] {
  const out: ContainerRef[] = [];
  const attempt = Array.isArray(o.status?.retriesStatus) ? o.status.retriesStatus.length : 0;
  stepsOf(o).forEach((s, i) => {
    const name = typeof s.name === "string" ? s.name : `step-${i}`;
    const container = typeof s.container === "string" ? s.container : `step-${name}`;
    out.push({ step: name, container, idx: attempt * 10_000 + i });
  });
  sidecarsOf(o).forEach((s, i) => {
    const name = typeof s.name === "string" ? s.name : `sidecar-${i}`;
    const container = typeof s.container === "string" ? s.container : `sidecar-${name}`;
    out.push({ step: name, container, idx: attempt * 10_000 + 1000 + i });
  });
  return out;
}

/** A container's state in the latest observed run: "waiting", "running", "terminated" or "unknown". */
function containerState(o: KubeObject, container: string): string {
  for (const s of [...stepsOf(o), ...sidecarsOf(o)]) {
    if (s.container !== container) continue;
    if (s.terminated) return "terminated";
    if (s.running) return "running";
    if (s.waiting) return "waiting";
  }
  return "unknown";
}

export class LogCapturer implements LogCapture {
  private readonly o: LogCaptureOptions;
  private readonly runs = new Map<string, RunState>();
  private readonly stored = new Map<string, true>();
  private stopped = false;
  private open = 0;
  private readonly queue: Array<() => void> = [];
  /** Bytes stored and streams opened, for tests and metrics. */
  readonly stats = { bytes: 0, streams: 0, notes: 0 };

  constructor(private readonly d: LogCaptureDeps) {
    this.o = { ...DEFAULT_LOG_CAPTURE, ...d.options };
  }

  /** Takes note of a stored run state; starts or feeds its capture. Never waits. */
  observe(obj: KubeObject, resultName: string, resultUid: string, deleted = false): void {
    if (this.stopped) return;
    const kind = obj.kind ?? "";
    const uid = obj.metadata?.uid ?? "";
    if ((kind !== "TaskRun" && kind !== "PipelineRun") || !uid || this.stored.has(uid)) return;
    let r = this.runs.get(uid);
    if (!r) {
      let wake = () => {};
      const changed = new Promise<void>((res) => (wake = res));
      r = {
        uid,
        kind,
        ns: obj.metadata?.namespace ?? "",
        view: viewOf(obj),
        resultName,
        resultUid,
        recordName: logRecordNameOf(obj, resultName, resultUid),
        recordUid: null,
        deleted,
        doneAt: null,
        followers: new Map(),
        aborts: new Map(),
        wake,
        changed,
        driver: null,
      };
      this.runs.set(uid, r);
      const run = r;
      run.driver = this.drive(run)
        .catch((e) => log.warn("log capture stopped for a run", { cluster: this.d.cluster, namespace: run.ns, name: run.view.name, error: e instanceof Error ? e.message : String(e) }))
        .finally(() => this.runs.delete(uid));
    } else r.view = viewOf(obj);
    r.deleted ||= deleted;
    if ((isDone(obj) || r.deleted) && r.doneAt === null) r.doneAt = Date.now();
    this.poke(r);
  }

  private poke(r: RunState): void {
    const wake = r.wake;
    r.changed = new Promise<void>((res) => (r.wake = res));
    wake();
  }

  /** True once the run's log is stored (cleanup waits for it). */
  async captured(run: KubeObject): Promise<boolean> {
    const kind = run.kind ?? "";
    const uid = run.metadata?.uid ?? "";
    if (kind !== "TaskRun" && kind !== "PipelineRun") return true;
    if (this.stored.has(uid)) return true;
    const resultName = this.d.resultNameOf(run);
    const resultUid = await this.d.resultUid(resultName);
    if (!resultUid) return false;
    const rec = await this.d.logs.getRecordByName(logRecordNameOf(run, resultName, resultUid));
    if (!rec?.data) return false;
    const stored = (JSON.parse(rec.data.value) as { status?: { isStored?: boolean } }).status?.isStored === true;
    if (stored) this.remember(uid);
    return stored;
  }

  private completed(uid: string): void {
    this.d.metrics?.logsStored.inc({ cluster: this.d.cluster });
    this.remember(uid);
  }

  private remember(uid: string): void {
    this.stored.set(uid, true);
    if (this.stored.size > STORED_MEMORY) this.stored.delete(this.stored.keys().next().value!);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.runs.values()) {
      for (const a of r.aborts.keys()) a.abort();
      this.poke(r);
    }
    for (const q of this.queue.splice(0)) q();
    for (const q of this.runQueue.splice(0)) q();
    await Promise.all([...this.runs.values()].map((r) => r.driver));
  }

  /**
   * The next observation of the run. After stop() every wait returns at
   * once: a driver or follower that was busy when stop() poked it must not
   * start a wait nobody will end.
   */
  private changed(r: RunState): Promise<void> {
    return this.stopped ? Promise.resolve() : r.changed;
  }

  private sleep(ms: number, r?: RunState): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      r?.changed.then(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  private backoff(attempt: number): number {
    return Math.min(this.o.backoffInitialMs * 2 ** Math.min(attempt, 20), this.o.backoffMaxMs) * (0.5 + Math.random() / 2);
  }

  private async slot(): Promise<void> {
    if (this.open < this.o.maxFollowers || this.stopped) {
      this.open++;
      this.d.metrics?.logStreams.set({ cluster: this.d.cluster }, this.open);
      return;
    }
    await new Promise<void>((res) => this.queue.push(res));
    this.open++;
    this.d.metrics?.logStreams.set({ cluster: this.d.cluster }, this.open);
  }

  private release(): void {
    this.open--;
    this.d.metrics?.logStreams.set({ cluster: this.d.cluster }, this.open);
    this.queue.shift()?.();
  }

  private finished(r: RunState): boolean {
    return r.doneAt !== null;
  }

  // ---- one run --------------------------------------------------------------------

  private activeRuns = 0;
  private readonly runQueue: Array<() => void> = [];

  private async drive(r: RunState): Promise<void> {
    if (this.activeRuns >= this.o.maxRuns && !this.stopped) await new Promise<void>((res) => this.runQueue.push(res));
    this.activeRuns++;
    try {
      await this.driveRun(r);
    } finally {
      this.activeRuns--;
      this.runQueue.shift()?.();
    }
  }

  private async driveRun(r: RunState): Promise<void> {
    // The Log record: read first (a relist of stored runs costs one read each), created when missing.
    let attempt = 0;
    while (!this.stopped) {
      try {
        let rec = await this.d.logs.getRecordByName(r.recordName);
        if (!rec) {
          if (r.kind === "PipelineRun" && !this.finished(r)) {
            await this.changed(r);
            continue;
          }
          rec = await this.d.logs.ensureLogRecord(r.recordName, this.logDoc(r), this.d.ids);
        }
        if ((JSON.parse(rec.data?.value ?? "{}") as { status?: { isStored?: boolean } }).status?.isStored === true) {
          this.remember(r.uid);
          return;
        }
        r.recordUid = rec.uid;
        break;
      } catch (e) {
        if (e instanceof AppError && ["not_found", "invalid_argument"].includes(e.code)) throw e;
        await this.sleep(this.backoff(attempt++), r);
      }
    }
    if (this.stopped) return;
    if (r.kind === "TaskRun") await this.driveTaskRun(r);
    else await this.drivePipelineRun(r);
  }

  private logDoc(r: RunState): object {
    const v = r.view;
    const id = r.recordName.slice(r.recordName.lastIndexOf("/") + 1);
    return {
      metadata: { name: `${v.name}-log`, namespace: r.ns, uid: id, ...(v.task ? { labels: { "tekton.dev/pipelineTask": v.task } } : {}) },
      spec: { resource: { kind: r.kind, namespace: r.ns, name: v.name, uid: r.uid }, type: "" },
      status: { size: 0, isStored: false },
    };
  }

  private async driveTaskRun(r: RunState): Promise<void> {
    const recordUid = r.recordUid!;
    while (!this.stopped) {
      const v = r.view;
      const pod = v.podName;
      const containers = pod ? v.containers : [];
      if (containers.length > 0) {
        const parts = await this.d.logs.captureParts(
          recordUid,
          containers.map((c) => ({ idx: c.idx, staging: false, label: c.step, source: { namespace: r.ns, pod, container: c.container } })),
        );
        containers.forEach((c, i) => {
          const part = parts[i]!;
          if (part.done || r.followers.has(`${pod}/${c.container}`)) return;
          const state = c.state;
          if (state === "waiting" || state === "unknown") {
            if (!this.finished(r)) return;
          }
          r.followers.set(`${pod}/${c.container}`, this.follow(r, pod, c, part));
        });
      }
      if (this.finished(r)) {
        if (containers.length === 0) {
          const why = pod ? "its pod ran no containers Hindsight could see" : `it never ran a pod (${v.reason || "no reason given"})`;
          const [part] = await this.d.logs.captureParts(recordUid, [{ idx: 0, staging: false, label: "" }]);
          if (!part!.done) await this.note(part!, `no log: the TaskRun finished but ${why}`, true);
        }
        // Open follow streams get settleMs to end by themselves, then are read once more without follow.
        const settle = setTimeout(() => {
          for (const [a, follow] of r.aborts) if (follow) a.abort(new Error("settle"));
        }, this.o.settleMs);
        await Promise.all(r.followers.values());
        clearTimeout(settle);
        if (this.stopped) return;
        const parts = await this.d.logs.captureState(recordUid);
        if (parts.every((p) => p.done)) {
          await this.d.logs.completeCapture(recordUid, r.recordName);
          this.completed(r.uid);
          return;
        }
        // A container seen late (status updated after done): another pass.
        r.followers.clear();
        continue;
      }
      await this.changed(r);
    }
  }

  private async drivePipelineRun(r: RunState): Promise<void> {
    const recordUid = r.recordUid!;
    let attempt = 0;
    while (!this.stopped) {
      if (this.finished(r)) {
        const want = new Set(r.view.children);
        const logs = await this.d.logs.logsOfResult(r.resultName);
        const stored = new Set(logs.filter((l) => l.kind === "TaskRun" && l.stored).map((l) => l.name));
        const waited = Date.now() - (r.doneAt ?? Date.now());
        if ([...want].every((n) => stored.has(n)) || waited > this.o.childWaitMs) {
          await this.d.logs.completeCapture(recordUid, r.recordName);
          this.completed(r.uid);
          return;
        }
        await this.sleep(this.backoff(attempt++), r);
      } else await this.changed(r);
    }
  }

  // ---- one container ------------------------------------------------------------------

  private async note(part: LogPart, text: string, done: boolean): Promise<void> {
    this.stats.notes++;
    this.d.metrics?.logNotes.inc({ cluster: this.d.cluster });
    const line = `${part.openLine ? "\n" : ""}(hindsight: ${text})\n`;
    await this.d.logs.appendCaptured(part.id, new TextEncoder().encode(line), { done, note: text });
  }

  /**
   * Follows one container until it has ended and everything it wrote is
   * stored. Reconnects resume from the stored resume point.
   */
  private async follow(r: RunState, pod: string, c: ContainerRef, start: LogPart): Promise<void> {
    let part = start;
    const lines = new TimestampedLines(part.resume ? (JSON.parse(part.resume) as ResumePoint) : null);
    let attempt = 0;
    // Output that arrives and then nothing more (a step gone quiet) is stored
    // flushMs later by this timer, not when the next chunk happens to come.
    let timer: ReturnType<typeof setTimeout> | null = null;
    // Reading goes on while the previous chunk is compressed and committed
    // (at most two chunks in flight); chunks are stored in order.
    let inflight: Promise<void> | null = null;
    const flush = async (done: boolean, wait = true) => {
      if (timer) clearTimeout(timer);
      timer = null;
      const data = lines.take();
      const prev = inflight;
      if (data.byteLength > 0 || done) {
        const resume = JSON.stringify(lines.resume);
        const p = (async () => {
          await prev;
          part = await this.d.logs.appendCaptured(part.id, data, { resume, ...(done ? { done: true } : {}) });
          this.stats.bytes += data.byteLength;
          this.d.metrics?.logBytes.inc({ cluster: this.d.cluster }, data.byteLength);
        })();
        p.catch(() => undefined); // awaited below or by the next flush
        inflight = p;
        if (wait) await p;
        else await prev;
      } else if (wait) await prev;
    };
    await this.slot();
    try {
      while (!this.stopped) {
        // Ended: the run is done, the container terminated, or a retry has replaced this pod.
        const ended = () => this.finished(r) || r.view.podName !== pod || r.view.containers.find((x) => x.container === c.container)?.state === "terminated";
        const follow = !ended();
        const ctl = new AbortController();
        r.aborts.set(ctl, follow);
        try {
          this.stats.streams++;
          for await (const chunk of this.d.client.podLogStream(r.ns, pod, c.container, { follow, timestamps: true, sinceTime: sinceTimeOf(lines.resume), signal: ctl.signal })) {
            lines.push(chunk);
            attempt = 0;
            if (lines.pending >= this.o.flushBytes) await flush(false, false);
            else if (lines.pending > 0 && !timer) timer = setTimeout(() => void flush(false, false).catch(() => undefined), this.o.flushMs);
          }
          if (!follow || ended()) {
            lines.end();
            await flush(true);
            return;
          }
          // The stream ended but the container is not known to have ended: read on.
          await flush(false);
          lines.restart();
          await this.sleep(this.backoff(attempt++), r);
        } catch (e) {
          if (e instanceof AppError) throw e; // the store refused: the record is gone
          await flush(false).catch(() => undefined);
          lines.restart();
          if (this.stopped) return;
          if (ctl.signal.aborted) continue; // settle: read once more without follow
          const ke = e instanceof KubeError ? e : null;
          if (ke?.status === 404) {
            await this.note(part, part.bytes > 0 ? `the pod ${pod} was deleted; the log above may be cut short` : `no log could be read: the pod ${pod} was deleted before its log was read`, true);
            return;
          }
          if (ke?.status === 400 && this.finished(r)) {
            if (part.bytes === 0) await this.note(part, `no log: container ${c.container} never started`, true);
            else await flush(true);
            return;
          }
          if (this.finished(r) && attempt >= 8) {
            await this.note(part, `the log could not be read: ${e instanceof Error ? e.message : String(e)}`, true);
            return;
          }
          await this.sleep(this.backoff(attempt++), r);
        } finally {
          r.aborts.delete(ctl);
        }
      }
    } finally {
      if (timer) clearTimeout(timer);
      this.release();
    }
  }
}
