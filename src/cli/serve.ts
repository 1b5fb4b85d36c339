/** `hindsight serve`: the service. Config from file, environment and flags; SIGTERM drains, SIGHUP reloads. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { loadConfig, settings, type Config } from "../config/config.ts";
import { log, setLogFormat, setLogLevel } from "../log.ts";
import { claim, release } from "../ops/lock.ts";
import { COMMIT, VERSION } from "../version.ts";
import { parseCommand } from "./args.ts";
import { StartError } from "./errors.ts";
import { USAGE } from "./usage.ts";

export async function serve(args: string[]): Promise<number> {
  const options = Object.fromEntries(settings.map((s) => [s.flag, { type: "string" as const, multiple: s.multiple ?? false }]));
  const { values } = parseCommand("serve", args, options);
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const cfg = loadConfig(values, process.env);
  setLogLevel(cfg.logLevel);
  setLogFormat(cfg.logFormat);
  // Signals are watched from the start: one that arrives while the database
  // opens or migrates stops the server as soon as it is up, cleanly.
  let signalled: string | null = null;
  let onSignal: (signal: string) => void = (signal) => {
    signalled = signal;
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  let onHangup = () => log.info("SIGHUP while starting: ignored");
  process.on("SIGHUP", () => onHangup());
  if (cfg.db !== ":memory:") {
    mkdirSync(dirname(cfg.db), { recursive: true });
    const other = claim(cfg.db);
    if (other !== null) throw new StartError(`database ${cfg.db} is already served by process ${other}`);
  }
  let app;
  try {
    // Loaded only now, so the signal handlers above are in place before the
    // heavy modules (grpc-js, generated code) are.
    const { startApp } = await import("../app.ts");
    app = await startApp(cfg);
  } catch (e) {
    release(cfg.db);
    const msg = (e as Error).message ?? "";
    if (msg.includes("No address added")) {
      throw new StartError(`cannot listen on ${cfg.grpcListen} (--grpc-listen): address in use or not available`);
    }
    if ((e as { code?: string }).code === "EADDRINUSE" || /Failed to start server|EADDRINUSE|EADDRNOTAVAIL/.test(msg)) {
      throw new StartError(`cannot listen on ${cfg.httpListen} (--http-listen): address in use or not available`);
    }
    throw e;
  }
  log.info("hindsight serving", {
    version: VERSION,
    commit: COMMIT,
    db: cfg.db,
    config: cfg.configFile,
    grpc: cfg.grpcListen,
    grpcPort: app.grpcPort,
    http: cfg.httpListen,
    httpPort: app.httpPort,
    ...(app.watcher ? { clusters: app.watcher.clusters.map((c) => c.name) } : {}),
  });
  const running = app;
  onHangup = () => reload(values, cfg, (next) => running.reload(next));
  await new Promise<void>((resolve) => {
    onSignal = (signal: string) => {
      log.info("shutting down", { signal });
      running.stop().then(resolve, (e) => {
        log.error("shutdown failed", { error: e });
        resolve();
      });
    };
    if (signalled) onSignal(signalled);
  });
  release(cfg.db);
  log.info("stopped");
  return 0;
}

/**
 * SIGHUP: re-reads file and environment with the same flags. What can
 * change while serving (log level and format, retention) is applied; a
 * change to anything else (listeners, database, clusters) is logged as
 * needing a restart. A bad file keeps the running config.
 */
function reload(flags: Record<string, string | string[] | boolean | undefined>, current: Config, apply: (next: Config) => void): void {
  let next: Config;
  try {
    next = loadConfig(flags, process.env);
  } catch (e) {
    log.error("reload: configuration not valid; keeping the running one", { error: (e as Error).message });
    return;
  }
  const live = new Set<keyof Config>(["logLevel", "logFormat", "retentionMaxAgeMs", "retentionIntervalMs", "retentionRules"]);
  const restart = (Object.keys(next) as Array<keyof Config>).filter((k) => !live.has(k) && JSON.stringify(next[k]) !== JSON.stringify(current[k]));
  try {
    apply(next);
  } catch (e) {
    log.error("reload: configuration not valid; keeping the running one", { error: (e as Error).message });
    return;
  }
  setLogLevel(next.logLevel);
  setLogFormat(next.logFormat);
  log.info("reloaded configuration", { config: next.configFile, ...(restart.length ? { needRestart: restart } : {}) });
}
