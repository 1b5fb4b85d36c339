/**
 * Rebuilding stored logs from export lines (format in log-lines.ts), or from
 * a byte stream (upstream's GetLog, for `import --from-results-api
 * --with-logs`), into the parts and zstd chunks of migration 0007 through
 * the store's own LogSql, so imported parts are stored exactly as the
 * service stores them.
 *
 * A part is built like an UpdateLog upload: staged (invisible to readers,
 * the Dashboard route and the capture), one line per short transaction,
 * and made part of the log only in the transaction that stores its last
 * byte. An export cut short, a bad line in the middle of a part or a
 * failure leave the log as it was (the staged part is deleted).
 *
 * Idempotence: an imported part corresponds to the record's committed part
 * with the same position (idx) and source (namespace, pod, container; none
 * for uploads). When that part has the same length, it is kept and the
 * imported bytes are skipped (logs only ever grow, so the same length is
 * the same log; importing an export twice leaves one copy). Otherwise the
 * imported part replaces it, so a newer export, of a log captured further,
 * brings the copy up to date. Parts without a counterpart in the import are
 * left alone.
 */
import type { Database, Statement } from "bun:sqlite";
import { isLogType } from "../core/log-record.ts";
import { LOG_CHUNK_BYTES } from "../core/logs-service.ts";
import { parseRecordName } from "../core/names.ts";
import type { LogPart } from "../core/store.ts";
import { countNewlines, LOG_ZSTD_LEVEL, LogSql } from "../store/log-sql.ts";
import { pieces, type LogLine, type PartMeta } from "./log-lines.ts";

export interface LogImportCounts {
  /** Parts stored where the record had no corresponding part. */
  inserted: number;
  /** Parts that replaced a corresponding part of another length. */
  replaced: number;
  /** Parts already there with the same length (bytes not imported again). */
  unchanged: number;
  /** Raw bytes stored. */
  bytes: number;
}

/** The part being imported from consecutive lines. */
interface Current {
  record: string;
  recordUid: string;
  meta: PartMeta;
  /** Next byte expected. */
  offset: number;
  /** The staged part; null while skipping a part already stored. */
  staged: number | null;
  replaces: boolean;
  where: string;
}

/** A line or part that could not be imported (the shape of transfer.ts's ImportProblem). */
export interface ImportProblemLike {
  where: string;
  message: string;
}

const sameSource = (a: PartMeta, b: LogPart) => a.idx === b.idx && a.namespace === b.namespace && a.pod === b.pod && a.container === b.container;
const sameMeta = (a: PartMeta, b: PartMeta) => JSON.stringify(a) === JSON.stringify(b);

export class LogImporter {
  readonly counts: LogImportCounts = { inserted: 0, replaced: 0, unchanged: 0, bytes: 0 };
  private readonly sql: LogSql;
  private readonly findRecord: Statement<{ uid: string; type: string | null }, [string, string, string]>;
  private cur: Current | null = null;
  /** The part whose first line was refused: its other lines are skipped without a report of their own. */
  private refused: { record: string; idx: number } | null = null;

  /** `db`: a writable connection opened by openDatabase (strict binding, migrated). */
  constructor(private readonly db: Database) {
    this.sql = new LogSql(db);
    this.findRecord = db.prepare("SELECT uid, type FROM records WHERE parent = ? AND result_name = ? AND name = ?");
  }

  /** The uid of the Log record named `name`; throws when there is none. */
  logRecordUid(name: string): string {
    const n = parseRecordName(name, "log.record");
    const r = this.findRecord.get(n.parent, n.result, n.record);
    if (!r) throw new Error(`its record ${name} is not in the database (a log must follow its Log record)`);
    if (!r.type || !isLogType(r.type)) throw new Error(`record ${name} is ${r.type ? `a ${r.type}` : "a record without data"}, not a Log record`);
    return r.uid;
  }

  /**
   * Imports one export line, in one short transaction. Throws (the line is
   * then reported) when it cannot be used; a part left incomplete by this
   * line's arrival is a problem of its own, given to `report` first.
   */
  line(l: LogLine, where: string, report: (p: ImportProblemLike) => void): void {
    const cur = this.cur;
    if (cur && l.record === cur.record && l.offset > 0 && l.offset === cur.offset && sameMeta(l.part, cur.meta)) {
      try {
        this.db.transaction(() => this.store(cur, l.data)).immediate();
      } catch (e) {
        // The line was rolled back; the part staged so far goes too.
        this.cur = null;
        const staged = cur.staged;
        if (staged !== null) this.db.transaction(() => this.sql.deleteLogPart(staged)).immediate();
        throw e;
      }
      return;
    }
    const cut = this.interrupt();
    if (cut) report(cut);
    if (l.offset !== 0) {
      if (this.refused && this.refused.record === l.record && this.refused.idx === l.part.idx) return;
      this.refused = { record: l.record, idx: l.part.idx };
      throw new Error(`log data at byte ${l.offset} of part ${l.part.idx} of ${l.record}, whose earlier bytes are not on the lines before`);
    }
    this.refused = { record: l.record, idx: l.part.idx };
    const recordUid = this.logRecordUid(l.record);
    // A failure rolls the whole line back, staged part included.
    this.db
      .transaction(() => {
        const next: Current = { record: l.record, recordUid, meta: l.part, offset: 0, staged: null, replaces: false, where };
        const have = this.sql.committedParts(recordUid).find((p) => sameSource(l.part, p));
        if (have && have.bytes === l.part.bytes) this.counts.unchanged++;
        else {
          next.replaces = have !== undefined;
          next.staged = this.stage(recordUid, l.part);
        }
        if (!this.store(next, l.data)) this.cur = next;
      })
      .immediate();
    this.refused = null;
  }

  /**
   * A line that could not be read (bad JSON shape, bad base64) came: the
   * part in progress cannot be complete, so it ends here, and its later
   * lines are skipped without a report each.
   */
  abandon(report: (p: ImportProblemLike) => void): void {
    const cur = this.cur;
    if (!cur) return;
    this.refused = { record: cur.record, idx: cur.meta.idx };
    const cut = this.interrupt();
    if (cut) report(cut);
  }

  /**
   * Ends the part in progress, if any, before a line that is not its
   * continuation (or at the end of the stream): an incomplete part is
   * deleted and returned as a problem.
   */
  interrupt(): ImportProblemLike | null {
    const cur = this.cur;
    if (!cur) return null;
    this.cur = null;
    if (cur.staged !== null) {
      const staged = cur.staged;
      this.db.transaction(() => this.sql.deleteLogPart(staged)).immediate();
    }
    return { where: cur.where, message: `log part ${cur.meta.idx} of ${cur.record} ends at byte ${cur.offset} of ${cur.meta.bytes} (lines missing); the log was left as it was` };
  }

  /** Stores one line's bytes of a part (inside the caller's transaction), committing the part at its last byte; true when complete. */
  private store(cur: Current, data: Uint8Array): boolean {
    if (cur.staged !== null) this.appendBytes(cur.staged, data);
    cur.offset += data.byteLength;
    if (cur.offset < cur.meta.bytes) return false;
    this.cur = null;
    if (cur.staged === null) return true;
    this.commit(cur.recordUid, cur.staged, (p) => sameSource(cur.meta, p));
    if (cur.replaces) this.counts.replaced++;
    else this.counts.inserted++;
    return true;
  }

  private stage(recordUid: string, meta: PartMeta): number {
    const source = meta.namespace !== null && meta.pod !== null && meta.container !== null ? { namespace: meta.namespace, pod: meta.pod, container: meta.container } : undefined;
    const part = this.sql.insertLogPart(recordUid, { idx: meta.idx, staging: true, label: meta.label, source });
    this.sql.setLogPartState(part.id, { done: meta.done, note: meta.note, resume: meta.resume });
    return part.id;
  }

  /** Appends bytes to a staged part in chunks of the size the service stores. */
  private appendBytes(part: number, data: Uint8Array): void {
    for (const piece of pieces([data], LOG_CHUNK_BYTES)) {
      const compressed = Bun.zstdCompressSync(piece, { level: LOG_ZSTD_LEVEL });
      this.sql.append({ part, data: piece }, compressed, countNewlines(piece), piece[piece.byteLength - 1] !== 10);
      this.counts.bytes += piece.byteLength;
    }
  }

  /** Makes a staged part part of the log, deleting the committed parts it replaces. */
  private commit(recordUid: string, staged: number, replaced: (p: LogPart) => boolean): void {
    for (const p of this.sql.committedParts(recordUid)) if (p.id !== staged && replaced(p)) this.sql.deleteLogPart(p.id);
    this.sql.commitLogPart(staged);
  }

  /**
   * Whether a Log record already holds a log of `size` bytes: the rule that
   * lets `--from-results-api --with-logs` skip a log fetched before.
   */
  storedBytes(recordUid: string): number {
    return this.sql.committedParts(recordUid).reduce((a, p) => a + p.bytes, 0);
  }

  /**
   * Stores a whole log read from a stream (a rendered log, as upstream's
   * GetLog gives it) as the record's one upload part, replacing every part
   * it had, like UpdateLog. Staged in transactions of one chunk each;
   * committed only at the stream's clean end. Returns the bytes stored.
   */
  async importStream(recordUid: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    const had = this.storedBytes(recordUid) > 0;
    const staged = this.db.transaction(() => this.stage(recordUid, { idx: 0, label: "", namespace: null, pod: null, container: null, done: true, note: null, resume: null, bytes: 0 })).immediate();
    let total = 0;
    try {
      let held: Uint8Array[] = [];
      let heldBytes = 0;
      const flush = () => {
        if (heldBytes === 0) return;
        const data = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
        held = [];
        heldBytes = 0;
        this.db.transaction(() => this.appendBytes(staged, data)).immediate();
      };
      for await (const chunk of body) {
        if (chunk.byteLength === 0) continue;
        held.push(chunk);
        heldBytes += chunk.byteLength;
        total += chunk.byteLength;
        if (heldBytes >= LOG_CHUNK_BYTES) flush();
      }
      flush();
      this.db.transaction(() => this.commit(recordUid, staged, () => true)).immediate();
    } catch (e) {
      this.db.transaction(() => this.sql.deleteLogPart(staged)).immediate();
      throw e;
    }
    if (had) this.counts.replaced++;
    else this.counts.inserted++;
    return total;
  }
}
