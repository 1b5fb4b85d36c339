/**
 * One watched cluster: discovers which Tekton versions it serves, runs one
 * watch stream per resource (and namespace, when limited to some), stores
 * each run through the core, and does the optional cluster-side follow-ups
 * (annotations, finalizers, event lists, cleanup). Clusters share nothing
 * but the store: an unreachable cluster only ever retries its own calls.
 */
import type { IdGenerator } from "../core/clock.ts";
import { AppError } from "../core/errors.ts";
import type { LogsService } from "../core/logs-service.ts";
import type { ResultsService } from "../core/results-service.ts";
import type { Upserter } from "../core/upsert.ts";
import { log } from "../log.ts";
import { Cleaner, NO_LOG_CAPTURE, type LogCapture } from "./cleanup.ts";
import { LogCapturer, type LogCaptureOptions } from "./log-capture.ts";
import type { ClusterSpec } from "./config.ts";
import { KubeClient, KubeError, type Gvr } from "./kube.ts";
import {
  ANNOTATION,
  desiredResult,
  EVENT_LIST_TYPE,
  eventListNameOf,
  finalizerFor,
  isDone,
  logNameOf,
  logRecordNameOf,
  recordNameOf,
  recordTypeOf,
  recordValueOf,
  renderParent,
  resultNameOf,
  type KubeObject,
  type MappingOptions,
} from "./mapping.ts";
import type { WatchMetrics } from "./metrics.ts";
import type { Job } from "./pipeline.ts";
import { CLUSTER_ROW } from "./status.ts";
import { WatchStream, type ProgressStore } from "./stream.ts";

export interface ClusterDeps {
  upserter: Upserter;
  results: ResultsService;
  progress: ProgressStore;
  metrics: WatchMetrics;
  /** Replaces log capture (tests of cleanup); otherwise capture runs when the spec asks and `logsService` is given. */
  logs?: LogCapture;
  logsService?: LogsService;
  ids?: IdGenerator;
  logCapture?: Partial<LogCaptureOptions>;
}

export type ClusterState = "starting" | "running" | "degraded" | "unreachable" | "stopped";

export interface StreamStatus {
  stream: string;
  state: string;
  resourceVersion: string | null;
  lastEventAt: number | null;
  lagMs: number;
  events: number;
  writes: number;
  errors: number;
  lastError: string | null;
}

export interface ClusterStatus {
  name: string;
  context: string;
  server: string;
  state: ClusterState;
  /** Every stream is listing or watching. */
  connected: boolean;
  synced: boolean;
  lastEventAt: number | null;
  lagMs: number;
  errors: number;
  lastError: string | null;
  streams: StreamStatus[];
  cleanupPending: number;
  deleted: number;
}

const TEKTON = "tekton.dev";

/** Errors worth retrying: everything but a run the store refuses (bad names or data). */
export function retryable(e: unknown): boolean {
  if (e instanceof AppError) return !["invalid_argument", "already_exists", "not_found", "unimplemented"].includes(e.code);
  if (e instanceof KubeError) return e.transient;
  return true;
}

export class ClusterWatcher {
  readonly client: KubeClient;
  readonly mapping: MappingOptions;
  private streams: WatchStream[] = [];
  private gvrs = new Map<string, Gvr>();
  private readonly cleaner: Cleaner;
  private readonly abort = new AbortController();
  private boot: Promise<void> | null = null;
  private discovered = false;
  private bootError: string | null = null;
  private bootErrorAt: number | null = null;
  private bootErrors = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private readonly labels: { cluster: string };
  /** Log capture; null when off for this cluster. */
  readonly capture: LogCapturer | null;

  constructor(
    readonly spec: ClusterSpec,
    private readonly deps: ClusterDeps,
  ) {
    this.client = new KubeClient({ name: spec.name, kubeconfig: spec.kubeconfig, context: spec.context });
    const parents = new Map<string, string>();
    this.mapping = {
      cluster: spec.name,
      parentOf: (ns) => {
        let p = parents.get(ns);
        if (p === undefined) {
          p = renderParent(spec.parent, spec.name, ns);
          if (parents.size < 10_000) parents.set(ns, p);
        }
        return p;
      },
      summaryLabels: spec.summaryLabels,
      summaryAnnotations: spec.summaryAnnotations,
    };
    this.labels = { cluster: spec.name };
    this.capture =
      spec.logs && deps.logsService && deps.ids && !deps.logs
        ? new LogCapturer({
            cluster: spec.name,
            client: this.client,
            logs: deps.logsService,
            ids: deps.ids,
            resultUid: async (name) => (await deps.results.getResult(name).catch(() => null))?.uid ?? null,
            resultNameOf: (obj) => resultNameOf(obj, this.mapping),
            options: { backoffInitialMs: spec.tuning.backoffInitialMs, ...deps.logCapture },
            metrics: deps.metrics,
          })
        : null;
    deps.metrics.connected.set(this.labels, 0);
    deps.metrics.lag.set(this.labels, 0);
    this.cleaner = new Cleaner({
      cluster: spec.name,
      client: this.client,
      spec: spec.cleanup,
      results: deps.results,
      mapping: this.mapping,
      metrics: deps.metrics,
      logs: deps.logs ?? this.capture ?? NO_LOG_CAPTURE,
      storeEvents: spec.storeEvents,
      gvrFor: (kind) => this.gvrs.get(kind) ?? null,
      sweepGvrs: () => [...this.gvrs.values()],
      namespaces: spec.namespaces,
    });
  }

  get name(): string {
    return this.spec.name;
  }

  start(): void {
    this.boot = this.discover();
    void this.saveStatus();
    this.heartbeat = setInterval(() => void this.saveStatus(), this.spec.tuning.saveIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.boot;
    await this.capture?.stop();
    await this.cleaner.stop();
    await Promise.all(this.streams.map((s) => s.stop()));
    this.deps.metrics.connected.set(this.labels, 0);
    await this.saveStatus();
  }

  /** The cluster's own status row (stream "*"), for `hindsight status`; written even while unreachable. */
  private async saveStatus(): Promise<void> {
    const st = this.status();
    await this.deps.progress
      .save({
        cluster: this.name,
        stream: CLUSTER_ROW,
        resourceVersion: null,
        listContinue: null,
        state: st.state,
        lastEventAt: st.lastEventAt,
        lastStoredAt: null,
        lagMs: st.lagMs,
        events: 0,
        writes: 0,
        errors: this.bootErrors,
        lastError: this.bootError,
        lastErrorAt: this.bootError ? this.bootErrorAt : null,
        updatedAt: Date.now(),
      })
      .catch(() => undefined);
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

  /** Finds the served versions (retrying while the cluster is unreachable), then starts the streams. */
  private async discover(): Promise<void> {
    const t = this.spec.tuning;
    let attempt = 0;
    while (!this.stopped) {
      try {
        const versions = await this.client.servedVersions(TEKTON, this.abort.signal);
        const runVersion = versions.includes("v1") ? "v1" : versions.includes("v1beta1") ? "v1beta1" : null;
        if (!runVersion) throw new KubeError(this.name, 404, "NotFound", `cluster "${this.name}": the ${TEKTON} API group (Tekton Pipelines) is not served (versions: ${versions.join(", ") || "none"})`, true);
        this.gvrs.set("PipelineRun", { group: TEKTON, version: runVersion, plural: "pipelineruns", kind: "PipelineRun" });
        this.gvrs.set("TaskRun", { group: TEKTON, version: runVersion, plural: "taskruns", kind: "TaskRun" });
        if (versions.includes("v1beta1")) this.gvrs.set("CustomRun", { group: TEKTON, version: "v1beta1", plural: "customruns", kind: "CustomRun" });
        if (runVersion !== "v1") log.warn("cluster does not serve tekton.dev/v1; watching v1beta1", { cluster: this.name });
        break;
      } catch (e) {
        if (this.stopped) break;
        this.bootErrors++;
        this.bootError = e instanceof Error ? e.message : String(e);
        this.bootErrorAt = Date.now();
        const delay = Math.min(t.backoffInitialMs * 2 ** attempt, t.backoffMaxMs) * (0.5 + Math.random());
        attempt = Math.min(attempt + 1, 30);
        log.warn("cluster not reachable; retrying", { cluster: this.name, error: this.bootError, retryInMs: Math.round(delay) });
        await this.sleep(delay);
      }
    }
    if (this.stopped) return;
    this.discovered = true;
    this.bootError = null;
    for (const gvr of this.gvrs.values()) {
      for (const ns of this.spec.namespaces.length ? this.spec.namespaces : [null]) {
        const s = new WatchStream({
          cluster: this.name,
          key: ns ? `${gvr.plural}@${ns}` : gvr.plural,
          gvr,
          namespace: ns,
          labelSelector: this.spec.labelSelector,
          client: this.client,
          progress: this.deps.progress,
          metrics: this.deps.metrics,
          tuning: this.spec.tuning,
          process: (job, g) => this.process(job, g),
          retryable,
        });
        this.streams.push(s);
        s.start();
      }
    }
    this.cleaner.start();
    log.info("watching cluster", { cluster: this.name, context: this.client.context, server: this.client.server, resources: [...this.gvrs.values()].map((g) => `${g.group}/${g.version}/${g.plural}`), namespaces: this.spec.namespaces.length ? this.spec.namespaces : "all" });
    // The first sweep once the streams have caught up (old completed runs that produce no events).
    if (this.cleaner.enabled) {
      void (async () => {
        while (!this.stopped && !this.streams.every((s) => s.synced)) await this.sleep(500);
        await this.cleaner.sweep();
      })();
    }
  }

  /** Stores one observed run state, then the follow-ups. */
  private async process(job: Job, gvr: Gvr): Promise<boolean> {
    const obj = job.obj;
    const resultName = resultNameOf(obj, this.mapping);
    const recordName = recordNameOf(obj, resultName);
    const out = await this.deps.upserter.put({
      result: resultName,
      record: recordName,
      data: { type: recordTypeOf(obj), value: recordValueOf(obj, `${gvr.group}/${gvr.version}`, gvr.kind) },
      mergeResult: (cur) =>
        desiredResult(cur, {
          obj,
          recordName,
          opts: this.mapping,
          warn: (msg) => log.warn("run annotation ignored", { cluster: this.name, namespace: obj.metadata?.namespace, name: obj.metadata?.name, problem: msg }),
        }),
    });
    const wrote = out.record !== "unchanged";
    if (wrote) this.deps.metrics.written.inc({ cluster: this.name, resource: gvr.plural });
    this.deps.metrics.latency.observe(this.labels, (performance.now() - job.receivedAt) / 1000);
    // Capture starts (or learns of the new state) without waiting: storing the run never waits for logs.
    this.capture?.observe(obj, resultName, out.resultUid, job.type === "DELETED");
    if (job.type === "DELETED") {
      this.cleaner.forget(obj.metadata?.uid ?? "");
      return wrote;
    }
    // The run is stored. Follow-ups that the cluster refuses for good (403: the
    // kubeconfig's identity may not patch or list events) are logged, not retried;
    // passing failures retry the whole state (the put is then a no-op).
    try {
      let eventList: string | null = null;
      if (this.spec.storeEvents && isDone(obj)) eventList = await this.storeEvents(obj, resultName, out.resultUid);
      const logName = this.capture && obj.kind !== "CustomRun" ? logNameOf(logRecordNameOf(obj, resultName, out.resultUid)) : null;
      await this.patchRun(obj, gvr, resultName, recordName, eventList, logName);
    } catch (e) {
      if (!(e instanceof KubeError) || e.transient) throw e;
      log.warn("a stored run's follow-up was refused by the cluster", { cluster: this.name, namespace: obj.metadata?.namespace, name: obj.metadata?.name, error: e.message });
    }
    this.cleaner.offer(obj, gvr);
    return wrote;
  }

  /** The run's Events as a results.tekton.dev/v1.EventList record, written once (spec §8.7). */
  private async storeEvents(obj: KubeObject, resultName: string, resultUid: string): Promise<string> {
    const name = eventListNameOf(obj, resultName, resultUid);
    const exists = await this.deps.results.getRecord(name).then(
      () => true,
      (e) => {
        if (e instanceof AppError && e.code === "not_found") return false;
        throw e;
      },
    );
    if (exists) return name;
    const m = obj.metadata ?? {};
    const ns = m.namespace ?? "";
    const events = await this.client.listEvents(ns, `involvedObject.uid=${m.uid}`);
    const pod = obj.kind === "TaskRun" ? obj.status?.podName : undefined;
    if (pod) events.push(...(await this.client.listEvents(ns, `involvedObject.kind=Pod,involvedObject.name=${pod}`)));
    const items = events.map((e) => {
      const em = e.metadata ?? {};
      return { ...e, metadata: { name: em.name, namespace: em.namespace, creationTimestamp: em.creationTimestamp } };
    });
    await this.deps.upserter.createOnce(resultName, name, {
      type: EVENT_LIST_TYPE,
      value: JSON.stringify({ kind: "EventList", apiVersion: "v1", metadata: {}, items }),
    });
    return name;
  }

  /**
   * Merge-patches the run: the result/record (and event list) annotations
   * when asked, our finalizer added (finalizers on) or released (the run is
   * being deleted and its last state is now stored). Finalizer changes carry
   * the resourceVersion just stored as a precondition; on a conflict a newer
   * state is on its way and will come through here again.
   */
  private async patchRun(obj: KubeObject, gvr: Gvr, resultName: string, recordName: string, eventList: string | null, logName: string | null): Promise<void> {
    const m = obj.metadata ?? {};
    const deleting = !!m.deletionTimestamp;
    const patch: { annotations?: Record<string, string>; finalizers?: string[]; resourceVersion?: string } = {};
    if (this.spec.writeAnnotations && !deleting) {
      const want: Record<string, string> = { [ANNOTATION.result]: resultName, [ANNOTATION.record]: recordName };
      if (eventList) want[ANNOTATION.eventList] = eventList;
      if (logName) want[ANNOTATION.log] = logName;
      const diff = Object.entries(want).filter(([k, v]) => m.annotations?.[k] !== v);
      if (diff.length) patch.annotations = Object.fromEntries(diff);
    }
    const ours = finalizerFor(obj.kind ?? gvr.kind);
    const fins = m.finalizers ?? [];
    if (deleting && fins.includes(ours)) patch.finalizers = fins.filter((f) => f !== ours);
    else if (!deleting && this.spec.finalizers && !fins.includes(ours)) patch.finalizers = [...fins, ours];
    if (!patch.annotations && !patch.finalizers) return;
    if (patch.finalizers) patch.resourceVersion = m.resourceVersion;
    try {
      await this.client.mergePatch(gvr, m.namespace ?? "", m.name ?? "", { metadata: patch });
    } catch (e) {
      if (e instanceof KubeError && (e.status === 404 || e.status === 409)) return;
      throw e;
    }
  }

  status(): ClusterStatus {
    const streams: StreamStatus[] = this.streams.map((s) => ({
      stream: s.key,
      state: s.state,
      resourceVersion: s.checkpoint?.resourceVersion ?? null,
      lastEventAt: s.lastEventAt,
      lagMs: s.lagMs,
      events: s.events,
      writes: s.writes,
      errors: s.errors,
      lastError: s.lastError,
    }));
    const connected = this.discovered && this.streams.length > 0 && this.streams.every((s) => s.connected);
    const lagMs = Math.max(0, ...streams.map((s) => s.lagMs));
    let state: ClusterState;
    if (this.stopped) state = "stopped";
    else if (!this.discovered) state = this.bootErrors > 0 ? "unreachable" : "starting";
    else if (connected) state = "running";
    else state = this.streams.some((s) => s.connected) ? "degraded" : "unreachable";
    const lastErrors = this.streams.filter((s) => s.lastErrorAt !== null).sort((a, b) => (b.lastErrorAt ?? 0) - (a.lastErrorAt ?? 0));
    return {
      name: this.name,
      context: this.client.context,
      server: this.client.server,
      state,
      connected,
      synced: this.discovered && this.streams.every((s) => s.synced),
      lastEventAt: Math.max(0, ...streams.map((s) => s.lastEventAt ?? 0)) || null,
      lagMs,
      errors: this.bootErrors + streams.reduce((a, s) => a + s.errors, 0),
      lastError: this.bootError ?? lastErrors[0]?.lastError ?? null,
      streams,
      cleanupPending: this.cleaner.pending,
      deleted: this.cleaner.deleted,
    };
  }

  /** Refreshes the gauges (called periodically). */
  updateGauges(): void {
    const st = this.status();
    this.deps.metrics.connected.set(this.labels, st.connected ? 1 : 0);
    this.deps.metrics.lag.set(this.labels, st.lagMs / 1000);
  }
}
