#!/usr/bin/env bun
/**
 * hindsight: Tekton Results in one binary. argv -> one command.
 */
// First: may re-execute the process with a bounded heap (see heap.ts).
import "./heap.ts";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, settings, settingsHelp } from "./config/config.ts";
import { log } from "./log.ts";
import { SchemaTooNewError } from "./store/migrations.ts";
import { COMMIT, VERSION } from "./version.ts";

/** A start-up failure with a message meant for the operator, not a bug. */
class StartError extends Error {}

const USAGE = `hindsight ${VERSION}: Tekton Results in one binary

Usage:
  hindsight serve [flags]     serve the Results API (gRPC and REST) from one SQLite file
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
    ...(app.watcher ? { clusters: app.watcher.clusters.map((c) => c.name) } : {}),
  });
  const running = app;
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
