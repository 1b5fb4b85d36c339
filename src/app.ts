/**
 * Wiring: the only place where concrete parts meet. Opens the database,
 * builds the store and the core service, and starts the listeners. Tests
 * start the whole program through here on loopback ports.
 */
import type { Database } from "bun:sqlite";
import { startGrpcServer, type RunningGrpcServer } from "./api/grpc/server.ts";
import { EncodedRecordCache } from "./api/encoded-cache.ts";
import { resultsRpc } from "./api/results-rpc.ts";
import { startRestServer, type RunningRestServer } from "./api/rest/server.ts";
import { systemClock, uuidv7Generator, type Clock, type IdGenerator } from "./core/clock.ts";
import { ResultsService } from "./core/results-service.ts";
import { ConfigError, watchesClusters, type Config } from "./config/config.ts";
import { Upserter } from "./core/upsert.ts";
import { Authorizer } from "./core/auth.ts";
import { ClientLimiter } from "./core/client-limit.ts";
import { resolveAuthMode, type AuthMode } from "./config/auth.ts";
import { TokenStore } from "./store/tokens.ts";
import { TlsFileError } from "./tls/files.ts";
import { TlsReloader } from "./tls/reloader.ts";
import { Registry } from "./metrics/registry.ts";
import { Checkpointer } from "./store/checkpointer.ts";
import { closeDatabase, openDatabase } from "./store/db.ts";
import { ReaderPool } from "./store/readers.ts";
import { SqliteStore } from "./store/sqlite-store.ts";
import { SqliteWatchState } from "./store/watch-state.ts";
import type { ClusterSpec } from "./watch/config.ts";
import type { Watcher } from "./watch/watcher.ts";

export interface App {
  grpcPort: number;
  grpc: RunningGrpcServer;
  httpPort: number;
  rest: RunningRestServer;
  results: ResultsService;
  db: Database;
  /** The auth mode in effect (configured, or the default for the listeners). */
  authMode: AuthMode;
  /** Hindsight's tokens in mode `token` (tests revoke through it); null otherwise. */
  tokens: TokenStore | null;
  /** The cluster watcher; null when no cluster is configured. */
  watcher: Watcher | null;
  /** Metrics of this app; `metrics.render()` is the Prometheus text for GET /metrics. */
  metrics: Registry;
  /** Re-reads the TLS files now (SIGHUP); whether the certificate changed. False without TLS. */
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
}

/** The clusters the config asks for (flags and watch file), or [] for none. */
async function clusterSpecs(cfg: Config): Promise<ClusterSpec[]> {
  if (!watchesClusters(cfg)) return [];
  const { readWatchFile, resolveClusters, WatchConfigError } = await import("./watch/config.ts");
  try {
    return resolveClusters({ kubeconfig: cfg.kubeconfig, contexts: cfg.contexts, file: cfg.watchConfig ? readWatchFile(cfg.watchConfig) : null });
  } catch (e) {
    if (e instanceof WatchConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

export async function startApp(cfg: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const authMode = resolveAuthMode(cfg.authMode, { "grpc-listen": cfg.grpcListen, "http-listen": cfg.httpListen });
  if (authMode === "kubernetes") throw new ConfigError("--auth-mode kubernetes is not available yet; use token (or none on loopback)");
  let tls: TlsReloader | null = null;
  if (cfg.tlsCert !== null && cfg.tlsKey !== null) {
    try {
      tls = new TlsReloader({ cert: cfg.tlsCert, key: cfg.tlsKey, clientCa: cfg.tlsClientCa }, deps.tlsCheckEveryMs);
    } catch (e) {
      if (e instanceof TlsFileError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const specs = deps.clusters ?? (await clusterSpecs(cfg));
  const db = openDatabase(cfg.db);
  // Checkpoints run on their own thread; the writer never checkpoints inline.
  let checkpointer: Checkpointer | null = null;
  if (cfg.db !== ":memory:") {
    checkpointer = new Checkpointer(cfg.db);
    await checkpointer.started();
    db.run("PRAGMA wal_autocheckpoint = 0");
  }
  // Lists and summaries run on reader threads, so a long scan never stalls
  // the main thread (an in-memory database cannot be shared: it reads inline).
  let readers: ReaderPool | null = null;
  if (cfg.db !== ":memory:") {
    try {
      readers = await ReaderPool.start(cfg.db, { size: cfg.readers, timeoutMs: cfg.queryTimeoutMs });
    } catch (e) {
      await checkpointer?.stop();
      closeDatabase(db);
      throw e;
    }
  }
  const store = new SqliteStore(db, readers ?? undefined);
  // One authorizer for both transports (mode none: every call is allowed).
  const tokens = authMode === "token" ? new TokenStore(db) : null;
  const authz = new Authorizer(tokens);
  // One count per client address across both listeners.
  const limiter = new ClientLimiter(cfg.maxCallsPerClient);
  const ids = deps.ids ?? uuidv7Generator(clock);
  const results = new ResultsService(store, clock, ids);
  // Encoded records both transports list from (each in its own encoding).
  const cache = new EncodedRecordCache(cfg.recordCacheBytes);
  const metrics = new Registry();
  let grpc: RunningGrpcServer | null = null;
  let rest: RunningRestServer;
  let watcher: Watcher | null = null;
  try {
    grpc = await startGrpcServer({ listen: cfg.grpcListen, maxReceiveBytes: cfg.grpcMaxReceiveBytes, results, cache, authz, limiter, tls: tls ?? undefined });
    const health = grpc.health;
    // REST calls the same handlers as gRPC (one code path, two transports).
    rest = await startRestServer({
      listen: cfg.httpListen,
      maxBodyBytes: cfg.httpMaxBodyBytes,
      rpc: resultsRpc(results, cache, authz, limiter),
      tls: tls ?? undefined,
      health: (service) => health.get(service),
      metrics: () => metrics.render(),
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
        });
      } catch (e) {
        await rest.shutdown(0);
        throw new ConfigError((e as Error).message);
      }
      watcher.start();
    }
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
    db,
    watcher,
    metrics,
    authMode,
    tokens,
    reloadTls: () => tls?.reload() ?? false,
    stop(graceMs) {
      stopping ??= (async () => {
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
