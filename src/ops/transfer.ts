/**
 * Moving results, records and logs between instances: NDJSON, one object a
 * line, `{"result": <Result>}` or `{"record": <Record>}` in upstream's REST
 * JSON (proto field names, RFC 3339 times, `data.value` as base64), so an
 * export reads like a page of upstream's API and the importer of upstream's
 * REST API shares every conversion with the file importer. A record always
 * follows its result, and a Log record's stored bytes follow it as
 * `{"log": …}` lines (log-lines.ts; left out with `logs: false`). uids,
 * times and etags are carried over, so an import into a fresh instance
 * answers exactly as the source did. An export without log lines (an older
 * one) imports as before.
 *
 * Imports are idempotent: a result or record is keyed by its name; one
 * already present is updated only when the imported copy is newer
 * (update_time), so importing the same stream twice changes nothing, and
 * importing a newer export brings an instance up to date. Writes go straight
 * to the tables in short transactions (bound values only); the cascade and
 * the side-table triggers do the rest, as for any write. Logs follow their
 * own rule (log-import.ts): a part of the same length is kept.
 */
import type { Database, Statement } from "bun:sqlite";
import { fromJson, toJsonString } from "@bufbuild/protobuf";
import { micros, recordOut, resultOut } from "../api/convert.ts";
import { isLogType } from "../core/log-record.ts";
import { formatRecordName, parseRecordName, parseResultName } from "../core/names.ts";
import { etagFor } from "../core/etag.ts";
import type { RecordResource, ResultResource } from "../core/types.ts";
import { RecordSchema, ResultSchema, type Record as RecordMsg, type Result } from "../gen/resources_pb.ts";
import { LogExporter } from "./log-export.ts";
import { LogImporter, type LogImportCounts } from "./log-import.ts";
import { parseLogLine } from "./log-lines.ts";
import { RECORD_COLUMNS, RESULT_COLUMNS, resultParams, toRecord, toResult, type RecordRow, type ResultRow } from "../store/rows.ts";

const BATCH = 500;

export interface ExportOptions {
  /** Log lines after each Log record (default true). */
  logs?: boolean;
}

/**
 * Every result, each followed by its records (each Log record by its log's
 * lines), as NDJSON lines (without newlines). Reads in bounded batches; a
 * log is read one chunk at a time.
 */
export function* exportLines(db: Database, opts: ExportOptions = {}): Generator<string> {
  const results = db.prepare<ResultRow & { rid: number }, [number, number]>(`SELECT rid, ${RESULT_COLUMNS} FROM results WHERE rid > ? ORDER BY rid LIMIT ?`);
  const records = db.prepare<RecordRow, [number]>(`SELECT ${RECORD_COLUMNS} FROM records WHERE result_rid = ? ORDER BY uid`);
  const logs = opts.logs === false ? null : new LogExporter(db);
  for (let after = 0; ; ) {
    const page = results.all(after, BATCH);
    if (page.length === 0) return;
    for (const row of page) {
      yield `{"result":${toJsonString(ResultSchema, resultOut(toResult(row)), { useProtoFieldName: true })}}`;
      for (const rec of records.all(row.rid)) {
        yield `{"record":${toJsonString(RecordSchema, recordOut(toRecord(rec)), { useProtoFieldName: true })}}`;
        if (logs && rec.type && isLogType(rec.type)) yield* logs.lines(rec.uid, formatRecordName(rec.parent, rec.result_name, rec.name));
      }
    }
    after = page[page.length - 1]!.rid;
  }
}

/** A line or item that could not be imported, and why. */
export interface ImportProblem {
  where: string;
  message: string;
}

export interface ImportCounts {
  results: { inserted: number; updated: number; unchanged: number };
  records: { inserted: number; updated: number; unchanged: number };
  /** Log parts (see log-import.ts); all zero for an import without logs. */
  logs: LogImportCounts;
  problems: ImportProblem[];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * What a Result and a Record carry alike: uid (or upstream's id), times, and
 * the etag, made by the core's formula when the export lacks one.
 */
function identity(msg: Result | RecordMsg, what: "result" | "record"): { uid: string; created: number; updated: number; etag: string } {
  const created = micros(msg.createTime ?? msg.createdTime, `${what}.create_time`);
  const updated = micros(msg.updateTime ?? msg.updatedTime, `${what}.update_time`) ?? created;
  const uid = msg.uid || msg.id;
  if (!uid) throw new Error(`${what} has no uid`);
  if (created === null || updated === null) throw new Error(`${what} has no create_time`);
  return { uid, created, updated, etag: msg.etag || etagFor(uid, updated) };
}

function resultResource(msg: Result): ResultResource {
  const n = parseResultName(msg.name, "result.name");
  const { uid, created, updated, etag } = identity(msg, "result");
  const s = msg.summary;
  return {
    parent: n.parent,
    name: n.result,
    uid,
    createTime: created,
    updateTime: updated,
    etag,
    annotations: msg.annotations,
    summary: s
      ? {
          record: s.record,
          type: s.type,
          startTime: micros(s.startTime, "summary.start_time"),
          endTime: micros(s.endTime, "summary.end_time"),
          status: s.status,
          annotations: s.annotations,
        }
      : null,
  };
}

function recordResource(msg: RecordMsg): RecordResource {
  const n = parseRecordName(msg.name, "record.name");
  const { uid, created, updated, etag } = identity(msg, "record");
  let data: RecordResource["data"] = null;
  if (msg.data) {
    const text = decoder.decode(msg.data.value);
    JSON.parse(text);
    data = { type: msg.data.type, value: text };
  }
  return { parent: n.parent, resultName: n.result, name: n.record, uid, createTime: created, updateTime: updated, etag, data };
}

export type Item = { result: Result } | { record: RecordMsg };

/** An NDJSON line's object as an Item; throws naming what is wrong. */
export function itemOfJson(o: unknown): Item {
  const x = o as { result?: unknown; record?: unknown };
  if (typeof o !== "object" || o === null || Array.isArray(o) || (x.result === undefined) === (x.record === undefined)) {
    throw new Error('expected an object with either "result" or "record" (or "log")');
  }
  return x.result !== undefined
    ? { result: fromJson(ResultSchema, x.result as never, { ignoreUnknownFields: true }) }
    : { record: fromJson(RecordSchema, x.record as never, { ignoreUnknownFields: true }) };
}

/** Writes results and records into `db`; one instance per import, used in batches. */
export class Importer {
  readonly counts: ImportCounts;
  readonly logs: LogImporter;
  private readonly s: Record<"findResult" | "insertResult" | "updateResult" | "findRecord" | "insertRecord" | "updateRecord", Statement>;

  constructor(private readonly db: Database) {
    this.logs = new LogImporter(db);
    this.counts = {
      results: { inserted: 0, updated: 0, unchanged: 0 },
      records: { inserted: 0, updated: 0, unchanged: 0 },
      logs: this.logs.counts,
      problems: [],
    };
    this.s = {
      findResult: db.prepare("SELECT rid, update_time FROM results WHERE parent = ? AND name = ?"),
      insertResult: db.prepare(
        `INSERT INTO results (${RESULT_COLUMNS}) VALUES ($uid, $parent, $name, $create_time, $update_time, $etag, $annotations, $summary_record, $summary_type, $summary_start_time, $summary_end_time, $summary_status, $summary_annotations)`,
      ),
      updateResult: db.prepare(
        `UPDATE results SET update_time = $update_time, etag = $etag, annotations = $annotations, summary_record = $summary_record, summary_type = $summary_type,
           summary_start_time = $summary_start_time, summary_end_time = $summary_end_time, summary_status = $summary_status, summary_annotations = $summary_annotations
         WHERE parent = $parent AND name = $name`,
      ),
      findRecord: db.prepare("SELECT rid, update_time FROM records WHERE parent = ? AND result_name = ? AND name = ?"),
      insertRecord: db.prepare(
        `INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data)
         VALUES ($uid, $result_rid, $parent, $result_name, $name, $create_time, $update_time, $etag, $type, jsonb($data))`,
      ),
      updateRecord: db.prepare(
        `UPDATE records SET update_time = $update_time, etag = $etag, type = $type, data = jsonb($data) WHERE parent = $parent AND result_name = $result_name AND name = $name`,
      ),
    };
  }

  problem(where: string, e: unknown): void {
    if (this.counts.problems.length < 1000) this.counts.problems.push({ where, message: (e as Error).message });
  }

  /**
   * One `{"log": …}` line's object: imported at once in its own short
   * transaction (its Log record is already committed: the caller flushes
   * its batch first). A problem is reported with `where`.
   */
  logLine(log: unknown, where: string): void {
    const report = (cut: ImportProblem) => this.problem(cut.where, new Error(cut.message));
    try {
      this.logs.line(parseLogLine(log), where, report);
    } catch (e) {
      this.problem(where, e);
      this.logs.abandon(report);
    }
  }

  /** Ends a log part left incomplete (before a result or record line, or at the end). */
  endLog(): void {
    const cut = this.logs.interrupt();
    if (cut) this.problem(cut.where, new Error(cut.message));
  }

  /** Imports one item, inside the caller's transaction. */
  private one(item: Item): void {
    if ("result" in item) {
      const r = resultResource(item.result);
      const found = this.s.findResult.get(r.parent, r.name) as { rid: number; update_time: number } | null;
      const p = Object.fromEntries(Object.entries(resultParams(r)).map(([k, v]) => [`$${k}`, v]));
      if (!found) {
        this.s.insertResult.run(p as never);
        this.counts.results.inserted++;
      } else if (r.updateTime > found.update_time) {
        this.s.updateResult.run(p as never);
        this.counts.results.updated++;
      } else this.counts.results.unchanged++;
      return;
    }
    const r = recordResource(item.record);
    const result = this.s.findResult.get(r.parent, r.resultName) as { rid: number } | null;
    if (!result) throw new Error(`its result ${r.parent}/results/${r.resultName} is not in the database (records must follow their result)`);
    const found = this.s.findRecord.get(r.parent, r.resultName, r.name) as { rid: number; update_time: number } | null;
    const p = {
      $uid: r.uid,
      $result_rid: result.rid,
      $parent: r.parent,
      $result_name: r.resultName,
      $name: r.name,
      $create_time: r.createTime,
      $update_time: r.updateTime,
      $etag: r.etag,
      $type: r.data?.type ?? null,
      $data: r.data?.value ?? null,
    };
    if (!found) {
      this.s.insertRecord.run(p as never);
      this.counts.records.inserted++;
    } else if (r.updateTime > found.update_time) {
      const { $uid: _u, $result_rid: _r, $create_time: _c, ...upd } = p;
      this.s.updateRecord.run(upd as never);
      this.counts.records.updated++;
    } else this.counts.records.unchanged++;
  }

  /** Imports items in one transaction; a bad item is reported and skipped (its savepoint rolled back). */
  batch(items: Array<{ item: Item | (() => Item); where: string }>): void {
    this.db.transaction(() => {
      for (const { item, where } of items) {
        this.db.run("SAVEPOINT item");
        try {
          this.one(typeof item === "function" ? item() : item);
          this.db.run("RELEASE item");
        } catch (e) {
          this.db.run("ROLLBACK TO item");
          this.db.run("RELEASE item");
          this.problem(where, e);
        }
      }
    }).immediate();
  }
}

/** A `{"log": …}` line (and nothing else beside it). */
function isLogItem(o: unknown): o is { log: unknown } {
  return typeof o === "object" && o !== null && !Array.isArray(o) && Object.keys(o).length === 1 && "log" in o;
}

/** Imports an NDJSON stream (export's format); blank lines are skipped, a bad line is reported with its number. */
export async function importNdjson(db: Database, lines: AsyncIterable<string>): Promise<ImportCounts> {
  const imp = new Importer(db);
  let pending: Array<{ item: () => Item; where: string }> = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === "") continue;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (e) {
      imp.problem(`line ${n}`, new Error(`not JSON: ${(e as Error).message}`));
      continue;
    }
    if (isLogItem(item)) {
      if (pending.length) imp.batch(pending);
      pending = [];
      imp.logLine(item.log, `line ${n}`);
      continue;
    }
    imp.endLog();
    pending.push({ item: () => itemOfJson(item), where: `line ${n}` });
    if (pending.length >= BATCH) {
      imp.batch(pending);
      pending = [];
    }
  }
  if (pending.length) imp.batch(pending);
  imp.endLog();
  return imp.counts;
}

/** Lines of a byte stream, decoded as UTF-8. */
export async function* linesOf(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  buf += dec.decode();
  if (buf !== "") yield buf;
}
