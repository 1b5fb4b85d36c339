import { expect, test } from "bun:test";
import { EncodedRecordCache } from "./encoded-cache.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

test("an entry is used only for the etag it was kept for; another etag drops it", () => {
  const c = new EncodedRecordCache(1 << 20);
  const b = bytes(100);
  const kept = c.keep("json", "u1", "u1-1000", b);
  expect(kept.bytes).toBe(b);
  expect(c.get("json", "u1", "u1-1000")).toBe(kept);
  expect(c.get("binary", "u1", "u1-1000")).toBeUndefined(); // encodings never share entries
  expect(c.get("json", "u1", "u1-2000")).toBeUndefined(); // the record was updated
  expect(c.get("json", "u1", "u1-1000")).toBeUndefined(); // and its old bytes are gone
  expect(c.size).toBe(0);
  expect(c.bytes).toBe(0);
});

test("a newer state replaces the older one", () => {
  const c = new EncodedRecordCache(1 << 20);
  c.keep("json", "u1", "e1", bytes(100, 1));
  const b2 = bytes(200, 2);
  c.keep("json", "u1", "e2", b2);
  expect(c.size).toBe(1);
  expect(c.get("json", "u1", "e2")?.bytes).toBe(b2);
  expect(c.get("json", "u1", "e1")).toBeUndefined();
});

test("the bytes held never exceed the budget; the least recently used go first", () => {
  const c = new EncodedRecordCache(64 * 1024);
  for (let i = 0; i < 100; i++) {
    c.keep("json", `u${i}`, "e", bytes(1000));
    if (i % 10 === 0) c.get("json", "u0", "e"); // u0 stays in use
    expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
  }
  expect(c.get("json", "u0", "e")).toBeDefined();
  expect(c.get("json", "u99", "e")).toBeDefined();
  expect(c.get("json", "u1", "e")).toBeUndefined();
  expect(c.size).toBeGreaterThan(50);
});

test("entries larger than an eighth of the budget are not kept; a budget of 0 keeps nothing", () => {
  const c = new EncodedRecordCache(80 * 1024);
  const big = bytes(20 * 1024);
  expect(c.keep("json", "big", "e", big).bytes).toBe(big); // handed back all the same
  expect(c.get("json", "big", "e")).toBeUndefined();
  const off = new EncodedRecordCache(0);
  off.keep("json", "u", "e", bytes(1));
  expect(off.get("json", "u", "e")).toBeUndefined();
  expect(off.page("k", [], "", () => bytes(2))).toEqual(bytes(2));
  expect(off.bytes).toBe(0);
});

test("a page is reused only when made of the same kept entries and the same token", () => {
  const c = new EncodedRecordCache(1 << 20);
  const a = c.keep("json", "a", "e", bytes(10, 1));
  const b = c.keep("json", "b", "e", bytes(10, 2));
  let builds = 0;
  const build = () => (builds++, bytes(25, builds));
  const p1 = c.page("k", [a, b], "t", build);
  expect(c.page("k", [a, b], "t", build)).toBe(p1);
  expect(builds).toBe(1);
  expect(c.page("k", [a, b], "t2", build)).not.toBe(p1); // another token
  const b2 = c.keep("json", "b", "e2", bytes(10, 2)); // equal bytes, another state of b
  expect(c.page("k", [a, b2], "t2", build)).not.toBe(p1);
  expect(c.page("k", [b2, a], "t2", build)).not.toBe(p1); // another order
  expect(c.page("k", [a], "t2", build)).not.toBe(p1);
  expect(builds).toBe(5);
  // Pages count against the budget too.
  const small = new EncodedRecordCache(16 * 1024);
  for (let i = 0; i < 50; i++) small.page(`k${i}`, [a], "", () => bytes(1500));
  expect(small.bytes).toBeLessThanOrEqual(16 * 1024);
});

test("records come first: a page only takes room pages free, a new record pushes pages out before records", () => {
  const c = new EncodedRecordCache(64 * 1024);
  const kept = Array.from({ length: 6 }, (_, i) => c.keep("json", `u${i}`, "e", bytes(8000)));
  // 48 KB of records; two 8 KB pages fit beside them, a third pushes the oldest page out, never a record.
  let builds = 0;
  const build = () => (builds++, bytes(7000));
  for (const k of ["p1", "p2", "p3"]) c.page(k, kept, "", build);
  expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
  for (let i = 0; i < 6; i++) expect(c.get("json", `u${i}`, "e")).toBeDefined();
  c.page("p3", kept, "", build);
  expect(builds).toBe(3); // p3 kept
  c.page("p1", kept, "", build);
  expect(builds).toBe(4); // p1 was pushed out by p3
  // Records filling the budget push every page out first.
  c.keep("json", "u6", "e", bytes(8000));
  c.keep("json", "u7", "e", bytes(6000));
  for (let i = 0; i < 8; i++) expect(c.get("json", `u${i}`, "e")).toBeDefined();
  c.page("p2", kept, "", build);
  expect(builds).toBe(5);
  expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
});

test("pages up to a quarter of the budget are kept, records only up to an eighth", () => {
  const c = new EncodedRecordCache(64 * 1024);
  const r = c.keep("json", "big", "e", bytes(12 * 1024)); // over 8 KiB: handed back, not kept
  expect(c.get("json", "big", "e")).toBeUndefined();
  let builds = 0;
  const build = () => (builds++, bytes(12 * 1024));
  c.page("p", [r], "", build);
  c.page("p", [r], "", build);
  expect(builds).toBe(1);
  c.page("huge", [r], "", () => bytes(17 * 1024)); // over 16 KiB: not kept
  c.page("huge", [r], "", build);
  expect(builds).toBe(2);
});

test("the page listener hears each page kept and each page dropped (replaced or evicted), never records", () => {
  const heard: string[] = [];
  const names = new Map<Uint8Array, string>();
  // Room for one record and four pages, less a byte: a fifth page evicts one.
  const c = new EncodedRecordCache(4 * (1000 + 128) + (300 + 128) - 1, { cached: (b, kept) => heard.push(`${names.get(b) ?? "record"}:${kept}`) });
  const r = c.keep("binary", "u", "e1", new Uint8Array(300));
  const page = (name: string, key: string, parts = [r]) =>
    c.page(key, parts, "", () => {
      const b = new Uint8Array(1000);
      names.set(b, name);
      return b;
    });
  page("p1", "k1");
  page("p2", "k2");
  expect(c.get("binary", "u", "e2")).toBeUndefined(); // another state: the record goes, silently
  const r2 = c.keep("binary", "u", "e2", new Uint8Array(300));
  page("p3", "k1", [r2]); // replaces p1 under k1
  page("p4", "k4", [r2]);
  page("p5", "k5", [r2]); // over the budget: the oldest page, p2, goes
  expect(heard).toEqual(["p1:true", "p2:true", "p1:false", "p3:true", "p4:true", "p5:true", "p2:false"]);
});
