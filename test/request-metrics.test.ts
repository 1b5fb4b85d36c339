// Issue 7, operations: GET /metrics counts and times every call on both
// listeners by method and code, with a bounded label set. Real server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const scrape = async () => (await (await fetch(`${s.http}/metrics`)).text()).split("\n");
const value = (lines: string[], prefix: string): number => {
  const l = lines.find((x) => x.startsWith(prefix + " "));
  return l === undefined ? 0 : Number(l.slice(prefix.length + 1));
};

test("gRPC calls are counted by full method and status name, and timed", async () => {
  const M = "tekton.results.v1alpha2.Results";
  await s.client.createResult({ parent: "m", result: { name: "m/results/a" } });
  await s.client.getResult({ name: "m/results/a" });
  await s.client.getResult({ name: "m/results/a" });
  expect((await grpcError(s.client.getResult({ name: "m/results/missing" }))).code).toBe(Code.NOT_FOUND);
  const lines = await scrape();
  expect(value(lines, `hindsight_requests_total{transport="grpc",method="${M}/GetResult",code="OK"}`)).toBe(2);
  expect(value(lines, `hindsight_requests_total{transport="grpc",method="${M}/GetResult",code="NOT_FOUND"}`)).toBe(1);
  expect(value(lines, `hindsight_requests_total{transport="grpc",method="${M}/CreateResult",code="OK"}`)).toBe(1);
  expect(value(lines, `hindsight_request_duration_seconds_count{transport="grpc",method="${M}/GetResult"}`)).toBe(3);
  expect(value(lines, `hindsight_request_duration_seconds_bucket{transport="grpc",method="${M}/GetResult",le="+Inf"}`)).toBe(3);
});

test("REST requests are counted by route template and HTTP status; unknown paths and methods add no series", async () => {
  const base = `${s.http}/apis/results.tekton.dev/v1alpha2/parents`;
  await (await fetch(`${base}/m/results`)).text();
  await (await fetch(`${base}/m/results?page_size=x`)).text();
  for (let i = 0; i < 5; i++) await (await fetch(`${s.http}/probe-${i}`)).text();
  // An unknown gRPC method.
  const raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
  await new Promise<void>((resolve) =>
    raw.makeUnaryRequest("/no.Such/Method", (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), () => resolve()),
  );
  raw.close();
  const lines = await scrape();
  const route = "GET /apis/results.tekton.dev/v1alpha2/parents/:parent/results";
  expect(value(lines, `hindsight_requests_total{transport="rest",method="${route}",code="200"}`)).toBe(1);
  expect(value(lines, `hindsight_requests_total{transport="rest",method="${route}",code="400"}`)).toBe(1);
  expect(value(lines, `hindsight_requests_total{transport="rest",method="other",code="404"}`)).toBe(5);
  expect(lines.some((l) => l.includes("probe-") || l.includes("no.Such"))).toBe(false);
  // grpc-js answers an unknown method itself (UNIMPLEMENTED) before any interceptor: not counted at all.
});

test("the encoded-record cache reports its lookups, bytes and budget", async () => {
  await s.client.createResult({ parent: "c", result: { name: "c/results/r" } });
  for (const n of ["a", "b"]) {
    await s.client.createRecord({
      parent: "c/results/r",
      record: { name: `c/results/r/records/${n}`, data: { type: "tekton.dev/v1.TaskRun", value: new TextEncoder().encode(`{"n":"${n}"}`) } },
    });
  }
  const before = await scrape();
  const list = () => s.client.listRecords({ parent: "c/results/r", pageSize: 50 });
  expect((await list()).records).toHaveLength(2);
  expect((await list()).records).toHaveLength(2); // the same page again: its records and the page are kept
  const after = await scrape();
  const delta = (series: string) => value(after, series) - value(before, series);
  expect(delta('hindsight_record_cache_lookups_total{kind="record",result="hit"}')).toBeGreaterThanOrEqual(2);
  expect(delta('hindsight_record_cache_lookups_total{kind="page",result="hit"}')).toBe(1);
  expect(delta('hindsight_record_cache_lookups_total{kind="page",result="miss"}')).toBe(1);
  expect(value(after, 'hindsight_record_cache_entries{kind="record"}')).toBeGreaterThanOrEqual(2);
  expect(value(after, "hindsight_record_cache_bytes")).toBeGreaterThan(0);
  expect(value(after, "hindsight_record_cache_limit_bytes")).toBe(6 * 1024 * 1024);
});
