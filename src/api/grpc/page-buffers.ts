/**
 * Buffers for ListRecords pages, used again once a page is neither kept in
 * the encoded-record cache nor being sent.
 *
 * Why: a page is 0.6-1.2 MB assembled from kept record encodings, and a
 * fresh buffer that size per call is memory the allocator has usually just
 * handed back to the kernel, so every 4 KiB of it costs a page fault
 * when the page is written. On a VM, where faults are dear, six filtered
 * lists called in turn answered in about half the time with their page
 * buffers reused (docs/benchmarks.md, "Where the time goes on this
 * machine").
 *
 * When a buffer is free again: a page is held from the moment the cache
 * hands it out (`hold`, synchronously, so no other call can see it freed
 * in between) until its call's status has been sent (`sent`; grpc-js sends
 * the status after the message's write has completed, and Bun's HTTP/2
 * stream no longer needs the bytes by then). The cache says when it keeps and
 * drops a page (`cached`). A buffer is free when it is neither held nor
 * cached. A call that ends any other way (cancelled, deadline) `abandon`s its
 * page: that buffer is never used again, and the garbage collector frees it.
 * Free buffers (sized in powers of two) are kept up to `maxFreeBytes`, so
 * memory held idle stays bounded; a buffer's pages the kernel never had to
 * provide (never written) cost no memory.
 */
import { FRAME_HEADER, frameRoomIn, withFrameRoom } from "./framed.ts";

/** Pages smaller than this are allocated fresh: the allocator serves them from warm memory. */
export const POOLED_MIN_BYTES = 256 * 1024;

interface Slot {
  whole: Buffer;
  holds: number;
  cached: boolean;
  abandoned: boolean;
}

export class PageBuffers {
  /** Free buffers, smallest first. */
  private readonly free: Buffer[] = [];
  private freeBytes = 0;
  private readonly slots = new WeakMap<Uint8Array, Slot>();
  /** Buffers used again (for tests and figures). */
  reused = 0;

  constructor(readonly maxFreeBytes = 2 * 1024 * 1024) {}

  /** `n` writable bytes with frame room, in a free buffer of their size class when there is one. */
  take(n: number): Buffer {
    if (n < POOLED_MIN_BYTES) return withFrameRoom(n);
    // Powers of two: one buffer serves every page up to its size, so a few
    // buffers cover pages of any mix of sizes.
    const size = 2 ** Math.ceil(Math.log2(n + FRAME_HEADER));
    // The smallest free buffer that fits (`free` is kept smallest first).
    const i = this.free.findIndex((b) => b.byteLength >= size);
    let whole: Buffer;
    if (i >= 0) {
      whole = this.free.splice(i, 1)[0]!;
      this.freeBytes -= whole.byteLength;
      this.reused++;
    } else {
      whole = Buffer.allocUnsafe(size);
    }
    const body = frameRoomIn(whole, n);
    this.slots.set(body, { whole, holds: 0, cached: false, abandoned: false });
    return body;
  }

  /** Whether `body` came from `take` (and is tracked). */
  owns(body: Uint8Array): boolean {
    return this.slots.has(body);
  }

  /** A call is about to send `body`; it must later call `sent` or `abandon`. */
  hold(body: Uint8Array): void {
    const s = this.slots.get(body);
    if (s) s.holds++;
  }

  /** The call that held `body` has sent its status. */
  sent(body: Uint8Array): void {
    const s = this.slots.get(body);
    if (!s) return;
    s.holds--;
    this.maybeFree(body, s);
  }

  /** The call that held `body` ended without sending it whole: never use this buffer again. */
  abandon(body: Uint8Array): void {
    const s = this.slots.get(body);
    if (!s) return;
    s.holds--;
    s.abandoned = true;
  }

  /** The cache keeps `body` (true) or has dropped it (false). */
  cached(body: Uint8Array, kept: boolean): void {
    const s = this.slots.get(body);
    if (!s) return;
    s.cached = kept;
    this.maybeFree(body, s);
  }

  /** Bytes in free buffers. */
  get idleBytes(): number {
    return this.freeBytes;
  }

  private maybeFree(body: Uint8Array, s: Slot): void {
    if (s.holds > 0 || s.cached || s.abandoned) return;
    this.slots.delete(body);
    if (s.whole.byteLength > this.maxFreeBytes) return;
    const at = this.free.findIndex((b) => b.byteLength >= s.whole.byteLength);
    this.free.splice(at < 0 ? this.free.length : at, 0, s.whole);
    this.freeBytes += s.whole.byteLength;
    // Over the bound, the smallest go first: a large buffer serves pages of any size below it.
    while (this.freeBytes > this.maxFreeBytes) this.freeBytes -= this.free.shift()!.byteLength;
  }
}

/** The server's one pool (pages are built in module-level encoders). */
export const pageBuffers = new PageBuffers();
