/**
 * A read query as plain data, so it can run on the main connection or be
 * posted to a reader worker (reader-worker.ts) and run there on its own
 * connection. The SQL and its bound values are built on the main thread
 * (list-sql.ts, summary-sql.ts); a job only executes them.
 */
import type { Database, Statement } from "bun:sqlite";
import { AppError } from "../core/errors.ts";
import type { Hold } from "../core/store.ts";
import type { SqlValue } from "./filter/params.ts";
import { RECORD_COLUMNS } from "./rows.ts";

export interface Segment {
  sql: string;
  values: SqlValue[];
}

export interface ReadJob {
  /**
   * "rows": run the segments in turn, concatenating rows, until `limit` rows
   * (a negative limit: all rows of all segments).
   * "records": the segments select `rid` (and `sort_key`); each row is then
   * fetched whole by rid. Keys first: the sort never carries the 12 KB documents.
   */
  kind: "rows" | "records";
  segments: Segment[];
  limit: number;
}

/** An error as it crosses the worker boundary (Error objects lose their fields there). */
export interface JobError {
  /** Set when the error was an AppError (safe to show). */
  appCode?: AppError["code"];
  /** SQLite's extended code, e.g. SQLITE_ERROR, when there was one. */
  sqliteCode?: string;
  message: string;
}

export function toJobError(e: unknown): JobError {
  if (e instanceof AppError) return { appCode: e.code, message: e.message };
  const sqliteCode = (e as { code?: unknown }).code;
  return { sqliteCode: typeof sqliteCode === "string" ? sqliteCode : undefined, message: e instanceof Error ? e.message : String(e) };
}

export function fromJobError(j: JobError): Error {
  if (j.appCode) return new AppError(j.appCode, j.message);
  const e = new Error(j.message) as Error & { code?: string };
  if (j.sqliteCode) e.code = j.sqliteCode;
  return e;
}

/** Runs jobs on one connection; statements are cached per SQL text (db.query does that). */
export class JobRunner {
  private readonly byRid: Statement<Record<string, unknown>, [number]>;

  constructor(private readonly db: Database) {
    this.byRid = db.prepare(`SELECT ${RECORD_COLUMNS} FROM records WHERE rid = ?`);
  }

  /**
   * One read transaction per job, so the keys and the rows fetched by them
   * come from the same snapshot even while the writer commits.
   */
  run(job: ReadJob, hold?: Hold<unknown>): unknown[] {
    if (this.db.inTransaction) return this.runIn(job, hold);
    this.db.run("BEGIN");
    try {
      return this.runIn(job, hold);
    } finally {
      this.db.run("COMMIT");
    }
  }

  /**
   * `hold` (records jobs whose segments also select uid and etag): a record it
   * returns something for is not fetched; the row is { held, uid, etag,
   * sort_key } instead.
   */
  private runIn(job: ReadJob, hold?: Hold<unknown>): unknown[] {
    const rows: unknown[] = [];
    for (const { sql, values } of job.segments) {
      const got = this.db.query(sql).all(...(values as never[]));
      for (const r of got) rows.push(r);
      if (job.limit >= 0 && rows.length >= job.limit) break;
    }
    if (job.limit >= 0 && rows.length > job.limit) rows.length = job.limit;
    if (job.kind === "rows") return rows;
    const out: unknown[] = [];
    for (const k of rows as Array<{ rid: number; uid?: string; etag?: string; sort_key?: unknown }>) {
      if (hold && k.uid !== undefined && k.etag !== undefined) {
        const held = hold(k.uid, k.etag);
        if (held !== undefined) {
          out.push({ held, uid: k.uid, etag: k.etag, sort_key: k.sort_key ?? null });
          continue;
        }
      }
      const row = this.byRid.get(k.rid);
      if (row) out.push({ ...row, sort_key: k.sort_key ?? null });
    }
    return out;
  }
}
