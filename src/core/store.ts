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

export interface WriteTx {
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

export interface Store {
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
