#!/usr/bin/env bun
/**
 * hindsight: Tekton Results in one binary. argv -> one command. Each
 * command lives in src/cli/ and is loaded only when run, so `status` or
 * `version` never pay for grpc-js and `serve` starts as fast as it can.
 */
// First: may re-execute the process with a bounded heap (see heap.ts).
import "./heap.ts";
import { ConfigError } from "./config/errors.ts";
import { StartError, UsageError } from "./cli/errors.ts";
import { USAGE } from "./cli/usage.ts";
import { log } from "./log.ts";
import { SchemaTooNewError } from "./store/migrations.ts";
import { COMMIT, VERSION } from "./version.ts";

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./cli/serve.ts")).serve,
  status: async () => (await import("./cli/status.ts")).status,
  version: async () => (await import("./cli/version.ts")).version,
  config: async () => (await import("./cli/config.ts")).configCommand,
  backup: async () => (await import("./cli/backup.ts")).backup,
  restore: async () => (await import("./cli/backup.ts")).restore,
  prune: async () => (await import("./cli/prune.ts")).prune,
  ready: async () => (await import("./cli/ready.ts")).ready,
  export: async () => (await import("./cli/transfer.ts")).exportCommand,
  import: async () => (await import("./cli/transfer.ts")).importCommand,
  token: async () => {
    const { tokenCommand } = await import("./cli/token.ts");
    const { commandConfig } = await import("./cli/args.ts");
    const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
    // The database as serve finds it: --db, HINDSIGHT_DB, or `db:` in the config file.
    return async (args) => tokenCommand(args, (config) => commandConfig(config === undefined ? {} : { config }).db, io);
  },
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      process.stderr.write(USAGE());
      return 2;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE());
      return 0;
    case "--version":
      process.stdout.write(`hindsight ${VERSION} (commit ${COMMIT})\n`);
      return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`hindsight: unknown command ${JSON.stringify(cmd)}\nRun 'hindsight --help' for usage.\n`);
    return 2;
  }
  return (await load())(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\nRun 'hindsight --help' for usage.\n`);
    process.exitCode = 2;
  } else if (e instanceof ConfigError || e instanceof SchemaTooNewError || e instanceof StartError) {
    process.stderr.write(`hindsight: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    log.error("fatal", { error: e });
    process.exitCode = 1;
  }
}
