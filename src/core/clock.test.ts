import { expect, test } from "bun:test";
import { uuidv7Generator, type Clock } from "./clock.ts";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("UUIDv7: format, timestamp prefix, strictly increasing under a stalled clock", () => {
  const clock: Clock = { nowMicros: () => 1_700_000_000_000_000 };
  const ids = uuidv7Generator(clock);
  const seen: string[] = [];
  for (let i = 0; i < 10_000; i++) seen.push(ids.newId());
  for (const id of seen) expect(id).toMatch(UUID7);
  expect(seen[0]!.replace(/-/g, "").slice(0, 12)).toBe((1_700_000_000_000).toString(16).padStart(12, "0"));
  for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
});

test("UUIDv7: a clock stepping backwards never breaks the order", () => {
  let t = 1_700_000_000_000_000;
  const ids = uuidv7Generator({ nowMicros: () => (t -= 1000) });
  let prev = ids.newId();
  for (let i = 0; i < 1000; i++) {
    const id = ids.newId();
    expect(id > prev).toBe(true);
    prev = id;
  }
});

test("UUIDv7: deterministic with injected clock and randomness", () => {
  const make = () => uuidv7Generator({ nowMicros: () => 1_000_000 }, (b) => b.fill(7));
  expect(make().newId()).toBe(make().newId());
});
