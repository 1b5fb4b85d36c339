/**
 * The encoded-record cache on /metrics, read at scrape time. Its size is a
 * trade (issue 2's memory goal against repeated filtered lists), so an
 * operator tuning `recordCacheSize` needs to see how often it answers: a
 * record miss costs a read of its document on a reader thread, and a page
 * miss costs assembling (allocating and copying) the whole page again.
 */
import type { Registry } from "../metrics/registry.ts";
import type { EncodedRecordCache } from "./encoded-cache.ts";

export function recordCacheMetrics(metrics: Registry, cache: EncodedRecordCache): void {
  const lookups = metrics.counter(
    "hindsight_record_cache_lookups_total",
    "lookups in the encoded-record cache, by what was looked up (record, page) and whether it was kept (hit, miss)",
    ["kind", "result"],
  );
  const bytes = metrics.gauge("hindsight_record_cache_bytes", "bytes the encoded-record cache holds, counted against recordCacheSize");
  const limit = metrics.gauge("hindsight_record_cache_limit_bytes", "the encoded-record cache's budget (recordCacheSize)");
  const entries = metrics.gauge("hindsight_record_cache_entries", "entries the encoded-record cache holds, by kind (record, page)", ["kind"]);
  const seen = { recordHit: 0, recordMiss: 0, pageHit: 0, pageMiss: 0 };
  const add = (kind: string, result: string, now: number, key: keyof typeof seen) => {
    lookups.inc({ kind, result }, now - seen[key]);
    seen[key] = now;
  };
  metrics.onCollect(() => {
    add("record", "hit", cache.hits, "recordHit");
    add("record", "miss", cache.misses, "recordMiss");
    add("page", "hit", cache.pageHits, "pageHit");
    add("page", "miss", cache.pageMisses, "pageMiss");
    bytes.set({}, cache.bytes);
    limit.set({}, cache.maxBytes);
    const n = cache.counts;
    entries.set({ kind: "record" }, n.records);
    entries.set({ kind: "page" }, n.pages);
  });
}
