/**
 * What the core needs from storage. The SQLite adapter in src/store
 * implements it; the core never sees SQL. Writes run as synchronous functions
 * inside `write`, so a read-check-write sequence (etag checks, merges) is
 * atomic; the adapter decides how writes are batched into transactions.
 */
import type { CompiledFilter } from "./filter/compile.ts";
import type { SummaryQuery } from "./summary.ts";
import type { Order, RecordResource, ResultResource } from "./types.ts";

export interface ListQuery {
  /** Exact parent, or null for every parent ("-"). */
  parent: string | null;
  /**
   * Parent globs (SQLite GLOB) the rows must match: set when a caller
   * limited to some parents lists "-", so the restriction is part of the
   * query and pages stay exact. Absent or null: no restriction.
   */
  parents?: readonly string[] | null;
  /** Records only: exact result name, or null for every result ("-"). */
  result?: string | null;
  /** A checked CEL filter, or null for none. */
  filter: CompiledFilter | null;
  /** null: by uid ascending. */
  order: Order | null;
  /** Keyset position: rows strictly after this (value of the order field, uid). */
  after: { value: number | null; uid: string } | null;
  limit: number;
}

export interface WriteTx extends LogWriteTx {
  getResult(parent: string, name: string): ResultResource | null;
  /** Throws already_exists when (parent, name) is taken. */
  insertResult(r: ResultResource): void;
  updateResult(r: ResultResource): void;
  /** Deletes the result and, by cascade, its records. False if absent. */
  deleteResult(parent: string, name: string): boolean;
  getRecord(parent: string, result: string, name: string): RecordResource | null;
  /** The record without its data value (cheaper when the value is being replaced). */
  getRecordHead(parent: string, result: string, name: string): RecordHead | null;
  /** Throws not_found when the result is missing, already_exists when the name is taken. */
  insertRecord(r: RecordResource): void;
  updateRecord(r: RecordResource): void;
  deleteRecord(parent: string, result: string, name: string): boolean;
}

/** A record as stored, minus the (large) data value; `dataType` null when it has no data. */
export type RecordHead = Omit<RecordResource, "data"> & { dataType: string | null };

/**
 * A listed record the caller already holds in exactly this state: `hold`
 * returned `held` for its uid and etag, so the store read nothing more of it
 * (no data). Etags change with every update, so (uid, etag) names one state.
 */
export interface HeldRecord<H> {
  uid: string;
  etag: string;
  held: H;
}

/** Asked for each listed record (uid, etag): what the caller holds for that state, or undefined to have it read. */
export type Hold<H> = (uid: string, etag: string) => H | undefined;

/** A list's rows with each row's value of the order field (null without an order, or NULL). */
export interface Keyed<T> {
  items: T[];
  keys: Array<number | null>;
}

export interface Store extends LogStore {
  /** Whether `text` is one strict RFC 8259 JSON document. */
  isJson(text: string): boolean;
  write<T>(fn: (tx: WriteTx) => T): Promise<T>;
  getResult(parent: string, name: string): Promise<ResultResource | null>;
  getRecord(parent: string, result: string, name: string): Promise<RecordResource | null>;
  listResults(q: ListQuery): Promise<Keyed<ResultResource>>;
  listRecords(q: ListQuery): Promise<Keyed<RecordResource>>;
  /**
   * With `hold`: a record the caller holds comes back as a HeldRecord, its
   * data unread. Called inside the list's read, so what it returns is pinned
   * to the state listed. A store may ignore it (lists run elsewhere may read
   * every row whole).
   */
  listRecords<H>(q: ListQuery, hold: Hold<H>): Promise<Keyed<RecordResource | HeldRecord<H>>>;
  /** Raw aggregates (durations in microseconds, times in Unix seconds), one row per group. */
  summarizeRecords(where: Pick<ListQuery, "parent" | "parents" | "result" | "filter">, s: SummaryQuery): Promise<Array<Record<string, number | string | null>>>;
  /** Secret for signing page tokens; stable for the life of the database. */
  readonly pageTokenKey: Uint8Array;
}

// ---- logs -------------------------------------------------------------------

/**
 * One stream of a log's bytes: an UpdateLog upload, or one container's
 * output captured by the watcher. A log is its parts in `idx` order.
 */
export interface LogPart {
  id: number;
  idx: number;
  /** An upload still arriving: not part of the log until committed. */
  staging: boolean;
  /** Step or sidecar name of a captured container; "" for uploads (rendered verbatim). */
  label: string;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  /** Raw bytes stored. */
  bytes: number;
  /** Newlines stored. */
  lines: number;
  /** The last byte stored is not a newline. */
  openLine: boolean;
  /** Chunks stored (the next chunk's sequence number). */
  chunks: number;
  /** Where the source has got to (opaque to the store), for resuming a capture. */
  resume: string | null;
  /** The source has ended; nothing more will be appended. */
  done: boolean;
  note: string | null;
}

export interface LogPartInput {
  idx: number;
  staging: boolean;
  label: string;
  source?: { namespace: string; pod: string; container: string };
}

/** Bytes to add at the end of a part, with the new resume position (captures). */
export interface LogAppend {
  part: number;
  data: Uint8Array;
  resume?: string | null;
  done?: boolean;
  note?: string | null;
}

/** Log operations inside a write job (atomic with the record writes of the same job). */
export interface LogWriteTx {
  /** Every part of the record's log, staging ones included, in idx order. */
  logParts(recordUid: string): LogPart[];
  /** Throws not_found when the record is gone. */
  insertLogPart(recordUid: string, p: LogPartInput): LogPart;
  /** Makes a staged upload part of the log. */
  commitLogPart(id: number): void;
  deleteLogPart(id: number): void;
  setLogPartState(id: number, s: { done?: boolean; note?: string | null; resume?: string | null }): void;
}

export interface LogStore {
  /** Compresses and appends one chunk; throws not_found when the part (or its record) is gone. */
  appendLog(a: LogAppend): Promise<LogPart>;
  /** Committed parts of a record's log, in idx order. */
  logParts(recordUid: string): Promise<LogPart[]>;
  /** One chunk's bytes, decompressed; null when it is gone (deleted meanwhile). */
  readLogChunk(part: number, seq: number): Uint8Array | null;
  /** Captured parts of a pod's container, newest first, with their Log record's uid. */
  /** Newest first; `recordParent`: the parent of the Log record holding the part (what access is checked against). */
  findLogPartsBySource(namespace: string, pod: string, container: string): Promise<Array<LogPart & { recordUid: string; recordParent: string }>>;
  /** The Log records (v1alpha3) of one Result whose spec.resource.uid is `runUid`, or all of them when null. */
  logRecordsOfResult(parent: string, result: string, runUid: string | null): Promise<RecordResource[]>;
}
