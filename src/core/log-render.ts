/**
 * How a stored log becomes the text clients read. Captured container output
 * is stored as the container wrote it; the `[step] ` (TaskRun) or
 * `[task : step] ` (PipelineRun) prefix of every line, as `tkn` and upstream's
 * watcher write them, is added while streaming. So one stored copy serves
 * the TaskRun's log, its PipelineRun's log and the Dashboard's per-container
 * view, and the rendered size is known without reading any bytes.
 */
import type { LogPart } from "./store.ts";

/** One part of a rendered log: its bytes, and the prefix for each line (null: verbatim). */
export interface LogSegment {
  part: LogPart;
  prefix: Uint8Array | null;
}

const NL = 10;
const enc = new TextEncoder();

export function stepPrefix(step: string): Uint8Array {
  return enc.encode(`[${step}] `);
}

export function taskStepPrefix(task: string, step: string): Uint8Array {
  return enc.encode(`[${task} : ${step}] `);
}

/**
 * Bytes a segment renders to: verbatim parts are their bytes; prefixed parts
 * add the prefix to every line and end an unterminated last line with "\n".
 */
export function renderedSize(seg: LogSegment): number {
  const p = seg.part;
  if (!seg.prefix) return p.bytes;
  const lines = p.lines + (p.openLine ? 1 : 0);
  return p.bytes + lines * seg.prefix.byteLength + (p.openLine ? 1 : 0);
}

/**
 * Adds a prefix at every line start of a part's chunks, in one allocation
 * per chunk. Keeps whether the next chunk starts a line.
 */
export class LinePrefixer {
  private atLineStart = true;

  constructor(private readonly prefix: Uint8Array) {}

  push(chunk: Uint8Array): Uint8Array {
    if (chunk.byteLength === 0) return chunk;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Line starts in this chunk: the first byte (if a line starts there) and every byte after a newline.
    let starts = this.atLineStart ? 1 : 0;
    let i = buf.indexOf(NL);
    while (i !== -1) {
      if (i + 1 < buf.byteLength) starts++;
      i = buf.indexOf(NL, i + 1);
    }
    const pl = this.prefix.byteLength;
    const out = new Uint8Array(buf.byteLength + starts * pl);
    let o = 0;
    let from = 0;
    if (this.atLineStart) {
      out.set(this.prefix, 0);
      o = pl;
    }
    i = buf.indexOf(NL);
    while (i !== -1) {
      out.set(buf.subarray(from, i + 1), o);
      o += i + 1 - from;
      from = i + 1;
      if (from < buf.byteLength) {
        out.set(this.prefix, o);
        o += pl;
      }
      i = buf.indexOf(NL, from);
    }
    if (from < buf.byteLength) {
      out.set(buf.subarray(from), o);
      o += buf.byteLength - from;
    }
    this.atLineStart = buf[buf.byteLength - 1] === NL;
    return out;
  }

  /** What ends the part: a newline when its last line was left open. */
  end(): Uint8Array | null {
    return this.atLineStart ? null : Uint8Array.of(NL);
  }
}

/**
 * The rendered bytes of `segments`, chunk by chunk (one stored chunk at a
 * time in memory). `read` returns null for a chunk deleted meanwhile: the
 * log was deleted while being read, and the stream ends with `onGone`.
 */
export async function* renderLog(
  segments: readonly LogSegment[],
  read: (part: number, seq: number) => Uint8Array | null,
  onGone: () => Error,
): AsyncGenerator<Uint8Array> {
  for (const seg of segments) {
    const pre = seg.prefix ? new LinePrefixer(seg.prefix) : null;
    for (let seq = 0; seq < seg.part.chunks; seq++) {
      const raw = read(seg.part.id, seq);
      if (raw === null) throw onGone();
      yield pre ? pre.push(raw) : raw;
    }
    const tail = pre?.end();
    if (tail) yield tail;
  }
}
