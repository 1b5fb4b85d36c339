/**
 * Optional deletion of completed runs from a cluster once they are stored
 * (spec §8.8, per cluster, off by default). A run is deleted only when:
 *
 *   * it is done and its grace period after completion has passed;
 *   * it is not owned by a PipelineRun (those go with their PipelineRun, by
 *     the cluster's garbage collector) nor, with checkOwner, by anything;
 *   * the database holds exactly the state being deleted: the stored record's
 *     resourceVersion is the run's, and the delete carries that
 *     resourceVersion and the uid as preconditions, so a run changed since
 *     (or re-created under the same name) is never deleted unseen;
 *   * for a PipelineRun, every child still in the cluster is stored, done;
 *   * its event list is stored (when events are stored) and its logs are
 *     captured (the LogCapture seam; logs are a later issue).
 *
 * Candidates come from the runs the watcher stores, and from a sweep (a
 * paginated list) at start and every requeue interval, which finds runs that
 * completed while Hindsight was down. The queue is bounded; runs beyond it
 * wait for the next sweep. Nothing is ever deleted from the database.
 */
import type { ResultsService } from "../core/results-service.ts";
import { AppError } from "../core/errors.ts";
import { log } from "../log.ts";
import type { CleanupSpec } from "./config.ts";
import { KubeError, type Gvr, type KubeClient } from "./kube.ts";
import { ANNOTATION, eventListNameOf, isDone, pipelineRunOwner, recordNameOf, resultNameOf, TRIGGERS_EVENT_ID_LABEL, type KubeObject, type MappingOptions } from "./mapping.ts";
import type { WatchMetrics } from "./metrics.ts";

/** The seam for log capture: true once a run's logs are stored (or there is nothing to capture). */
export interface LogCapture {
  captured(run: KubeObject, cluster: string): Promise<boolean>;
}

/** Until logs are captured (a later issue), there is nothing to wait for. */
export const NO_LOG_CAPTURE: LogCapture = { captured: async () => true };

interface Candidate {
  due: number;
  gvr: Gvr;
  ns: string;
  name: string;
  uid: string;
  rv: string;
  obj: KubeObject;
}

const MAX_CANDIDATES = 50_000;
/** How long a deleted run is not offered again (late events and sweeps). */
const SETTLED_MS = 10 * 60_000;
const SETTLED_MAX = 10_000;

export interface CleanerDeps {
  cluster: string;
  client: KubeClient;
  spec: CleanupSpec;
  results: ResultsService;
  mapping: MappingOptions;
  metrics: WatchMetrics;
  logs: LogCapture;
  storeEvents: boolean;
  /** The watched resource for a kind (children of PipelineRuns), or null. */
  gvrFor: (kind: string) => Gvr | null;
  /** Resources to sweep. */
  sweepGvrs: () => Gvr[];
  namespaces: string[];
  now?: () => number;
}

function labelsMatch(selector: string | null, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector.split(",").every((req) => {
    const r = req.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*!=\s*(.*)$/.exec(r))) return l[m[1]!] !== m[2]!.trim();
    if ((m = /^([^!=\s]+)\s*==?\s*(.*)$/.exec(r))) return l[m[1]!] === m[2]!.trim();
    if ((m = /^!\s*(\S+)$/.exec(r))) return l[m[1]!] === undefined;
    return l[r] !== undefined;
  });
}

/**
 * What cleanup keeps of a run: enough to name its record, check its
 * children and delete it (a few hundred bytes instead of the whole run).
 */
export function slim(o: KubeObject): KubeObject {
  const m = o.metadata ?? {};
  const pick = (src: Record<string, string> | undefined, keys: string[]) => {
    const out: Record<string, string> = {};
    for (const k of keys) if (src?.[k] !== undefined) out[k] = src[k]!;
    return out;
  };
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: pick(m.labels, [TRIGGERS_EVENT_ID_LABEL]),
      annotations: pick(m.annotations, [ANNOTATION.result, ANNOTATION.record, ANNOTATION.eventList]),
      ownerReferences: (m.ownerReferences ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, uid: r.uid })),
    },
    status: {
      conditions: (o.status?.conditions ?? []).filter((c) => c.type === "Succeeded").map((c) => ({ type: c.type, status: c.status })),
      ...(o.status?.completionTime ? { completionTime: o.status.completionTime } : {}),
      childReferences: (o.status?.childReferences ?? []).map((r) => ({ kind: r.kind, name: r.name })),
    },
  };
}

export class Cleaner {
  private heap: Candidate[] = [];
  private readonly byUid = new Map<string, Candidate>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  /** Aborted on stop: ends the queue's work and cuts short a sweep's list page. */
  private readonly cancel = new AbortController();
  private readonly now: () => number;
  /** Runs deleted, for status. */
  deleted = 0;
  /**
   * Runs being deleted now or deleted in the last few minutes, by uid. A sweep
   * or a late watch event can still carry such a run (its list was taken
   * before the delete); without this it would be offered again and deleted a
   * second time (a wasted call answered 404). Bounded: oldest dropped first.
   */
  private readonly settled = new Map<string, number>();

  constructor(private readonly d: CleanerDeps) {
    this.now = d.now ?? Date.now;
  }

  private get stopped(): boolean {
    return this.cancel.signal.aborted;
  }

  get enabled(): boolean {
    return this.d.spec.gracePeriodMs !== 0;
  }

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.tick(), 500);
    this.sweeper = setInterval(() => void this.sweep(), this.d.spec.requeueMs);
  }

  async stop(): Promise<void> {
    this.cancel.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    await this.running;
  }

  /** A stored run: queue it for deletion if it qualifies. */
  offer(obj: KubeObject, gvr: Gvr): void {
    if (!this.enabled || this.stopped) return;
    const m = obj.metadata ?? {};
    if (!m.uid || !m.name || !m.namespace || !m.resourceVersion) return;
    if (this.isSettled(m.uid)) return;
    if (!isDone(obj) || m.deletionTimestamp) return this.forget(m.uid);
    if (pipelineRunOwner(obj)) return;
    if (this.d.spec.checkOwner && (m.ownerReferences ?? []).length > 0) return;
    if (!labelsMatch(this.d.spec.labelSelector, m.labels)) return;
    const completed = Date.parse(obj.status?.completionTime ?? "");
    const base = Number.isFinite(completed) ? completed : this.now();
    const due = this.d.spec.gracePeriodMs < 0 ? this.now() : base + this.d.spec.gracePeriodMs;
    if (!this.byUid.has(m.uid) && this.byUid.size >= MAX_CANDIDATES) return; // the next sweep finds it
    const c: Candidate = { due, gvr, ns: m.namespace, name: m.name, uid: m.uid, rv: m.resourceVersion, obj: slim(obj) };
    this.byUid.set(m.uid, c);
    this.push(c);
  }

  forget(uid: string): void {
    this.byUid.delete(uid);
  }

  private isSettled(uid: string): boolean {
    const until = this.settled.get(uid);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.settled.delete(uid);
    return false;
  }

  private settle(uid: string, forMs: number): void {
    this.settled.delete(uid);
    this.settled.set(uid, this.now() + forMs);
    if (this.settled.size > SETTLED_MAX) this.settled.delete(this.settled.keys().next().value!);
  }

  get pending(): number {
    return this.byUid.size;
  }

  // ---- the queue (a binary min-heap on `due`) -------------------------------------

  private push(c: Candidate): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.due <= h[i]!.due) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
    // Drop superseded entries when the heap holds many more than the live candidates.
    if (h.length > 2 * MAX_CANDIDATES) this.heap = h.filter((x) => this.byUid.get(x.uid) === x).sort((a, b) => a.due - b.due);
  }

  private pop(): Candidate | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.due < h[m]!.due) m = l;
        if (r < h.length && h[r]!.due < h[m]!.due) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    if (this.heap.length === 0 || this.heap[0]!.due > this.now()) return;
    const run = this.drain();
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
  }

  /** Deletes the due candidates, up to 100 per tick, one at a time (cleanup is never urgent). */
  private async drain(): Promise<void> {
    let n = 0;
    while (!this.stopped && this.heap.length > 0 && this.heap[0]!.due <= this.now() && n++ < 100) {
      const c = this.pop()!;
      if (this.byUid.get(c.uid) !== c) continue;
      this.byUid.delete(c.uid);
      this.settle(c.uid, SETTLED_MS); // offers that arrive while the delete is in flight are dropped
      const outcome = await this.tryDelete(c).catch((e) => {
        log.warn("cleanup: deleting a run failed; will retry", { cluster: this.d.cluster, name: c.name, namespace: c.ns, error: (e as Error).message });
        return "retry" as const;
      });
      if (outcome !== "deleted") this.settled.delete(c.uid); // not deleted: its next state may qualify
      if (outcome === "retry" && !this.byUid.has(c.uid)) {
        const again = { ...c, due: this.now() + Math.min(this.d.spec.requeueMs, 30_000) };
        this.byUid.set(c.uid, again);
        this.push(again);
      }
    }
  }

  /** Whether `obj` (exactly this resourceVersion) is the stored state of its record. */
  private async storedExactly(obj: KubeObject): Promise<boolean> {
    const rn = resultNameOf(obj, this.d.mapping);
    try {
      const rec = await this.d.results.getRecord(recordNameOf(obj, rn));
      const stored = JSON.parse(rec.data?.value ?? "null") as KubeObject | null;
      return stored?.metadata?.resourceVersion === obj.metadata?.resourceVersion && stored?.metadata?.uid === obj.metadata?.uid;
    } catch (e) {
      if (e instanceof AppError && (e.code === "not_found" || e.code === "invalid_argument")) return false;
      throw e;
    }
  }

  private async tryDelete(c: Candidate): Promise<"deleted" | "skipped" | "retry"> {
    const obj = c.obj;
    if (!(await this.storedExactly(obj))) return "skipped"; // a newer state is on its way, or the run cannot be stored
    if (this.d.storeEvents) {
      const rn = resultNameOf(obj, this.d.mapping);
      const res = await this.d.results.getResult(rn).catch(() => null);
      if (!res) return "retry";
      const stored = await this.d.results.getRecord(eventListNameOf(obj, rn, res.uid)).then(
        () => true,
        () => false,
      );
      if (!stored) return "retry";
    }
    if (!(await this.d.logs.captured(obj, this.d.cluster))) return "retry";
    if ((obj.kind ?? "") === "PipelineRun") {
      for (const ref of obj.status?.childReferences ?? []) {
        const gvr = this.d.gvrFor(ref.kind ?? "TaskRun");
        if (!gvr || !ref.name) continue;
        const child = await this.d.client.get(gvr, c.ns, ref.name);
        if (!child) continue; // gone already
        if (!child.apiVersion) child.apiVersion = `${gvr.group}/${gvr.version}`;
        if (!child.kind) child.kind = gvr.kind;
        if (!isDone(child) || !(await this.storedExactly(child))) return "retry";
      }
    }
    let r: "deleted" | "absent" | "conflict";
    try {
      r = await this.d.client.delete(c.gvr, c.ns, c.name, { uid: c.uid, resourceVersion: c.rv });
    } catch (e) {
      if (e instanceof KubeError && !e.transient) return "skipped";
      throw e;
    }
    if (r === "deleted") {
      this.deleted++;
      this.d.metrics.deleted.inc({ cluster: this.d.cluster, resource: c.gvr.plural });
      log.info("cleanup: deleted a stored run", { cluster: this.d.cluster, resource: c.gvr.plural, namespace: c.ns, name: c.name, uid: c.uid });
      return "deleted";
    }
    return "skipped"; // changed since (its new state will be offered) or already gone
  }

  /** Lists the watched runs (paginated) and offers those done: runs that completed while Hindsight was down. */
  async sweep(): Promise<void> {
    if (!this.enabled || this.stopped) return;
    for (const gvr of this.d.sweepGvrs()) {
      for (const ns of this.d.namespaces.length ? this.d.namespaces : [null]) {
        let token: string | null = null;
        do {
          if (this.stopped || this.byUid.size >= MAX_CANDIDATES) return;
          let page;
          try {
            page = await this.d.client.list(gvr, { namespace: ns, limit: 500, continue: token, cancel: this.cancel.signal });
          } catch (e) {
            if (this.stopped) return;
            log.warn("cleanup: sweep failed; next one later", { cluster: this.d.cluster, resource: gvr.plural, error: (e as Error).message });
            break;
          }
          for (const o of page.items) {
            if (!o.apiVersion) o.apiVersion = `${gvr.group}/${gvr.version}`;
            if (!o.kind) o.kind = gvr.kind;
            if (isDone(o) && o.metadata?.uid && !this.byUid.has(o.metadata.uid)) this.offer(o, gvr);
          }
          token = page.continue;
        } while (token);
      }
    }
  }
}
