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

  test("a page sent and not cached gives its buffer to the next page of its size class", () => {
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

  test("idle buffers are bounded by maxFreeBytes, oldest dropped first", () => {
    const p = new PageBuffers(2 * (N + 64 * 1024));
    const pages = [p.take(N), p.take(N), p.take(N)];
    for (const b of pages) {
      p.hold(b);
      p.sent(b);
    }
    expect(p.idleBytes).toBeLessThanOrEqual(2 * (N + 64 * 1024));
    expect(p.take(N).buffer).toBe(pages[1]!.buffer);
    expect(p.take(N).buffer).toBe(pages[2]!.buffer);
    expect(p.take(N).buffer).not.toBe(pages[0]!.buffer);
  });
});
