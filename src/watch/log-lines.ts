/**
 * Parsing a container log read with `timestamps=true`: each line arrives as
 * `<RFC 3339 time> <text>`; the time is stripped (the stored log is what the
 * container wrote) and kept as the resume point.
 *
 * Why timestamps: the log API has no byte offset. A reconnect asks for
 * `sinceTime` (whole seconds) and gets again every line of that second; the
 * resume point (the last stored line's time and how many stored lines carry
 * exactly that time) says which of them are already stored. Lines are only
 * counted once complete (ended by "\n"), so a line cut by a dropped
 * connection is read again whole.
 *
 * Work is per chunk with native searches (indexOf, compare), so parsing runs
 * at hundreds of MB/s; memory is the pending output plus one partial line
 * (capped: a line longer than MAX_LINE is cut).
 */

export interface ResumePoint {
  /** Time of the last stored line, as the server wrote it. */
  ts: string;
  /** Stored lines carrying exactly that time. */
  n: number;
}

const NL = 10;
const SP = 32;
/** A line without "\n" longer than this is stored in pieces (bounds memory). */
export const MAX_LINE = 4 * 1024 * 1024;

/** A sortable key: "YYYY-MM-DDTHH:MM:SS" + 9 digits of nanoseconds (UTC). */
export function timeKey(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (m) return m[1]! + (m[2] ?? "").padEnd(9, "0");
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms)) return "";
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 19) + iso.slice(20, 23) + "000000";
}

/** `sinceTime` for a resume point: its whole second (the API's precision). */
export function sinceTimeOf(r: ResumePoint | null): string | undefined {
  if (!r) return undefined;
  const k = timeKey(r.ts);
  return k ? `${k.slice(0, 19)}Z` : undefined;
}

export class TimestampedLines {
  private carry: Buffer | null = null;
  private out = Buffer.allocUnsafe(512 * 1024);
  private outLen = 0;
  private lastTs: Buffer | null;
  private same: number;
  /** The last accepted line's time as a range of the buffer being parsed (copied into lastTs once per chunk). */
  private cur: { buf: Buffer; start: number; end: number } | null = null;
  private skip: { key: string; n: number; seen: number } | null;

  constructor(resume: ResumePoint | null) {
    this.lastTs = resume ? Buffer.from(resume.ts) : null;
    this.same = resume?.n ?? 0;
    this.skip = resume ? { key: timeKey(resume.ts), n: resume.n, seen: 0 } : null;
  }

  /** Bytes of complete lines waiting to be taken. */
  get pending(): number {
    return this.outLen;
  }

  /** Where the source has got to, counting the lines taken and pending. */
  get resume(): ResumePoint | null {
    return this.lastTs ? { ts: this.lastTs.toString("latin1"), n: this.same } : null;
  }

  /** Starts a new read of the source (a reconnect): what is left of a cut line is dropped, it comes again. */
  restart(): void {
    this.carry = null;
    const r = this.resume;
    this.skip = r ? { key: timeKey(r.ts), n: r.n, seen: 0 } : null;
  }

  push(chunk: Uint8Array): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = null;
    }
    let from = 0;
    let nl = buf.indexOf(NL);
    while (nl !== -1) {
      this.line(buf, from, nl + 1);
      from = nl + 1;
      nl = buf.indexOf(NL, from);
    }
    if (from < buf.byteLength) {
      const rest = buf.subarray(from);
      if (rest.byteLength > MAX_LINE) this.line(rest, 0, rest.byteLength);
      else this.carry = Buffer.from(rest); // a copy: the chunk's memory may be reused
    }
    this.settle();
  }

  /** Copies the last line's time out of the chunk (once per chunk, not per line). */
  private settle(): void {
    if (this.cur) {
      this.lastTs = Buffer.from(this.cur.buf.subarray(this.cur.start, this.cur.end));
      this.cur = null;
    }
  }

  /** The source ended: its last line, if unterminated, counts as it is. */
  end(): void {
    if (this.carry) {
      const c = this.carry;
      this.carry = null;
      this.line(c, 0, c.byteLength);
      this.settle();
    }
  }

  /** Takes the gathered text; `resume` then covers exactly what was taken. */
  take(): Uint8Array {
    const data = Buffer.from(this.out.subarray(0, this.outLen));
    this.outLen = 0;
    return data;
  }

  /** One line [start, end) of `buf`, "\n" included when present. */
  private line(buf: Buffer, start: number, end: number): void {
    let sp = buf.indexOf(SP, start);
    if (sp === -1 || sp >= end || sp - start > 40) sp = -1;
    if (sp !== -1) {
      if (this.skip) {
        const k = timeKey(buf.toString("latin1", start, sp));
        if (k < this.skip.key || (k === this.skip.key && this.skip.seen < this.skip.n)) {
          if (k === this.skip.key) this.skip.seen++;
          return;
        }
        this.skip = null;
      }
      // Same time as the previous line? Compared in place: no allocation per line.
      const c = this.cur;
      const same = c ? c.end - c.start === sp - start && c.buf.compare(buf, start, sp, c.start, c.end) === 0 : this.lastTs !== null && this.lastTs.compare(buf, start, sp) === 0;
      if (same) this.same++;
      else this.same = 1;
      if (c && c.buf === buf) {
        c.start = start;
        c.end = sp;
      } else this.cur = { buf, start, end: sp };
      this.emit(buf, sp + 1, end);
    } else {
      if (this.skip) return; // an unstamped line while catching up: cannot place it, so it was seen
      this.emit(buf, start, end);
    }
  }

  private emit(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.outLen + n > this.out.byteLength) {
      const bigger = Buffer.allocUnsafe(Math.max(this.out.byteLength * 2, this.outLen + n));
      this.out.copy(bigger, 0, 0, this.outLen);
      this.out = bigger;
    }
    buf.copy(this.out, this.outLen, start, end);
    this.outLen += n;
  }
}
