/**
 * Large answers to one client connection go out a few at a time (two), in
 * arrival order.
 *
 * HTTP/2 flow control gives every stream of a connection a share of the
 * client's receive window; grpc-js clients keep the default 64 KiB windows,
 * so eight 0.6 MB ListRecords answers sent at once crawl side by side, and
 * whichever stream the transport serves last waits for seconds (p99 1.4-3.9 s
 * with 8 in flight, measured). Sending large answers a few at a time per
 * connection moves the same bytes with each waiting only for the answers
 * ahead of it (p99 0.2-0.3 s). Small answers are never held, and only
 * answers handed over already encoded (a ListRecords page assembled from
 * record encodings, a Uint8Array) are measured. A turn ends when the call's status
 * is sent (grpc-js sends it once the message is written) or the call ends
 * any other way (cancel, deadline, closed stream).
 */
import * as grpc from "@grpc/grpc-js";
import { pageBuffers } from "./page-buffers.ts";

/** Answers at least this large take turns on their connection. */
export const LARGE_ANSWER_BYTES = 256 * 1024;
/**
 * How many large answers a connection receives at once. One at a time
 * bounded p99 as well, but two keep a second page moving while the client
 * is busy decoding the first (it sends no window updates meanwhile).
 */
export const LARGE_ANSWERS_AT_ONCE = 2;

class Turns {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly width: number) {}
  /** Resolves when it is the caller's turn; the caller must call `done` once. */
  take(): Promise<void> {
    if (this.busy < this.width) {
      this.busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  done(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy--;
  }
  get idle(): boolean {
    return this.busy === 0 && this.waiting.length === 0;
  }
}

const isLarge = (m: unknown) => m instanceof Uint8Array && m.byteLength >= LARGE_ANSWER_BYTES;

/** A grpc-js server interceptor: large answers (already-encoded bytes) take turns per peer (connection). */
export function largeAnswerTurns(width = LARGE_ANSWERS_AT_ONCE): grpc.ServerInterceptor {
  const byPeer = new Map<string, Turns>();
  return (_method, call) => {
    const peer = call.getPeer();
    let holding = false;
    let cancelled = false;
    // A pooled page this call holds (page-buffers.ts): sent once the status is out, abandoned otherwise.
    let page: Uint8Array | null = null;
    const release = () => {
      if (!holding) return;
      holding = false;
      const t = byPeer.get(peer)!;
      t.done();
      if (t.idle) byPeer.delete(peer);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onCancel: () => {
            cancelled = true;
            release();
            if (page) pageBuffers.abandon(page);
            page = null;
          },
        }),
      sendMessage: (message, next) => {
        if (message instanceof Uint8Array && pageBuffers.owns(message)) page = message;
        if (!isLarge(message)) return next(message);
        let t = byPeer.get(peer);
        if (!t) byPeer.set(peer, (t = new Turns(width)));
        void t.take().then(() => {
          holding = true;
          if (cancelled) release();
          next(message);
        });
      },
      sendStatus: (status, next) => {
        release();
        next(status);
        if (page) pageBuffers.sent(page);
        page = null;
      },
    });
  };
}
