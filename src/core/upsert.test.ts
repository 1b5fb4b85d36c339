// The upserter with the real SQLite store: idempotent, atomic, validated.
import { expect, test } from "bun:test";
import { openDatabase } from "../store/db.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { AppError } from "./errors.ts";
import { ResultsService } from "./results-service.ts";
import { Upserter, type DesiredResult } from "./upsert.ts";

function setup() {
  const db = openDatabase(":memory:");
  let t = 1_000_000;
  const clock = { nowMicros: () => (t += 10) };
  let n = 0;
  const ids = { newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, "0")}` };
  const store = new SqliteStore(db);
  return { up: new Upserter(store, clock, ids), svc: new ResultsService(store, clock, ids), db };
}

const summary = (status: number) => ({ record: "ns/results/p/records/p", type: "tekton.dev/v1.PipelineRun", status, startTime: 5, endTime: null, annotations: {} });
const want = (d: DesiredResult | null) => () => d;

test("first put creates both; the same put again writes nothing", async () => {
  const { up, svc } = setup();
  const input = { result: "ns/results/p", mergeResult: want({ annotations: { a: "1" }, summary: summary(0) }), record: "ns/results/p/records/p", data: { type: "tekton.dev/v1.PipelineRun", value: '{"a":1}' } };
  expect(await up.put(input)).toMatchObject({ result: "created", record: "created" });
  const r1 = await svc.getResult("ns/results/p");
  const c1 = await svc.getRecord("ns/results/p/records/p");
  expect(await up.put(input)).toMatchObject({ result: "unchanged", record: "unchanged", resultUid: r1.uid });
  expect((await svc.getResult("ns/results/p")).etag).toBe(r1.etag);
  expect((await svc.getRecord("ns/results/p/records/p")).etag).toBe(c1.etag);
});

test("changed data updates the record in place; a changed summary or annotation updates the result", async () => {
  const { up, svc } = setup();
  const base = { result: "ns/results/p", record: "ns/results/p/records/p", data: { type: "t", value: '{"s":0}' } };
  await up.put({ ...base, mergeResult: want({ annotations: {}, summary: summary(0) }) });
  const rec = await svc.getRecord("ns/results/p/records/p");
  expect(await up.put({ ...base, data: { type: "t", value: '{"s":1}' }, mergeResult: want({ annotations: {}, summary: summary(1) }) })).toMatchObject({
    result: "updated",
    record: "updated",
  });
  const after = await svc.getRecord("ns/results/p/records/p");
  expect(after.uid).toBe(rec.uid);
  expect(after.data?.value).toBe('{"s":1}');
  expect((await svc.getResult("ns/results/p")).summary?.status).toBe(1);
  expect(await up.put({ ...base, data: { type: "t", value: '{"s":1}' }, mergeResult: want({ annotations: { k: "v" }, summary: summary(1) }) })).toMatchObject({
    result: "updated",
    record: "unchanged",
  });
  expect((await svc.getResult("ns/results/p")).annotations).toEqual({ k: "v" });
});

test("a PipelineRun and its TaskRuns racing to create their Result share one", async () => {
  const { up, svc } = setup();
  const puts = Array.from({ length: 12 }, (_, i) =>
    up.put({ result: "ns/results/p", record: `ns/results/p/records/r${i}`, data: { type: "t", value: `{"i":${i}}` }, mergeResult: (cur) => (cur ? null : { annotations: {}, summary: null }) }),
  );
  const outcomes = await Promise.all(puts);
  expect(outcomes.filter((o) => o.result === "created")).toHaveLength(1);
  expect(new Set(outcomes.map((o) => o.resultUid)).size).toBe(1);
  expect((await svc.listRecords({ parent: "ns/results/p", filter: "", pageSize: 100, pageToken: "", orderBy: "" })).items).toHaveLength(12);
});

test("invalid names and data are refused and nothing is written", async () => {
  const { up, svc } = setup();
  const ok = { result: "ns/results/p", record: "ns/results/p/records/p", data: { type: "t", value: "{}" }, mergeResult: want(null) };
  await expect(up.put({ ...ok, result: "Bad/results/p" })).rejects.toBeInstanceOf(AppError);
  await expect(up.put({ ...ok, record: "ns/results/q/records/p" })).rejects.toThrow(/not under result/);
  await expect(up.put({ ...ok, data: { type: "t", value: "{nope" } })).rejects.toThrow(/not a valid JSON document/);
  await expect(svc.getResult("ns/results/p")).rejects.toThrow(/not found/);
});

test("createOnce writes a record only the first time", async () => {
  const { up, svc } = setup();
  await up.put({ result: "ns/results/p", record: "ns/results/p/records/p", data: { type: "t", value: "{}" }, mergeResult: want(null) });
  expect(await up.createOnce("ns/results/p", "ns/results/p/records/ev", { type: "results.tekton.dev/v1.EventList", value: '{"items":[]}' })).toBe(true);
  expect(await up.createOnce("ns/results/p", "ns/results/p/records/ev", { type: "results.tekton.dev/v1.EventList", value: '{"items":[1]}' })).toBe(false);
  expect((await svc.getRecord("ns/results/p/records/ev")).data?.value).toBe('{"items":[]}');
});
