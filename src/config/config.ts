/**
 * Typed configuration with defaults. Sources, lowest precedence first:
 * defaults, the config file (YAML, `--config`, else /etc/hindsight/config.yaml
 * when it exists), environment (HINDSIGHT_*), command-line flags. Every value
 * is checked here, so a bad setting stops the start with a message that
 * names the setting (flag, variable or file key), the value and what is
 * allowed. Each setting is declared once, below, with its flag, variable and
 * file key, so the three can never drift apart.
 */
import { existsSync, readFileSync } from "node:fs";
import { formatAge, parseAge } from "./age.ts";
import { checkTlsSettings, parseAuthMode, type AuthMode } from "./auth.ts";
import { ConfigError } from "./errors.ts";
import type { RETENTION_STATUSES } from "./schema.ts";

export { ConfigError };

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "logfmt";
export type RetentionStatus = (typeof RETENTION_STATUSES)[number];

/** One retention rule: runs matching every criterion given are kept `maxAgeMs` after completion. */
export interface RetentionRule {
  /** For logs and prune output; "rules[i]" when not named. */
  name: string;
  /** Result parents (upstream: the namespace); empty: any. */
  namespaces: string[];
  /** Values of the tekton.dev/pipeline annotation the watcher copies onto Results; empty: any. */
  pipelines: string[];
  /** Outcome of the run (the Result's summary status); empty: any. */
  statuses: RetentionStatus[];
  /** CEL over Results, as ListResults takes; null: any. Compiled when the policy is built. */
  filter: string | null;
  /** null: keep for good. */
  maxAgeMs: number | null;
}

export const DEFAULT_CONFIG_PATH = "/etc/hindsight/config.yaml";

export interface Config {
  /** The config file read, or null when none was. */
  configFile: string | null;
  /** SQLite database file. */
  db: string;
  /** gRPC listener, "HOST:PORT". */
  grpcListen: string;
  /** Largest gRPC message accepted; bigger ones get RESOURCE_EXHAUSTED. */
  grpcMaxReceiveBytes: number;
  /** A gRPC connection with no call in flight for this long is closed (clients reconnect on their own). */
  grpcIdleTimeoutMs: number;
  /** A unary gRPC request must arrive whole within this (a stream left half-sent is reset). */
  grpcReadTimeoutMs: number;
  /** Reader threads for lists and summaries (each has its own connection). */
  readers: number;
  /** Lists and summaries running longer are stopped with DEADLINE_EXCEEDED. */
  queryTimeoutMs: number;
  /** REST (JSON over HTTP/1.1) listener, "HOST:PORT". */
  httpListen: string;
  /** Largest REST request body accepted; bigger ones get 413 with code 8. */
  httpMaxBodyBytes: number;
  /** A REST request body must arrive whole within this, and an idle keep-alive connection closes after it (Bun's idleTimeout: whole seconds, 1-255). */
  httpIdleTimeoutMs: number;
  /**
   * Bytes of encoded records kept for lists (REST JSON and protobuf); 0 = none.
   * The process pays about 2.5x this in RSS (allocator and collector slack on
   * ~12 KB buffers, measured: +40 MB at 16 MiB, +18 MB at 8 MiB). 6 MiB holds
   * ~400 encoded records (the pages of seven dashboard filters) and keeps a
   * server walking lists at 1M records under 150 MB.
   */
  recordCacheBytes: number;
  logLevel: LogLevel;
  /** journald keeps either; logfmt reads better in `journalctl`, JSON parses better. */
  logFormat: LogFormat;
  /** Kubeconfig whose contexts are watched (--context), and the default for watch-config clusters. */
  kubeconfig: string | null;
  /** Contexts to watch; empty with a kubeconfig: its current context. */
  contexts: string[];
  /** Watch config file (clusters with their own kubeconfig, namespaces, options). */
  watchConfig: string | null;
  /** Path prefix of the Tekton Dashboard's external-logs route on the REST port ("" = off). */
  dashboardLogsPrefix: string;
  /** Clusters of the config file, in the watch config file's format (checked by src/watch/config.ts). */
  clusters: unknown[];
  /** The config file's `clusterDefaults` (a watch config file's `defaults`); null when absent. */
  clusterDefaults: Record<string, unknown> | null;
  /** Runs matching no rule are deleted this long after completion; null keeps them. */
  retentionMaxAgeMs: number | null;
  /** How often the server applies the retention policy. */
  retentionIntervalMs: number;
  retentionRules: RetentionRule[];
  /** Where automatic backups go; null: a `backups` directory beside the database. */
  backupDir: string | null;
  /** Copy the database before a newer binary migrates its schema. */
  backupBeforeMigration: boolean;
  /** Auth mode (src/config/auth.ts); null: `none` on loopback, `token` beyond. */
  authMode: AuthMode | null;
  /** Mode kubernetes: the kubeconfig whose API server reviews tokens and access; null: `kubeconfig`, else the default one. */
  authKubeconfig: string | null;
  /** Mode kubernetes: its context; null: the current one. */
  authContext: string | null;
  /** Mode kubernetes: how long positive TokenReview and SubjectAccessReview answers are kept (negative ones at most 2 s); 0 = not kept. */
  authCacheTtlMs: number;
  /** Mode kubernetes: honour Impersonate-* headers (spec §6.4). */
  authImpersonation: boolean;
  /** PEM certificate chain and key both listeners serve TLS with; null: plaintext. */
  tlsCert: string | null;
  tlsKey: string | null;
  /** PEM CA bundle: when set, clients must present a certificate it issued. */
  tlsClientCa: string | null;
  /** Results calls one client address may have in flight (both listeners together); 0 = no cap. */
  maxCallsPerClient: number;
}

export const defaultConfig: Config = {
  configFile: null,
  db: "./data/hindsight.db",
  grpcListen: "127.0.0.1:50051",
  grpcMaxReceiveBytes: 32 * 1024 * 1024,
  grpcIdleTimeoutMs: 120_000,
  grpcReadTimeoutMs: 30_000,
  readers: 3,
  queryTimeoutMs: 60_000,
  httpListen: "127.0.0.1:8080",
  httpMaxBodyBytes: 32 * 1024 * 1024,
  httpIdleTimeoutMs: 10_000,
  recordCacheBytes: 6 * 1024 * 1024,
  dashboardLogsPrefix: "/logs",
  logLevel: "info",
  logFormat: "json",
  kubeconfig: null,
  contexts: [],
  watchConfig: null,
  clusters: [],
  clusterDefaults: null,
  retentionMaxAgeMs: null,
  retentionIntervalMs: 3_600_000,
  retentionRules: [],
  backupDir: null,
  backupBeforeMigration: true,
  authMode: null,
  authKubeconfig: null,
  authContext: null,
  authCacheTtlMs: 10_000,
  authImpersonation: false,
  tlsCert: null,
  tlsKey: null,
  tlsClientCa: null,
  maxCallsPerClient: 256,
};

type ScalarKey = Exclude<keyof Config, "configFile" | "clusters" | "clusterDefaults" | "retentionRules">;

interface Setting {
  key: ScalarKey;
  flag: string;
  env: string;
  /** Dotted key in the config file. */
  file: string;
  help: string;
  parse: (raw: string, source: string) => Config[keyof Config];
  /** Repeatable flag; the environment variable takes a comma-separated list, the file a YAML list. */
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

/** A duration in whole seconds from `min` to `max` (Bun's idleTimeout); returns milliseconds. */
function parseWholeSeconds(min: number, max: number) {
  return (raw: string, source: string): number => {
    const ms = parseDuration(raw, source);
    if (ms % 1000 !== 0 || ms < min * 1000 || ms > max * 1000) {
      throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not a whole number of seconds from ${min}s to ${max}s`);
    }
    return ms;
  };
}

function parsePath(raw: string, source: string): string {
  if (raw.trim() === "") throw new ConfigError(`${source}: must not be empty`);
  return raw;
}

/** "/logs", "/x/y"; "" turns the route off. */
export function parseUrlPrefix(raw: string, source: string): string {
  const t = raw.trim().replace(/\/+$/, "");
  if (t === "") return "";
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(t)) throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not a URL path (example: /logs; empty turns it off)`);
  if (t.startsWith("/apis") || ["/healthz", "/metrics", "/docs", "/openapi.json"].includes(t)) {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is taken by the API`);
  }
  return t;
}

function parseContext(raw: string, source: string): string {
  if (raw.trim() === "") throw new ConfigError(`${source}: a context name must not be empty`);
  return raw.trim();
}

function parseEnum<T extends string>(allowed: readonly T[]) {
  return (raw: string, source: string): T => {
    const t = raw.trim() as T;
    if (!allowed.includes(t)) throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not one of ${allowed.join(", ")}`);
    return t;
  };
}

function parseBool(raw: string, source: string): boolean {
  const t = raw.trim().toLowerCase();
  if (t === "true" || t === "1" || t === "yes") return true;
  if (t === "false" || t === "0" || t === "no") return false;
  throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not true or false`);
}

/** A duration as parseDuration, or 0 (any unit) for "off". */
function parseDurationOrZero(raw: string, source: string): number {
  return /^\s*0+(?:\.0*)?\s*(ms|s|m|h)?\s*$/.test(raw) ? 0 : parseDuration(raw, source);
}

function parseInterval(raw: string, source: string): number {
  const ms = parseAge(raw, source);
  if (ms === null) throw new ConfigError(`${source}: "forever" is not an interval (examples: 1h, 30m, 1d)`);
  return ms;
}

export const settings: Setting[] = [
  { key: "db", flag: "db", env: "HINDSIGHT_DB", file: "db", help: "SQLite database file (its directory is created)", parse: parsePath },
  { key: "grpcListen", flag: "grpc-listen", env: "HINDSIGHT_GRPC_LISTEN", file: "grpc.listen", help: "gRPC listen address HOST:PORT", parse: parseListen },
  {
    key: "grpcMaxReceiveBytes",
    flag: "grpc-max-receive-size",
    env: "HINDSIGHT_GRPC_MAX_RECEIVE_SIZE",
    file: "grpc.maxReceiveSize",
    help: "largest gRPC request accepted, e.g. 32MiB",
    parse: parseSize,
  },
  {
    key: "readers",
    flag: "readers",
    env: "HINDSIGHT_READERS",
    file: "readers",
    help: "reader threads for lists and summaries, 1-64",
    parse: parseCount(1, 64),
  },
  {
    key: "queryTimeoutMs",
    flag: "query-timeout",
    env: "HINDSIGHT_QUERY_TIMEOUT",
    file: "queryTimeout",
    help: "longest a list or summary may run, e.g. 60s",
    parse: parseDuration,
  },
  { key: "httpListen", flag: "http-listen", env: "HINDSIGHT_HTTP_LISTEN", file: "http.listen", help: "REST (JSON/HTTP) listen address HOST:PORT", parse: parseListen },
  {
    key: "httpMaxBodyBytes",
    flag: "http-max-body-size",
    env: "HINDSIGHT_HTTP_MAX_BODY_SIZE",
    file: "http.maxBodySize",
    help: "largest REST request body accepted, e.g. 32MiB",
    parse: parseSize,
  },
  {
    key: "httpIdleTimeoutMs",
    flag: "http-idle-timeout",
    env: "HINDSIGHT_HTTP_IDLE_TIMEOUT",
    file: "http.idleTimeout",
    help: "a REST request body must arrive whole within this; idle keep-alive connections close after it (1s-255s)",
    parse: parseWholeSeconds(1, 255),
  },
  {
    key: "grpcIdleTimeoutMs",
    flag: "grpc-idle-timeout",
    env: "HINDSIGHT_GRPC_IDLE_TIMEOUT",
    file: "grpc.idleTimeout",
    help: "close a gRPC connection with no call in flight this long, e.g. 2m",
    parse: parseDuration,
  },
  {
    key: "grpcReadTimeoutMs",
    flag: "grpc-read-timeout",
    env: "HINDSIGHT_GRPC_READ_TIMEOUT",
    file: "grpc.readTimeout",
    help: "a unary gRPC request must arrive whole within this, e.g. 30s",
    parse: parseDuration,
  },
  { key: "logLevel", flag: "log-level", env: "HINDSIGHT_LOG_LEVEL", file: "log.level", help: "debug, info, warn or error", parse: parseEnum(["debug", "info", "warn", "error"] as const) },
  { key: "logFormat", flag: "log-format", env: "HINDSIGHT_LOG_FORMAT", file: "log.format", help: "log lines on stderr as json or logfmt", parse: parseEnum(["json", "logfmt"] as const) },
  {
    key: "recordCacheBytes",
    flag: "record-cache-size",
    env: "HINDSIGHT_RECORD_CACHE_SIZE",
    file: "recordCacheSize",
    help: "memory for encoded records that lists answer from, e.g. 16MiB (0: off)",
    parse: parseSizeOrZero,
  },
  {
    key: "kubeconfig",
    flag: "kubeconfig",
    env: "HINDSIGHT_KUBECONFIG",
    file: "kubeconfig",
    help: "watch the clusters of this kubeconfig (its current context, or each --context)",
    parse: parsePath,
  },
  {
    key: "contexts",
    flag: "context",
    env: "HINDSIGHT_CONTEXTS",
    file: "contexts",
    help: "a kubeconfig context to watch; repeat for more clusters (env: comma-separated)",
    parse: parseContext,
    multiple: true,
  },
  {
    key: "watchConfig",
    flag: "watch-config",
    env: "HINDSIGHT_WATCH_CONFIG",
    file: "watchConfig",
    help: "YAML file listing clusters to watch, each with its own kubeconfig, context, namespaces and options",
    parse: parsePath,
  },
  {
    key: "dashboardLogsPrefix",
    flag: "dashboard-logs-prefix",
    env: "HINDSIGHT_DASHBOARD_LOGS_PREFIX",
    file: "dashboardLogsPrefix",
    help: "path of the Tekton Dashboard external-logs route on the REST port (GET <prefix>/<namespace>/<pod>/<container>); empty: off",
    parse: parseUrlPrefix,
  },
  {
    key: "retentionMaxAgeMs",
    flag: "retention-max-age",
    env: "HINDSIGHT_RETENTION_MAX_AGE",
    file: "retention.maxAge",
    help: "delete runs matching no retention rule this long after completion, e.g. 90d, or forever",
    parse: parseAge,
  },
  {
    key: "retentionIntervalMs",
    flag: "retention-interval",
    env: "HINDSIGHT_RETENTION_INTERVAL",
    file: "retention.interval",
    help: "how often the retention policy runs, e.g. 1h",
    parse: parseInterval,
  },
  { key: "backupDir", flag: "backup-dir", env: "HINDSIGHT_BACKUP_DIR", file: "backup.dir", help: "directory of automatic backups", parse: parsePath },
  {
    key: "backupBeforeMigration",
    flag: "backup-before-migration",
    env: "HINDSIGHT_BACKUP_BEFORE_MIGRATION",
    file: "backup.beforeMigration",
    help: "copy the database before migrating its schema: true or false",
    parse: parseBool,
  },
  {
    key: "authMode",
    flag: "auth-mode",
    env: "HINDSIGHT_AUTH_MODE",
    file: "auth.mode",
    help: "who may call: token (hindsight token create), kubernetes (TokenReview and SubjectAccessReview), or none (loopback only)",
    parse: (raw, source) => parseAuthMode(raw, source),
  },
  {
    key: "authKubeconfig",
    flag: "auth-kubeconfig",
    env: "HINDSIGHT_AUTH_KUBECONFIG",
    file: "auth.kubeconfig",
    help: "auth mode kubernetes: kubeconfig of the API server that reviews tokens and access",
    parse: parsePath,
  },
  {
    key: "authContext",
    flag: "auth-context",
    env: "HINDSIGHT_AUTH_CONTEXT",
    file: "auth.context",
    help: "auth mode kubernetes: the kubeconfig context to use",
    parse: parseContext,
  },
  {
    key: "authCacheTtlMs",
    flag: "auth-cache-ttl",
    env: "HINDSIGHT_AUTH_CACHE_TTL",
    file: "auth.cacheTtl",
    help: "auth mode kubernetes: how long allowed TokenReview/SubjectAccessReview answers are kept, e.g. 10s (refusals: at most 2s; 0: none)",
    parse: parseDurationOrZero,
  },
  {
    key: "authImpersonation",
    flag: "auth-impersonation",
    env: "HINDSIGHT_AUTH_IMPERSONATION",
    file: "auth.impersonation",
    help: "auth mode kubernetes: honour Impersonate-User/-Group/-Uid/-Extra-* headers: true or false",
    parse: parseBool,
  },
  { key: "tlsCert", flag: "tls-cert", env: "HINDSIGHT_TLS_CERT", file: "tls.cert", help: "PEM certificate (chain) for TLS on both listeners; reloaded on change or SIGHUP", parse: parsePath },
  { key: "tlsKey", flag: "tls-key", env: "HINDSIGHT_TLS_KEY", file: "tls.key", help: "PEM private key of --tls-cert", parse: parsePath },
  {
    key: "maxCallsPerClient",
    flag: "max-calls-per-client",
    env: "HINDSIGHT_MAX_CALLS_PER_CLIENT",
    file: "auth.maxCallsPerClient",
    help: "Results calls one client address may have in flight; past it RESOURCE_EXHAUSTED / 429 (0: no cap)",
    parse: parseCount(0, 1_000_000),
  },
  { key: "tlsClientCa", flag: "tls-client-ca", env: "HINDSIGHT_TLS_CLIENT_CA", file: "tls.clientCa", help: "PEM CA bundle; clients must present a certificate it issued", parse: parsePath },
];

const SIZE_KEYS: ReadonlySet<keyof Config> = new Set(["grpcMaxReceiveBytes", "httpMaxBodyBytes", "recordCacheBytes"]);

/** A default as the operator would write it (32MiB, 60s, forever). */
export function defaultText(k: ScalarKey): string {
  if (SIZE_KEYS.has(k)) return `${Number(defaultConfig[k]) / 1024 / 1024}MiB`;
  if (k === "queryTimeoutMs" || k === "httpIdleTimeoutMs" || k === "grpcReadTimeoutMs") return `${defaultConfig[k] / 1000}s`;
  if (k === "grpcIdleTimeoutMs") return `${defaultConfig[k] / 60_000}m`;
  if (k === "authCacheTtlMs") return `${defaultConfig.authCacheTtlMs / 1000}s`;
  if (k === "authKubeconfig") return "--kubeconfig, else $KUBECONFIG or ~/.kube/config";
  if (k === "authContext") return "the kubeconfig's current context";
  if (k === "retentionMaxAgeMs" || k === "retentionIntervalMs") return formatAge(defaultConfig[k]);
  if (k === "kubeconfig" || k === "watchConfig") return "none (no watching)";
  if (k === "backupDir") return "backups/ beside the database";
  if (k === "contexts") return "the kubeconfig's current context";
  if (k === "authMode") return "none on loopback, token otherwise";
  if (k === "tlsCert" || k === "tlsKey" || k === "tlsClientCa") return "none (plaintext)";
  return String(defaultConfig[k]);
}

export function settingsHelp(): string {
  return settings
    .map((s) => `  --${s.flag.padEnd(26)} ${s.help}\n  ${"".padEnd(28)} env ${s.env}, file ${s.file}, default ${defaultText(s.key)}`)
    .join("\n");
}

export interface LoadOptions {
  /** Read when no --config or HINDSIGHT_CONFIG is given and the file exists. */
  defaultPath?: string | null;
}

/** Value at a dotted path of a parsed document. */
function at(doc: unknown, path: string): unknown {
  let v = doc;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** `key:` with no value is YAML's null: taken as "not set", so a commented-out value can leave its key. */
function dropNulls(doc: unknown): unknown {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (v !== null) out[k] = dropNulls(v);
  return out;
}

/** Reads and parses a config file; problems name the file. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ConfigError(`config file ${path}: cannot read it (${code === "ENOENT" ? "no such file" : (code ?? (e as Error).message)})`);
  }
  try {
    return Bun.YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path}: not valid YAML: ${(e as Error).message}`);
  }
}

function fileRules(doc: unknown, where: (key: string) => string): RetentionRule[] {
  const raw = at(doc, "retention.rules");
  if (!Array.isArray(raw)) return [];
  return raw.map((r: Record<string, unknown>, i) => {
    const key = (k: string) => where(`retention.rules[${i}].${k}`);
    if (r.maxAge === undefined) throw new ConfigError(`${key("maxAge")}: missing: every rule needs its own maxAge (e.g. 30d, or forever)`);
    const filter = typeof r.filter === "string" && r.filter.trim() !== "" ? r.filter : null;
    const rule: RetentionRule = {
      name: typeof r.name === "string" ? r.name : `rules[${i}]`,
      namespaces: (r.namespaces as string[] | undefined) ?? [],
      pipelines: (r.pipelines as string[] | undefined) ?? [],
      statuses: (r.statuses as RetentionStatus[] | undefined) ?? [],
      filter,
      maxAgeMs: parseAge(String(r.maxAge), key("maxAge")),
    };
    if (!rule.namespaces.length && !rule.pipelines.length && !rule.statuses.length && !rule.filter && i < raw.length - 1) {
      throw new ConfigError(`${where(`retention.rules[${i}]`)}: matches every run, so the rules after it never apply (give it namespaces, pipelines, statuses or a filter, or move it last)`);
    }
    return rule;
  });
}

/**
 * Builds the config from the file (if any), the environment and
 * already-parsed flags (a repeatable flag gives a list). `flags.config`
 * names the file.
 */
export function loadConfig(
  flags: Record<string, string | string[] | boolean | undefined>,
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
): Config {
  const cfg: Config = { ...defaultConfig, contexts: [], clusters: [], retentionRules: [] };
  const set = (k: keyof Config, v: unknown) => ((cfg as unknown as Record<string, unknown>)[k] = v);

  const flagConfig = typeof flags.config === "string" ? flags.config : undefined;
  const envConfig = env.HINDSIGHT_CONFIG !== undefined && env.HINDSIGHT_CONFIG !== "" ? env.HINDSIGHT_CONFIG : undefined;
  const defaultPath = opts.defaultPath === undefined ? DEFAULT_CONFIG_PATH : opts.defaultPath;
  const path = flagConfig ?? envConfig ?? (defaultPath !== null && existsSync(defaultPath) ? defaultPath : null);
  if (path !== null) {
    if (path.trim() === "") throw new ConfigError(`${flagConfig !== undefined ? "--config" : "HINDSIGHT_CONFIG"}: must not be empty`);
    const doc = dropNulls(readConfigFile(path));
    const where = (key: string) => `config file ${path}: ${key}`;
    // TypeBox is loaded only when there is a file to check: it is a large
    // module, and every start without a config file would pay for it.
    const { checkShape } = require("./schema.ts") as typeof import("./schema.ts");
    const issues = checkShape(doc);
    if (typeof doc !== "object" || Array.isArray(doc)) {
      if (doc !== null && doc !== undefined) throw new ConfigError(`config file ${path}: must be a mapping of keys (see 'hindsight config example')`);
    }
    if (issues.length > 0) throw new ConfigError(issues.map((i) => where(`${i.path}: ${i.message}`)).join("\n"));
    cfg.configFile = path;
    for (const s of settings) {
      const v = at(doc, s.file);
      if (v === undefined || v === null) continue;
      if (s.multiple) set(s.key, (v as unknown[]).map((x) => s.parse(String(x), where(s.file))));
      else set(s.key, s.parse(String(v), where(s.file)));
    }
    const clusters = at(doc, "clusters");
    if (Array.isArray(clusters)) cfg.clusters = clusters;
    const defaults = at(doc, "clusterDefaults");
    if (defaults && typeof defaults === "object" && Object.keys(defaults).length > 0) cfg.clusterDefaults = defaults as Record<string, unknown>;
    cfg.retentionRules = fileRules(doc, where);
  }

  for (const s of settings) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      set(s.key, s.multiple ? fromEnv.split(",").map((x) => s.parse(x, s.env)) : s.parse(fromEnv, s.env));
    }
    const fromFlag = flags[s.flag];
    if (typeof fromFlag === "string" || Array.isArray(fromFlag)) {
      const values = Array.isArray(fromFlag) ? fromFlag : [fromFlag];
      set(s.key, s.multiple ? values.map((x) => s.parse(x, `--${s.flag}`)) : s.parse(values[values.length - 1]!, `--${s.flag}`));
    }
  }
  checkTlsSettings(cfg);
  return cfg;
}

/** Whether the config asks for any cluster to be watched. */
export function watchesClusters(cfg: Config): boolean {
  return cfg.kubeconfig !== null || cfg.contexts.length > 0 || cfg.watchConfig !== null || cfg.clusters.length > 0;
}
