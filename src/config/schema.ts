/**
 * The shape of the config file (YAML), as a TypeBox schema. It checks
 * shapes only: which keys exist and what type each value has. Values with
 * their own syntax (addresses, sizes, durations) are checked afterwards by
 * the same parsers as flags and environment variables, so a value means
 * the same wherever it is set.
 *
 * Every leaf carries an `allowed` text, so a wrong value is reported with
 * what would have been accepted rather than TypeBox's "Expected union value".
 * Cluster entries are left to the watch config parser (src/watch/config.ts),
 * which already reports each bad setting by its path: one format, one parser.
 */
import { Type, type TProperties, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const text = (allowed: string) => Type.String({ allowed });
const sizeOrText = (allowed: string) => Type.Union([Type.String(), Type.Integer()], { allowed });
const strict = { additionalProperties: false } as const;
/** Every key of the file is optional: an absent key keeps its default. */
const section = <T extends TProperties>(props: T) => Type.Partial(Type.Object(props, strict), strict);

export const RETENTION_STATUSES = ["success", "failure", "timeout", "cancelled", "unknown"] as const;

export const RuleSchema = section(
  {
    name: text("a name for the rule, used in logs and prune output"),
    namespaces: Type.Array(Type.String(), { allowed: "a list of namespaces (the Result's parent)" }),
    pipelines: Type.Array(Type.String(), { allowed: "a list of pipeline names (the tekton.dev/pipeline label)" }),
    statuses: Type.Array(Type.Union(RETENTION_STATUSES.map((s) => Type.Literal(s)), { allowed: RETENTION_STATUSES.join(", ") }), {
      allowed: `a list of ${RETENTION_STATUSES.join(", ")}`,
    }),
    filter: text("a CEL filter over Results, as ListResults accepts"),
    maxAge: sizeOrText("a duration such as 30d, 12h or 90m, or forever"),
  },
);

export const ConfigFileSchema = section(
  {
    db: text("a file path"),
    readers: Type.Integer({ minimum: 1, maximum: 64, allowed: "a whole number from 1 to 64" }),
    queryTimeout: sizeOrText("a duration from 100ms to 24h, such as 60s"),
    grpc: section({
      listen: text("HOST:PORT"),
      maxReceiveSize: sizeOrText("a size such as 32MiB"),
      idleTimeout: sizeOrText("a duration such as 2m"),
      readTimeout: sizeOrText("a duration such as 30s"),
    }),
    http: section({ listen: text("HOST:PORT"), maxBodySize: sizeOrText("a size such as 32MiB"), idleTimeout: sizeOrText("whole seconds from 1s to 255s, such as 10s") }),
    log: section(
      {
        level: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")], { allowed: "debug, info, warn or error" }),
        format: Type.Union([Type.Literal("json"), Type.Literal("logfmt")], { allowed: "json or logfmt" }),
      },
    ),
    kubeconfig: text("a kubeconfig file path"),
    contexts: Type.Array(Type.String(), { allowed: "a list of kubeconfig context names" }),
    watchConfig: text("a watch config file path"),
    recordCacheSize: sizeOrText("a size such as 16MiB, or 0 for no cache"),
    dashboardLogsPrefix: text("a URL path such as /logs, or empty for off"),
    clusters: Type.Array(Type.Unknown(), { allowed: "a list of clusters, as in a watch config file" }),
    clusterDefaults: Type.Record(Type.String(), Type.Unknown(), { allowed: "cluster settings applied to every cluster" }),
    retention: section(
      {
        maxAge: sizeOrText("a duration such as 90d, or forever"),
        interval: sizeOrText("a duration such as 1h"),
        rules: Type.Array(RuleSchema, { allowed: "a list of rules" }),
      },
    ),
    backup: section(
      {
        dir: text("a directory path"),
        beforeMigration: Type.Boolean({ allowed: "true or false" }),
      },
    ),
    auth: section(
      {
        mode: Type.Union([Type.Literal("token"), Type.Literal("kubernetes"), Type.Literal("none")], { allowed: "token, kubernetes or none" }),
        maxCallsPerClient: Type.Integer({ minimum: 0, maximum: 1_000_000, allowed: "a whole number from 0 (no cap) to 1000000" }),
        kubeconfig: text("a kubeconfig file path"),
        context: text("a kubeconfig context name"),
        cacheTtl: sizeOrText("a duration such as 10s, or 0 to keep no answers"),
        impersonation: Type.Boolean({ allowed: "true or false" }),
      },
    ),
    tls: section({ cert: text("a PEM file path"), key: text("a PEM file path"), clientCa: text("a PEM file path") }),
  },
);

/** A problem found in the file, by the dotted path of its key. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** "/retention/rules/0/maxAge" -> "retention.rules[0].maxAge" */
export function dottedPath(pointer: string): string {
  let out = "";
  for (const part of pointer.split("/").slice(1)) {
    const p = part.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(p) ? `[${p}]` : out === "" ? p : `.${p}`;
  }
  return out || "(top level)";
}

function schemaAt(schema: TSchema, pointer: string): TSchema | undefined {
  let s: TSchema | undefined = schema;
  for (const part of pointer.split("/").slice(1)) {
    if (!s) return undefined;
    if (s.type === "object" && s.properties) s = (s.properties as Record<string, TSchema>)[part];
    else if (s.type === "array") s = s.items as TSchema;
    else return undefined;
  }
  return s;
}

const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/** The file's shape problems, at most one per key, each naming the key, the value and what is allowed. */
export function checkShape(doc: unknown): ConfigIssue[] {
  if (doc === null || doc === undefined) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(ConfigFileSchema, doc)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    const path = dottedPath(e.path);
    if (e.message === "Unexpected property") {
      const parent = schemaAt(ConfigFileSchema, e.path.slice(0, e.path.lastIndexOf("/")));
      const known = parent?.properties ? Object.keys(parent.properties as object).join(", ") : "";
      issues.push({ path, message: `unknown key${known ? ` (known keys here: ${known})` : ""}` });
      continue;
    }
    const leaf = schemaAt(ConfigFileSchema, e.path);
    const allowed = (leaf as { allowed?: string } | undefined)?.allowed;
    issues.push({ path, message: `${show(e.value)} is not allowed${allowed ? `: expected ${allowed}` : ` (${e.message})`}` });
  }
  // A wrong parent type also yields errors for its children; keep the outermost.
  return issues.filter((i) => !issues.some((o) => o !== i && i.path.startsWith(o.path) && /^[.[]/.test(i.path.slice(o.path.length))));
}
