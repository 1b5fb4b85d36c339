/**
 * Keeps memory flat while logs stream out. Every chunk sent is a fresh
 * 256 KiB buffer (decompressed, then prefixed) that is garbage a moment
 * later; at hundreds of MB/s JavaScriptCore grows the heap rather than
 * collect (measured: a 100 MB log read six times took the server from 90 to
 * 187 MB resident). Senders call `relieveLogMemory()` per chunk; at most
 * every 250 ms it reads the resident size and, above the soft limit, runs a
 * full collection (a few milliseconds: the live heap is small).
 */
export const LOG_SOFT_RSS_BYTES = 150 * 1024 * 1024;
const EVERY_MS = 250;
let last = 0;

export function relieveLogMemory(now = performance.now()): void {
  if (now - last < EVERY_MS) return;
  last = now;
  if (process.memoryUsage.rss() > LOG_SOFT_RSS_BYTES) Bun.gc(true);
}
