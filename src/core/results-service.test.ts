// The core service with the real SQLite store and an injected clock and id
// generator, so times and etags are exact.
import { expect, test } from "bun:test";
import { openDatabase } from "../store/db.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { ResultsService } from "./results-service.ts";
import { AppError } from "./errors.ts";

function setup(times: number[]) {
  const db = openDatabase(":memory:");
  let i = 0;
  const clock = { nowMicros: () => times[Math.min(i++, times.length - 1)]! };
  let n = 0;
  const ids = { newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, "0")}` };
  return new ResultsService(new SqliteStore(db), clock, ids);
}

const enc = (s: string) => new TextEncoder().encode(s);

test("times come from the clock, etags from uid and update time", async () => {
  const svc = setup([1_700_000_000_000_001, 1_700_000_000_500_000]);
  const r = await svc.createResult("ns", { name: "ns/results/a", annotations: {}, summary: null });
  expect(r.createTime).toBe(1_700_000_000_000_001);
  expect(r.etag).toBe("00000000-0000-7000-8000-000000000001-1700000000000001000");
  const u = await svc.updateResult("ns/results/a", { name: "", annotations: { x: "y" }, summary: null }, r.etag);
  expect(u.updateTime).toBe(1_700_000_000_500_000);
  expect(u.etag).toBe("00000000-0000-7000-8000-000000000001-1700000000500000000");
});

test("a clock that stalls or steps back still gives strictly later update times and new etags", async () => {
  const svc = setup([5_000_000, 4_000_000]);
  await svc.createResult("ns", { name: "ns/results/a", annotations: {}, summary: null });
  const rec = await svc.createRecord("ns/results/a", { name: "ns/results/a/records/x", data: { type: "t", value: enc("{}") } });
  const u1 = await svc.updateRecord({ name: "ns/results/a/records/x", data: null }, rec.etag);
  const u2 = await svc.updateRecord({ name: "ns/results/a/records/x", data: null }, u1.etag);
  expect(u1.updateTime).toBe(rec.updateTime + 1);
  expect(u2.updateTime).toBe(u1.updateTime + 1);
  expect(new Set([rec.etag, u1.etag, u2.etag]).size).toBe(3);
});

test("a rejected write leaves the store unchanged", async () => {
  const svc = setup([1_000_000]);
  await svc.createResult("ns", { name: "ns/results/a", annotations: { k: "v" }, summary: null });
  await expect(
    svc.updateResult("ns/results/a", { name: "", annotations: {}, summary: { record: "", type: "", startTime: null, endTime: null, status: 0, annotations: {} } }, ""),
  ).rejects.toBeInstanceOf(AppError);
  expect((await svc.getResult("ns/results/a")).annotations).toEqual({ k: "v" });
});
