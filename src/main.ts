#!/usr/bin/env bun
/**
 * hindsight: Tekton Results in one binary. argv -> one command.
 */
import { parseArgs } from "node:util";
import { startApp } from "./app.ts";
import { ConfigError, loadConfig, settings, settingsHelp } from "./config/config.ts";
import { log } from "./log.ts";
import { SchemaTooNewError } from "./store/migrations.ts";
import { COMMIT, VERSION } from "./version.ts";

const USAGE = `hindsight ${VERSION}: Tekton Results in one binary

Usage:
  hindsight serve [flags]     serve the Results API (gRPC) from one SQLite file
  hindsight version           print the version
  hindsight --help | --version

Flags of serve:
${settingsHelp()}

Signals: SIGTERM or SIGINT stop accepting calls, finish those in flight,
close the database cleanly and exit 0.
`;

async function serve(args: string[]): Promise<number> {
  const options = Object.fromEntries(settings.map((s) => [s.flag, { type: "string" as const }]));
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true })
      .values as Record<string, string | undefined>;
  } catch (e) {
    process.stderr.write(`hindsight serve: ${(e as Error).message}\nRun 'hindsight --help' for usage.\n`);
    return 2;
  }
  if ((flags as Record<string, unknown>).help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const cfg = loadConfig(flags, process.env);
  const app = await startApp(cfg);
  log.info("hindsight serving", { version: VERSION, commit: COMMIT, db: cfg.db, grpc: cfg.grpcListen, grpcPort: app.grpcPort });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      app.stop().then(resolve, (e) => {
        log.error("shutdown failed", { error: e });
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  log.info("stopped");
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
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
  if (e instanceof ConfigError || e instanceof SchemaTooNewError) {
    process.stderr.write(`hindsight: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    log.error("fatal", { error: e });
    process.exitCode = 1;
  }
}
