// Spec §13.6: the same requests through REST and through gRPC give the same
// answers. Two servers with the same deterministic clock and ids get the same
// sequence of calls, one over gRPC, the other over REST; every answer of the
// REST one must equal the protobuf JSON of the gRPC one (page tokens aside:
// each server signs its own, so they are compared by presence and each
// server's own token is used for its next page).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Results } from "../src/gen/api_pb.ts";
import { generateRunGroup, makeRng, type Obj } from "./support/data.ts";
import { grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const deps = () => {
  let t = 1_700_000_000_000_000;
  let n = 0;
  return {
    clock: { nowMicros: () => (t += 1_234) },
    ids: { newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, "0")}` },
  };
};

let g: TestServer; // called over gRPC
let r: TestServer; // called over REST
beforeAll(async () => {
  g = await startTestServer({ deps: deps() });
  r = await startTestServer({ deps: deps() });
});
afterAll(async () => {
  await g?.close();
  await r?.close();
});

const API = "/apis/results.tekton.dev/v1alpha2/";
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(r.http + API + path, {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.headers.get("content-type")).toBe("application/json");
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const grpcJson = <D extends DescMessage>(desc: D, m: MessageShape<D>) => toJson(desc, m, { useProtoFieldName: true }) as Record<string, unknown>;
const method = (name: string) => Results.methods.find((m) => m.name === name)!;

/** REST answer == gRPC answer, with next_page_token compared by presence; returns both tokens. */
function same(name: string, restJson: Record<string, unknown>, grpcMsg: unknown): { g: string; r: string } {
  const gj = grpcJson(method(name).output, grpcMsg as never);
  const tokens = { g: String(gj.next_page_token ?? ""), r: String(restJson.next_page_token ?? "") };
  expect(tokens.r !== "").toBe(tokens.g !== "");
  const strip = (o: Record<string, unknown>) => {
    const { next_page_token: _, ...rest } = o;
    return rest;
  };
  expect(strip(restJson)).toEqual(strip(gj));
  return tokens;
}

async function sameError(p: Promise<unknown>, restCall: Promise<{ status: number; json: Record<string, unknown> }>, status: number) {
  const ge = await grpcError(p);
  const re = await restCall;
  expect(re.status).toBe(status);
  expect(re.json).toEqual({ code: ge.code, message: ge.details });
}

test("every Results RPC answers the same over REST and gRPC, errors included", async () => {
  const c = g.client;
  const rng = makeRng(7);
  const group = generateRunGroup(rng, { namespace: "team-a", taskRuns: 11 });
  const runs: Obj[] = [group.pipelineRun, ...group.taskRuns];
  const uid = (o: Obj) => (o.metadata as Obj).uid as string;
  const type = (o: Obj) => `${o.apiVersion as string}.${o.kind as string}`;
  const result = `team-a/results/${uid(group.pipelineRun)}`;
  const summary = { record: `${result}/records/${uid(group.pipelineRun)}`, type: type(group.pipelineRun), status: "SUCCESS", start_time: "2024-01-02T03:04:05.5Z" };

  // CreateResult (two), GetResult, UpdateResult (REST without ?name=: the name comes from the path).
  same("CreateResult", (await rest("POST", "parents/team-a/results", { name: result, annotations: { repo: "acme/app" }, summary })).json,
    await c.createResult({ parent: "team-a", result: { name: result, annotations: { repo: "acme/app" }, summary: { record: summary.record, type: summary.type, status: 1, startTime: { seconds: 1704164645n, nanos: 500_000_000 } } } }));
  same("CreateResult", (await rest("POST", "parents/team-b/results", { name: "team-b/results/other" })).json,
    await c.createResult({ parent: "team-b", result: { name: "team-b/results/other" } }));
  same("GetResult", (await rest("GET", `parents/${result}`)).json, await c.getResult({ name: result }));
  same("UpdateResult", (await rest("PATCH", `parents/${result}`, { annotations: { repo: "acme/app", pr: "12" }, summary })).json,
    await c.updateResult({ name: result, result: { annotations: { repo: "acme/app", pr: "12" }, summary: { record: summary.record, type: summary.type, status: 1, startTime: { seconds: 1704164645n, nanos: 500_000_000 } } } }));
  // ... and with upstream's ?name= plus an etag.
  const cur = await c.getResult({ name: "team-b/results/other" });
  same("UpdateResult", (await rest("PATCH", `parents/team-b/results/other?name=team-b/results/other&etag=${cur.etag}`, { annotations: { x: "y" } })).json,
    await c.updateResult({ name: "team-b/results/other", etag: cur.etag, result: { annotations: { x: "y" } } }));

  // CreateRecord for every run, GetRecord, UpdateRecord.
  for (const run of runs) {
    const name = `${result}/records/${uid(run)}`;
    const value = new TextEncoder().encode(JSON.stringify(run));
    same("CreateRecord", (await rest("POST", `parents/${result}/records`, { name, data: { type: type(run), value: b64(run) } })).json,
      await c.createRecord({ parent: result, record: { name, data: { type: type(run), value } } }));
  }
  const first = `${result}/records/${uid(runs[1]!)}`;
  same("GetRecord", (await rest("GET", `parents/${first}`)).json, await c.getRecord({ name: first }));
  const changed = { ...runs[1]!, status: { ...(runs[1]!.status as Obj), podName: "changed" } };
  same("UpdateRecord", (await rest("PATCH", `parents/${first}`, { data: { value: b64(changed) } })).json,
    await c.updateRecord({ record: { name: first, data: { value: new TextEncoder().encode(JSON.stringify(changed)) } } }));

  // ListResults and ListRecords: filters, orders, and every page through the tokens.
  same("ListResults", (await rest("GET", "parents/-/results?order_by=create_time%20desc")).json, await c.listResults({ parent: "-", orderBy: "create_time desc" }));
  same("ListResults", (await rest("GET", `parents/-/results?filter=${encodeURIComponent('annotations["repo"] == "acme/app"')}`)).json,
    await c.listResults({ parent: "-", filter: 'annotations["repo"] == "acme/app"' }));
  for (const [q, req] of [
    ["order_by=create_time%20desc&page_size=5", { orderBy: "create_time desc", pageSize: 5 }],
    ["pageSize=5&orderBy=update_time", { orderBy: "update_time", pageSize: 5 }],
    [`filter=${encodeURIComponent('data.metadata.namespace == "team-a"')}&page_size=5`, { filter: 'data.metadata.namespace == "team-a"', pageSize: 5 }],
  ] as const) {
    let tokens = same("ListRecords", (await rest("GET", `parents/team-a/results/-/records?${q}`)).json, await c.listRecords({ parent: "team-a/results/-", ...req }));
    let pages = 1;
    while (tokens.g !== "") {
      tokens = same("ListRecords", (await rest("GET", `parents/team-a/results/-/records?${q}&page_token=${tokens.r}`)).json,
        await c.listRecords({ parent: "team-a/results/-", ...req, pageToken: tokens.g }));
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
  }
  same("ListRecords", (await rest("GET", "parents/nobody/results/-/records")).json, await c.listRecords({ parent: "nobody/results/-" }));

  // GetRecordListSummary.
  for (const [q, req] of [
    ["", {}],
    ["summary=total,succeeded,failed,avg_duration&group_by=namespace", { summary: "total,succeeded,failed,avg_duration", groupBy: "namespace" }],
    ["summary=total&group_by=pipeline&order_by=total%20DESC", { summary: "total", groupBy: "pipeline", orderBy: "total DESC" }],
  ] as const) {
    same("GetRecordListSummary", (await rest("GET", `parents/-/results/-/records/summary?${q}`)).json, await c.getRecordListSummary({ parent: "-/results/-", ...req }));
  }

  // Partial responses: REST ?fields= and gRPC metadata "fields" prune alike.
  const fields = "records.name,records.uid,records.data.value.metadata,records.data.value.nope,next_page_token";
  const md = new grpc.Metadata();
  md.set("fields", fields);
  same("ListRecords", (await rest("GET", `parents/team-a/results/-/records?fields=${fields}`)).json, await c.listRecords({ parent: "team-a/results/-" }, { metadata: md }));

  // Errors: the same code and message; HTTP status from the table.
  await sameError(c.getRecord({ name: `${result}/records/missing` }), rest("GET", `parents/${result}/records/missing`), 404);
  await sameError(c.createResult({ parent: "team-a", result: { name: result } }), rest("POST", "parents/team-a/results", { name: result }), 409);
  await sameError(c.listRecords({ parent: "team-a/results/-", pageSize: 3 }), rest("GET", "parents/team-a/results/-/records?page_size=3"), 400);
  await sameError(c.listRecords({ parent: "team-a/results/-", filter: "nope ==" }), rest("GET", `parents/team-a/results/-/records?filter=${encodeURIComponent("nope ==")}`), 400);
  await sameError(c.updateResult({ name: result, etag: "stale", result: {} }), rest("PATCH", `parents/${result}?etag=stale`, {}), 400);

  // DeleteRecord and DeleteResult answer {} and the resource is gone (§13.6 item 80).
  same("DeleteRecord", (await rest("DELETE", `parents/${first}`)).json, await c.deleteRecord({ name: first }));
  expect((await rest("GET", `parents/${first}`)).status).toBe(404);
  same("DeleteResult", (await rest("DELETE", `parents/${result}`)).json, await c.deleteResult({ name: result }));
  expect((await rest("GET", `parents/${result}`)).status).toBe(404);
  same("ListResults", (await rest("GET", "parents/-/results")).json, await c.listResults({ parent: "-" }));
}, 60_000);
