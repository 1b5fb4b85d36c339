/**
 * What each filter identifier is in SQL, per table. Identifiers map to
 * columns; `data`, `annotations` and `summary.annotations` are JSON
 * documents; JSON paths that have a generated, indexed column are read from
 * it (SQLite does not rewrite `data ->> '$.x'` into the matching column by
 * itself). Column names here are fixed text, never user input.
 */

export type ColumnKind = "string" | "int" | "timestamp";

export interface ScalarColumn {
  kind: ColumnKind;
  sql: string;
  /** The value CEL sees when the column is NULL (a result without summary). */
  def?: unknown;
  defSql?: string;
}

export interface SummaryScalar extends ScalarColumn {
  /** has(summary.<field>): proto3 presence (non-default value). */
  presence: string;
}

export interface SummaryJson {
  json: string;
  presence: string;
}

export interface GeneratedColumn {
  /** Equal to `data ->> path`. */
  text?: string;
  /** Equal to the path's value parsed as a timestamp, in microseconds. */
  time?: string;
}

export interface TableSpec {
  table: "results" | "records";
  scalars: Record<string, ScalarColumn>;
  json: Record<string, string>;
  summary?: Record<string, SummaryScalar | SummaryJson>;
  generated?: Map<string, GeneratedColumn>;
}

/** The JSON path step for an object key: `"key"` quoted and escaped. */
export function jsonKeyPath(key: string): string {
  return JSON.stringify(key);
}

export function jsonPath(...keys: Array<string | number>): string {
  return "$" + keys.map((k) => (typeof k === "number" ? `[${k}]` : `.${jsonKeyPath(k)}`)).join("");
}

/**
 * Generated columns of `records` (migration 0002) by the JSON path they hold.
 * The path text must be what the translator builds for the same CEL path.
 */
export const RECORD_GENERATED: ReadonlyMap<string, GeneratedColumn> = new Map<string, GeneratedColumn>([
  [jsonPath("metadata", "namespace"), { text: "records.g_namespace" }],
  [jsonPath("metadata", "name"), { text: "records.g_name" }],
  [jsonPath("metadata", "uid"), { text: "records.g_uid" }],
  [jsonPath("metadata", "labels", "tekton.dev/pipeline"), { text: "records.g_pipeline" }],
  [jsonPath("metadata", "labels", "tekton.dev/task"), { text: "records.g_task" }],
  [jsonPath("status", "conditions", 0, "reason"), { text: "records.g_reason" }],
  [jsonPath("status", "startTime"), { time: "records.g_start_time" }],
  [jsonPath("status", "completionTime"), { time: "records.g_completion_time" }],
]);

const RESULTS: TableSpec = {
  table: "results",
  scalars: {
    parent: { kind: "string", sql: "results.parent" },
    uid: { kind: "string", sql: "results.uid" },
    create_time: { kind: "timestamp", sql: "results.create_time" },
    update_time: { kind: "timestamp", sql: "results.update_time" },
  },
  json: { annotations: "coalesce(results.annotations, '{}')" },
  summary: {
    // An absent summary reads as record "", type "", status 0 and no
    // annotations (what upstream stores); its times are absent (NULL
    // upstream), so comparing them is an error, i.e. not a match.
    record: { kind: "string", sql: "results.summary_record", def: "", defSql: "''", presence: "1" },
    type: { kind: "string", sql: "results.summary_type", def: "", defSql: "''", presence: "1" },
    start_time: { kind: "timestamp", sql: "results.summary_start_time", presence: "(results.summary_start_time IS NOT NULL)" },
    end_time: { kind: "timestamp", sql: "results.summary_end_time", presence: "(results.summary_end_time IS NOT NULL)" },
    status: { kind: "int", sql: "results.summary_status", def: 0, defSql: "0", presence: "1" },
    annotations: { json: "coalesce(results.summary_annotations, '{}')", presence: "1" },
  },
};

const RECORDS: TableSpec = {
  table: "records",
  scalars: {
    parent: { kind: "string", sql: "records.parent" },
    result_name: { kind: "string", sql: "records.result_name" },
    name: { kind: "string", sql: "records.name" },
    uid: { kind: "string", sql: "records.uid" },
    data_type: { kind: "string", sql: "records.type", def: "", defSql: "''" },
    create_time: { kind: "timestamp", sql: "records.create_time" },
    update_time: { kind: "timestamp", sql: "records.update_time" },
  },
  json: { data: "records.data" },
  generated: RECORD_GENERATED as Map<string, GeneratedColumn>,
};

/** ListLogs: records, with `name` the full record name (upstream's ListLogs environment). */
const LOGS: TableSpec = {
  ...RECORDS,
  scalars: {
    ...RECORDS.scalars,
    name: { kind: "string", sql: "(records.parent || '/results/' || records.result_name || '/records/' || records.name)" },
  },
};

export function tableSpec(target: "results" | "records" | "logs"): TableSpec {
  return target === "results" ? RESULTS : target === "logs" ? LOGS : RECORDS;
}

/** Longest string value (in characters) the key/value side tables hold (migration 0003). */
export const KV_MAX_VALUE_CHARS = 256;
const KV_MAX_KEY_CHARS = 320;

export interface KvMember {
  table: "record_kv" | "result_kv";
  /** record_kv: 0 labels (annotations were kind 1 until migration 0005). */
  kind: 0;
  key: string;
}

/**
 * Whether `<doc at parentPath>[key]` is copied into a side table: a record's
 * data.metadata.labels, or a result's annotations. Keys longer than the
 * tables keep are not. Record annotations are not (migration 0005 says why):
 * a filter on them reads the JSON.
 */
export function kvMember(spec: TableSpec, doc: string, parentPath: string, key: string): KvMember | undefined {
  if ([...key].length > KV_MAX_KEY_CHARS) return undefined;
  if (spec.table === "records" && doc === RECORDS.json.data) {
    if (parentPath === LABELS_PATH) return { table: "record_kv", kind: 0, key };
  }
  if (spec.table === "results" && doc === RESULTS.json.annotations && parentPath === "$") return { table: "result_kv", kind: 0, key };
  return undefined;
}

const LABELS_PATH = jsonPath("metadata", "labels");
