// Issue 7, operations: GET /metrics counts and times every call on both
// listeners by method and code, with a bounded label set. Real server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { FRAME_HEADER } from "../src/api/grpc/framed.ts";
import { CreateResultRequestSchema, GetRecordRequestSchema } from "../src/gen/api_pb.ts";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json } from "./support/wire.ts";

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

const M = "tekton.results.v1alpha2.Results";
const phase = (lines: string[], method: string, p: string, what: "sum" | "count") =>
  value(lines, `hindsight_grpc_phase_seconds_${what}{method="${M}/${method}",phase="${p}"}`);

/**
 * One unary call over a raw HTTP/2 stream, so the test controls the pace:
 * the request message goes out `sendAfterMs` after the headers, and the
 * answer is not read for `readAfterMs` (a paused stream sends no window
 * updates, so the server can send only the first 64 KiB meanwhile).
 */
async function rawUnary<S extends DescMessage>(method: string, schema: S, req: MessageInitShape<S>, o: { sendAfterMs?: number; readAfterMs?: number }): Promise<string> {
  const body = toBinary(schema, create(schema, req));
  const frame = Buffer.alloc(FRAME_HEADER + body.length); // flag 0: not compressed
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, FRAME_HEADER);
  const session = http2.connect(`http://${s.address}`);
  // Connected first, so that the headers reach the server before the pause starts.
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
  try {
    const stream = session.request({ ":method": "POST", ":path": `/${M}/${method}`, "content-type": "application/grpc", te: "trailers" });
    let status = "";
    stream.on("trailers", (t) => (status = String(t["grpc-status"])));
    stream.pause();
    const ended = new Promise((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    stream.on("data", () => {});
    if (o.sendAfterMs) await Bun.sleep(o.sendAfterMs);
    stream.end(frame);
    if (o.readAfterMs) await Bun.sleep(o.readAfterMs);
    stream.resume();
    await ended;
    return status;
  } finally {
    session.close();
  }
}

test("gRPC calls are split into receive, handle and send phases; errors have no send phase", async () => {
  const before = await scrape();
  await s.client.createResult({ parent: "ph", result: { name: "ph/results/a" } });
  await s.client.getResult({ name: "ph/results/a" });
  expect((await grpcError(s.client.getResult({ name: "ph/results/missing" }))).code).toBe(Code.NOT_FOUND);
  const after = await scrape();
  const d = (method: string, p: string) => phase(after, method, p, "count") - phase(before, method, p, "count");
  expect([d("CreateResult", "receive"), d("CreateResult", "handle"), d("CreateResult", "send")]).toEqual([1, 1, 1]);
  expect([d("GetResult", "receive"), d("GetResult", "handle"), d("GetResult", "send")]).toEqual([2, 2, 1]);
  expect(after.some((l) => l.startsWith(`hindsight_grpc_phase_seconds_bucket{method="${M}/GetResult",phase="handle",le="0.00025"}`))).toBe(true);
});

test("a request that arrives slowly counts as receive time, an answer read slowly as send time, not as handling", async () => {
  await s.client.createResult({ parent: "ph2", result: { name: "ph2/results/r" } });
  // 2 MB: far more than the 64 KiB a paused client's window lets through.
  const big = json({ x: "a".repeat(2_000_000) });
  await s.client.createRecord({ parent: "ph2/results/r", record: { name: "ph2/results/r/records/big", data: { type: "t", value: big } } });
  const before = await scrape();
  expect(await rawUnary("CreateResult", CreateResultRequestSchema, { parent: "ph2", result: { name: "ph2/results/slow" } }, { sendAfterMs: 600 })).toBe("0");
  expect(await rawUnary("GetRecord", GetRecordRequestSchema, { name: "ph2/results/r/records/big" }, { readAfterMs: 600 })).toBe("0");
  const after = await scrape();
  const d = (method: string, p: string) => phase(after, method, p, "sum") - phase(before, method, p, "sum");
  // The pause lands in its phase, and outweighs the other two (with room for a loaded machine).
  expect(d("CreateResult", "receive")).toBeGreaterThanOrEqual(0.3);
  expect(d("CreateResult", "receive")).toBeGreaterThan(d("CreateResult", "handle") + d("CreateResult", "send") + 0.2);
  expect(d("GetRecord", "send")).toBeGreaterThanOrEqual(0.3);
  expect(d("GetRecord", "send")).toBeGreaterThan(d("GetRecord", "receive") + d("GetRecord", "handle") + 0.2);
});
