/**
 * Typed configuration with defaults. Sources, lowest precedence first:
 * defaults, environment (HINDSIGHT_*), command-line flags. Every value is
 * checked here, so a bad setting stops the start with a message that names
 * the setting, the value and what is allowed.
 */

import { checkTlsSettings, parseAuthMode, type AuthMode } from "./auth.ts";

export interface Config {
  /** SQLite database file. */
  db: string;
  /** gRPC listener, "HOST:PORT". */
  grpcListen: string;
  /** Largest gRPC message accepted; bigger ones get RESOURCE_EXHAUSTED. */
  grpcMaxReceiveBytes: number;
  /** Reader threads for lists and summaries (each has its own connection). */
  readers: number;
  /** Lists and summaries running longer are stopped with DEADLINE_EXCEEDED. */
  queryTimeoutMs: number;
  /** REST (JSON over HTTP/1.1) listener, "HOST:PORT". */
  httpListen: string;
  /** Largest REST request body accepted; bigger ones get 413 with code 8. */
  httpMaxBodyBytes: number;
  /** Bytes of encoded records kept for lists (REST JSON and protobuf); 0 = none. */
  recordCacheBytes: number;
  /** Kubeconfig whose contexts are watched (--context), and the default for watch-config clusters. */
  kubeconfig: string | null;
  /** Contexts to watch; empty with a kubeconfig: its current context. */
  contexts: string[];
  /** Watch config file (clusters with their own kubeconfig, namespaces, options). */
  watchConfig: string | null;
  /** Auth mode (src/config/auth.ts); null: `none` on loopback, `token` beyond. */
  authMode: AuthMode | null;
  /** PEM certificate chain and key both listeners serve TLS with; null: plaintext. */
  tlsCert: string | null;
  tlsKey: string | null;
  /** PEM CA bundle: when set, clients must present a certificate it issued. */
  tlsClientCa: string | null;
  /** Results calls one client address may have in flight (both listeners together); 0 = no cap. */
  maxCallsPerClient: number;
}

export const defaultConfig: Config = {
  db: "./data/hindsight.db",
  grpcListen: "127.0.0.1:50051",
  grpcMaxReceiveBytes: 32 * 1024 * 1024,
  readers: 3,
  queryTimeoutMs: 60_000,
  httpListen: "127.0.0.1:8080",
  httpMaxBodyBytes: 32 * 1024 * 1024,
  recordCacheBytes: 16 * 1024 * 1024,
  kubeconfig: null,
  contexts: [],
  watchConfig: null,
  authMode: null,
  tlsCert: null,
  tlsKey: null,
  tlsClientCa: null,
  maxCallsPerClient: 256,
};

export class ConfigError extends Error {}

interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  help: string;
  parse: (raw: string, source: string) => Config[keyof Config];
  /** Repeatable flag; the environment variable takes a comma-separated list. */
  multiple?: boolean;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

export function parseSize(raw: string, source: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not a size (examples: 4194304, 32MiB, 64MB)`);
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (n < 1024 || n > 2 ** 31 - 1) throw new ConfigError(`${source}: ${raw} is out of range (1KiB to 2GiB)`);
  return n;
}

/** A size, or 0 for "none". */
function parseSizeOrZero(raw: string, source: string): number {
  const m = /^\s*0+(?:\.0*)?\s*([a-zA-Z]*)\s*$/.exec(raw);
  return m && SIZE_UNITS[m[1]!.toLowerCase()] !== undefined ? 0 : parseSize(raw, source);
}

export function parseListen(raw: string, source: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not HOST:PORT (examples: 127.0.0.1:50051, [::1]:50051, 0.0.0.0:50051)`);
  }
  return raw.trim();
}

export function parseCount(min: number, max: number) {
  return (raw: string, source: string): number => {
    const t = raw.trim();
    if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
      throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
    }
    return Number(t);
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "2m", "1500ms"; a bare number is seconds. Returns milliseconds. */
export function parseDuration(raw: string, source: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? "s"]! : NaN;
  if (!m || !Number.isFinite(ms) || ms < 100 || ms > 24 * 3_600_000) {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not a duration from 100ms to 24h (examples: 60s, 2m, 1500ms)`);
  }
  return Math.round(ms);
}

function parsePath(raw: string, source: string): string {
  if (raw.trim() === "") throw new ConfigError(`${source}: must not be empty`);
  return raw;
}

function parseContext(raw: string, source: string): string {
  if (raw.trim() === "") throw new ConfigError(`${source}: a context name must not be empty`);
  return raw.trim();
}

export const settings: Setting[] = [
  { key: "db", flag: "db", env: "HINDSIGHT_DB", help: "SQLite database file (its directory is created)", parse: parsePath },
  { key: "grpcListen", flag: "grpc-listen", env: "HINDSIGHT_GRPC_LISTEN", help: "gRPC listen address HOST:PORT", parse: parseListen },
  {
    key: "grpcMaxReceiveBytes",
    flag: "grpc-max-receive-size",
    env: "HINDSIGHT_GRPC_MAX_RECEIVE_SIZE",
    help: "largest gRPC request accepted, e.g. 32MiB",
    parse: parseSize,
  },
  {
    key: "readers",
    flag: "readers",
    env: "HINDSIGHT_READERS",
    help: "reader threads for lists and summaries, 1-64",
    parse: parseCount(1, 64),
  },
  {
    key: "queryTimeoutMs",
    flag: "query-timeout",
    env: "HINDSIGHT_QUERY_TIMEOUT",
    help: "longest a list or summary may run, e.g. 60s",
    parse: parseDuration,
  },
  { key: "httpListen", flag: "http-listen", env: "HINDSIGHT_HTTP_LISTEN", help: "REST (JSON/HTTP) listen address HOST:PORT", parse: parseListen },
  {
    key: "httpMaxBodyBytes",
    flag: "http-max-body-size",
    env: "HINDSIGHT_HTTP_MAX_BODY_SIZE",
    help: "largest REST request body accepted, e.g. 32MiB",
    parse: parseSize,
  },
  {
    key: "recordCacheBytes",
    flag: "record-cache-size",
    env: "HINDSIGHT_RECORD_CACHE_SIZE",
    help: "memory for encoded records that lists answer from, e.g. 16MiB (0: off)",
    parse: parseSizeOrZero,
  },
  {
    key: "kubeconfig",
    flag: "kubeconfig",
    env: "HINDSIGHT_KUBECONFIG",
    help: "watch the clusters of this kubeconfig (its current context, or each --context)",
    parse: parsePath,
  },
  {
    key: "contexts",
    flag: "context",
    env: "HINDSIGHT_CONTEXTS",
    help: "a kubeconfig context to watch; repeat for more clusters (env: comma-separated)",
    parse: parseContext,
    multiple: true,
  },
  {
    key: "watchConfig",
    flag: "watch-config",
    env: "HINDSIGHT_WATCH_CONFIG",
    help: "YAML file listing clusters to watch, each with its own kubeconfig, context, namespaces and options",
    parse: parsePath,
  },
  {
    key: "authMode",
    flag: "auth-mode",
    env: "HINDSIGHT_AUTH_MODE",
    help: "who may call: token (hindsight token create), kubernetes, or none (loopback only)",
    parse: (raw, source) => parseAuthMode(raw, source),
  },
  { key: "tlsCert", flag: "tls-cert", env: "HINDSIGHT_TLS_CERT", help: "PEM certificate (chain) for TLS on both listeners; reloaded on change or SIGHUP", parse: parsePath },
  { key: "tlsKey", flag: "tls-key", env: "HINDSIGHT_TLS_KEY", help: "PEM private key of --tls-cert", parse: parsePath },
  {
    key: "maxCallsPerClient",
    flag: "max-calls-per-client",
    env: "HINDSIGHT_MAX_CALLS_PER_CLIENT",
    help: "Results calls one client address may have in flight; past it RESOURCE_EXHAUSTED / 429 (0: no cap)",
    parse: parseCount(0, 1_000_000),
  },
  { key: "tlsClientCa", flag: "tls-client-ca", env: "HINDSIGHT_TLS_CLIENT_CA", help: "PEM CA bundle; clients must present a certificate it issued", parse: parsePath },
];

const SIZE_KEYS: ReadonlySet<keyof Config> = new Set(["grpcMaxReceiveBytes", "httpMaxBodyBytes", "recordCacheBytes"]);
const defaultText = (k: keyof Config) => {
  if (SIZE_KEYS.has(k)) return `${Number(defaultConfig[k]) / 1024 / 1024}MiB`;
  if (k === "queryTimeoutMs") return `${defaultConfig.queryTimeoutMs / 1000}s`;
  if (k === "kubeconfig" || k === "watchConfig") return "none (no watching)";
  if (k === "contexts") return "the kubeconfig's current context";
  if (k === "authMode") return "none on loopback, token otherwise";
  if (k === "tlsCert" || k === "tlsKey" || k === "tlsClientCa") return "none (plaintext)";
  return String(defaultConfig[k]);
};

export function settingsHelp(): string {
  return settings
    .map((s) => `  --${s.flag.padEnd(24)} ${s.help}\n  ${"".padEnd(26)} env ${s.env}, default ${defaultText(s.key)}`)
    .join("\n");
}

/** Builds the config from environment and already-parsed flags (a repeatable flag gives a list). */
export function loadConfig(flags: Record<string, string | string[] | undefined>, env: Record<string, string | undefined>): Config {
  const cfg: Config = { ...defaultConfig, contexts: [] };
  const set = (k: keyof Config, v: unknown) => ((cfg as unknown as Record<string, unknown>)[k] = v);
  for (const s of settings) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      set(s.key, s.multiple ? fromEnv.split(",").map((x) => s.parse(x, s.env)) : s.parse(fromEnv, s.env));
    }
    const fromFlag = flags[s.flag];
    if (fromFlag !== undefined) {
      const values = Array.isArray(fromFlag) ? fromFlag : [fromFlag];
      set(s.key, s.multiple ? values.map((x) => s.parse(x, `--${s.flag}`)) : s.parse(values[values.length - 1]!, `--${s.flag}`));
    }
  }
  checkTlsSettings(cfg);
  return cfg;
}

/** Whether the config asks for any cluster to be watched. */
export function watchesClusters(cfg: Config): boolean {
  return cfg.kubeconfig !== null || cfg.contexts.length > 0 || cfg.watchConfig !== null;
}
