import { describe, expect, test } from "bun:test";
import { hasFrameRoom } from "./framed.ts";
import { PageBuffers, POOLED_MIN_BYTES } from "./page-buffers.ts";

const N = POOLED_MIN_BYTES + 1000;

describe("page buffers", () => {
  test("small pages are allocated fresh and not tracked", () => {
    const p = new PageBuffers();
    const b = p.take(1000);
    expect(b.byteLength).toBe(1000);
    expect(hasFrameRoom(b)).toBe(true);
    expect(p.owns(b)).toBe(false);
  });

  test("a page sent and not cached gives its buffer to the next page that fits in it", () => {
    const p = new PageBuffers();
    const a = p.take(N);
    expect(a.byteLength).toBe(N);
    expect(hasFrameRoom(a)).toBe(true);
    p.hold(a);
    p.sent(a);
    const b = p.take(N - 10);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteLength).toBe(N - 10);
    expect(p.reused).toBe(1);
    expect(p.idleBytes).toBe(0);
    // A larger page does not fit a smaller buffer; a smaller one does.
    p.hold(b);
    p.sent(b);
    expect(p.take(600 * 1024).buffer).not.toBe(a.buffer);
    expect(p.take(POOLED_MIN_BYTES).buffer).toBe(a.buffer);
  });

  test("a page is not reused while held or cached, nor ever once abandoned", () => {
    const p = new PageBuffers();
    const a = p.take(N);
    p.cached(a, true);
    p.hold(a);
    p.hold(a); // two calls were handed the cached page
    p.sent(a);
    p.cached(a, false); // evicted while the second call still sends it
    expect(p.take(N).buffer).not.toBe(a.buffer);
    p.sent(a);
    expect(p.take(N).buffer).toBe(a.buffer);

    const c = p.take(N);
    p.hold(c);
    p.abandon(c);
    p.cached(c, false);
    expect(p.idleBytes).toBe(0);
    expect(p.take(N).buffer).not.toBe(c.buffer);
  });

  test("idle buffers are bounded by maxFreeBytes, the smallest dropped first", () => {
    const p = new PageBuffers(2 * 1024 * 1024);
    const big = p.take(1024 * 1024 + 1); // a 2 MiB buffer
    const small = p.take(N); // 512 KiB
    p.hold(small);
    p.sent(small);
    p.hold(big);
    p.sent(big);
    expect(p.idleBytes).toBe(2 * 1024 * 1024);
    // The big one stayed, and now serves a small page.
    expect(p.take(N).buffer).toBe(big.buffer);
  });

  test("a page takes the smallest free buffer it fits in", () => {
    const p = new PageBuffers(4 * 1024 * 1024);
    const big = p.take(1024 * 1024 - 100); // a 1 MiB buffer
    const small = p.take(N); // 512 KiB
    for (const b of [big, small]) {
      p.hold(b);
      p.sent(b);
    }
    expect(p.take(N).buffer).toBe(small.buffer);
    expect(p.take(600 * 1024).buffer).toBe(big.buffer);
    expect(p.idleBytes).toBe(0);
  });
});
