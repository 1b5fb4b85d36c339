/**
 * Validation of client-supplied content: summaries and record data. Each
 * message names the offending field so a client can tell what to fix.
 */
import { invalidArgument } from "./errors.ts";
import { RECORD_NAME_PATTERN, isRecordName } from "./names.ts";
import { normalizeLogRecord, isLogType } from "./log-record.ts";
import type { RecordData, RecordSummary } from "./types.ts";

/** Upstream's limit on type strings; counted in UTF-8 bytes as Go's len() does. */
export const MAX_TYPE_BYTES = 768;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

function byteLength(s: string): number {
  return s.length * 3 <= MAX_TYPE_BYTES ? s.length : encoder.encode(s).length;
}

export function validateSummary(s: RecordSummary, field = "result.summary"): void {
  if (s.record === "" || s.type === "") {
    throw invalidArgument(`${field}: record and type fields required for RecordSummary`);
  }
  if (!isRecordName(s.record)) {
    throw invalidArgument(`${field}.record: invalid record format: must match ${RECORD_NAME_PATTERN}`);
  }
  if (byteLength(s.type) > MAX_TYPE_BYTES) {
    throw invalidArgument(`${field}.type: type must not exceed ${MAX_TYPE_BYTES} characters`);
  }
}

/** Decodes a data.value into JSON text, rejecting invalid UTF-8. */
export function decodeValue(value: Uint8Array, field = "record.data.value"): string {
  if (value.length === 0) throw invalidArgument(`${field}: unexpected end of JSON input (empty value)`);
  try {
    return utf8.decode(value);
  } catch {
    throw invalidArgument(`${field}: not valid UTF-8`);
  }
}

/** Types upstream decodes strictly into Tekton structs. */
const STRICT_RUN_TYPES = new Set(["pipeline.tekton.dev/TaskRun", "pipeline.tekton.dev/PipelineRun"]);

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : "invalid JSON";
    throw invalidArgument(`${field}: not a valid JSON document: ${why}`);
  }
}

function isObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkRunShape(v: unknown, field: string): void {
  if (!isObject(v)) throw invalidArgument(`${field}: a run must be a JSON object`);
  for (const k of ["apiVersion", "kind"] as const) {
    if (k in v && typeof v[k] !== "string") throw invalidArgument(`${field}.${k}: must be a string`);
  }
  for (const k of ["metadata", "spec", "status"] as const) {
    if (k in v && v[k] !== null && !isObject(v[k])) throw invalidArgument(`${field}.${k}: must be an object`);
  }
}

/** Tells whether a text is one RFC 8259 JSON document (the store has a fast one). */
export type JsonCheck = (text: string) => boolean;

export const parseCheck: JsonCheck = (text) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/**
 * Validates record data and returns what is to be stored: the same text, or
 * for Log records the normalised document upstream stores. Only the types
 * that need the decoded document are parsed here; the rest are only checked,
 * which for 12 KB runs is much cheaper than building the object.
 */
export function validateData(data: RecordData, field = "record.data", isJson: JsonCheck = parseCheck): RecordData {
  if (byteLength(data.type) > MAX_TYPE_BYTES) {
    throw invalidArgument(`${field}.type: type must not exceed ${MAX_TYPE_BYTES} characters`);
  }
  if (data.value === "") throw invalidArgument(`${field}.value: unexpected end of JSON input (empty value)`);
  const strict = STRICT_RUN_TYPES.has(data.type);
  if (!strict && !isLogType(data.type)) {
    if (!isJson(data.value)) parseJson(data.value, `${field}.value`); // throws with the parser's reason
    return data;
  }
  const doc = parseJson(data.value, `${field}.value`);
  if (strict) checkRunShape(doc, `${field}.value`);
  if (isLogType(data.type)) return { type: data.type, value: normalizeLogRecord(doc, `${field}.value`) };
  return data;
}
