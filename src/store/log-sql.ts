/**
 * Log bytes in SQLite (migration 0007): parts and zstd-compressed chunks,
 * both cascading from their Log record. Chunks are compressed before the
 * write job that stores them and decompressed one at a time when read, so
 * memory is bounded by one chunk whatever the size of the log.
 *
 * Why chunks in the database file rather than files beside it: a deleted
 * record takes its bytes with it in the same transaction (no orphans after
 * a crash), a backup of the file is a backup of the logs, and zstd over
 * 256 KiB chunks of build output stores about a tenth of the raw size.
 */
import type { Database, Statement } from "bun:sqlite";
import { notFound } from "../core/errors.ts";
import { LOG_TYPE_V1ALPHA3 } from "../core/log-record.ts";
import type { LogAppend, LogPart, LogPartInput, LogWriteTx } from "../core/store.ts";
import type { RecordResource } from "../core/types.ts";
import { RECORD_COLUMNS, toRecord, type RecordRow } from "./rows.ts";

/** zstd level: 3 is zstd's default; higher levels cost capture speed for a few percent. */
export const LOG_ZSTD_LEVEL = 3;

interface PartRow {
  pid: number;
  idx: number;
  staging: number;
  label: string;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  bytes: number;
  lines: number;
  open_line: number;
  chunks: number;
  resume: string | null;
  done: number;
  note: string | null;
}

const PART_COLUMNS = "pid, idx, staging, label, namespace, pod, container, bytes, lines, open_line, chunks, resume, done, note";

function toPart(r: PartRow): LogPart {
  return {
    id: r.pid,
    idx: r.idx,
    staging: r.staging === 1,
    label: r.label,
    namespace: r.namespace,
    pod: r.pod,
    container: r.container,
    bytes: r.bytes,
    lines: r.lines,
    openLine: r.open_line === 1,
    chunks: r.chunks,
    resume: r.resume,
    done: r.done === 1,
    note: r.note,
  };
}

/** Newlines in `b` (indexOf runs natively, far faster than a byte loop). */
export function countNewlines(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let n = 0;
  let i = buf.indexOf(10);
  while (i !== -1) {
    n++;
    i = buf.indexOf(10, i + 1);
  }
  return n;
}

export class LogSql implements LogWriteTx {
  private readonly s: {
    parts: Statement<PartRow, [string]>;
    part: Statement<PartRow, [number]>;
    committedParts: Statement<PartRow, [string]>;
    insertPart: Statement<PartRow, [Record<string, string | number | null>]>;
    commitPart: Statement<unknown, [number]>;
    deletePart: Statement<unknown, [number]>;
    setState: Statement<unknown, [Record<string, string | number | null>]>;
    insertChunk: Statement<unknown, [number, number, number, Uint8Array]>;
    grow: Statement<unknown, [Record<string, string | number | null>]>;
    chunk: Statement<{ data: Uint8Array }, [number, number]>;
    bySource: Statement<PartRow & { record_uid: string; record_parent: string }, [string, string, string]>;
    logRecords: Statement<RecordRow, [string, string, string]>;
    logRecordsByRun: Statement<RecordRow, [string, string, string, string]>;
  };

  constructor(db: Database) {
    const rid = "(SELECT rid FROM records WHERE uid = ?1)";
    this.s = {
      parts: db.prepare(`SELECT ${PART_COLUMNS} FROM log_parts WHERE record_rid = ${rid} ORDER BY idx, pid`),
      part: db.prepare(`SELECT ${PART_COLUMNS} FROM log_parts WHERE pid = ?`),
      committedParts: db.prepare(`SELECT ${PART_COLUMNS} FROM log_parts WHERE record_rid = ${rid} AND staging = 0 ORDER BY idx, pid`),
      insertPart: db.prepare(
        `INSERT INTO log_parts (record_rid, idx, staging, label, namespace, pod, container)
         SELECT rid, $idx, $staging, $label, $namespace, $pod, $container FROM records WHERE uid = $uid
         RETURNING ${PART_COLUMNS}`,
      ),
      commitPart: db.prepare("UPDATE log_parts SET staging = 0 WHERE pid = ?"),
      deletePart: db.prepare("DELETE FROM log_parts WHERE pid = ?"),
      setState: db.prepare(
        `UPDATE log_parts SET done = coalesce($done, done), note = CASE WHEN $setNote THEN $note ELSE note END,
           resume = CASE WHEN $setResume THEN $resume ELSE resume END WHERE pid = $pid`,
      ),
      insertChunk: db.prepare(
        "INSERT INTO log_chunks (record_rid, part, seq, raw_size, data) VALUES ((SELECT record_rid FROM log_parts WHERE pid = ?1), ?1, ?2, ?3, ?4)",
      ),
      grow: db.prepare(
        `UPDATE log_parts SET bytes = bytes + $bytes, lines = lines + $lines,
           open_line = CASE WHEN $bytes > 0 THEN $open ELSE open_line END, chunks = chunks + $chunk,
           done = coalesce($done, done), note = CASE WHEN $setNote THEN $note ELSE note END,
           resume = CASE WHEN $setResume THEN $resume ELSE resume END
         WHERE pid = $pid`,
      ),
      chunk: db.prepare("SELECT data FROM log_chunks WHERE part = ? AND seq = ?"),
      bySource: db.prepare(
        `SELECT ${PART_COLUMNS.split(", ").map((c) => `p.${c}`).join(", ")}, r.uid AS record_uid, r.parent AS record_parent
         FROM log_parts p JOIN records r ON r.rid = p.record_rid
         WHERE p.pod = ?2 AND p.namespace = ?1 AND p.container = ?3 AND p.staging = 0 ORDER BY p.pid DESC`,
      ),
      logRecords: db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM records WHERE parent = ?1 AND result_name = ?2 AND type = ?3 ORDER BY uid`,
      ),
      logRecordsByRun: db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM records WHERE parent = ?1 AND result_name = ?2 AND type = ?3
           AND data ->> '$.spec.resource.uid' = ?4 ORDER BY uid`,
      ),
    };
  }

  logParts(recordUid: string): LogPart[] {
    return this.s.parts.all(recordUid).map(toPart);
  }

  committedParts(recordUid: string): LogPart[] {
    return this.s.committedParts.all(recordUid).map(toPart);
  }

  insertLogPart(recordUid: string, p: LogPartInput): LogPart {
    const row = this.s.insertPart.get({
      uid: recordUid,
      idx: p.idx,
      staging: p.staging ? 1 : 0,
      label: p.label,
      namespace: p.source?.namespace ?? null,
      pod: p.source?.pod ?? null,
      container: p.source?.container ?? null,
    });
    if (!row) throw notFound(`the log's record (uid ${recordUid}) was deleted`);
    return toPart(row);
  }

  commitLogPart(id: number): void {
    this.s.commitPart.run(id);
  }

  deleteLogPart(id: number): void {
    this.s.deletePart.run(id);
  }

  setLogPartState(id: number, st: { done?: boolean; note?: string | null; resume?: string | null }): void {
    this.s.setState.run({
      pid: id,
      done: st.done === undefined ? null : st.done ? 1 : 0,
      setNote: st.note !== undefined ? 1 : 0,
      note: st.note ?? null,
      setResume: st.resume !== undefined ? 1 : 0,
      resume: st.resume ?? null,
    });
  }

  /**
   * Runs inside a write job: stores one compressed chunk (when there are
   * bytes) and moves the part's counters and resume point, atomically, so a
   * resume point never claims bytes that are not stored.
   */
  append(a: LogAppend, compressed: Uint8Array | null, lines: number, openLine: boolean): LogPart {
    const cur = this.s.part.get(a.part);
    if (!cur) throw notFound("the log part was deleted (its record or log was deleted)");
    const bytes = a.data.byteLength;
    if (bytes > 0 && compressed) this.s.insertChunk.run(a.part, cur.chunks, bytes, compressed);
    this.s.grow.run({
      pid: a.part,
      bytes,
      lines,
      open: openLine ? 1 : 0,
      chunk: bytes > 0 ? 1 : 0,
      done: a.done === undefined ? null : a.done ? 1 : 0,
      setNote: a.note !== undefined ? 1 : 0,
      note: a.note ?? null,
      setResume: a.resume !== undefined ? 1 : 0,
      resume: a.resume ?? null,
    });
    return toPart(this.s.part.get(a.part)!);
  }

  readChunk(part: number, seq: number): Uint8Array | null {
    const row = this.s.chunk.get(part, seq);
    return row ? Bun.zstdDecompressSync(row.data) : null;
  }

  bySource(namespace: string, pod: string, container: string): Array<LogPart & { recordUid: string; recordParent: string }> {
    return this.s.bySource.all(namespace, pod, container).map((r) => ({ ...toPart(r), recordUid: r.record_uid, recordParent: r.record_parent }));
  }

  logRecords(parent: string, result: string, runUid: string | null): RecordResource[] {
    const rows = runUid === null ? this.s.logRecords.all(parent, result, LOG_TYPE_V1ALPHA3) : this.s.logRecordsByRun.all(parent, result, LOG_TYPE_V1ALPHA3, runUid);
    return rows.map(toRecord);
  }
}

/** Compresses one chunk for storage, off the main thread. */
export function compressChunk(data: Uint8Array): Promise<Uint8Array> {
  return Bun.zstdCompress(data, { level: LOG_ZSTD_LEVEL });
}
