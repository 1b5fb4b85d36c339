#!/usr/bin/env bun
/**
 * hindsight: Tekton Results in one binary. argv -> one command.
 */
// First: may re-execute the process with a bounded heap (see heap.ts).
import "./heap.ts";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, settings, settingsHelp } from "./config/config.ts";
import { log } from "./log.ts";
import { SchemaTooNewError } from "./store/migrations.ts";
import { COMMIT, VERSION } from "./version.ts";

/** A start-up failure with a message meant for the operator, not a bug. */
class StartError extends Error {}

const USAGE = `hindsight ${VERSION}: Tekton Results in one binary

Usage:
  hindsight serve [flags]     serve the Results API (gRPC and REST) from one SQLite file,
                              and watch clusters (--kubeconfig, --context, --watch-config)
  hindsight status [flags]    each watched cluster's state, read from the database:
                              --db PATH (as serve), --streams (per resource), --json;
                              exits 1 when a cluster is not connected
  hindsight token create|list|revoke
                              manage API tokens for --auth-mode token (--db PATH as serve);
                              'hindsight token --help' for details
  hindsight version           print the version
  hindsight --help | --version

Flags of serve:
${settingsHelp()}

REST serves upstream's JSON routes under /apis/results.tekton.dev/v1alpha2/,
GET /healthz, the OpenAPI document at GET /openapi.json and a page at GET /docs.

Signals: SIGTERM or SIGINT stop accepting calls, finish those in flight,
close the database cleanly and exit 0.
`;

async function serve(args: string[]): Promise<number> {
  const options = Object.fromEntries(settings.map((s) => [s.flag, { type: "string" as const, multiple: s.multiple ?? false }]));
  let flags: Record<string, string | string[] | undefined>;
  try {
    flags = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true })
      .values as Record<string, string | string[] | undefined>;
  } catch (e) {
    process.stderr.write(`hindsight serve: ${(e as Error).message}\nRun 'hindsight --help' for usage.\n`);
    return 2;
  }
  if ((flags as Record<string, unknown>).help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const cfg = loadConfig(flags, process.env);
  // Signals are watched from the start: one that arrives while the database
  // opens or migrates stops the server as soon as it is up, cleanly.
  let signalled: string | null = null;
  let onSignal: (signal: string) => void = (signal) => {
    signalled = signal;
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  let app;
  try {
    // Loaded only now, so the signal handlers above are in place before the
    // heavy modules (grpc-js, generated code) are.
    const { startApp } = await import("./app.ts");
    app = await startApp(cfg);
  } catch (e) {
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
    grpc: cfg.grpcListen,
    grpcPort: app.grpcPort,
    http: cfg.httpListen,
    httpPort: app.httpPort,
    auth: app.authMode,
    tls: cfg.tlsCert !== null,
    ...(app.watcher ? { clusters: app.watcher.clusters.map((c) => c.name) } : {}),
  });
  const running = app;
  // SIGHUP: re-read the TLS files now (they are also checked every second).
  process.on("SIGHUP", () => running.reloadTls());
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
  log.info("stopped");
  return 0;
}

/** `hindsight status`: reads the watcher's rows from the database (read-only), prints them. */
async function status(args: string[]): Promise<number> {
  let flags: { db?: string; streams?: boolean; json?: boolean; help?: boolean };
  try {
    flags = parseArgs({
      args,
      options: { db: { type: "string" }, streams: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`hindsight status: ${(e as Error).message}\nRun 'hindsight --help' for usage.\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const cfg = loadConfig(flags.db !== undefined ? { db: flags.db } : {}, process.env);
  if (!existsSync(cfg.db)) throw new StartError(`no database at ${cfg.db} (--db or HINDSIGHT_DB)`);
  const { Database } = await import("bun:sqlite");
  const { readWatchStreams } = await import("./store/watch-state.ts");
  const { clusterViews, formatStatus } = await import("./watch/status.ts");
  const db = new Database(cfg.db, { readonly: true });
  let rows;
  try {
    db.run("PRAGMA busy_timeout = 5000");
    rows = readWatchStreams(db);
  } finally {
    db.close();
  }
  const now = Date.now();
  const views = clusterViews(rows, now);
  if (flags.json) process.stdout.write(JSON.stringify({ clusters: views }, null, 2) + "\n");
  else process.stdout.write(formatStatus(rows, now, { streams: flags.streams }));
  return views.every((v) => v.connected) ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    case "--version":
    case "version":
      process.stdout.write(`hindsight ${VERSION} (commit ${COMMIT})\n`);
      return 0;
    case "serve":
      return serve(rest);
    case "status":
      return status(rest);
    case "token": {
      const { tokenCommand } = await import("./cli/token.ts");
      const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
      return tokenCommand(rest, loadConfig({}, process.env).db, io);
    }
    default:
      process.stderr.write(`hindsight: unknown command ${JSON.stringify(cmd)}\nRun 'hindsight --help' for usage.\n`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof ConfigError || e instanceof SchemaTooNewError || e instanceof StartError) {
    process.stderr.write(`hindsight: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    log.error("fatal", { error: e });
    process.exitCode = 1;
  }
}
