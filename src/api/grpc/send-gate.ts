/**
 * One large answer at a time per client connection, in arrival order.
 *
 * HTTP/2 flow control gives every stream of a connection a share of the
 * client's receive window; grpc-js clients keep the default 64 KiB windows,
 * so eight 0.6 MB ListRecords answers sent at once crawl side by side, and
 * whichever stream the transport serves last waits for seconds (p99 3.9 s
 * with 8 in flight, measured). Sending large answers one after another per
 * connection moves the same bytes with each waiting only for the answers
 * ahead of it (p99 0.2-0.4 s, the same calls/s). Small answers are never
 * held, and only answers handed over already encoded (the Uint8Array of a
 * cached ListRecords page) are measured. A turn ends when the call's status
 * is sent (grpc-js sends it once the message is written) or the call ends
 * any other way (cancel, deadline, closed stream).
 */
import * as grpc from "@grpc/grpc-js";

/** Answers at least this large take turns on their connection. */
export const LARGE_ANSWER_BYTES = 256 * 1024;

class Turns {
  private busy = false;
  private readonly waiting: Array<() => void> = [];
  /** Resolves when it is the caller's turn; the caller must call `done` once. */
  take(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  done(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
  get idle(): boolean {
    return !this.busy && this.waiting.length === 0;
  }
}

const isLarge = (m: unknown) => m instanceof Uint8Array && m.byteLength >= LARGE_ANSWER_BYTES;

/** A grpc-js server interceptor: large answers (already-encoded bytes) take turns per peer. */
export function largeAnswerTurns(): grpc.ServerInterceptor {
  const byPeer = new Map<string, Turns>();
  return (_method, call) => {
    const peer = call.getPeer();
    let holding = false;
    let cancelled = false;
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
          },
        }),
      sendMessage: (message, next) => {
        if (!isLarge(message)) return next(message);
        let t = byPeer.get(peer);
        if (!t) byPeer.set(peer, (t = new Turns()));
        void t.take().then(() => {
          holding = true;
          if (cancelled) release();
          next(message);
        });
      },
      sendStatus: (status, next) => {
        release();
        next(status);
      },
    });
  };
}
