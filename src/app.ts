/**
 * Wiring: the only place where concrete parts meet. Opens the database,
 * builds the store and the core service, and starts the listeners. Tests
 * start the whole program through here on loopback ports.
 */
import type { Database } from "bun:sqlite";
import { startGrpcServer, type RunningGrpcServer } from "./api/grpc/server.ts";
import { resultsRpc } from "./api/results-rpc.ts";
import { startRestServer, type RunningRestServer } from "./api/rest/server.ts";
import { systemClock, uuidv7Generator, type Clock, type IdGenerator } from "./core/clock.ts";
import { ResultsService } from "./core/results-service.ts";
import type { Config } from "./config/config.ts";
import { Checkpointer } from "./store/checkpointer.ts";
import { closeDatabase, openDatabase } from "./store/db.ts";
import { ReaderPool } from "./store/readers.ts";
import { SqliteStore } from "./store/sqlite-store.ts";

export interface App {
  grpcPort: number;
  grpc: RunningGrpcServer;
  httpPort: number;
  rest: RunningRestServer;
  results: ResultsService;
  db: Database;
  /** Graceful: stop listening, finish in-flight calls and writes, close the database. */
  stop(graceMs?: number): Promise<void>;
}

export interface AppDeps {
  clock?: Clock;
  ids?: IdGenerator;
}

export async function startApp(cfg: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
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
  const results = new ResultsService(store, clock, deps.ids ?? uuidv7Generator(clock));
  let grpc: RunningGrpcServer | null = null;
  let rest: RunningRestServer;
  try {
    grpc = await startGrpcServer({ listen: cfg.grpcListen, maxReceiveBytes: cfg.grpcMaxReceiveBytes, results });
    const health = grpc.health;
    // REST calls the same handlers as gRPC (one code path, two transports).
    rest = await startRestServer({
      listen: cfg.httpListen,
      maxBodyBytes: cfg.httpMaxBodyBytes,
      rpc: resultsRpc(results),
      health: (service) => health.get(service),
    });
  } catch (e) {
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
    stop(graceMs) {
      stopping ??= (async () => {
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
