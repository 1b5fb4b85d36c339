/**
 * A Log record's stored bytes as export lines (format in log-lines.ts):
 * its committed parts in log order (staged uploads are not part of the log
 * yet and stay out), each cut into lines of LOG_LINE_BYTES raw bytes. The
 * lines are cut from the bytes, not from the stored chunks, so an instance
 * that imported an export exports the same lines again, whatever chunks it
 * stored them in. One compressed chunk is read at a time: memory is one
 * line plus one chunk, whatever the size of the log.
 */
import type { Database, Statement } from "bun:sqlite";
import { formatLogLine, LOG_LINE_BYTES, pieces, type PartMeta } from "./log-lines.ts";

interface PartRow {
  pid: number;
  idx: number;
  label: string;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  bytes: number;
  chunks: number;
  resume: string | null;
  done: number;
  note: string | null;
}

export class LogExporter {
  private readonly parts: Statement<PartRow, [string]>;
  private readonly chunk: Statement<{ data: Uint8Array }, [number, number]>;

  /** `db`: the export's connection, inside its read transaction. */
  constructor(db: Database) {
    this.parts = db.prepare(
      `SELECT pid, idx, label, namespace, pod, container, bytes, chunks, resume, done, note FROM log_parts
       WHERE record_rid = (SELECT rid FROM records WHERE uid = ?) AND staging = 0 ORDER BY idx, pid`,
    );
    this.chunk = db.prepare("SELECT data FROM log_chunks WHERE part = ? AND seq = ?");
  }

  /** The lines of one Log record's log (none when nothing is stored). */
  *lines(recordUid: string, recordName: string): Generator<string> {
    for (const row of this.parts.all(recordUid)) {
      const meta: PartMeta = {
        idx: row.idx,
        label: row.label,
        namespace: row.namespace,
        pod: row.pod,
        container: row.container,
        done: row.done === 1,
        note: row.note,
        resume: row.resume,
        bytes: row.bytes,
      };
      let offset = 0;
      for (const piece of pieces(this.chunks(row), LOG_LINE_BYTES)) {
        yield formatLogLine(recordName, meta, offset, piece);
        offset += piece.byteLength;
      }
      if (offset !== row.bytes) throw new Error(`log part ${row.pid} of ${recordName}: ${offset} bytes stored, ${row.bytes} counted (database damaged?)`);
      if (row.bytes === 0) yield formatLogLine(recordName, meta, 0, new Uint8Array(0));
    }
  }

  private *chunks(row: PartRow): Generator<Uint8Array> {
    for (let seq = 0; seq < row.chunks; seq++) {
      const c = this.chunk.get(row.pid, seq);
      if (!c) throw new Error(`log part ${row.pid}: chunk ${seq} is missing (database damaged?)`);
      yield Bun.zstdDecompressSync(c.data);
    }
  }
}
