import { describe, expect, test } from "bun:test";
import { Registry } from "../metrics/registry.ts";
import { recordCacheMetrics } from "./cache-metrics.ts";
import { EncodedRecordCache } from "./encoded-cache.ts";

const line = (text: string, series: string) => {
  const l = text.split("\n").find((x) => x.startsWith(`${series} `));
  return l === undefined ? undefined : Number(l.slice(series.length + 1));
};

describe("record cache metrics", () => {
  test("count record and page lookups by result, and report bytes, budget and entries at scrape time", () => {
    const metrics = new Registry();
    const cache = new EncodedRecordCache(1024 * 1024);
    recordCacheMetrics(metrics, cache);

    expect(cache.get("binary", "u1", "e1")).toBeUndefined(); // miss
    const kept = cache.keep("binary", "u1", "e1", new Uint8Array(100));
    expect(cache.get("binary", "u1", "e1")).toBe(kept); // hit
    expect(cache.get("binary", "u1", "e2")).toBeUndefined(); // another state: miss
    const again = cache.keep("binary", "u1", "e2", new Uint8Array(200));
    const build = () => new Uint8Array(250);
    const page = cache.page("k", [again], "", build); // assembled: miss
    expect(cache.page("k", [again], "", build)).toBe(page); // kept: hit

    let text = metrics.render();
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="record",result="hit"}')).toBe(1);
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="record",result="miss"}')).toBe(2);
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="page",result="hit"}')).toBe(1);
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="page",result="miss"}')).toBe(1);
    expect(line(text, 'hindsight_record_cache_entries{kind="record"}')).toBe(1);
    expect(line(text, 'hindsight_record_cache_entries{kind="page"}')).toBe(1);
    expect(line(text, "hindsight_record_cache_bytes")).toBe(cache.bytes);
    expect(cache.bytes).toBeGreaterThanOrEqual(450);
    expect(line(text, "hindsight_record_cache_limit_bytes")).toBe(1024 * 1024);

    // Counters only grow by what happened since the last scrape.
    cache.get("binary", "u1", "e2");
    text = metrics.render();
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="record",result="hit"}')).toBe(2);
    expect(line(text, 'hindsight_record_cache_lookups_total{kind="record",result="miss"}')).toBe(2);
  });
});
