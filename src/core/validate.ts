/**
 * Validation of client-supplied content: summaries and record data. Each
 * message names the offending field so a client can tell what to fix.
 */
import { isUtf8 } from "node:buffer";
import { type AppError, invalidArgument } from "./errors.ts";
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

/**
 * Record data that arrived as bytes, checked without building a string: the
 * type, emptiness and UTF-8 here; whether the bytes are one JSON document is
 * checked by the store in the statement that stores them, by the same parse
 * that converts them to JSONB (WriteTx.insertRecord/updateRecord), which
 * halves the parsing of every write. Run types upstream decodes strictly, and
 * Log records, need the document and are decoded and parsed here.
 */
export function validateDataBytes(type: string, bytes: Uint8Array, field = "record.data"): RecordData {
  if (STRICT_RUN_TYPES.has(type) || isLogType(type)) return validateData({ type, value: decodeValue(bytes, `${field}.value`) }, field);
  if (byteLength(type) > MAX_TYPE_BYTES) throw invalidArgument(`${field}.type: type must not exceed ${MAX_TYPE_BYTES} characters`);
  if (bytes.length === 0) throw invalidArgument(`${field}.value: unexpected end of JSON input (empty value)`);
  if (!isUtf8(bytes)) throw invalidArgument(`${field}.value: not valid UTF-8`);
  return bytesData(type, bytes);
}

/** RecordData over UTF-8 bytes; `value` is decoded only if someone reads it. */
export function bytesData(type: string, bytes: Uint8Array): RecordData {
  let text: string | undefined;
  return {
    type,
    raw: bytes,
    get value() {
      return (text ??= utf8.decode(bytes));
    },
  };
}

/** The error for a value the store's strict JSON parser refused, with the reason JSON.parse gives. */
export function invalidJson(text: string, field = "record.data.value"): AppError {
  try {
    JSON.parse(text);
  } catch (e) {
    return invalidArgument(`${field}: not a valid JSON document: ${e instanceof Error ? e.message : "invalid JSON"}`);
  }
  return invalidArgument(`${field}: not a valid JSON document: nested more than 1000 levels deep`);
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
