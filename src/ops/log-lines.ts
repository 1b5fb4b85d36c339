/**
 * The NDJSON line that carries log bytes in an export, shared by the writer
 * (log-export.ts) and the reader (log-import.ts):
 *
 *   {"log":{"record":"<parent>/results/<result>/records/<id>",
 *           "part":{"idx":0,"label":"step-build","namespace":"ci","pod":"p","container":"step-build",
 *                   "done":true,"note":null,"resume":"…","bytes":5242880},
 *           "offset":0,"data":"<base64 of at most LOG_LINE_BYTES raw bytes>"}}
 *
 * A stored log is one or more parts (an upload, or one container's captured
 * output); each part becomes consecutive lines of at most LOG_LINE_BYTES raw
 * bytes each, `offset` counting from the part's first byte, so a log of any
 * size is written and read one bounded line at a time. Every line carries
 * its part's description: a line is self-describing, and the importer can
 * tell a continuation from the start of another part. `bytes` is the part's
 * whole length, so the importer knows when the part is complete (and an
 * export cut short is noticed). An empty part (a note only) is one line with
 * `"data":""`. Lines, open line and chunk count are derived from the bytes
 * on import, so they are not carried.
 */

/** Raw bytes a log line carries at most (base64: about 1.4 MB of JSON). */
export const LOG_LINE_BYTES = 1 << 20;

/** What the importer needs to rebuild one part of a log, as exported. */
export interface PartMeta {
  idx: number;
  label: string;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  done: boolean;
  note: string | null;
  resume: string | null;
  /** The part's length in raw bytes. */
  bytes: number;
}

export interface LogLine {
  record: string;
  part: PartMeta;
  offset: number;
  data: Uint8Array;
}

/** One line (without newline). Part fields in a fixed order, so an export is byte-stable. */
export function formatLogLine(record: string, p: PartMeta, offset: number, data: Uint8Array): string {
  const part = { idx: p.idx, label: p.label, namespace: p.namespace, pod: p.pod, container: p.container, done: p.done, note: p.note, resume: p.resume, bytes: p.bytes };
  return `{"log":${JSON.stringify({ record, part, offset, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64") })}}`;
}

type Obj = { [k: string]: unknown };
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function optString(o: Obj, k: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new Error(`log.part.${k}: must be a string or null`);
  return v;
}

/**
 * The `log` member of a parsed line, checked; throws naming the field that
 * is wrong. Base64 is checked strictly (Buffer.from would skip bad
 * characters silently and store different bytes).
 */
export function parseLogLine(v: unknown): LogLine {
  if (!isObj(v)) throw new Error('"log" must be an object');
  if (typeof v.record !== "string" || v.record === "") throw new Error("log.record: must be a record name");
  const p = v.part;
  if (!isObj(p)) throw new Error("log.part: must be an object");
  if (!isCount(p.idx)) throw new Error("log.part.idx: must be a non-negative integer");
  if (!isCount(p.bytes)) throw new Error("log.part.bytes: must be a non-negative integer");
  if (p.label !== undefined && typeof p.label !== "string") throw new Error("log.part.label: must be a string");
  if (p.done !== undefined && typeof p.done !== "boolean") throw new Error("log.part.done: must be true or false");
  const part: PartMeta = {
    idx: p.idx,
    label: (p.label as string | undefined) ?? "",
    namespace: optString(p, "namespace"),
    pod: optString(p, "pod"),
    container: optString(p, "container"),
    done: p.done === true,
    note: optString(p, "note"),
    resume: optString(p, "resume"),
    bytes: p.bytes,
  };
  const sourced = [part.namespace, part.pod, part.container].filter((x) => x !== null).length;
  if (sourced !== 0 && sourced !== 3) throw new Error("log.part: namespace, pod and container come together (all or none)");
  if (!isCount(v.offset)) throw new Error("log.offset: must be a non-negative integer");
  if (typeof v.data !== "string") throw new Error("log.data: must be a base64 string");
  if (v.data.length % 4 !== 0 || !BASE64.test(v.data)) throw new Error("log.data: not valid base64");
  const data = new Uint8Array(Buffer.from(v.data, "base64"));
  if (data.byteLength > LOG_LINE_BYTES) throw new Error(`log.data: more than ${LOG_LINE_BYTES} bytes in one line`);
  if (v.offset + data.byteLength > part.bytes) throw new Error(`log.data: bytes ${v.offset}..${v.offset + data.byteLength} run past the part's ${part.bytes}`);
  return { record: v.record, part, offset: v.offset, data };
}

/**
 * Cuts a stream of byte arrays into pieces of exactly `size` bytes (the
 * last one shorter), holding at most one piece plus one input array.
 */
export function* pieces(input: Iterable<Uint8Array>, size: number): Generator<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  for (let chunk of input) {
    while (heldBytes + chunk.byteLength >= size) {
      const take = size - heldBytes;
      held.push(chunk.subarray(0, take));
      yield held.length === 1 ? held[0]! : Buffer.concat(held, size);
      chunk = chunk.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (chunk.byteLength > 0) {
      held.push(chunk);
      heldBytes += chunk.byteLength;
    }
  }
  if (heldBytes > 0) yield held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
}
