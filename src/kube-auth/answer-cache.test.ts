import { expect, test } from "bun:test";
import { AnswerCache } from "./answer-cache.ts";

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("an answer is kept as long as its own TTL says: positive and negative apart", async () => {
  const c = clock();
  const cache = new AnswerCache<boolean>((v) => (v ? 10_000 : 2_000), 100, c.now);
  let asked = 0;
  const ask = (v: boolean) => () => {
    asked++;
    return Promise.resolve(v);
  };
  expect(await cache.get("yes", ask(true))).toBe(true);
  expect(await cache.get("no", ask(false))).toBe(false);
  expect(asked).toBe(2);
  c.advance(1_999);
  await cache.get("yes", ask(true));
  await cache.get("no", ask(false));
  expect(asked).toBe(2);
  c.advance(1);
  await cache.get("no", ask(false));
  expect(asked).toBe(3);
  c.advance(8_000);
  await cache.get("yes", ask(true));
  expect(asked).toBe(4);
});

test("failures are never kept, and concurrent asks share one request", async () => {
  const cache = new AnswerCache<string>(() => 60_000);
  let asked = 0;
  let release!: (v: string) => void;
  const slow = () => {
    asked++;
    return new Promise<string>((r) => (release = r));
  };
  const a = cache.get("k", slow);
  const b = cache.get("k", slow);
  release("v");
  expect([await a, await b]).toEqual(["v", "v"]);
  expect(asked).toBe(1);

  let fails = 0;
  const failing = () => {
    fails++;
    return Promise.reject(new Error("down"));
  };
  await expect(cache.get("f", failing)).rejects.toThrow("down");
  await expect(cache.get("f", failing)).rejects.toThrow("down");
  expect(fails).toBe(2);
  expect(await cache.get("f", () => Promise.resolve("up"))).toBe("up");
});

test("a TTL of 0 keeps nothing; past `max` entries the oldest goes", async () => {
  const none = new AnswerCache<number>(() => 0);
  let n = 0;
  await none.get("k", async () => ++n);
  await none.get("k", async () => ++n);
  expect(n).toBe(2);
  expect(none.size).toBe(0);

  const small = new AnswerCache<number>(() => 60_000, 2);
  for (const k of ["a", "b", "c"]) await small.get(k, async () => 1);
  expect(small.size).toBe(2);
  let again = 0;
  await small.get("a", async () => ++again);
  await small.get("c", async () => ++again);
  expect(again).toBe(1);
});
