/**
 * Flags every subcommand shares: --config and --db (so `hindsight backup`
 * finds the same database as the service it runs beside), and --help.
 * Parsing is strict: an unknown flag is an error naming it, never ignored.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type Config } from "../config/config.ts";
import { UsageError } from "./errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export const COMMON_OPTIONS = {
  config: { type: "string" },
  db: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export interface Parsed {
  values: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
}

export function parseCommand(cmd: string, args: string[], options: Options = {}, positionals: { min?: number; max?: number; names?: string } = {}): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: (positionals.max ?? 0) > 0 });
  } catch (e) {
    throw new UsageError(`hindsight ${cmd}: ${(e as Error).message}`);
  }
  const n = parsed.positionals.length;
  if (!parsed.values.help && (n < (positionals.min ?? 0) || n > (positionals.max ?? 0))) {
    throw new UsageError(`hindsight ${cmd}: expected ${positionals.names ?? "no arguments"}, got ${n === 0 ? "none" : parsed.positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  }
  return { values: parsed.values as Parsed["values"], positionals: parsed.positionals };
}

/** The config a subcommand runs with: file, environment, then its --db. */
export function commandConfig(values: Parsed["values"]): Config {
  const flags: Record<string, string | undefined> = {};
  if (typeof values.config === "string") flags.config = values.config;
  if (typeof values.db === "string") flags.db = values.db;
  return loadConfig(flags, process.env);
}
