/**
 * The SQLite implementation of the core's Store. One connection does all
 * writes through the group-committing Writer, and point reads (GetResult,
 * GetRecord: one index probe) and unfiltered lists (an index walk that stops
 * after a page) on the main thread. Filtered lists and summaries, which can
 * scan, run through `Readers` (reader threads, see readers.ts).
 */
import type { Database, Statement } from "bun:sqlite";
import { notFound } from "../core/errors.ts";
import { formatRecordName, formatResultName } from "../core/names.ts";
import { invalidJson } from "../core/validate.ts";
import type { HeldRecord, Hold, Keyed, ListQuery, LogAppend, LogPart, Store, WriteTx } from "../core/store.ts";
import type { RecordResource, ResultResource } from "../core/types.ts";
import { mapSqliteError } from "./errors.ts";
import { buildListQueries, orderColumn } from "./list-sql.ts";
import { buildSummaryQuery } from "./summary-sql.ts";
import type { SummaryQuery } from "../core/summary.ts";
import {
  RECORD_COLUMNS,
  RESULT_COLUMNS,
  resultParams,
  toRecord,
  toResult,
  type RecordRow,
  type ResultRow,
} from "./rows.ts";
import { Writer } from "./writer.ts";
import { compressChunk, countNewlines, LogSql } from "./log-sql.ts";
import type { Segment } from "./read-job.ts";
import { InlineReaders, type Readers } from "./readers.ts";
import type { TranslateOptions } from "./filter/translate.ts";
import type { KvMember } from "./filter/columns.ts";

type Params = Record<string, string | number | Uint8Array | null>;

/** Whole records by rid, the rids bound as one JSON array. */
const FETCH_BY_RIDS = `SELECT rid, ${RECORD_COLUMNS} FROM records WHERE rid IN (SELECT value FROM json_each(?))`;

export class SqliteStore implements Store {
  readonly pageTokenKey: Uint8Array;
  private readonly writer: Writer;
  private readonly tx: WriteTx;
  private readonly logs: LogSql;
  private readonly s: {
    getResult: Statement<ResultRow, [string, string]>;
    insertResult: Statement<unknown, [Params]>;
    updateResult: Statement<unknown, [Params]>;
    deleteResult: Statement<unknown, [string, string]>;
    getRecord: Statement<RecordRow, [string, string, string]>;
    recordHead: Statement<Omit<RecordRow, "data">, [string, string, string]>;
    isJson: Statement<{ ok: number }, [string]>;
    insertRecord: Statement<unknown, [Params]>;
    updateRecord: Statement<unknown, [Params]>;
    deleteRecord: Statement<unknown, [string, string, string]>;
  };

  private readonly readers: Readers;
  private readonly inline: InlineReaders;
  private readonly translateOptions: TranslateOptions;

  /**
   * `readers`: where lists and summaries run; by default inline on `db`.
   * `denseRows`: the match count above which a label or prefix test stops
   * driving the query (DENSE_KV_ROWS; smaller in tests).
   */
  constructor(
    private readonly db: Database,
    readers?: Readers,
    denseRows = DENSE_KV_ROWS,
  ) {
    this.inline = new InlineReaders(db);
    this.readers = readers ?? this.inline;
    this.translateOptions = { denseKv: remembered(denseKvProbe(db, denseRows)), denseRange: remembered(denseRangeProbe(db, denseRows)) };
    const key = db.query<{ value: Uint8Array }, []>("SELECT value FROM meta WHERE key = 'page_token_key'").get();
    if (!key) throw new Error("database is missing its page token key (meta table)");
    this.pageTokenKey = new Uint8Array(key.value);
    this.writer = new Writer(db);
    this.s = {
      getResult: db.prepare(`SELECT ${RESULT_COLUMNS} FROM results WHERE parent = ? AND name = ?`),
      insertResult: db.prepare(
        `INSERT INTO results (uid, parent, name, create_time, update_time, etag, annotations, summary_record,
           summary_type, summary_start_time, summary_end_time, summary_status, summary_annotations)
         VALUES ($uid, $parent, $name, $create_time, $update_time, $etag, $annotations, $summary_record,
           $summary_type, $summary_start_time, $summary_end_time, $summary_status, $summary_annotations)`,
      ),
      updateResult: db.prepare(
        `UPDATE results SET update_time = $update_time, etag = $etag, annotations = $annotations,
           summary_record = $summary_record, summary_type = $summary_type, summary_start_time = $summary_start_time,
           summary_end_time = $summary_end_time, summary_status = $summary_status,
           summary_annotations = $summary_annotations
         WHERE uid = $uid`,
      ),
      deleteResult: db.prepare("DELETE FROM results WHERE parent = ? AND name = ?"),
      getRecord: db.prepare(`SELECT ${RECORD_COLUMNS} FROM records WHERE parent = ? AND result_name = ? AND name = ?`),
      recordHead: db.prepare(
        "SELECT uid, parent, result_name, name, create_time, update_time, etag, type FROM records WHERE parent = ? AND result_name = ? AND name = ?",
      ),
      isJson: db.prepare("SELECT json_valid(?, 1) AS ok"),
      // $data is JSON text, or its UTF-8 bytes as a blob (CAST reads them as
      // text). json_valid(…, 1) is the strict RFC 8259 check; it and jsonb()
      // share one parse through SQLite's JSON cache, so the service need not
      // check the document first. A refused document changes no row.
      insertRecord: db.prepare(
        `INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data)
         SELECT $uid, rid, $parent, $result_name, $name, $create_time, $update_time, $etag, $type, jsonb(CAST($data AS TEXT))
         FROM results WHERE parent = $parent AND name = $result_name AND ($data IS NULL OR json_valid(CAST($data AS TEXT), 1))`,
      ),
      updateRecord: db.prepare(
        `UPDATE records SET update_time = $update_time, etag = $etag, type = $type, data = jsonb(CAST($data AS TEXT))
         WHERE uid = $uid AND ($data IS NULL OR json_valid(CAST($data AS TEXT), 1))`,
      ),
      deleteRecord: db.prepare("DELETE FROM records WHERE parent = ? AND result_name = ? AND name = ?"),
    };
    this.logs = new LogSql(db);
    this.tx = this.makeTx();
  }

  private makeTx(): WriteTx {
    const s = this.s;
    return {
      getResult: (parent, name) => {
        const row = s.getResult.get(parent, name);
        return row ? toResult(row) : null;
      },
      insertResult: (r) => {
        try {
          s.insertResult.run(resultParams(r));
        } catch (e) {
          throw mapSqliteError(e, `result ${formatResultName(r.parent, r.name)}`);
        }
      },
      updateResult: (r) => {
        s.updateResult.run(resultParams(r));
      },
      deleteResult: (parent, name) => s.deleteResult.run(parent, name).changes > 0,
      getRecord: (parent, result, name) => {
        const row = s.getRecord.get(parent, result, name);
        return row ? toRecord(row) : null;
      },
      getRecordHead: (parent, result, name) => {
        const row = s.recordHead.get(parent, result, name);
        if (!row) return null;
        const { data: _none, ...head } = toRecord({ ...row, data: null });
        return { ...head, dataType: row.type };
      },
      insertRecord: (r) => {
        const what = `record ${formatRecordName(r.parent, r.resultName, r.name)}`;
        let changes: number;
        try {
          changes = s.insertRecord.run(recordParams(r)).changes;
        } catch (e) {
          throw mapSqliteError(e, what);
        }
        if (changes === 0) {
          if (r.data && !this.isJson(r.data.value)) throw invalidJson(r.data.value);
          throw notFound(`result ${formatResultName(r.parent, r.resultName)} not found`);
        }
      },
      updateRecord: (r) => {
        let changes: number;
        try {
          changes = s.updateRecord.run(recordParams(r)).changes;
        } catch (e) {
          throw mapSqliteError(e, `record ${formatRecordName(r.parent, r.resultName, r.name)}`);
        }
        // The record was read in this transaction, so only the JSON check can have refused it.
        if (changes === 0 && r.data) throw invalidJson(r.data.value);
      },
      deleteRecord: (parent, result, name) => s.deleteRecord.run(parent, result, name).changes > 0,
      logParts: (uid) => this.logs.logParts(uid),
      insertLogPart: (uid, p) => this.logs.insertLogPart(uid, p),
      commitLogPart: (id) => this.logs.commitLogPart(id),
      deleteLogPart: (id) => this.logs.deleteLogPart(id),
      setLogPartState: (id, st) => this.logs.setLogPartState(id, st),
    };
  }

  // ---- logs ------------------------------------------------------------------

  /**
   * Compression runs before the write job, on Bun's thread pool, so neither
   * the main thread nor the write lock waits for it.
   */
  async appendLog(a: LogAppend): Promise<LogPart> {
    const data = a.data;
    const compressed = data.byteLength > 0 ? await compressChunk(data) : null;
    const lines = data.byteLength > 0 ? countNewlines(data) : 0;
    const openLine = data.byteLength > 0 && data[data.byteLength - 1] !== 10;
    return await this.writer.submit(() => this.logs.append(a, compressed, lines, openLine));
  }

  async logParts(recordUid: string): Promise<LogPart[]> {
    return this.logs.committedParts(recordUid);
  }

  readLogChunk(part: number, seq: number): Uint8Array | null {
    return this.logs.readChunk(part, seq);
  }

  async findLogPartsBySource(namespace: string, pod: string, container: string) {
    return this.logs.bySource(namespace, pod, container);
  }

  async logRecordsOfResult(parent: string, result: string, runUid: string | null): Promise<RecordResource[]> {
    return this.logs.logRecords(parent, result, runUid);
  }

  isJson(text: string): boolean {
    return this.s.isJson.get(text)?.ok === 1;
  }

  /**
   * Every parent that holds a Result (records and logs live under their
   * Result's parent), in order. One index probe per parent (a loose index
   * scan of results_by_name), not a walk of every row: auth mode
   * kubernetes asks for them on each "-" list of a user without
   * cluster-wide permission.
   */
  async parents(): Promise<string[]> {
    return this.db
      .query<{ parent: string }, []>(
        `WITH RECURSIVE p(parent) AS (
           SELECT min(parent) FROM results
           UNION ALL
           SELECT (SELECT min(parent) FROM results WHERE parent > p.parent) FROM p WHERE p.parent IS NOT NULL
         )
         SELECT parent FROM p WHERE parent IS NOT NULL`,
      )
      .all()
      .map((r) => r.parent);
  }

  write<T>(fn: (tx: WriteTx) => T): Promise<T> {
    return this.writer.submit(() => fn(this.tx));
  }

  async getResult(parent: string, name: string): Promise<ResultResource | null> {
    return this.tx.getResult(parent, name);
  }

  async getRecord(parent: string, result: string, name: string): Promise<RecordResource | null> {
    return this.tx.getRecord(parent, result, name);
  }

  async listResults(q: ListQuery): Promise<Keyed<ResultResource>> {
    const rows = (await this.runList("results", RESULT_COLUMNS, q, "rows")) as Array<ResultRow & { sort_key?: number | null }>;
    return { items: rows.map(toResult), keys: rows.map((r) => r.sort_key ?? null) };
  }

  /**
   * Keys first: the ordered, limited scan selects only rowids, then each row
   * is fetched by rowid. A sort never drags 12 KB documents through the sorter.
   *
   * With `hold`, an unfiltered list (run inline) also selects uid and etag
   * and skips the fetch of every record the caller holds in that state: a
   * page the caller has seen reads no document at all. A filtered list runs
   * on a reader thread, where `hold` cannot go, and returns whole rows.
   */
  listRecords(q: ListQuery): Promise<Keyed<RecordResource>>;
  listRecords<H>(q: ListQuery, hold: Hold<H>): Promise<Keyed<RecordResource | HeldRecord<H>>>;
  async listRecords<H>(q: ListQuery, hold?: Hold<H>): Promise<Keyed<RecordResource | HeldRecord<H>>> {
    if (hold !== undefined && q.filter) {
      const held = await this.listFilteredHeld(q, hold);
      if (held) return held;
    }
    const inline = hold !== undefined && !q.filter;
    const columns = inline ? "records.rid, records.uid, records.etag" : "records.rid";
    const rows = (await this.runList("records", columns, q, "records", inline ? hold : undefined)) as Array<
      (RecordRow | HeldRecord<H>) & { sort_key: number | null }
    >;
    return {
      items: rows.map((r) => ("held" in r ? { uid: r.uid, etag: r.etag, held: r.held } : toRecord(r))),
      keys: rows.map((r) => r.sort_key),
    };
  }

  /**
   * A filtered list for a caller that holds records (the encoded-record
   * cache): the reader thread returns the page's keys (rid, uid, etag) only,
   * and only the records the caller does not hold in that state are then
   * fetched whole, in a second job. A dashboard polling the same filtered
   * list reads no documents at all, and no 600 KB of rows crosses from the
   * reader thread. The two jobs are two snapshots: a record updated or
   * deleted in between (its etag no longer the listed one) makes this give
   * up (null) and the caller run the single-snapshot list instead.
   */
  private async listFilteredHeld<H>(q: ListQuery, hold: Hold<H>): Promise<Keyed<RecordResource | HeldRecord<H>> | null> {
    const keys = (await this.runList("records", "records.rid, records.uid, records.etag", q, "rows")) as Array<{
      rid: number;
      uid: string;
      etag: string;
      sort_key?: number | null;
    }>;
    const items: Array<RecordResource | HeldRecord<H> | null> = [];
    const missing: number[] = [];
    for (const k of keys) {
      const held = hold(k.uid, k.etag);
      if (held !== undefined) items.push({ uid: k.uid, etag: k.etag, held });
      else {
        items.push(null);
        missing.push(k.rid);
      }
    }
    if (missing.length > 0) {
      let rows: Array<RecordRow & { rid: number }>;
      try {
        rows = (await this.readers.run({ kind: "rows", segments: [{ sql: FETCH_BY_RIDS, values: [JSON.stringify(missing)] }], limit: -1 })) as typeof rows;
      } catch (e) {
        throw mapSqliteError(e, "listing records");
      }
      const byRid = new Map(rows.map((r) => [r.rid, r]));
      for (let i = 0; i < keys.length; i++) {
        if (items[i] !== null) continue;
        const row = byRid.get(keys[i]!.rid);
        if (row === undefined || row.etag !== keys[i]!.etag) return null;
        items[i] = toRecord(row);
      }
    }
    return { items: items as Array<RecordResource | HeldRecord<H>>, keys: keys.map((k) => k.sort_key ?? null) };
  }

  async summarizeRecords(where: Pick<ListQuery, "parent" | "parents" | "result" | "filter">, q: SummaryQuery): Promise<Array<Record<string, number | string | null>>> {
    const { sql, params } = buildSummaryQuery(where, q, this.translateOptions);
    try {
      return (await this.readers.run({ kind: "rows", segments: [{ sql, values: params.values }], limit: -1 })) as Array<
        Record<string, number | string | null>
      >;
    } catch (e) {
      throw mapSqliteError(e, "summarizing records");
    }
  }

  /** A page's query segments, run in turn until the page is full. */
  private async runList(table: "results" | "records", columns: string, q: ListQuery, kind: "rows" | "records", hold?: Hold<unknown>): Promise<unknown[]> {
    const select = q.order ? `${columns}, ${orderColumn(table, q.order.field)} AS sort_key` : columns;
    const segments: Segment[] = buildListQueries(table, select, q, this.translateOptions).map(({ sql, params }) => ({ sql, values: params.values }));
    // Without a filter a page is an index walk that stops after `limit` rows:
    // bounded work, cheaper here than the copy of ~600 KB of rows from a
    // reader thread. A filter can scan, so it goes to a reader.
    try {
      if (q.filter) return await this.readers.run({ kind, segments, limit: q.limit });
      return await this.inline.run({ kind, segments, limit: q.limit }, hold);
    } catch (e) {
      throw mapSqliteError(e, `listing ${table}`);
    }
  }

  /** Finishes queued writes; the caller closes the readers and the database afterwards. */
  close(): void {
    this.writer.close();
  }
}

function recordParams(r: RecordResource): Params {
  return {
    uid: r.uid,
    parent: r.parent,
    result_name: r.resultName,
    name: r.name,
    create_time: r.createTime,
    update_time: r.updateTime,
    etag: r.etag,
    type: r.data?.type ?? null,
    data: r.data ? (r.data.raw ?? r.data.value) : null,
  };
}

/**
 * The most matching rows a label/annotation equality collects and sorts;
 * above it the list walks its own order and checks each row. Counting stops
 * at the threshold, so the probe costs at most one short index range.
 */
export const DENSE_KV_ROWS = 10_000;

/**
 * Where the two plans cost the same, for a table of `rows` rows and M
 * matches: collecting costs about `perMatch` per match (M of them), walking
 * about `perWalked` per row walked (51·rows/M of them for a page, matches
 * spread evenly), so M² = 51·rows·perWalked/perMatch. Measured on 12 KB runs:
 * a label match costs ~4 µs to collect (a row read for the sort key) and
 * ~0.6 µs to walk past (one side-table probe); a prefix match ~0.4 µs to
 * collect (index only) and ~10 µs to walk past (the JSON is read), or ~1.5
 * µs for a name (one seek in records_uid_name).
 */
function crossover(rows: number, walkedPerMatch: number, cap: number): number {
  return Math.min(cap, Math.max(256, Math.round(Math.sqrt(51 * rows * walkedPerMatch))));
}

/** How long a density probe's answer is reused. */
const PROBE_TTL_MS = 10_000;
const PROBE_MEMO_ENTRIES = 1024;

/**
 * A density probe counts up to thousands of index entries on the main
 * thread (0.2-1.7 ms at 1M records), and a dashboard asks the same filter
 * again every few seconds. The answer only picks between two correct plans
 * and moves as the table grows by thousands of rows, so it is reused for a
 * few seconds.
 */
export function remembered<A extends unknown[]>(probe: (...args: A) => boolean, ttlMs = PROBE_TTL_MS, now: () => number = () => performance.now()): (...args: A) => boolean {
  const seen = new Map<string, { at: number; dense: boolean }>();
  return (...args) => {
    const key = JSON.stringify(args);
    const hit = seen.get(key);
    const t = now();
    if (hit !== undefined && t - hit.at < ttlMs) return hit.dense;
    const dense = probe(...args);
    if (seen.size >= PROBE_MEMO_ENTRIES) seen.clear();
    seen.set(key, { at: t, dense });
    return dense;
  };
}

function denseKvProbe(db: Database, cap: number): (kv: KvMember, values: string[]) => boolean {
  const rec = db.prepare<{ n: number }, [number, string, string, number]>(
    "SELECT count(*) AS n FROM (SELECT 1 FROM record_kv WHERE kind = ? AND key = ? AND value = ? LIMIT ?)",
  );
  const res = db.prepare<{ n: number }, [string, string, number]>("SELECT count(*) AS n FROM (SELECT 1 FROM result_kv WHERE key = ? AND value = ? LIMIT ?)");
  const size = {
    record_kv: db.prepare<{ n: number | null }, []>("SELECT max(rid) AS n FROM records"),
    result_kv: db.prepare<{ n: number | null }, []>("SELECT max(rid) AS n FROM results"),
  };
  return (kv, values) => {
    const limit = crossover(size[kv.table].get()?.n ?? 0, 0.6 / 4, cap);
    let n = 0;
    for (const v of values) {
      n += (kv.table === "record_kv" ? rec.get(kv.kind, kv.key, v, limit) : res.get(kv.key, v, limit))?.n ?? 0;
      if (n >= limit) return true;
    }
    return false;
  };
}

function denseRangeProbe(db: Database, cap: number): (column: string, lo: string, hi: string | null) => boolean {
  const stmts = new Map<string, Statement<{ n: number }, SqlValueTuple>>();
  const size = db.prepare<{ n: number | null }, []>("SELECT max(rid) AS n FROM records");
  return (column, lo, hi) => {
    // Column names come from columns.ts, never from a request; checked anyway.
    if (!/^records\.g_[a-z_]+$/.test(column)) return false;
    // Walking past a row costs one records_uid_name seek for the name, the document's JSON for the rest.
    const limit = crossover(size.get()?.n ?? 0, column === "records.g_name" ? 1.5 / 0.4 : 10 / 0.4, 5 * cap);
    const key = `${column}:${hi === null}`;
    let st = stmts.get(key);
    if (!st) {
      const range = hi === null ? `${column} >= ?1` : `${column} >= ?1 AND ${column} < ?2`;
      st = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM records WHERE ${range} LIMIT ?3)`);
      stmts.set(key, st);
    }
    return ((hi === null ? st.get(lo, null, limit) : st.get(lo, hi, limit))?.n ?? 0) >= limit;
  };
}

type SqlValueTuple = [string, string | null, number];
