/**
 * Keeps the watcher's memory flat while it catches up.
 *
 * Catching up on a big cluster churns through garbage fast (each run is
 * parsed from a list page, serialised again for the store: ~40 KB of
 * short-lived objects per run, over a thousand runs a second), and
 * JavaScriptCore grows its heap rather than collect when garbage comes
 * that fast: measured, 100k runs took the process from 140 to 495 MB while
 * the live heap stayed near 30 MB. So the streams call `relieve()` as they
 * go; at most every 250 ms it reads the resident size and, above the soft
 * limit, runs a full collection (a few milliseconds with a heap this small).
 * In steady state the process stays well under the limit and this never
 * collects.
 */

/** Above this resident size a catching-up watcher collects garbage. */
export const SOFT_RSS_BYTES = Number(process.env.HINDSIGHT_WATCH_SOFT_RSS_MB ?? 200) * 1024 * 1024;
const EVERY_MS = 250;

let last = 0;
/** Collections run by relieve(), for tests and status. */
export let collections = 0;

export function relieve(now = performance.now()): void {
  if (now - last < EVERY_MS) return;
  last = now;
  if (process.memoryUsage.rss() > SOFT_RSS_BYTES) {
    Bun.gc(true);
    collections++;
  }
}
