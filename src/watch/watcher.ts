/**
 * The cluster watcher: every configured cluster, each on its own. Built by
 * src/app.ts after the store and the core, stopped before them.
 */
import type { IdGenerator } from "../core/clock.ts";
import type { LogsService } from "../core/logs-service.ts";
import type { ResultsService } from "../core/results-service.ts";
import type { Upserter } from "../core/upsert.ts";
import { log } from "../log.ts";
import type { Registry } from "../metrics/registry.ts";
import type { LogCapture } from "./cleanup.ts";
import type { LogCaptureOptions } from "./log-capture.ts";
import { ClusterWatcher, type ClusterStatus } from "./cluster.ts";
import { checkClusterNames, type ClusterSpec } from "./config.ts";
import { kubeContexts, loadKubeConfig } from "./kube.ts";
import { watchMetrics, type WatchMetrics } from "./metrics.ts";
import type { ProgressStore } from "./stream.ts";

export interface WatcherDeps {
  upserter: Upserter;
  results: ResultsService;
  progress: ProgressStore;
  registry: Registry;
  logs?: LogCapture;
  /** Log capture (clusters with `logs` on) stores through this. */
  logsService?: LogsService;
  ids?: IdGenerator;
  logCapture?: Partial<LogCaptureOptions>;
}

export class Watcher {
  readonly clusters: ClusterWatcher[];
  readonly metrics: WatchMetrics;
  private gauges: ReturnType<typeof setInterval> | null = null;

  /**
   * Loads each cluster's kubeconfig and context; throws (naming the cluster)
   * when a context is missing or a kubeconfig unreadable, so a typo stops
   * the start instead of watching nothing.
   */
  constructor(specs: ClusterSpec[], deps: WatcherDeps) {
    this.metrics = watchMetrics(deps.registry);
    for (const spec of specs) {
      // A cluster named by flags alone takes its context's name (the current context when none was given).
      if (!spec.name) spec.name = spec.context ?? kubeContexts(loadKubeConfig(spec.kubeconfig)).current;
    }
    checkClusterNames(specs);
    this.clusters = specs.map((spec) => new ClusterWatcher(spec, { ...deps, metrics: this.metrics }));
    deps.registry.onCollect(() => {
      for (const c of this.clusters) c.updateGauges();
    });
  }

  start(): void {
    for (const c of this.clusters) c.start();
    this.gauges = setInterval(() => {
      for (const c of this.clusters) c.updateGauges();
    }, 1000);
  }

  /** Stops every cluster: reading ends, in-flight writes finish, resume points are saved. */
  async stop(): Promise<void> {
    if (this.gauges) clearInterval(this.gauges);
    await Promise.all(this.clusters.map((c) => c.stop()));
    log.info("watcher stopped", { clusters: this.clusters.map((c) => c.name) });
  }

  status(): ClusterStatus[] {
    return this.clusters.map((c) => c.status());
  }
}
