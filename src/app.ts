/**
 * Wiring: the only place where concrete parts meet. Opens the database,
 * builds the store and the core service, and starts the listeners. Tests
 * start the whole program through here on loopback ports.
 */
import type { Database } from "bun:sqlite";
import { startGrpcServer, type RunningGrpcServer } from "./api/grpc/server.ts";
import { logsRpc } from "./api/logs-rpc.ts";
import { recordCacheMetrics } from "./api/cache-metrics.ts";
import { EncodedRecordCache } from "./api/encoded-cache.ts";
import { pageBuffers } from "./api/grpc/page-buffers.ts";
import { resultsRpc } from "./api/results-rpc.ts";
import { startRestServer, type RunningRestServer } from "./api/rest/server.ts";
import { systemClock, uuidv7Generator, type Clock, type IdGenerator } from "./core/clock.ts";
import { LogsService } from "./core/logs-service.ts";
import { ResultsService } from "./core/results-service.ts";
import { resolveAllClusters } from "./config/clusters.ts";
import { ConfigError, type Config } from "./config/config.ts";
import { Upserter } from "./core/upsert.ts";
import { Authorizer } from "./core/auth.ts";
import { ClientLimiter } from "./core/client-limit.ts";
import { resolveAuthMode, type AuthMode } from "./config/auth.ts";
import { TokenStore } from "./store/tokens.ts";
import { TlsFileError } from "./tls/files.ts";
import { TlsReloader } from "./tls/reloader.ts";
import { Registry } from "./metrics/registry.ts";
import { RequestMetrics } from "./metrics/requests.ts";
import { Checkpointer } from "./store/checkpointer.ts";
import { closeDatabase, openDatabase } from "./store/db.ts";
import { ReaderPool } from "./store/readers.ts";
import { SqliteStore } from "./store/sqlite-store.ts";
import { SqliteWatchState } from "./store/watch-state.ts";
import { log } from "./log.ts";
import { backupBeforeMigration } from "./ops/backup.ts";
import { readiness } from "./ops/readiness.ts";
import { RetentionJob } from "./ops/retention-job.ts";
import { compilePolicy } from "./ops/retention.ts";
import { databaseGauges } from "./ops/db-metrics.ts";
import type { ClusterSpec } from "./watch/config.ts";
import type { Watcher } from "./watch/watcher.ts";
import type { LogCaptureOptions } from "./watch/log-capture.ts";

/**
 * Page cache of the main connection (the writer, and unfiltered lists read
 * inline), KiB. Small on purpose: what it holds between calls is the upper
 * index pages writes and lists walk; the 12 KB documents a list reads pass
 * through it once (records read again are answered from the encoded-record
 * cache), and the OS page cache keeps the file anyway. Measured on 2 cores
 * in alternated runs of the list benchmark (100k records): peak RSS 3 MiB
 * lower with 4 MiB than with 8, 6 MiB lower with 2 MiB (and heap.ts's
 * allocator setting); first pages were not slower, nor was ingest.
 */
const MAIN_CACHE_KIB = 2048;

export interface App {
  grpcPort: number;
  grpc: RunningGrpcServer;
  httpPort: number;
  rest: RunningRestServer;
  results: ResultsService;
  logs: LogsService;
  db: Database;
  /** The auth mode in effect (configured, or the default for the listeners). */
  authMode: AuthMode;
  /** Hindsight's tokens in mode `token` (tests revoke through it); null otherwise. */
  tokens: TokenStore | null;
  /** The cluster watcher; null when no cluster is configured. */
  watcher: Watcher | null;
  /** Metrics of this app; `metrics.render()` is the Prometheus text for GET /metrics. */
  metrics: Registry;
  /** The retention policy on its schedule. */
  retention: RetentionJob;
  /** Applies what can change while serving (retention) and re-reads the TLS files; SIGHUP. A bad policy throws and changes nothing. */
  reload(cfg: Config): void;
  /** Re-reads the TLS files now; whether the certificate changed. False without TLS. */
  reloadTls(): boolean;
  /** Graceful: stop listening, finish in-flight calls and writes, close the database. */
  stop(graceMs?: number): Promise<void>;
}

export interface AppDeps {
  clock?: Clock;
  ids?: IdGenerator;
  /** How often the TLS files are checked for a new certificate (ms; 0: only on reloadTls). */
  tlsCheckEveryMs?: number;
  /** Clusters to watch, given directly (tests); otherwise they come from the config's flags and watch file. */
  clusters?: ClusterSpec[];
  /** Log capture timings (tests). */
  logCapture?: Partial<LogCaptureOptions>;
}

export async function startApp(cfg: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const authMode = resolveAuthMode(cfg.authMode, { "grpc-listen": cfg.grpcListen, "http-listen": cfg.httpListen });
  // Mode kubernetes: the kubeconfig is read now, so an unusable one stops the start
  // (the API server itself may be down: calls are then UNAVAILABLE until it is back).
  const kubeAuth = authMode === "kubernetes" ? (await import("./kube-auth/from-config.ts")).kubeAuthFromConfig(cfg) : null;
  let tls: TlsReloader | null = null;
  if (cfg.tlsCert !== null && cfg.tlsKey !== null) {
    try {
      tls = new TlsReloader({ cert: cfg.tlsCert, key: cfg.tlsKey, clientCa: cfg.tlsClientCa }, deps.tlsCheckEveryMs);
    } catch (e) {
      if (e instanceof TlsFileError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const specs = deps.clusters ?? (await resolveAllClusters(cfg));
  // A bad retention filter stops the start before the database is touched.
  compilePolicy(cfg);
  if (cfg.backupBeforeMigration) {
    const saved = backupBeforeMigration(cfg.db, cfg.backupDir);
    if (saved) log.info("backed up the database before migrating its schema", { from: saved.schemaVersion, backup: saved.path, bytes: saved.bytes, ms: Math.round(saved.ms) });
  }
  const db = openDatabase(cfg.db, { cacheKiB: MAIN_CACHE_KIB });
  // Checkpoints run on their own thread; the writer never checkpoints inline.
  // Lists and summaries run on reader threads, so a long scan never stalls
  // the main thread (an in-memory database cannot be shared: it reads inline).
  // The checkpointer thread starts once the WAL grows (see checkpointer.ts):
  // a server that only reads never pays for a second engine.
  let checkpointer: Checkpointer | null = null;
  let readers: ReaderPool | null = null;
  if (cfg.db !== ":memory:") {
    try {
      readers = await ReaderPool.start(cfg.db, { size: cfg.readers, timeoutMs: cfg.queryTimeoutMs });
    } catch (e) {
      closeDatabase(db);
      throw e;
    }
    checkpointer = new Checkpointer(cfg.db);
    checkpointer.startWhenWalExceeds();
    db.run("PRAGMA wal_autocheckpoint = 0");
  }
  const store = new SqliteStore(db, readers ?? undefined);
  // One authorizer for both transports (mode none: every call is allowed).
  // Mode kubernetes delegates permissions to the cluster; its "-" lists are
  // narrowed to the stored parents the caller may see.
  const tokens = authMode === "token" ? new TokenStore(db) : null;
  const authz = new Authorizer(tokens ?? kubeAuth, kubeAuth ? { reviewer: kubeAuth, parents: () => store.parents() } : null);
  // One count per client address across both listeners.
  const limiter = new ClientLimiter(cfg.maxCallsPerClient);
  const ids = deps.ids ?? uuidv7Generator(clock);
  const results = new ResultsService(store, clock, ids);
  const logs = new LogsService(store, clock);
  // Encoded records both transports list from (each in its own encoding).
  // Pages dropped by the cache are reused by the gRPC page encoder once sent.
  const cache = new EncodedRecordCache(cfg.recordCacheBytes, pageBuffers);
  const metrics = new Registry();
  const requestMetrics = new RequestMetrics(metrics);
  const retention = new RetentionJob(db, cfg, (name) => results.deleteResult(name).then(() => true));
  databaseGauges(metrics, cfg.db, retention);
  recordCacheMetrics(metrics, cache);
  let grpc: RunningGrpcServer | null = null;
  let rest: RunningRestServer;
  let watcher: Watcher | null = null;
  try {
    grpc = await startGrpcServer({
      listen: cfg.grpcListen,
      maxReceiveBytes: cfg.grpcMaxReceiveBytes,
      idleTimeoutMs: cfg.grpcIdleTimeoutMs,
      readTimeoutMs: cfg.grpcReadTimeoutMs,
      requestMetrics,
      results, logs, cache, authz, limiter, tls: tls ?? undefined });
    const health = grpc.health;
    // REST calls the same handlers as gRPC (one code path, two transports).
    rest = await startRestServer({
      listen: cfg.httpListen,
      maxBodyBytes: cfg.httpMaxBodyBytes,
      idleTimeoutMs: cfg.httpIdleTimeoutMs,
      requestMetrics,
      rpc: new Map([...resultsRpc(results, cache, authz, limiter), ...logsRpc(logs, authz, limiter)]),
      logs,
      authz,
      limiter,
      dashboardLogsPrefix: cfg.dashboardLogsPrefix,
      tls: tls ?? undefined,
      health: (service) => health.get(service),
      metrics: () => metrics.render(),
      ready: readiness(db, cfg.db),
    });
    if (specs.length > 0) {
      // Loaded only when watching: the Kubernetes client is a large module.
      const { Watcher } = await import("./watch/watcher.ts");
      try {
        watcher = new Watcher(specs, {
          upserter: new Upserter(store, clock, ids),
          results,
          progress: new SqliteWatchState(db, store),
          registry: metrics,
          logsService: logs,
          ids,
          logCapture: deps.logCapture,
        });
      } catch (e) {
        await rest.shutdown(0);
        throw new ConfigError((e as Error).message);
      }
      watcher.start();
    }
    retention.start();
  } catch (e) {
    tls?.close();
    await grpc?.shutdown(0);
    store.close();
    await readers?.close();
    await checkpointer?.stop();
    closeDatabase(db);
    throw e;
  }
  let stopping: Promise<void> | null = null;
  return {
    grpcPort: grpc.port,
    grpc,
    httpPort: rest.port,
    rest,
    results,
    logs,
    db,
    watcher,
    metrics,
    retention,
    authMode,
    tokens,
    reload(next) {
      retention.update(next);
      tls?.reload();
    },
    reloadTls: () => tls?.reload() ?? false,
    stop(graceMs) {
      stopping ??= (async () => {
        await retention.stop();
        // The watcher first: its last writes and resume points go through the store.
        await watcher?.stop();
        tls?.close();
        await Promise.all([grpc.shutdown(graceMs), rest.shutdown(graceMs)]);
        store.close();
        await readers?.close();
        await checkpointer?.stop();
        closeDatabase(db);
      })();
      return stopping;
    },
  };
}
