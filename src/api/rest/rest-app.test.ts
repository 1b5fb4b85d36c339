// The REST app in-process (app.handle, no socket) over the real service and
// an in-memory SQLite store: routing, errors and the extra pages.
import { expect, test } from "bun:test";
import { systemClock, uuidv7Generator } from "../../core/clock.ts";
import { ResultsService } from "../../core/results-service.ts";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.ts";
import { openDatabase } from "../../store/db.ts";
import { SqliteStore } from "../../store/sqlite-store.ts";
import { resultsRpc } from "../results-rpc.ts";
import { callContext } from "../grpc/results.ts";
import * as grpc from "@grpc/grpc-js";
import { buildRestApp, MAX_URL_BYTES, restCallContext } from "./rest-app.ts";

const statuses = new Map<string, Serving>([["", Serving.SERVING], ["tekton.results.v1alpha2.Results", Serving.SERVING], ["sleepy", Serving.NOT_SERVING]]);
const svc = new ResultsService(new SqliteStore(openDatabase(":memory:")), systemClock, uuidv7Generator(systemClock));
const app = buildRestApp({ rpc: resultsRpc(svc), maxBodyBytes: 4096, health: (s) => statuses.get(s) });
const API = "http://localhost/apis/results.tekton.dev/v1alpha2";

async function call(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  const res = await app.handle(new Request(url.startsWith("http") ? url : API + url, { method, body, headers }));
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, json: text.startsWith("{") ? JSON.parse(text) : undefined };
}

test("unknown path: 404 Not Found; known path with another verb: 501 Method Not Allowed", async () => {
  expect(await call("GET", "http://localhost/nope")).toMatchObject({ status: 404, text: '{"code":5,"message":"Not Found"}', type: "application/json" });
  expect(await call("GET", "/parents/a/results/b/records/c/d")).toMatchObject({ status: 404, json: { code: 5 } });
  expect(await call("PUT", "/parents/a/results/b")).toMatchObject({ status: 501, text: '{"code":12,"message":"Method Not Allowed"}' });
  expect(await call("POST", "/parents/a/results/b/records/c")).toMatchObject({ status: 501 });
  expect(await call("DELETE", "/parents/a/results")).toMatchObject({ status: 501 });
  expect(await call("POST", "http://localhost/healthz")).toMatchObject({ status: 501 });
});

test("bad query values are 400 code 3 naming the parameter; nothing of Elysia or TypeBox shows", async () => {
  for (const q of ["page_size=abc", "page_size=1.5", "pageSize=99999999999", "page_size=-2147483649"]) {
    const r = await call("GET", `/parents/a/results?${q}`);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(3);
    expect(Object.keys(r.json)).toEqual(["code", "message"]);
    expect(r.json.message).toMatch(/^query parameter (page_size|pageSize)=".*": expected an integer/);
    expect(r.text).not.toMatch(/schema|anyOf|summary|"type"|validation/i);
  }
  // Unknown parameters are ignored; both spellings work.
  expect(await call("GET", "/parents/a/results?whatever=1&pageSize=5")).toMatchObject({ status: 200, text: "{}" });
});

test("an over-long request target is 414 with a JSON error", async () => {
  const r = await call("GET", `/parents/a/results?filter=${"x".repeat(MAX_URL_BYTES)}`);
  expect(r).toMatchObject({ status: 414, json: { code: 3 } });
});

test("GET .../records/summary is the summary, not a record named summary (upstream's route order)", async () => {
  expect(await call("GET", "/parents/a/results/b/records/summary")).toMatchObject({ status: 200, text: '{"summary":[{"total":0}]}' });
  expect(await call("GET", "/parents/a/results/b/records/other")).toMatchObject({ status: 404, json: { code: 5, message: "record a/results/b/records/other not found" } });
});

test("/healthz: SERVING, unknown service 404, NOT_SERVING 503", async () => {
  expect(await call("GET", "http://localhost/healthz")).toMatchObject({ status: 200, text: '{"status":"SERVING"}\n' });
  expect(await call("GET", "http://localhost/healthz?service=tekton.results.v1alpha2.Results")).toMatchObject({ status: 200 });
  expect(await call("GET", "http://localhost/healthz?service=nope")).toMatchObject({ status: 404, json: { code: 5 } });
  expect(await call("GET", "http://localhost/healthz?service=sleepy")).toMatchObject({ status: 503, json: { code: 14, message: "NOT_SERVING" } });
});

test("/openapi.json and /docs are served", async () => {
  const o = await call("GET", "http://localhost/openapi.json");
  expect(o).toMatchObject({ status: 200, type: "application/json" });
  expect(o.json.openapi).toBe("3.1.0");
  const d = await call("GET", "http://localhost/docs");
  expect(d.status).toBe(200);
  expect(d.type).toContain("text/html");
});

test("errors carry the core's message and the table's status", async () => {
  expect(await call("POST", "/parents/a/results", '{"name":"b/results/x"}', { "content-type": "application/json" })).toMatchObject({
    status: 400,
    json: { code: 3, message: "parent: requested parent does not match resource name" },
  });
  expect(await call("POST", "/parents/a/results", "x".repeat(5000), { "content-type": "application/json" })).toMatchObject({ status: 413, json: { code: 8 } });
});

test("the call context: Authorization and fields reach the handlers as gRPC metadata does", () => {
  const rest = restCallContext(new Headers({ Authorization: "Bearer abc" }), " records.name , next_page_token,");
  const md = new grpc.Metadata();
  md.set("authorization", "Bearer abc");
  md.set("fields", " records.name , next_page_token,");
  expect(rest).toEqual({ authorization: "Bearer abc", fields: ["records.name", "next_page_token"], client: "" });
  expect(callContext(md)).toEqual(rest);
  expect(restCallContext(new Headers(), undefined)).toEqual({ authorization: "", fields: [], client: "" });
  // The caller's host (no port), for the per-client cap, alike on both.
  expect(callContext(md, "ipv4:10.1.2.3:5555").client).toBe("10.1.2.3");
  expect(restCallContext(new Headers(), undefined, "10.1.2.3").client).toBe("10.1.2.3");
});
